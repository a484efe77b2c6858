import { mapLimit } from '../util/map-limit.js';
import { close, constants, createReadStream, createWriteStream, fstat, ftruncate, open, promises as fsp, realpathSync, type Stats } from 'node:fs';
import { promisify } from 'node:util';
import * as path from 'node:path';
import type { Readable, Writable } from 'node:stream';
import { FtpError } from '../errors.js';
import { HostJail, hostError, type Held } from './host-jail.js';
import {
  HiddenEntries,
  coversInode,
  coversPath,
  holdsProtected,
  resolveLocalStorageOptions,
  uploadTarget,
  type LocalStorageOptions,
  type ProtectedSnapshot,
} from './hidden-entries.js';
import { checkMode, checkMtime, checkReadOptions, checkWriteOptions } from './options.js';
import { checkVirtualPath, virtualBasename, virtualDirname } from './path.js';
import type { BlockReader, ListReader, ReadOptions, Storage, StorageStat, WriteOptions } from './types.js';
import { storageError } from './types.js';
import { readerFromStream } from './stream-reader.js';
import { listReaderOf } from './list-reader.js';
import { fdReader } from '../data/fd-reader.js';

export type { LocalStorageOptions } from './hidden-entries.js';

// 1 MiB reads: ~5x the throughput of the 64 KiB default on page-cached files (REFERENCE.md).
const READ_HIGH_WATER_MARK = 1024 * 1024;
const MIN_HIGH_WATER_MARK = 16 * 1024;
// Uploads: while one write is in the pool, socket chunks queue up to this and go out as one
// writev; the 16 KiB default paused the socket after every chunk (the main thread sat idle).
const WRITE_HIGH_WATER_MARK = 4 * 1024 * 1024;
// Enough parallel lstat calls to keep libuv's pool busy without flooding it on huge folders.
const LIST_CONCURRENCY = 32;
/** SITE CHMOD and copied modes never set setuid, setgid or sticky (issue 12). */
const PERMISSION_BITS = 0o777;

// O_NOFOLLOW with O_CREAT: a name that is a symlink is never created through.
// O_NONBLOCK: opening a FIFO must not hang a pool thread. Both are undefined on Windows.
const { O_RDONLY, O_WRONLY, O_CREAT, O_EXCL, O_APPEND } = constants;
const O_NOFOLLOW = constants.O_NOFOLLOW ?? 0;
const O_NONBLOCK = constants.O_NONBLOCK ?? 0;

// Streams run on plain descriptors: FileHandle-based streams cost ~2 ms more per file
// (promise-based reads and close), which dominates small transfers.
const openFd = promisify(open);
const closeFd = promisify(close);
const ftruncateFd = promisify(ftruncate);

/**
 * A Storage backed by a host folder. Virtual '/' is `root`; nothing outside it is reachable,
 * also against a local process racing to swap folders for symlinks (Linux; see HostJail).
 *
 * Symlinks found inside the root (FTP users cannot create them; an administrator did):
 * - pointing inside the root: followed by stat, list, read, write, cwd; stat reports the target;
 * - pointing outside, or dangling: behave as missing everywhere: ENOENT from stat, read,
 *   write, delete, rename-from; left out of list(); nothing is created, read or removed
 *   behind them. mkdir of the same name answers EEXIST (the name is taken) and a rename
 *   *onto* the name replaces the link entry itself, never the file it points to.
 * - delete() and rename() act on the link entry, never on its target; rmdir() of a link is ENOTDIR.
 *
 * Hidden entries (options.protectedPaths, and dotfiles unless `dotfiles: 'show'`) behave as
 * missing; creating one is EACCES (see hidden-entries.ts). chmod applies the 0o777 bits only
 * and refuses the root (EPERM).
 *
 * Errors carry POSIX codes and the virtual path only (see hostError).
 */
export class LocalStorage implements Storage {
  readonly #jail: HostJail;
  readonly #hidden: HiddenEntries;
  /** The host folder served as '/', absolute. */
  readonly root: string;
  /** The real path of `root` (as given when it does not exist yet): storages of one folder share locks. */
  readonly lockScope: string;

