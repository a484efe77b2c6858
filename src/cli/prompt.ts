// Password input for the bins: a no-echo prompt on a terminal, or the first line of stdin.
import { StringDecoder } from 'node:string_decoder';

/** Ctrl-C or Ctrl-D at a password prompt. */
export class PromptCancelledError extends Error {
  override readonly name = 'PromptCancelledError';
  constructor() {
    super('password prompt cancelled');
  }
}

/**
 * Reads a password from the terminal without echoing it. Only called when stdin is a TTY;
 * Ctrl-C or Ctrl-D rejects, Backspace edits; past `maxBytes` (UTF-8) it rejects at once.
 */
export function promptHidden(question: string, input: NodeJS.ReadStream = process.stdin, output: NodeJS.WriteStream = process.stderr, maxBytes = Infinity): Promise<string> {
  return new Promise((resolve, reject) => {
    output.write(question);
    let value = '';
    const decoder = new StringDecoder('utf8');
    const wasRaw = input.isRaw;
    input.setRawMode?.(true);
    input.resume();
    const done = (err: Error | null): void => {
      input.off('data', onData);
      input.setRawMode?.(wasRaw);
      input.pause();
      output.write('\n');
      if (err) reject(err);
      else resolve(value);
    };
    const onData = (chunk: Buffer | string): void => {
      const text = typeof chunk === 'string' ? chunk : decoder.write(chunk);
      for (const ch of text) {
        if (ch === '\r' || ch === '\n') return done(null);
        if (ch === '\u0003' || ch === '\u0004') return done(new PromptCancelledError());
        if (ch === '\u007f' || ch === '\b') value = value.slice(0, -1);
        else value += ch;
        if (Buffer.byteLength(value) > maxBytes) return done(new Error(`password must be at most ${maxBytes} bytes`));
      }
    };
    input.on('data', onData);
  });
}

/**
 * Reads `input` up to the first line end (or EOF) and returns that line. Input past `maxBytes`
 * is refused as soon as it arrives, not buffered.
 */
export function readFirstLine(input: NodeJS.ReadableStream, maxBytes: number): Promise<string> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    const done = (err?: Error): void => {
      input.off('data', onData);
      input.off('end', onEnd);
      input.off('error', done);
      input.pause();
      if (err) return reject(err);
      const text = Buffer.concat(chunks).toString('utf8');
      const nl = text.search(/\r?\n/);
      const line = nl < 0 ? text : text.slice(0, nl);
      if (Buffer.byteLength(line) > maxBytes) reject(new Error(`password must be at most ${maxBytes} bytes`));
      else resolve(line);
    };
    const onData = (chunk: Buffer | string): void => {
      const buf = typeof chunk === 'string' ? Buffer.from(chunk) : chunk;
      chunks.push(buf);
      size += buf.length;
      if (buf.includes(10)) return done();
      // + 2: room for the CR LF of a line that is exactly maxBytes long
      if (size > maxBytes + 2) done(new Error(`password must be at most ${maxBytes} bytes`));
    };
    const onEnd = (): void => done();
    input.on('data', onData);
    input.once('end', onEnd);
    input.once('error', done);
  });
}
