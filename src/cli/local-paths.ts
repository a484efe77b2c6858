// Local paths as a person typed them: checked before connecting, and named in every message
// about them (`cannot write /no/such/dir/x: no such folder`, never `ENOENT … open 'x.part'`).
import { constants } from 'node:fs';
import fs from 'node:fs/promises';
import path from 'node:path';
import { FtpError } from '../index.js';
import { CliError, errnoOf, EXIT } from './exit.js';
import { UsageError } from './usage-error.js';

/** What the file system said, in words; ENOENT depends on what was looked for. */
const REASONS: Record<string, string> = {
  ENOTDIR: 'a part of the path is not a folder',
  EISDIR: 'is a folder',
  EACCES: 'permission denied',
  EPERM: 'operation not permitted',
  ENOSPC: 'no space left on the device',
  EDQUOT: 'disk quota exceeded',
  EROFS: 'read-only file system',
  EFBIG: 'file too large',
  EMFILE: 'too many open files',
  ENFILE: 'too many open files in the system',
  ENAMETOOLONG: 'name too long',
  ELOOP: 'too many symbolic links',
  ESPIPE: 'cannot seek (a pipe or a device)',
  EIO: 'input/output error',
  EBADF: 'not open for that',
  EAGAIN: 'not ready (non-blocking)',
};

export type LocalMode = 'read' | 'write';

/**
 * An error of the local file system (raw errno, or the client's FTPKIT_ERR_LOCAL_FILE) as one
 * line naming `shown`, the path as typed: exit 23 when writing, 26 when reading. Anything else
 * (a reply, a network error) is returned as it is.
 */
export function localError(err: unknown, shown: string, mode: LocalMode): unknown {
  if (err instanceof FtpError && (err.code as string) !== 'FTPKIT_ERR_LOCAL_FILE') return err;
  if (err instanceof CliError || err instanceof UsageError) return err;
  const errno = errnoOf(err);
  if (errno === undefined) return err;
  const reason = errno === 'ENOENT' ? (mode === 'write' ? 'no such folder' : 'no such file') : REASONS[errno];
  if (reason === undefined) return err;
  return new CliError(`cannot ${mode} ${shown}: ${reason}`, mode === 'write' ? EXIT.WRITE_ERROR : EXIT.READ_ERROR, { cause: err });
}

/** `ftp://…`, `https://…`: what a DEST or SOURCE must not be. */
export function looksLikeUrl(arg: string): boolean {
  return /^[a-z][a-z0-9+.-]*:\/\//i.test(arg);
}

/** The URL with its password replaced by '***', for messages. */
export function redactUrl(input: string): string {
  return input.replace(/^([a-z][a-z0-9+.-]*:\/\/[^/@:]*:)[^/@]*@/i, '$1***@');
}

/**
 * Where a download lands, checked before connecting: DEST (or `base` in the current folder;
 * `base` inside DEST when DEST is a folder) whose folder exists and may be written.
 */
export async function writableDest(destArg: string | undefined, base: string): Promise<string> {
  let dest = destArg ?? base;
  if (dest === '') throw new UsageError('the URL names no file; give DEST, or end the URL with / to list the folder');
  if (await fs.stat(dest).then((s) => s.isDirectory(), () => false)) {
    if (base === '') throw new UsageError(`the URL names no file to write into the folder ${dest}`);
    dest = path.join(dest, base);
  }
  const folder = path.dirname(dest);
  const isFolder = await fs.stat(folder).then((s) => s.isDirectory(), (err: NodeJS.ErrnoException) => {
    if (err.code === 'ENOENT' || err.code === 'ENOTDIR') return false;
    throw localError(err, dest, 'write');
  });
  if (!isFolder) throw new CliError(`cannot write ${dest}: no such folder`, EXIT.WRITE_ERROR);
  await fs.access(folder, constants.W_OK).catch((err: unknown) => {
    throw localError(err, dest, 'write');
  });
  return dest;
}