  constructor(root: string, options?: LocalStorageOptions) {
    if (typeof root !== 'string' || root === '') {
      throw new FtpError('FTPKIT_ERR_INVALID_ARGUMENT', 'root must be a non-empty string');
    }
    this.root = path.resolve(root);
    this.lockScope = realpathOr(this.root);
    this.#jail = new HostJail(root);
    this.#hidden = new HiddenEntries(resolveLocalStorageOptions(options));
  }

  async stat(p: string): Promise<StorageStat> {
    const vpath = this.#vpath(p);
    const { held, st } = await this.#hold(vpath);
    held.close();
    return toStat(virtualBasename(vpath), st);
  }

  async list(p: string): Promise<StorageStat[]> {
    const vpath = this.#vpath(p);
    const { held } = await this.#hold(vpath, true);
    try {
      const names = await fsp.readdir(held.path);
      const snap = await this.#hidden.snapshot();
      const entries = await mapLimit(names, LIST_CONCURRENCY, (name) => this.#listEntry(held, name, snap));
      return entries.filter((e): e is StorageStat => e !== undefined);
    } catch (err) {
      throw hostError(err, vpath);
    } finally {
      held.close();
    }
  }

  /**
   * list() in name order and in batches: the names are read at once (a few MB for 100,000
   * entries), the entries are stat'ed only as each batch is asked for.
   */
  async openList(p: string): Promise<ListReader> {
    // A subclass that reshapes list() keeps its entries: read through it.
    if (this.list !== LocalStorage.prototype.list) return listReaderOf(await this.list(p));
    const vpath = this.#vpath(p);
    const { held } = await this.#hold(vpath, true);
    let names: string[];
    let snap: ProtectedSnapshot | undefined;
    try {
      names = await fsp.readdir(held.path);
      snap = await this.#hidden.snapshot();
    } catch (err) {
      held.close();
      throw hostError(err, vpath);
    }
    names.sort();
    let next = 0;
    let open = true;
    return {
      read: async (max) => {
        const out: StorageStat[] = [];
        // Hidden entries (escaping links, dotfiles, vanished files) leave a batch short; [] only at the end.
        while (open && out.length === 0 && next < names.length) {
          const batch = names.slice(next, next + Math.max(1, max));
          next += batch.length;
          for (const e of await mapLimit(batch, LIST_CONCURRENCY, (name) => this.#listEntry(held, name, snap))) if (e) out.push(e);
        }
        return out;
      },
      close: async () => {
        if (!open) return;
        open = false;
        names = [];
        held.close();
      },
    };
  }

  async createReadStream(p: string, options?: ReadOptions): Promise<Readable> {
    const vpath = this.#vpath(p);
    const { start, end } = checkReadOptions(options, vpath);
    const { fd, size, real } = await this.#openFile(vpath, O_RDONLY);
    // Each read allocates a highWaterMark-sized buffer: 1 MiB for big files, less for small ones
    // (a 1 MiB buffer costs ~1 ms per tiny file).
    const remaining = (end === undefined ? size : Math.min(size, end + 1)) - (start ?? 0);
    const highWaterMark = Math.min(READ_HIGH_WATER_MARK, Math.max(MIN_HIGH_WATER_MARK, remaining + 1));
    return createReadStream(real, { fd, start, ...(end === undefined ? {} : { end }), highWaterMark });
  }

  async openReader(p: string, options?: ReadOptions): Promise<BlockReader> {
    // A subclass that reshapes createReadStream keeps its bytes: read through it.
    if (this.createReadStream !== LocalStorage.prototype.createReadStream) return readerFromStream(await this.createReadStream(p, options));
    const vpath = this.#vpath(p);
    const { start, end } = checkReadOptions(options, vpath);
    const { fd, size } = await this.#openFile(vpath, O_RDONLY);
    // Stat'ed at open, like a stream's end: a file growing meanwhile is sent as it was.
    return fdReader(fd, start ?? 0, end === undefined ? size : Math.min(size, end + 1), { mapError: (err) => hostError(err, vpath) });
  }

  async createWriteStream(p: string, options?: WriteOptions): Promise<Writable> {
    const vpath = this.#vpath(p, true);
    const { start, append } = checkWriteOptions(options, vpath);
    const flush = options?.flush === true;
    if (vpath === '/') throw storageError('EISDIR', vpath);
    const { fd, real, created } = await this.#openForWrite(vpath, append);
    // 'r+'-like (keep existing bytes) plus create; truncation only once the file is known to
    // be the right one (inside, not protected), so no swap can truncate a foreign file.
    if (!append && start === undefined && !created) {
      try {
        await ftruncateFd(fd, 0);
      } catch (err) {
        await closeFd(fd).catch(() => {});
        throw hostError(err, vpath);
      }
    }
    // flush: fsync before the descriptor closes, so 'close' means the bytes are on disk.
    return createWriteStream(real, { fd, flush, highWaterMark: WRITE_HIGH_WATER_MARK, ...(start === undefined ? {} : { start }) });
  }

  async mkdir(p: string): Promise<void> {
    const vpath = this.#vpath(p, true);
    if (vpath === '/') throw storageError('EEXIST', vpath);
    const { dir, leaf } = await this.#holdParent(vpath);
    try {
      await this.#refuseCreate(dir, leaf, vpath);
      await fsp.mkdir(dir.at(leaf));
    } catch (err) {
      throw hostError(err, vpath);
    } finally {
      dir.close();
    }
  }

  async rmdir(p: string): Promise<void> {
    const vpath = this.#vpath(p);
    const { dir, leaf } = await this.#holdParent(vpath);
    try {
      await this.#existingEntry(dir, leaf, vpath);
      await fsp.rmdir(dir.at(leaf)); // does not follow a final symlink: ENOTDIR
    } catch (err) {
      throw hostError(err, vpath);
    } finally {
      dir.close();
    }
  }

  async delete(p: string): Promise<void> {
    const vpath = this.#vpath(p);
    if (vpath === '/') throw storageError('EISDIR', vpath);
    const { dir, leaf } = await this.#holdParent(vpath);
    try {
      await this.#existingEntry(dir, leaf, vpath);
      await fsp.unlink(dir.at(leaf)); // removes a link itself, never its target; EISDIR for folders
    } catch (err) {
      throw hostError(err, vpath);
    } finally {
      dir.close();
    }
  }

  async rename(from: string, to: string): Promise<void> {
    const vfrom = this.#vpath(from);
    const vto = this.#vpath(to, true);
    const src = await this.#holdParent(vfrom);
    let dst: { dir: Held; leaf: string };
    try {
      // Both in one folder (the atomic upload's commit): one descriptor does.
      dst = vto !== '/' && virtualDirname(vfrom) === virtualDirname(vto) ? { dir: src.dir, leaf: virtualBasename(vto) } : await this.#holdParent(vto);
    } catch (err) {
      src.dir.close();
      throw err;
    }
    try {
      const st = await this.#existingEntry(src.dir, src.leaf, vfrom);
      const snap = await this.#hidden.snapshot();
      // Moving a folder would carry a protected path along, out from under its name.
      if (st.isDirectory() && holdsProtected(snap, path.join(src.dir.real, src.leaf))) throw storageError('EACCES', vfrom);
      await this.#refuseCreate(dst.dir, dst.leaf, vto);
      await fsp.rename(src.dir.at(src.leaf), dst.dir.at(dst.leaf));
    } catch (err) {
      throw hostError(err, vfrom);
    } finally {
      src.dir.close();
      dst.dir.close();
    }
  }

  async setMtime(p: string, mtime: Date): Promise<void> {
    const vpath = this.#vpath(p);
    checkMtime(mtime, vpath);
    const { held, st } = await this.#hold(vpath);
    try {
      await fsp.utimes(held.path, st.atime, mtime);
    } catch (err) {
      throw hostError(err, vpath);
    } finally {
      held.close();
    }
  }

  /** Applies `mode & 0o777`: never setuid, setgid or sticky. The root's mode is not the client's: EPERM. */
  async chmod(p: string, mode: number): Promise<void> {
    const vpath = this.#vpath(p);
    checkMode(mode, vpath);
    if (vpath === '/') throw storageError('EPERM', vpath);
    const { held } = await this.#hold(vpath);
    try {
      if (held.real === (await this.#jail.realRoot())) throw storageError('EPERM', vpath); // a link to the root
      await fsp.chmod(held.path, mode & PERMISSION_BITS);
    } catch (err) {
      throw hostError(err, vpath);
    } finally {
      held.close();
    }
  }

  async truncate(p: string, size: number): Promise<void> {
    const vpath = this.#vpath(p);
    if (!Number.isSafeInteger(size) || size < 0) throw storageError('EINVAL', vpath);
    const { fd, size: current } = await this.#openFile(vpath, O_WRONLY);
    try {
      if (size < current) await ftruncateFd(fd, size);
    } catch (err) {
      throw hostError(err, vpath);
    } finally {
      await closeFd(fd).catch(() => {});
    }
  }

  /** A normalised path with no hidden component (ENOENT; `create`: EACCES for a hidden last name). */
  #vpath(p: string, create = false): string {
    const vpath = checkVirtualPath(p);
    this.#hidden.checkPath(vpath, create);
    return vpath;
  }

  /** The parent folder of `vpath`, held; inside a protected folder it is missing. */
  async #holdParent(vpath: string): Promise<{ dir: Held; leaf: string }> {
    const parent = await this.#jail.holdParent(vpath);
    const snap = await this.#hidden.snapshot();
    if (coversPath(snap, parent.dir.real)) {
      parent.dir.close();
      throw storageError('ENOENT', vpath);
    }
    return parent;
  }

  /** An existing entry, symlinks followed, held; a protected one is missing. */
  async #hold(vpath: string, dir = false): Promise<{ held: Held; st: Stats }> {
    const held = await this.#jail.hold(vpath, dir);
    try {
      const st = await held.stat();
      const snap = await this.#hidden.snapshot();
      if (coversPath(snap, held.real) || coversInode(snap, st)) throw storageError('ENOENT', vpath);
      return { held, st };
    } catch (err) {
      held.close();
      throw hostError(err, vpath);
    }
  }

  /** A regular file opened for I/O through its held inode: a swap after the check cannot redirect it. */
  async #openFile(vpath: string, flags: number): Promise<{ fd: number; size: number; real: string }> {
    const { held, st } = await this.#hold(vpath);
    try {
      if (st.isDirectory()) throw storageError('EISDIR', vpath);
      if (!st.isFile()) throw storageError('EACCES', vpath); // FIFOs, devices, sockets: never opened
      const fd = await this.#jail.reopen(held, flags | O_NONBLOCK, vpath);
      return { fd, size: st.size, real: held.real };
    } finally {
      held.close();
    }
  }

  /**
   * Where a write to `vpath` lands. A new name is created in the held parent (O_EXCL: never
   * through a symlink swapped in). An existing file is reopened through its held inode; an
   * existing symlink is followed only when it lands inside the root, else ENOENT (creating its
   * target would create a file wherever the link says).
   */
  async #openForWrite(vpath: string, append: boolean): Promise<{ fd: number; real: string; created: boolean }> {
    const flags = O_WRONLY | O_NONBLOCK | (append ? O_APPEND : 0);
    const { dir, leaf } = await this.#holdParent(vpath);
    try {
      await this.#refuseCreate(dir, leaf, vpath);
      try {
        const fd = await openFd(dir.at(leaf), flags | O_CREAT | O_EXCL | O_NOFOLLOW, 0o666);
        return { fd, real: path.join(dir.real, leaf), created: true };
      } catch (err) {
        if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw hostError(err, vpath);
      }
      const target = await this.#jail.holdAt(dir, leaf, vpath);
      try {
        const st = await target.stat();
        if (st.isDirectory()) throw storageError('EISDIR', vpath);
        if (!st.isFile()) throw storageError('EACCES', vpath);
        const snap = await this.#hidden.snapshot();
        if (coversPath(snap, target.real) || coversInode(snap, st)) throw storageError('EACCES', vpath);
        return { fd: await this.#jail.reopen(target, flags, vpath), real: target.real, created: false };
      } finally {
        target.close();
      }
    } finally {
      dir.close();
    }
  }

  /** Creating `leaf` (or the upload it is the temporary of) in `dir` would create a protected path: EACCES. */
  async #refuseCreate(dir: Held, leaf: string, vpath: string): Promise<void> {
    const snap = await this.#hidden.snapshot();
    if (!snap) return;
    const target = uploadTarget(leaf);
    if (coversPath(snap, path.join(dir.real, leaf)) || (target !== undefined && coversPath(snap, path.join(dir.real, target)))) {
      throw storageError('EACCES', vpath);
    }
    // An existing other name for a protected inode (a hard link, or a symlink onto it, hidden
    // like it) is not replaced either.
    for (const name of target === undefined ? [leaf] : [leaf, target]) {
      const st = await fsp.lstat(dir.at(name)).catch(() => undefined);
      if (st && coversInode(snap, st)) throw storageError('EACCES', vpath);
      if (st?.isSymbolicLink()) {
        const linked = await this.#jail.holdAt(dir, name, vpath).catch(() => undefined);
        if (linked === undefined) continue; // escaping or dangling: replacing the link entry is harmless
        try {
          if (coversPath(snap, linked.real) || coversInode(snap, await linked.stat())) throw storageError('EACCES', vpath);
        } finally {
          linked.close();
        }
      }
    }
  }

