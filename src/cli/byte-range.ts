// ftp-get --range: curl's -r syntax for one byte range.
import { UsageError } from './usage-error.js';

/** `A-B` (both included), `A-` (to the end) or `-N` (the last N bytes). */
export type ByteRangeArg = { start: number; end: number | undefined } | { last: number };

const USAGE = '--range takes A-B, A- or -N (byte positions, as curl -r; write --range=-N for the last N bytes)';

/** Parses a --range value; anything else is a UsageError (one line, exit 2). */
export function parseByteRange(text: string): ByteRangeArg {
  const m = /^(\d{1,16})?-(\d{1,16})?$/.exec(text);
  const shown = JSON.stringify(text.length > 40 ? `${text.slice(0, 40)}...` : text);
  if (!m || (m[1] === undefined && m[2] === undefined)) throw new UsageError(`${USAGE}, got ${shown}`);
  const [a, b] = [m[1], m[2]].map((d) => (d === undefined ? undefined : Number(d)));
  if ((a !== undefined && !Number.isSafeInteger(a)) || (b !== undefined && !Number.isSafeInteger(b))) throw new UsageError(`${USAGE}: ${shown} is too large`);
  if (a === undefined) {
    if (b === 0) throw new UsageError(`--range -N needs N of at least 1, got ${shown}`);
    return { last: b! };
  }
  if (b !== undefined && b < a) throw new UsageError(`--range ${text}: the end comes before the start`);
  return { start: a, end: b };
}

/** Looks like a range someone meant for the old -r (`-r 0-99`): 0-99, 100-, -500. */
export function looksLikeRange(text: string): boolean {
  return /^(\d+-\d*|-\d+)$/.test(text);
}

/** The range as bytes of a file of `size` bytes: `-N` and an end past the file resolved. */
export function resolveRange(range: ByteRangeArg, size: number | undefined): { start: number; end: number | undefined } {
  if ('last' in range) {
    if (size === undefined) throw new UsageError('--range -N needs the file size, and the server did not give it (SIZE)', { seeHelp: false });
    return { start: Math.max(0, size - range.last), end: size === 0 ? undefined : size - 1 };
  }
  return range;
}
