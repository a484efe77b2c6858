import { FtpError } from '../errors.js';
import { storageError } from './types.js';

/**
 * Virtual paths: what FTP clients name and what a Storage receives.
 * Always absolute, '/'-separated, with no '.', '..' or empty segments.
 *
 * Backslashes count as separators: Windows clients send them, and a storage that let
 * `..\..\etc` through as one literal segment on one OS and as three on another is how
 * ftp-srv escaped its root (CVE-2020-26299). Normalising them here means no later
 * layer ever sees one.
 */

// CR/LF would let a path inject commands into replies; NUL truncates host paths in C.
const UNSAFE = /[\0\r\n]/;

/**
 * Resolves `input` against the virtual folder `cwd` and normalises the result.
 * `..` at the root stays at the root (as on a real root folder), so no input can climb out.
 * Throws FtpError FTPKIT_ERR_UNSAFE_PATH for NUL, CR or LF in either argument.
 */
export function resolveVirtualPath(cwd: string, input: string): string {
  if (UNSAFE.test(input) || UNSAFE.test(cwd)) {
    throw new FtpError('FTPKIT_ERR_UNSAFE_PATH', 'path contains NUL, CR or LF');
  }
  const text = input.replace(/\\/g, '/');
  const parts: string[] = [];
  if (!text.startsWith('/')) pushSegments(parts, cwd.replace(/\\/g, '/'));
  pushSegments(parts, text);
  return '/' + parts.join('/');
}

function pushSegments(parts: string[], text: string): void {
  for (const segment of text.split('/')) {
    if (segment === '' || segment === '.') continue;
    if (segment === '..') parts.pop(); // pop() on [] is a no-op: the clamp at '/'
    else parts.push(segment);
  }
}

/** The folder holding `p` ('/' for '/' itself). `p` must be normalised. */
export function virtualDirname(p: string): string {
  const i = p.lastIndexOf('/');
  return i <= 0 ? '/' : p.slice(0, i);
}

/** The last segment of `p`, or '/' for the root. `p` must be normalised. */
export function virtualBasename(p: string): string {
  if (p === '/' || p === '') return '/';
  return p.slice(p.lastIndexOf('/') + 1);
}

/** Joins a normalised folder and one entry name; the result is normalised again. */
export function joinVirtual(dir: string, name: string): string {
  // A leading separator in `name` must not make it absolute and drop `dir`.
  return resolveVirtualPath(dir, name.replace(/^[/\\]+/, ''));
}

/**
 * For Storage implementations: re-normalises a path they were given (defence in depth,
 * the server already did it) and turns an unsafe one into an EINVAL storage error, so
 * every Storage failure carries a POSIX code as the interface promises.
 */
export function checkVirtualPath(p: string): string {
  try {
    return resolveVirtualPath('/', p);
  } catch {
    throw storageError('EINVAL', JSON.stringify(p));
  }
}
