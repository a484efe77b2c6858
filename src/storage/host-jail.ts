import { promises as fsp } from 'node:fs';
import * as path from 'node:path';
import { storageError } from './types.js';

/**
 * Maps virtual paths under a host folder and keeps every access inside it.
 *
 * The check is on *real* paths: a lexical prefix check on the joined path is what
 * ftp-srv had, and a symlink planted inside the root walks straight past it. So every
 * target (or, for an entry about to be created or removed, its parent) goes through
 * fs.realpath and must land in realpath(root). Anything outside is reported as ENOENT,
 * exactly like a missing file, so clients learn nothing about the host.
 *
 * Files opened by LocalStorage are checked once more after open through /proc/self/fd
 * (Linux), closing the window where a folder is swapped for a symlink between the
 * realpath and the open. Namespace operations (mkdir, rename, unlink) keep that small
 * window: FTP users cannot create symlinks, so only a local user racing us could use it.
 */
export class HostJail {
  readonly #root: string;
  #realRoot: Promise<string> | undefined;

  constructor(root: string) {
    this.#root = path.resolve(root);
  }

  /** realpath(root), cached once it succeeds (a missing root may appear later). */
  realRoot(): Promise<string> {
    if (this.#realRoot === undefined) {
      const pending = fsp.realpath(this.#root);
      this.#realRoot = pending;
      pending.catch(() => {
        if (this.#realRoot === pending) this.#realRoot = undefined;
      });
    }
    return this.#realRoot;
  }

  /** True when the real path `real` is the real root or below it. */
  static inside(realRoot: string, real: string): boolean {
    if (real === realRoot) return true;
    const prefix = realRoot.endsWith(path.sep) ? realRoot : realRoot + path.sep;
    return real.startsWith(prefix);
  }

  /** The host path a normalised virtual path maps to (lexically; not yet jail-checked). */
  hostPath(vpath: string): string {
    return path.join(this.#root, ...vpath.split('/').filter(Boolean));
  }

  /** Real host path of an existing entry, following symlinks; ENOENT when it escapes. */
  async resolveExisting(vpath: string): Promise<string> {
    const root = await this.#checkedRoot(vpath);
    let real: string;
    try {
      real = await fsp.realpath(this.hostPath(vpath));
    } catch (err) {
      throw hostError(err, vpath);
    }
    if (!HostJail.inside(root, real)) throw storageError('ENOENT', vpath);
    return real;
  }

  /**
   * For operations on the entry itself (create, remove, rename): the real parent must be
   * inside; the last component is not followed. Returns the host path to operate on.
   * The root has no parent: EPERM, callers special-case '/' where another code fits.
   */
  async resolveEntry(vpath: string): Promise<string> {
    if (vpath === '/') throw storageError('EPERM', vpath);
    const slash = vpath.lastIndexOf('/');
    const parent = await this.resolveExisting(vpath.slice(0, slash) || '/');
    return path.join(parent, vpath.slice(slash + 1));
  }

  /**
   * True when `host` is a symlink whose target is outside the root or missing. Such links
   * are hidden: stat and list treat them as absent, so delete and rename do too.
   */
  async isHiddenLink(host: string): Promise<boolean> {
    let st;
    try {
      st = await fsp.lstat(host);
    } catch {
      return false;
    }
    if (!st.isSymbolicLink()) return false;
    try {
      return !HostJail.inside(await this.realRoot(), await fsp.realpath(host));
    } catch {
      return true;
    }
  }

  /** After open: the file behind the descriptor must still be inside (see class comment). */
  async verifyFd(fd: number, vpath: string): Promise<void> {
    let target: string;
    try {
      target = await fsp.readlink(`/proc/self/fd/${fd}`);
    } catch {
      return; // no procfs (not Linux): the realpath check stands alone
    }
    if (!HostJail.inside(await this.#checkedRoot(vpath), target)) throw storageError('ENOENT', vpath);
  }

  async #checkedRoot(vpath: string): Promise<string> {
    try {
      return await this.realRoot();
    } catch {
      throw storageError('ENOENT', vpath);
    }
  }
}

// Codes the Storage contract names pass through; a few others fold into the nearest one.
const PASS = new Set(['ENOENT', 'EEXIST', 'ENOTDIR', 'EISDIR', 'ENOTEMPTY', 'EACCES', 'EPERM', 'ENOSPC', 'EXDEV', 'EINVAL']);
const ALIAS: Record<string, string> = {
  ELOOP: 'ENOENT', // a symlink loop is as good as missing
  ENAMETOOLONG: 'EINVAL',
  EROFS: 'EACCES',
  EDQUOT: 'ENOSPC',
  EFBIG: 'ENOSPC',
  EBUSY: 'EPERM',
  ENXIO: 'EACCES', // a FIFO with no reader, opened non-blocking
};

/**
 * Rebuilds a host fs error as a storage error: the host message (which names the host
 * path) is dropped, only the code and the virtual path survive. Not kept as `cause` either,
 * since loggers print causes.
 */
export function hostError(err: unknown, vpath: string): NodeJS.ErrnoException {
  const code = (err as NodeJS.ErrnoException | undefined)?.code;
  const mapped = code === undefined ? 'EIO' : PASS.has(code) ? code : (ALIAS[code] ?? 'EIO');
  return storageError(mapped, vpath);
}
