import { constants } from 'node:fs';
import fs from 'node:fs/promises';
import type { FileHandle } from 'node:fs/promises';
import { Readable } from 'node:stream';
import { FtpError } from '../errors.js';
import { fdReader, type FdReader } from '../data/fd-reader.js';

/**
 * The local side of a transfer: opening files, and turning what the file
 * system says (ENOENT, EACCES, ENOSPC...) into FTPKIT_ERR_LOCAL_FILE naming
 * the path as the caller gave it, with the errno error as `cause`.
 */

const REASONS: Record<string, string> = {
  ENOENT: 'no such file or directory',
  ENOTDIR: 'a parent is not a folder',
  EISDIR: 'is a folder',
  EACCES: 'permission denied',
  EPERM: 'operation not permitted',
  EEXIST: 'already exists',
  ELOOP: 'is a symbolic link (not followed)',
  ENOSPC: 'no space left on the device',
  EDQUOT: 'disk quota exceeded',
  EROFS: 'read-only file system',
  EFBIG: 'file too large',
  EMFILE: 'too many open files',
  ENFILE: 'too many open files in the system',
  ENAMETOOLONG: 'name too long',
  ESPIPE: 'cannot seek (a pipe or a device)',
  EIO: 'input/output error',
};

/** Errors of the local file system, as opposed to the network's (ECONNRESET, EPIPE on a socket...). */
export function isLocalFileError(err: unknown): err is NodeJS.ErrnoException {
  const code = (err as NodeJS.ErrnoException | null)?.code;
  return !(err instanceof FtpError) && typeof code === 'string' && Object.hasOwn(REASONS, code);
}

/** `cannot open local file ./x.txt: no such file or directory (ENOENT)` */
export function localFileError(err: unknown, path: string, action: string): FtpError {
  if (err instanceof FtpError) return err;
  const code = (err as NodeJS.ErrnoException | null)?.code;
  const reason = code !== undefined && Object.hasOwn(REASONS, code) ? `${REASONS[code]} (${code})` : (err as Error)?.message ?? String(err);
  return new FtpError('FTPKIT_ERR_LOCAL_FILE', `cannot ${action} local file ${path}: ${reason}`, { cause: err });
}

/** Passes FtpErrors and network errors through; file-system errors become FTPKIT_ERR_LOCAL_FILE. */
export function asLocalFileError(err: unknown, path: string, action: string): unknown {
  return isLocalFileError(err) ? localFileError(err, path, action) : err;
}

/** What an upload reads from. */
export type LocalSource =
  | { kind: 'file'; reader: FdReader; size: number }
  | { kind: 'stream'; stream: Readable; size: number | undefined; path: string | undefined };

/**
 * A local file to upload: binary from a regular file is read into reused
 * blocks (block-pump.ts); ASCII, pipes and devices stream. Sizes are taken at
 * open, like a download's: a file growing meanwhile is sent as it was.
 */
export async function openUploadFile(path: string, from: number, ascii: boolean, mapError: (err: NodeJS.ErrnoException) => Error): Promise<LocalSource> {
  let handle: FileHandle;
  try {
    handle = await fs.open(path, 'r');
  } catch (err) {
    throw localFileError(err, path, 'open');
  }
  let stat;
  try {
    stat = await handle.stat();
  } catch (err) {
    await handle.close().catch(() => undefined);
    throw localFileError(err, path, 'read');
  }
  if (stat.isDirectory()) {
    await handle.close().catch(() => undefined);
    throw localFileError(Object.assign(new Error('EISDIR'), { code: 'EISDIR' }), path, 'read');
  }
  if (stat.isFile() && !ascii) return { kind: 'file', reader: fdReader(handle.fd, from, stat.size, { release: () => handle.close(), mapError }), size: stat.size };
  // A pipe cannot seek: only ask for a position when resuming (which then fails with ESPIPE).
  return { kind: 'stream', stream: handle.createReadStream({ ...(from > 0 ? { start: from } : {}), highWaterMark: 1024 * 1024 }), size: stat.size, path };
}

/** Bytes held in memory, from `from` on. */
export function bufferSource(data: Uint8Array, from: number): LocalSource {
  const bytes = Buffer.from(data.buffer, data.byteOffset, data.byteLength).subarray(Math.min(from, data.byteLength));
  // One chunk, not object mode: the socket (or the ASCII encoder) takes it as it is.
  return { kind: 'stream', stream: Readable.from([bytes], { objectMode: false }), size: data.byteLength, path: undefined };
}

/** Never follow a symlink planted at the final path component (tree downloads). */
const NOFOLLOW = constants.O_NOFOLLOW;

/**
 * Opens a download's destination before RETR goes out, so a read-only or
 * missing folder fails cleanly first: emptied, or with `startAt` (resume) an
 * existing file cut to that length. A file shorter than `startAt` is refused:
 * writing there would leave a hole of zeros in the middle.
 */
export async function openDownloadFile(path: string, startAt: number, noFollow: boolean): Promise<FileHandle> {
  const flags = (startAt > 0 ? constants.O_WRONLY : constants.O_WRONLY | constants.O_CREAT | constants.O_TRUNC) | (noFollow ? NOFOLLOW : 0);
  let handle: FileHandle;
  try {
    handle = await fs.open(path, flags, 0o644);
  } catch (err) {
    throw localFileError(err, path, 'open');
  }
  try {
    if (startAt > 0) {
      const st = await handle.stat();
      if (st.isFile() && st.size < startAt) {
        throw new FtpError('FTPKIT_ERR_INVALID_ARGUMENT', `startAt ${startAt} is past the end of local file ${path} (${st.size} bytes)`);
      }
      if (st.isFile()) await handle.truncate(startAt);
    }
    return handle;
  } catch (err) {
    await handle.close().catch(() => undefined);
    throw localFileError(err, path, 'write');
  }
}

/** Internal download option (tree downloads): refuse a symlink at the destination. Not part of the public options. */
export const NO_FOLLOW: unique symbol = Symbol('ftpkit.noFollow');
