import { FtpError, checkInteger } from '../errors.js';

/** A complete (possibly multi-line) reply. */
export interface FtpReply {
  code: number;
  /** All lines joined with \n; the code prefix is removed from the first and last line. */
  text: string;
  lines: string[];
}

export interface ReplyParserOptions {
  /** Largest accepted reply in bytes, terminators included. Default 64 KiB. */
  maxReplyBytes?: number;
}

export const DEFAULT_MAX_REPLY_BYTES = 65536;

const LINE_BREAK = /\r\n|\r|\n/;

/**
 * Formats a reply for the wire (RFC 959 §4.2).
 *
 *   211-first line
 *    123 a middle line starting with a digit gets one space,
 *   so it cannot be mistaken for the terminating line
 *   211 last line
 *
 * Any CR or LF inside the text starts a new line, so caller text can never
 * inject a second reply.
 */
export function formatReply(code: number, text: string | string[]): string {
  checkInteger('code', code, 100, 999);
  const parts = typeof text === 'string' ? [text] : text.length === 0 ? [''] : text;
  const lines: string[] = [];
  for (const part of parts) for (const l of String(part).split(LINE_BREAK)) lines.push(l);

  if (lines.length === 1) return `${code} ${lines[0]}\r\n`;
  let out = `${code}-${lines[0]}\r\n`;
  for (let i = 1; i < lines.length - 1; i++) {
    const l = lines[i]!;
    out += (isDigit(l.charCodeAt(0)) ? ' ' : '') + l + '\r\n';
  }
  return out + `${code} ${lines[lines.length - 1]}\r\n`;
}

/**
 * Streaming reply parser: push() bytes as they arrive, get whole replies.
 *
 * Bytes are kept until a LF so that a UTF-8 character split across chunks is
 * decoded intact. The size cap covers the whole reply including the partial
 * line being buffered, and is checked before a chunk is stored.
 * Blank lines between replies are ignored (some servers send them).
 */
export class ReplyParser {
  readonly #max: number;
  #pending: Buffer[] = [];
  #pendingBytes = 0;
  #replyBytes = 0; // bytes of completed lines of the reply in progress
  #code = -1; // code of the multi-line reply in progress, -1 when none
  #lines: string[] = [];

  constructor(opts: ReplyParserOptions = {}) {
    this.#max = checkInteger('maxReplyBytes', opts.maxReplyBytes ?? DEFAULT_MAX_REPLY_BYTES, 1);
  }

  push(chunk: Buffer | string): FtpReply[] {
    const data = typeof chunk === 'string' ? Buffer.from(chunk, 'utf8') : chunk;
    const replies: FtpReply[] = [];
    let start = 0;
    while (start < data.length) {
      const lf = data.indexOf(0x0a, start);
      const end = lf === -1 ? data.length : lf + 1;
      const piece = data.subarray(start, end);
      if (this.#replyBytes + this.#pendingBytes + piece.length > this.#max) {
        this.#reset();
        throw new FtpError('FTPKIT_ERR_REPLY_TOO_LARGE', `reply exceeds maxReplyBytes (${this.#max})`);
      }
      start = end;
      if (lf === -1) {
        this.#pending.push(piece);
        this.#pendingBytes += piece.length;
        break;
      }
      const bytes =
        this.#pending.length === 0 ? piece : Buffer.concat([...this.#pending, piece], this.#pendingBytes + piece.length);
      this.#pending = [];
      this.#pendingBytes = 0;
      const reply = this.#line(bytes);
      if (reply) replies.push(reply);
    }
    return replies;
  }

  #line(bytes: Buffer): FtpReply | undefined {
    let n = bytes.length - 1; // drop LF
    if (n > 0 && bytes[n - 1] === 0x0d) n--;
    const line = bytes.toString('utf8', 0, n);

    if (this.#code === -1) {
      if (line.length === 0) return undefined;
      const code = parseCode(line);
      const sep = line[3];
      if (code === -1 || (sep !== ' ' && sep !== '-' && sep !== undefined)) {
        this.#reset();
        throw new FtpError('FTPKIT_ERR_PROTOCOL', `malformed reply line: ${JSON.stringify(line.slice(0, 80))}`);
      }
      const text = line.slice(4);
      if (sep !== '-') return { code, text, lines: [text] };
      this.#code = code;
      this.#lines = [text];
      this.#replyBytes = bytes.length;
      return undefined;
    }

    // Only "<same code><space>" ends a multi-line reply (RFC 959 §4.2);
    // every other line, digits or not, is kept verbatim.
    if (parseCode(line) === this.#code && (line.length === 3 || line[3] === ' ')) {
      const code = this.#code;
      const lines = this.#lines;
      lines.push(line.slice(4));
      this.#reset();
      return { code, text: lines.join('\n'), lines };
    }
    this.#lines.push(line);
    this.#replyBytes += bytes.length;
    return undefined;
  }

  #reset(): void {
    this.#pending = [];
    this.#pendingBytes = 0;
    this.#replyBytes = 0;
    this.#code = -1;
    this.#lines = [];
  }
}

function isDigit(c: number): boolean {
  return c >= 0x30 && c <= 0x39;
}

/** The 3-digit code at the start of a line, or -1. */
function parseCode(line: string): number {
  if (line.length < 3) return -1;
  const a = line.charCodeAt(0);
  const b = line.charCodeAt(1);
  const c = line.charCodeAt(2);
  if (!isDigit(a) || !isDigit(b) || !isDigit(c)) return -1;
  return (a - 0x30) * 100 + (b - 0x30) * 10 + (c - 0x30);
}

export function isPositivePreliminary(code: number): boolean {
  return code >= 100 && code < 200;
}

export function isPositiveCompletion(code: number): boolean {
  return code >= 200 && code < 300;
}

export function isPositiveIntermediate(code: number): boolean {
  return code >= 300 && code < 400;
}

export function isNegative(code: number): boolean {
  return code >= 400 && code < 600;
}
