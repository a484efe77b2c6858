import { printable } from '../util/printable.js';
import { FtpError } from '../errors.js';
import { resolveVirtualPath } from '../storage/path.js';
import type { LoggedInContext } from './command.js';
import type { Session } from './session.js';

/**
 * Permission letters, pyftpdlib's model (its users know it): each letter allows a family of
 * commands. Read-only is 'elr'; everything is 'elradfmwMT'. Which command needs which letter is
 * its `perm` in the command table (commands/*.ts), checked once by the session's dispatcher.
 */
export const PERMISSION_LETTERS = {
  e: 'change folder',
  l: 'list',
  r: 'retrieve',
  a: 'append',
  d: 'delete',
  f: 'rename',
  m: 'make folder',
  w: 'store',
  M: 'chmod',
  T: 'set mtime',
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
      throw invalid(`${field}: unknown permission letter '${printable(ch, 64)}' (known: ${ALL_PERMISSIONS})`);
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
    if (!folder.startsWith('/') || /[\0\r\n]/.test(folder)) throw invalid(`${field}: folder '${printable(folder, 64)}' must be an absolute virtual path`);
    out.set(resolveVirtualPath('/', folder), parsePermissions(letters, `${field}['${folder}']`));
  }
  return out;
}

/** Why a command is refused: answered `550 <path>: Permission denied (<why>)`. */
export interface Refusal {
  path: string;
  why: string;
}

/** What a rename moves and what it would replace (see Permissions.checkRename). */
export interface RenamePlan {
  from: string;
  to: string;
  /** The kind of the source. */
  moved: 'file' | 'dir';
  /** The kind of what exists at the target and would be replaced, if anything. */
  replaced?: 'file' | 'dir' | undefined;
  /** Whether 'w' alone may replace a file (false for anonymous, as its uploads never replace). */
  storeMayReplace: boolean;
}

interface Override {
  folder: string;
  letters: string;
  /** `folder` folded (see fold()), and its depth in segments ('/' is 0). */
  loose: string;
  depth: number;
}

/**
 * What one session may do, and where.
 *
 * Rules go by path, so anything that changes which rules apply to a file is itself a rule:
 * a folder that is or holds an override folder cannot be renamed, nothing is renamed onto one,
 * and a move between differently ruled places must not loosen them (checkRename).
 *
 * Override folders are matched by their exact path, and also ignoring case, Unicode
 * normalisation and trailing dots or spaces (fold()): a case-insensitive file system (macOS,
 * Windows) reaches `/shared/ro` as `/SHARED/RO`. The loose match only ever takes letters away
 * (the letters that apply are those of both matches), so on a case-sensitive file system a
 * folder that merely looks like an override folder gets no more than either rule allows.
 */
export class Permissions {
  readonly base: string;
  readonly #overrides: Override[];
  /** The deepest override folder's depth: only that many leading segments decide a loose match. */
  readonly #maxDepth: number;
  /** Loose matches by those leading segments (a listing asks for every entry of one folder). */
  readonly #loose = new Map<string, string | undefined>();

  constructor(base: string, overrides?: PermissionOverrides | Map<string, string>) {
    this.base = parsePermissions(base);
    const map = overrides instanceof Map ? overrides : parseOverrides(overrides);
    // Longest folder first, so the first match is the most specific one.
    this.#overrides = [...map]
      .sort((a, b) => b[0].length - a[0].length)
      .map(([folder, letters]) => ({ folder, letters, loose: fold(folder), depth: depth(folder) }));
    this.#maxDepth = Math.max(0, ...this.#overrides.map((o) => o.depth));
  }

