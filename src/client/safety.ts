import path from 'node:path';
import { FtpError } from '../errors.js';

/**
 * Every path or argument reaches the wire inside one command line, so a CR or LF
 * would let a caller (or a file name from a hostile listing) smuggle a second
 * command (basic-ftp CVE-2026-39983). NUL ends strings in C servers. Rejected
 * before anything is sent.
 */
export function assertSafeArgument(value: string, what = 'argument'): string {
  if (typeof value !== 'string') {
    throw new FtpError('FTPKIT_ERR_INVALID_ARGUMENT', `${what} must be a string`);
  }
  if (/[\r\n\0]/.test(value)) {
    throw new FtpError('FTPKIT_ERR_UNSAFE_PATH', `${what} contains CR, LF or NUL: ${JSON.stringify(value)}`);
  }
  return value;
}

/**
 * A name from a remote listing is safe to join under a local folder only when it
 * is one plain path segment: no separators of either platform, not `.`/`..`,
 * no control bytes (basic-ftp CVE-2026-27699 wrote outside its destination).
 */
export function isSafeEntryName(name: string): boolean {
  if (name === '' || name === '.' || name === '..') return false;
  if (name.includes('/') || name.includes('\\')) return false;
  // Control characters make names that terminals and shells misread.
  for (let i = 0; i < name.length; i++) {
    if (name.charCodeAt(i) < 0x20) return false;
  }
  return true;
}

/** Joins a checked name under `root` and proves the result stays inside it. */
export function joinInside(root: string, relative: string): string | null {
  const base = path.resolve(root);
  const full = path.resolve(base, relative);
  if (full !== base && !full.startsWith(base + path.sep)) return null;
  return full;
}

/** Joins remote path segments with '/', never doubling it. */
export function joinRemote(dir: string, name: string): string {
  if (dir === '' || dir === '.') return name;
  return dir.endsWith('/') ? dir + name : `${dir}/${name}`;
}
