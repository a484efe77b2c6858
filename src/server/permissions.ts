import { FtpError } from '../errors.js';
import { resolveVirtualPath } from '../storage/path.js';
import type { Session } from './session.js';

/**
 * Permission letters, pyftpdlib's model (its users know it): each letter allows a family of
 * commands. Read-only is 'elr'; everything is 'elradfmwMT'.
 */
export const PERMISSION_LETTERS = {
  e: 'change folder', // CWD, CDUP
  l: 'list', // LIST, NLST, MLSD, MLST, STAT path, SIZE, MDTM
  r: 'retrieve', // RETR
  a: 'append', // APPE
  d: 'delete', // DELE, RMD
  f: 'rename', // RNFR, RNTO
  m: 'make folder', // MKD
  w: 'store', // STOR, STOU
  M: 'chmod', // SITE CHMOD
  T: 'set mtime', // MFMT
} as const;

export type PermissionLetter = keyof typeof PERMISSION_LETTERS;

export const ALL_PERMISSIONS = 'elradfmwMT';
export const READ_ONLY_PERMISSIONS = 'elr';

/** Per-folder permissions: virtual folder → letters. The longest matching folder wins. */
export type PermissionOverrides = Record<string, string>;

/**
 * Checks a letters string; throws FtpError naming `field` and the bad letter. Returns the
 * letters de-duplicated in canonical order ('' is valid: nothing allowed).
 */
export function parsePermissions(letters: unknown, field = 'permissions'): string {
  if (typeof letters !== 'string') throw invalid(`${field} must be a string of permission letters (${ALL_PERMISSIONS})`);
  for (const ch of letters) {
    if (!Object.hasOwn(PERMISSION_LETTERS, ch)) {
      throw invalid(`${field}: unknown permission letter '${printable(ch)}' (known: ${ALL_PERMISSIONS})`);
    }
  }
  return [...ALL_PERMISSIONS].filter((l) => letters.includes(l)).join('');
}

/** Validates overrides and normalises their folders as virtual paths. */
export function parseOverrides(overrides: unknown, field = 'overrides'): Map<string, string> {
  const out = new Map<string, string>();
  if (overrides === undefined) return out;
  if (typeof overrides !== 'object' || overrides === null || Array.isArray(overrides)) {
    throw invalid(`${field} must be an object mapping folders to permission letters`);
  }
  for (const [folder, letters] of Object.entries(overrides)) {
    if (!folder.startsWith('/') || /[\0\r\n]/.test(folder)) throw invalid(`${field}: folder '${printable(folder)}' must be an absolute virtual path`);
    out.set(resolveVirtualPath('/', folder), parsePermissions(letters, `${field}['${folder}']`));
  }
  return out;
}

/** What one session may do, and where. */
export class Permissions {
  readonly base: string;
  readonly #overrides: [string, string][];

  constructor(base: string, overrides?: PermissionOverrides | Map<string, string>) {
    this.base = parsePermissions(base);
    const map = overrides instanceof Map ? overrides : parseOverrides(overrides);
    // Longest folder first, so the first match is the most specific one.
    this.#overrides = [...map].sort((a, b) => b[0].length - a[0].length);
  }

  /** The letters that apply at a normalised virtual path. */
  at(path: string): string {
    for (const [folder, letters] of this.#overrides) {
      if (folder === '/' || path === folder || path.startsWith(`${folder}/`)) return letters;
    }
    return this.base;
  }

  has(letter: PermissionLetter, path: string): boolean {
    return this.at(path).includes(letter);
  }

  /** True when no letter that changes files is granted anywhere. */
  get readOnly(): boolean {
    const writes = /[adfmwMT]/;
    return !writes.test(this.base) && this.#overrides.every(([, l]) => !writes.test(l));
  }
}

function invalid(message: string): FtpError {
  return new FtpError('FTPKIT_ERR_INVALID_ARGUMENT', message);
}

function printable(s: string): string {
  return s.replace(/[^\x20-\x7e]/g, (c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, '0')}`).slice(0, 64);
}

/**
 * Anonymous users create files but never replace one unless they may delete there (vsftpd
 * without anon_other_write_enable): in an incoming folder nobody overwrites another's upload.
 * Answers 553 itself and returns true when refused.
 */
export async function refuseReplace(session: Session, path: string): Promise<boolean> {
  if (session.account?.name !== 'anonymous' || session.permissions?.has('d', path)) return false;
  try {
    await session.storage!.stat(path);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return false;
    session.fail(err, path, 553);
    return true;
  }
  session.reply(553, `${path}: File exists; anonymous uploads cannot replace files`);
  return true;
}