  /** The letters that apply at a normalised virtual path. */
  at(path: string): string {
    if (this.#overrides.length === 0) return this.base;
    let letters = this.base;
    for (const o of this.#overrides) {
      if (within(path, o.folder)) {
        letters = o.letters;
        break;
      }
    }
    const loose = this.#looseMatch(leading(path, this.#maxDepth));
    return loose === undefined ? letters : intersect(letters, loose);
  }

  /** The letters of the deepest override folders containing `prefix` once both are folded. */
  #looseMatch(prefix: string): string | undefined {
    if (this.#loose.has(prefix)) return this.#loose.get(prefix);
    const folded = fold(prefix);
    let deepest = -1;
    for (const o of this.#overrides) {
      if (o.depth > deepest && within(folded, o.loose)) deepest = o.depth;
    }
    let letters: string | undefined;
    for (const o of this.#overrides) {
      if (o.depth === deepest && within(folded, o.loose)) letters = letters === undefined ? o.letters : intersect(letters, o.letters);
    }
    if (this.#loose.size >= 256) this.#loose.clear();
    this.#loose.set(prefix, letters);
    return letters;
  }

  has(letter: PermissionLetter, path: string): boolean {
    return this.at(path).includes(letter);
  }

  /**
   * An override folder (other than '/') that is `path` or lies under it, matched loosely as
   * in at(): renaming `path`, or renaming something onto it, would move where that rule applies.
   */
  overrideWithin(path: string): string | undefined {
    const loose = fold(path);
    for (const o of this.#overrides) {
      if (o.folder !== '/' && within(o.loose, loose)) return o.folder;
    }
    return undefined;
  }

  /** The refusal for renaming `path`, or renaming onto it, when it is or holds an override folder. */
  pinned(path: string): Refusal | undefined {
    const folder = this.overrideWithin(path);
    if (folder === undefined) return undefined;
    const what = folder === path ? 'it has' : `${folder} inside has`;
    return { path, why: `${what} its own permissions, so it cannot be renamed or renamed onto` };
  }

  /**
   * Whether a rename may happen (item 5 and 11 of issue 12); undefined when it may.
   *
   * - `f` at the source and at the target;
   * - neither may be, or hold, an override folder (the rule would stay behind, or land on
   *   what was moved);
   * - between places where different letters apply, a move is a delete at the source (`d`)
   *   and a creation at the target (`w` for a file, `m` for a folder), and the target must not
   *   allow anything the source does not: moving a file must never make it readable,
   *   deletable... where it was not. (Neither side holds an override, so every entry moved
   *   has the source's letters before and the target's after.)
   * - replacing an existing entry deletes it: a folder needs `d` at the target (as RMD), a
   *   file `d` or `w` (as DELE, or STOR over it).
   */
  checkRename(plan: RenamePlan): Refusal | undefined {
    const { from, to, moved, replaced } = plan;
    for (const path of [from, to]) {
      if (!this.has('f', path)) return { path, why: 'rename not allowed' };
    }
    const pinned = this.pinned(from) ?? this.pinned(to);
    if (pinned) return pinned;
    const source = this.at(from);
    const target = this.at(to);
    if (source !== target) {
      if (!source.includes('d')) return { path: from, why: 'delete not allowed; moving it where other permissions apply needs it' };
      const create = moved === 'dir' ? 'm' : 'w';
      if (!target.includes(create)) return { path: to, why: `${PERMISSION_LETTERS[create]} not allowed` };
      const gained = [...target].filter((l) => !source.includes(l)).join('');
      if (gained !== '') return { path: to, why: `moving ${from} here would allow '${gained}', which it does not have` };
    }
    if (replaced === 'dir' && !target.includes('d')) return { path: to, why: 'delete not allowed; replacing a folder needs it' };
    if (replaced === 'file' && !target.includes('d') && !(plan.storeMayReplace && target.includes('w'))) {
      return { path: to, why: `${plan.storeMayReplace ? 'delete or store' : 'delete'} not allowed; replacing a file needs it` };
    }
    return undefined;
  }

  /** True when no letter that changes files is granted anywhere. */
  get readOnly(): boolean {
    const writes = /[adfmwMT]/;
    return !writes.test(this.base) && this.#overrides.every((o) => !writes.test(o.letters));
  }
}

/** True when `path` is `folder` or inside it (both normalised, or both folded). */
function within(path: string, folder: string): boolean {
  return folder === '/' || path === folder || path.startsWith(`${folder}/`);
}

/** The first `n` segments of a normalised path ('/a/b/c', 2 → '/a/b'). */
function leading(path: string, n: number): string {
  let end = 0;
  for (let i = 0; i < n; i++) {
    end = path.indexOf('/', end + 1);
    if (end < 0) return path;
  }
  return n === 0 ? '/' : path.slice(0, end);
}

function depth(folder: string): number {
  return folder === '/' ? 0 : folder.split('/').length - 1;
}

/** The letters in both, in canonical order. */
function intersect(a: string, b: string): string {
  return [...a].filter((l) => b.includes(l)).join('');
}

/**
 * A virtual path as a case-insensitive file system may see it: each segment in NFC, lower
 * case, without trailing dots or spaces (Windows drops them; a name made only of them is kept).
 * Per segment, so the separators stay put.
 */
function fold(path: string): string {
  if (path === '/') return path;
  return path
    .split('/')
    .map((s) => s.normalize('NFC').toLowerCase().replace(/(?<=[^. ])[. ]+$/, ''))
    .join('/');
}

function invalid(message: string): FtpError {
  return new FtpError('FTPKIT_ERR_INVALID_ARGUMENT', message);
}


/** Whether `letter` is granted at `path`; answers `550 <path>: Permission denied (...)` when not. */
export function allowed(session: Session, permissions: Permissions, letter: PermissionLetter, path: string): boolean {
  if (permissions.has(letter, path)) return true;
  session.reply(550, `${path}: Permission denied (${PERMISSION_LETTERS[letter]} not allowed)`);
  return false;
}

/**
 * Anonymous users create files but never replace one unless they may delete there (vsftpd
 * without anon_other_write_enable): in an incoming folder nobody overwrites another's upload.
 * Answers 553 itself and returns true when refused.
 */
export async function refuseReplace(ctx: LoggedInContext, path: string): Promise<boolean> {
  const { session } = ctx;
  if (ctx.account?.name !== 'anonymous' || ctx.permissions.has('d', path)) return false;
  try {
    await ctx.storage.stat(path);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return false;
    session.fail(err, path, 553);
    return true;
  }
  session.reply(553, `${path}: File exists; anonymous uploads cannot replace files`);
  return true;
}
