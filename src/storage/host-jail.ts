import { closeSync, constants, existsSync, fstat, fstatSync, open, promises as fsp, readlinkSync, type Stats } from 'node:fs';
import { promisify } from 'node:util';
import * as path from 'node:path';
import { storageError } from './types.js';

const openFd = promisify(open);
const fstatFd = promisify(fstat);

/**
 * Linux: /proc/self/fd/N names the entry descriptor N holds, not a path to look up again. A
 * descriptor checked once stays the same folder or file however its path changes, and
 * `/proc/self/fd/N/name` is openat(N, name) for every fs call, since Node has no *at functions.
 */
const PROC_FD = process.platform === 'linux' && existsSync('/proc/self/fd') ? '/proc/self/fd/' : undefined;
/** O_PATH (Linux; absent from fs.constants): holds an inode without opening it for I/O, so no device or FIFO side effect. */
const O_PATH = PROC_FD === undefined ? 0 : 0o10000000;
const O_DIRECTORY = constants.O_DIRECTORY ?? 0;
const O_NOFOLLOW = constants.O_NOFOLLOW ?? 0;

/** A folder or file the jail has resolved to inside the root, held until close(). */
export interface Held {
  /** Its real host path (for checks; never sent to a peer). */
  readonly real: string;
  /** A host path that reaches exactly this entry: /proc/self/fd/N on Linux, `real` elsewhere. */
  readonly path: string;
  /** `name` inside this folder, looked up in the held folder itself. */
  at(name: string): string;
  stat(): Promise<Stats>;
  /** Releases the descriptor. Idempotent. */
  close(): void;
}

/**
 * Maps virtual paths under a host folder and keeps every access inside it.
 *
 * The check is on where a path *lands*: a lexical prefix check on the joined path is what
 * ftp-srv had, and a symlink planted inside the root walks straight past it. Anything that
 * lands outside is reported as ENOENT, exactly like a missing file, so clients learn nothing.
 *
 * Linux (race-free against a local user swapping folders for symlinks, issue 12):
 *
 *   hold(vpath)    open(root + vpath, O_PATH)        links followed by the kernel
 *                  readlink(/proc/self/fd/N)         where it landed: must be inside the root
 *   then           chmod, utimes, open for I/O       on /proc/self/fd/N: that inode, whatever
 *                                                    the path has become since
 *   holdParent     the same for the parent folder;   mkdir, unlink, rename, O_CREAT|O_EXCL on
 *                                                    /proc/self/fd/N/leaf: in that folder
 *
 * A swap after the check changes nothing: every later call goes through the checked descriptor.
 *
 * Elsewhere (no /proc/self/fd): realpath and a prefix check, then calls by path. A local user
 * who swaps a folder for a symlink between the two can redirect one call; FTP users cannot
 * create symlinks, so only a racing local process could.
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

  /** An existing entry, symlinks followed; ENOENT when it lands outside. `dir`: ENOTDIR unless a folder. */
  async hold(vpath: string, dir = false): Promise<Held> {
    return this.#hold(this.hostPath(vpath), dir, vpath);
  }

  /**
   * For operations on the entry itself (create, remove, rename): the parent folder, held, and
   * the last name, which is not followed. The root has no parent: EPERM, callers special-case
   * '/' where another code fits.
   */
  async holdParent(vpath: string): Promise<{ dir: Held; leaf: string }> {
    if (vpath === '/') throw storageError('EPERM', vpath);
    const slash = vpath.lastIndexOf('/');
    const dir = await this.hold(vpath.slice(0, slash) || '/', true);
    return { dir, leaf: vpath.slice(slash + 1) };
  }

  /** `name` in a held folder, a final symlink followed (it must land inside too). */
  holdAt(dir: Held, name: string, vpath: string): Promise<Held> {
    return this.#hold(dir.at(name), false, vpath);
  }

  /**
   * Opens a held regular file for I/O: the same inode, reopened through /proc. Elsewhere by
   * path, with O_NOFOLLOW, and refused unless what opened is a regular file.
   */
  async reopen(held: Held, flags: number, vpath: string): Promise<number> {
    let fd: number;
    try {
      fd = await openFd(held.path, PROC_FD ? flags : flags | O_NOFOLLOW, 0o666);
    } catch (err) {
      throw hostError(err, vpath);
    }
    if (PROC_FD) return fd;
    try {
      const st = await fstatFd(fd);
      if (st.isDirectory()) throw storageError('EISDIR', vpath);
      if (!st.isFile()) throw storageError('EACCES', vpath);
      return fd;
    } catch (err) {
      closeSync(fd);
      throw hostError(err, vpath);
    }
  }

  async #hold(host: string, dir: boolean, vpath: string): Promise<Held> {
    const root = await this.#checkedRoot(vpath);
    if (!PROC_FD) {
      let real: string;
      try {
        real = await fsp.realpath(host);
      } catch (err) {
        throw hostError(err, vpath);
      }
      if (!HostJail.inside(root, real)) throw storageError('ENOENT', vpath);
      return pathHeld(real, dir, vpath);
    }
    let fd: number;
    try {
      // Not O_DIRECTORY here: its ENOTDIR would tell what an escaping link points to.
      fd = await openFd(host, O_PATH);
    } catch (err) {
      throw hostError(err, vpath);
    }
    let real = '';
    try {
      real = readlinkSync(PROC_FD + fd);
    } catch {
      // not a path we can check: refused below
    }
    if (!HostJail.inside(root, real)) {
      closeSync(fd);
      throw storageError('ENOENT', vpath);
    }
    if (dir && !fstatSync(fd).isDirectory()) {
      closeSync(fd);
      throw storageError('ENOTDIR', vpath);
    }
    return fdHeld(fd, real);
  }

  async #checkedRoot(vpath: string): Promise<string> {
    try {
      return await this.realRoot();
    } catch {
      throw storageError('ENOENT', vpath);
    }
  }
}

function fdHeld(fd: number, real: string): Held {
  const at = `${PROC_FD}${fd}`;
  let open = true;
  return {
    real,
    path: at,
    at: (name) => `${at}/${name}`,
    stat: () => fstatFd(fd),
    close() {
      if (!open) return;
      open = false;
      closeSync(fd); // an O_PATH descriptor: nothing to flush, never blocks
    },
  };
}

async function pathHeld(real: string, dir: boolean, vpath: string): Promise<Held> {
  if (dir) {
    const st = await fsp.stat(real).catch((err: unknown) => {
      throw hostError(err, vpath);
    });
    if (!st.isDirectory()) throw storageError('ENOTDIR', vpath);
  }
  return { real, path: real, at: (name) => path.join(real, name), stat: () => fsp.stat(real), close() {} };
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
