import { printable as safeText } from '../../util/printable.js';
// Small text helpers shared by the audit records, the pretty lines, xferlog and STAT.

/** Verbs whose argument is a secret: never logged, never emitted. */
const SECRET_VERBS = new Set(['PASS', 'ACCT']);

/** A command's argument as it may be logged or emitted: PASS's and ACCT's become '***'. */
export function maskArgument(verb: string, arg: string): string {
  return SECRET_VERBS.has(verb) && arg !== '' ? '***' : arg;
}

/** Client-supplied text for a log line: the one printable() (src/util), at most 200 characters by default. */
export function printable(text: string, max = 200): string {
  return safeText(text, max);
}

const UNITS = ['B', 'KiB', 'MiB', 'GiB', 'TiB'];

/** 1536 -> '1.5 KiB'; bytes below 1 KiB as they are. */
export function formatBytes(bytes: number): string {
  let value = bytes;
  let unit = 0;
  while (value >= 1024 && unit < UNITS.length - 1) {
    value /= 1024;
    unit++;
  }
  return unit === 0 ? `${bytes} B` : `${value < 10 ? value.toFixed(1) : Math.round(value)} ${UNITS[unit]}`;
}

/** Bytes per second from a byte count and a duration; 0 ms counts as 1 ms. */
export function bytesPerSecond(bytes: number, durationMs: number): number {
  return Math.round((bytes * 1000) / Math.max(1, durationMs));
}

/** 1536 -> '1.5 KiB/s'. */
export function formatRate(bytesPerSec: number): string {
  return `${formatBytes(bytesPerSec)}/s`;
}

/** 850 -> '850 ms', 12_300 -> '12.3 s', 3_723_000 -> '1 h 2 min'. */
export function formatDuration(ms: number): string {
  if (ms < 1000) return `${Math.round(ms)} ms`;
  if (ms < 60_000) return `${(ms / 1000).toFixed(1)} s`;
  const minutes = Math.floor(ms / 60_000);
  if (minutes < 60) return `${minutes} min ${Math.floor((ms % 60_000) / 1000)} s`;
  return `${Math.floor(minutes / 60)} h ${minutes % 60} min`;
}

/** STAT during a transfer (issue 16): bytes done, of how many when known, and the rate so far. */
export function transferProgress(done: number, total: number | undefined, elapsedMs: number): string {
  const rate = formatRate(bytesPerSecond(done, elapsedMs));
  if (total === undefined) return `${done} bytes transferred, ${rate}`;
  const percent = total > 0 ? Math.floor((Math.min(done, total) * 100) / total) : 100;
  return `${done} of ${total} bytes transferred (${percent}%), ${rate}`;
}
