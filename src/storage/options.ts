import type { ReadOptions, WriteOptions } from './types.js';
import { storageError } from './types.js';

/**
 * Validation of Storage call arguments, shared by every implementation so that they
 * reject the same inputs with the same code (EINVAL). Offsets are plain numbers checked
 * with Number.isSafeInteger: REST offsets past 4 GiB are ordinary, and any `| 0` or
 * 32-bit arithmetic would wrap them silently.
 */

function isOffset(n: unknown): n is number {
  return typeof n === 'number' && Number.isSafeInteger(n) && n >= 0;
}

/** `end` is inclusive; `end < start` is rejected rather than read as empty. */
export function checkReadOptions(options: ReadOptions | undefined, vpath: string): { start: number; end: number | undefined } {
  const start = options?.start ?? 0;
  const end = options?.end;
  if (!isOffset(start) || (end !== undefined && (!isOffset(end) || end < start))) {
    throw storageError('EINVAL', vpath);
  }
  return { start, end };
}

/** `append` wins over `start` (APPE has no offset). */
export function checkWriteOptions(options: WriteOptions | undefined, vpath: string): { start: number | undefined; append: boolean } {
  const append = options?.append === true;
  const start = options?.start;
  if (start !== undefined && !isOffset(start)) throw storageError('EINVAL', vpath);
  return { start: append ? undefined : start, append };
}

export function checkMode(mode: unknown, vpath: string): number {
  if (typeof mode !== 'number' || !Number.isInteger(mode) || mode < 0 || mode > 0o7777) {
    throw storageError('EINVAL', vpath);
  }
  return mode;
}

export function checkMtime(mtime: unknown, vpath: string): Date {
  if (!(mtime instanceof Date) || Number.isNaN(mtime.getTime())) throw storageError('EINVAL', vpath);
  return mtime;
}