  /**
   * The entry `leaf` itself (not followed), for delete, rmdir and rename: ENOENT when missing,
   * protected, or a symlink that lands outside the root, dangles, or lands on a protected entry.
   */
  async #existingEntry(dir: Held, leaf: string, vpath: string): Promise<Stats> {
    const st = await fsp.lstat(dir.at(leaf));
    const snap = await this.#hidden.snapshot();
    if (coversPath(snap, path.join(dir.real, leaf)) || coversInode(snap, st)) throw storageError('ENOENT', vpath);
    if (st.isSymbolicLink()) {
      let target: Held;
      try {
        target = await this.#jail.holdAt(dir, leaf, vpath);
      } catch {
        throw storageError('ENOENT', vpath);
      }
      try {
        if (snap && (coversPath(snap, target.real) || coversInode(snap, await target.stat()))) throw storageError('ENOENT', vpath);
      } finally {
        target.close();
      }
    }
    return st;
  }

  /** One list() entry, or undefined when it is hidden (dotfile, protected, escaping/dangling link, vanished, unreadable). */
  async #listEntry(dir: Held, name: string, snap: ProtectedSnapshot | undefined): Promise<StorageStat | undefined> {
    if (UNLISTABLE.test(name) || this.#hidden.hiddenName(name)) return undefined;
    try {
      let st = await fsp.lstat(dir.at(name));
      let real = path.join(dir.real, name);
      if (st.isSymbolicLink()) {
        const target = await this.#jail.holdAt(dir, name, name);
        try {
          st = await target.stat();
          real = target.real;
        } finally {
          target.close();
        }
      }
      if (coversPath(snap, real) || coversInode(snap, st)) return undefined;
      return toStat(name, st);
    } catch {
      return undefined;
    }
  }
}

function toStat(name: string, st: Stats): StorageStat {
  const type = st.isFile() ? 'file' : st.isDirectory() ? 'dir' : st.isSymbolicLink() ? 'link' : 'other';
  return { name, type, size: st.size, mtime: st.mtime, mode: st.mode & 0o7777 };
}

// Names no virtual path can address (backslash is a separator) or that would break a
// listing line (CR/LF): listing them would offer entries the client can never open.
const UNLISTABLE = /[\\\r\n\0]/;


function realpathOr(root: string): string {
  try {
    return realpathSync.native(root);
  } catch {
    return root;
  }
}
