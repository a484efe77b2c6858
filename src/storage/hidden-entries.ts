import { promises as fsp } from 'node:fs';
import * as path from 'node:path';
import { FtpError } from '../errors.js';
import { storageError } from './types.js';

/**
 * What a LocalStorage never shows (issue 12): protected host paths (a users file or TLS key that
 * sits inside a served folder) and, by default, dotfiles (`.git/config`, `.env`).
 *
 * Hidden entries behave as missing: ENOENT from stat, list, read, delete, chmod, rename-from,
 * and as a path component. Creating one (STOR, MKD, rename onto it) is EACCES whether or not
 * it exists, so the answer says nothing about what is there.
 */

/** The prefix of the server's atomic-upload temporaries (TEMP_PREFIX in src/server/upload.ts). */
export const UPLOAD_TEMP_PREFIX = '.ftpkit-upload-';
/** Must equal REWRITE_PREFIX in compressed/layout.ts. */
export const REWRITE_TEMP_PREFIX = '.ftpkit-rewrite-';

export interface LocalStorageOptions {
  /**
   * Host files or folders never listed, read, written, created, renamed, deleted, chmodded or
   * hashed through this storage; they behave as missing. Compared by real path (case-folded on
   * macOS and Windows) and by device and inode, so symlinks, `..` and hard links do not reach them.
   */
  protectedPaths?: readonly string[];
  /** 'hide' (default): names starting with '.' are not listed and behave as missing. */
  dotfiles?: 'hide' | 'show';
}

export interface ResolvedLocalStorageOptions {
  protectedPaths: string[];
  dotfiles: 'hide' | 'show';
}

/** Validates the options (FileServer shares it); throws FTPKIT_ERR_INVALID_ARGUMENT naming the option. */
export function resolveLocalStorageOptions(options: LocalStorageOptions | undefined): ResolvedLocalStorageOptions {
  const paths = options?.protectedPaths ?? [];
  if (!Array.isArray(paths) || !paths.every((p) => typeof p === 'string' && p !== '' && !p.includes('\0'))) {
    throw new FtpError('FTPKIT_ERR_INVALID_ARGUMENT', 'protectedPaths must be an array of host paths');
  }
  const dotfiles = options?.dotfiles ?? 'hide';
  if (dotfiles !== 'hide' && dotfiles !== 'show') {
    throw new FtpError('FTPKIT_ERR_INVALID_ARGUMENT', "dotfiles must be 'hide' or 'show'");
  }
  return { protectedPaths: paths.map((p) => path.resolve(p)), dotfiles };
}

// Default filesystems there ignore case: `/Users.JSON` names the protected `/users.json`.
const FOLD_CASE = process.platform === 'darwin' || process.platform === 'win32';
const fold = (p: string): string => (FOLD_CASE ? p.toLowerCase() : p);

/**
 * Protected inodes are looked up again at most this often: the users file is rewritten by
 * rename (a new inode) while sessions run. Real paths do not depend on it.
 */
const REFRESH_MS = 1000;

/** The protected paths as they are on disk now. */
export interface ProtectedSnapshot {
  /** Real paths, folded. */
  reals: string[];
  /** `dev:ino` of those that exist. */
  ids: Set<string>;
}

/** Identity of an inode, as the snapshot keeps it. */
export const inodeId = (st: { dev: number; ino: number }): string => `${st.dev}:${st.ino}`;

export class HiddenEntries {
  readonly #paths: readonly string[];
  readonly #hideDotfiles: boolean;
  #snapshot: Promise<ProtectedSnapshot> | undefined;
  #takenAt = 0;

  constructor(options: ResolvedLocalStorageOptions) {
    this.#paths = options.protectedPaths;
    this.#hideDotfiles = options.dotfiles === 'hide';
  }

  /** A name hidden by the dotfile rule. Upload temporaries stay visible unless their target is hidden. */
  hiddenName(name: string): boolean {
    if (!this.#hideDotfiles || !name.startsWith('.')) return false;
    // CompressedStorage's rewrite temporaries: it never lists them itself.
    if (name.startsWith(REWRITE_TEMP_PREFIX)) return false;
    return !name.startsWith(UPLOAD_TEMP_PREFIX) || this.hiddenName(name.slice(UPLOAD_TEMP_PREFIX.length));
  }

  /**
   * Lexical check of a normalised virtual path: a hidden component is ENOENT; with `create`, a
   * hidden last component is EACCES (nobody may create one, existing or not).
   */
  checkPath(vpath: string, create = false): void {
    if (!this.#hideDotfiles || !vpath.includes('/.')) return;
    const parts = vpath.split('/');
    for (let i = 1; i < parts.length; i++) {
      if (!this.hiddenName(parts[i]!)) continue;
      throw storageError(create && i === parts.length - 1 ? 'EACCES' : 'ENOENT', vpath);
    }
  }

  /** The protected paths now, or undefined when there are none (no I/O then). */
  snapshot(): Promise<ProtectedSnapshot> | undefined {
    if (this.#paths.length === 0) return undefined;
    if (this.#snapshot === undefined || Date.now() - this.#takenAt > REFRESH_MS) {
      this.#takenAt = Date.now();
      this.#snapshot = takeSnapshot(this.#paths);
    }
    return this.#snapshot;
  }
}

/** True when the real host path `real` is a protected path or inside a protected folder. */
export function coversPath(snap: ProtectedSnapshot | undefined, real: string): boolean {
  if (!snap) return false;
  const f = fold(real);
  return snap.reals.some((p) => f === p || f.startsWith(p.endsWith(path.sep) ? p : p + path.sep));
}

/** True when the inode is a protected entry (another name for it: a hard link, another case). */
export function coversInode(snap: ProtectedSnapshot | undefined, st: { dev: number; ino: number }): boolean {
  return snap !== undefined && snap.ids.has(inodeId(st));
}

/** True when a protected path lies below the real folder `real` (moving it would move them). */
export function holdsProtected(snap: ProtectedSnapshot | undefined, real: string): boolean {
  if (!snap) return false;
  const prefix = fold(real).endsWith(path.sep) ? fold(real) : fold(real) + path.sep;
  return snap.reals.some((p) => p.startsWith(prefix));
}

/**
 * The name a create of `leaf` would also touch: an upload temporary stands for its target, so
 * STOR of a protected name is refused before any data moves, not at the commit.
 */
export function uploadTarget(leaf: string): string | undefined {
  return leaf.startsWith(UPLOAD_TEMP_PREFIX) && leaf.length > UPLOAD_TEMP_PREFIX.length ? leaf.slice(UPLOAD_TEMP_PREFIX.length) : undefined;
}

async function takeSnapshot(paths: readonly string[]): Promise<ProtectedSnapshot> {
  const reals: string[] = [];
  const ids = new Set<string>();
  await Promise.all(
    paths.map(async (p) => {
      const real = await realpathLoose(p);
      reals.push(fold(real));
      try {
        ids.add(inodeId(await fsp.stat(real)));
      } catch {
        // missing for now: its path still protects the name
      }
    }),
  );
  return { reals, ids };
}

/** realpath of the longest existing ancestor, plus the rest: a protected file may appear later. */
async function realpathLoose(p: string): Promise<string> {
  try {
    return await fsp.realpath(p);
  } catch {
    const parent = path.dirname(p);
    return parent === p ? p : path.join(await realpathLoose(parent), path.basename(p));
  }
}
