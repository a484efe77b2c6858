import { once } from 'node:events';
import { PassThrough, Writable, type Readable } from 'node:stream';
import { checkInteger, FtpError } from '../errors.js';
import type { ReadRangeOptions } from './method-options.js';
import { checkOptions, checkRemotePath } from './validate.js';
import { isNegative } from '../protocol/index.js';
import { setType, type ControlSession } from './control-session.js';
import { runTransfer, type DataHandler } from './transfer.js';

/** Bytes start..end of a remote file, both inclusive; no end reads to the end of the file. */
export interface ByteRange {
  start: number;
  end: number | undefined;
}

/**
 * Reads `range` of `remote` into `out` (not ended here: the caller ends it), honouring its
 * backpressure. Three ways, by what the server offers:
 *
 *   end given, FEAT has RANG:  RANG s e ─▶ 350, RETR ─▶ exactly the range, 226: no ABOR
 *   end given, no RANG:        REST s ─▶ 350, RETR, read e-s+1 bytes, close, ABOR ─▶ 426 + 226
 *   no end:                    REST s ─▶ 350, RETR to the end of the file, 226
 *
 * A server that advertises RANG but refuses it (5xx) gets the REST way. Either way the
 * control connection is in step afterwards (transfer.ts drains ABOR's replies).
 */
export async function readRange(s: ControlSession, remote: string, range: ByteRange, out: Writable, signal: AbortSignal): Promise<void> {
  await setType(s, 'I');
  const length = range.end === undefined ? undefined : range.end - range.start + 1;
  let ranged = false;
  if (range.end !== undefined && s.features.has('RANG')) {
    const reply = await s.control.request(`RANG ${range.start} ${range.end}`, s.options.timeout);
    ranged = reply.code === 350;
    if (!ranged && !isNegative(reply.code)) throw new FtpError('FTPKIT_ERR_PROTOCOL', `unexpected reply to RANG: ${reply.code} ${reply.text}`, { replyCode: reply.code });
  }
  await runTransfer(s, {
    command: `RETR ${remote}`,
    ...(ranged ? {} : { restart: range.start }),
    handle: copyRange(out, length, ranged),
  }, signal);
}

/**
 * Socket -> `out`, waiting for 'drain' whenever `out` is full. With a length and no RANG, stops
 * after that many bytes ('stopped': the caller ABORs). Under RANG the server ends the data
 * itself: the socket is read to its end, and bytes past the range (a server that ignored it)
 * are dropped rather than passed on.
 */
function copyRange(out: Writable, length: number | undefined, ranged: boolean): DataHandler {
  return async ({ readable }, signal) => {
    let remaining = length ?? Infinity;
    const onAbort = (): void => void readable.destroy(new FtpError('FTPKIT_ERR_ABORTED', 'the operation was aborted', { cause: signal.reason }));
    signal.addEventListener('abort', onAbort, { once: true });
    try {
      if (signal.aborted) onAbort();
      for await (const chunk of readable as AsyncIterable<Buffer>) {
        if (remaining === 0) {
          if (ranged) continue;
          break;
        }
        const part = chunk.length > remaining ? chunk.subarray(0, remaining) : chunk;
        remaining -= part.length;
        if (!out.write(part)) await once(out, 'drain', { signal });
        if (remaining === 0 && !ranged) break;
      }
    } finally {
      signal.removeEventListener('abort', onAbort);
    }
    return remaining === 0 && !ranged ? 'stopped' : 'complete';
  };
}

/** Largest slice read() returns as one Buffer: more is a job for createReadStream(). */
export const MAX_READ_BYTES = 64 * 1024 * 1024;

const READ_OPTIONS = ['signal', 'start', 'end', 'highWaterMark'] as const;

/** Checks createReadStream()/read() arguments (throws FTPKIT_ERR_INVALID_ARGUMENT). */
export function checkRange(path: unknown, opts: ReadRangeOptions | undefined, what: string): ByteRange {
  checkRemotePath(path);
  checkOptions(opts, READ_OPTIONS, what);
  const start = checkInteger('start', opts?.start ?? 0, 0);
  const end = opts?.end === undefined ? undefined : checkInteger('end', opts.end, start);
  return { start, end };
}

type Run = <T>(task: (s: ControlSession, signal: AbortSignal) => Promise<T>, opts: { signal?: AbortSignal }) => Promise<T>;

/**
 * The Readable of createReadStream(): filled by a queued readRange, paused with the data
 * connection when its reader is slow. Destroying it (a player that seeks, `| head -c`) aborts
 * the transfer: ABOR, replies drained, the client usable for the next operation.
 */
export function rangeStream(run: Run, path: string, range: ByteRange, opts: ReadRangeOptions): Readable {
  const highWaterMark = opts.highWaterMark === undefined ? undefined : checkInteger('highWaterMark', opts.highWaterMark, 1);
  const out = new PassThrough(highWaterMark === undefined ? {} : { highWaterMark });
  const stop = new AbortController();
  const parent = opts.signal;
  const onParent = (): void => stop.abort(parent!.reason);
  if (parent?.aborted) onParent();
  else parent?.addEventListener('abort', onParent, { once: true });
  const onClose = (): void => stop.abort(new FtpError('FTPKIT_ERR_ABORTED', 'the stream was destroyed before the range was read'));
  out.once('close', onClose);
  run((s, signal) => readRange(s, path, range, out, signal), { signal: stop.signal }).then(
    () => out.end(),
    (err: unknown) => out.destroy(err instanceof Error ? err : new Error(String(err))),
  ).finally(() => parent?.removeEventListener('abort', onParent));
  return out;
}

/** read(): a slice as one Buffer. */
export async function readSlice(run: Run, path: string, range: ByteRange, opts: ReadRangeOptions): Promise<Buffer> {
  if (range.end === undefined) throw new FtpError('FTPKIT_ERR_INVALID_ARGUMENT', 'read(): end is required (createReadStream() reads to the end of a file)');
  if (range.end - range.start + 1 > MAX_READ_BYTES) {
    throw new FtpError('FTPKIT_ERR_INVALID_ARGUMENT', `read(): at most ${MAX_READ_BYTES} bytes at once, got ${range.end - range.start + 1}; use createReadStream()`);
  }
  const chunks: Buffer[] = [];
  const sink = new Writable({
    write(chunk: Buffer, _encoding, callback) {
      chunks.push(chunk);
      callback();
    },
  });
  await run((s, signal) => readRange(s, path, range, sink, signal), opts.signal ? { signal: opts.signal } : {});
  return Buffer.concat(chunks);
}
