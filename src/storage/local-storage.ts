import { close, constants, createReadStream, createWriteStream, fstat, ftruncate, open, promises as fsp, realpathSync, type Stats } from 'node:fs';
import { promisify } from 'node:util';
import * as path from 'node:path';
import type { Readable, Writable } from 'node:stream';
import { FtpError } from '../errors.js';
import { HostJail, hostError } from './host-jail.js';
import { checkMode, checkMtime, checkReadOptions, checkWriteOptions } from './options.js';
import { checkVirtualPath, virtualBasename } from './path.js';
import type { BlockReader, ListReader, ReadOptions, Storage, StorageStat, WriteOptions } from './types.js';
import { storageError } from './types.js';
import { readerFromStream } from './stream-reader.js';
import { listReaderOf } from './list-reader.js';
import { fdReader } from '../util/fd-reader.js';

// 1 MiB reads: ~5x the throughput of the 64 KiB default on page-cached files (REFERENCE.md).
const READ_HIGH_WATER_MARK = 1024 * 1024;
const MIN_HIGH_WATER_MARK = 16 * 1024;
// Uploads: while one write is in the pool, socket chunks queue up to this and go out as one
// writev; the 16 KiB default paused the socket after every chunk (the main thread sat idle).
const WRITE_HIGH_WATER_MARK = 4 * 1024 * 1024;
// Enough parallel lstat calls to keep libuv's pool busy without flooding it on huge folders.
const LIST_CONCURRENCY = 32;

// O_NOFOLLOW: never open through a final-component symlink (it may have been swapped in
// after the realpath check). O_NONBLOCK: opening a FIFO must not hang a pool thread.
// Both are undefined on Windows, where the realpath checks stand alone.
const { O_RDONLY, O_WRONLY, O_CREAT, O_APPEND } = constants;

// Streams run on plain descriptors: FileHandle-based streams cost ~2 ms more per file
// (promise-based reads and close), which dominates small transfers.
const openFd = promisify(open);
const closeFd = promisify(close);
const fstatFd = promisify(fstat);
const ftruncateFd = promisify(ftruncate);
const O_NOFOLLOW = constants.O_NOFOLLOW ?? 0;
const O_NONBLOCK = constants.O_NONBLOCK ?? 0;

/**
 * A Storage backed by a host folder. Virtual '/' is `root`; nothing outside it is reachable.
 *
 * Symlinks found inside the root (FTP users cannot create them; an administrator did):
 * - pointing inside the root: followed by stat, list, read, write, cwd; stat reports the target;
 * - pointing outside, or dangling: behave as missing everywhere: ENOENT from stat, read,
 *   write, delete, rename-from; left out of list(); nothing is created, read or removed
 *   behind them. mkdir of the same name answers EEXIST (the name is taken) and a rename
 *   *onto* the name replaces the link entry itself, never the file it points to.
 * - delete() and rename() act on the link entry, never on its target; rmdir() of a link is ENOTDIR.
 *
 * Errors carry POSIX codes and the virtual path only (see hostError).
 */
export class LocalStorage implements Storage {
  readonly #jail: HostJail;
  /** The host folder served as '/', absolute. */
  readonly root: string;
  /** The real path of `root` (as given when it does not exist yet): storages of one folder share locks. */
  readonly lockScope: string;

  constructor(root: string) {
    if (typeof root !== 'string' || root === '') {
      throw new FtpError('FTPKIT_ERR_INVALID_ARGUMENT', 'root must be a non-empty string');
    }
    this.root = path.resolve(root);
    this.lockScope = realpathOr(this.root);
    this.#jail = new HostJail(root);
  }

  async stat(p: string): Promise<StorageStat> {
    const vpath = checkVirtualPath(p);
    const real = await this.#jail.resolveExisting(vpath);
    try {
      return toStat(virtualBasename(vpath), await fsp.stat(real));
    } catch (err) {
      throw hostError(err, vpath);
    }
  }

  async list(p: string): Promise<StorageStat[]> {
    const vpath = checkVirtualPath(p);
    const real = await this.#jail.resolveExisting(vpath);
    let names: string[];
    try {
      names = await fsp.readdir(real);
    } catch (err) {
      throw hostError(err, vpath);
    }
    const root = await this.#jail.realRoot();
    const entries = await mapLimit(names, LIST_CONCURRENCY, (name) => statEntry(root, real, name));
    return entries.filter((e): e is StorageStat => e !== undefined);
  }

  /**
   * list() in name order and in batches: the names are read at once (a few MB for 100,000
   * entries), the entries are stat'ed only as each batch is asked for.
   */
  async openList(p: string): Promise<ListReader> {
    // A subclass that reshapes list() keeps its entries: read through it.
    if (this.list !== LocalStorage.prototype.list) return listReaderOf(await this.list(p));
    const vpath = checkVirtualPath(p);
    const real = await this.#jail.resolveExisting(vpath);
    let names: string[];
    try {
      names = await fsp.readdir(real);
    } catch (err) {
      throw hostError(err, vpath);
    }
    const root = await this.#jail.realRoot();
    names.sort();
    let next = 0;
    return {
      async read(max) {
        const out: StorageStat[] = [];
        // Hidden entries (escaping links, vanished files) leave a batch short; [] only at the end.
        while (out.length === 0 && next < names.length) {
          const batch = names.slice(next, next + Math.max(1, max));
          next += batch.length;
          for (const e of await mapLimit(batch, LIST_CONCURRENCY, (name) => statEntry(root, real, name))) if (e) out.push(e);
        }
        return out;
      },
      async close() {
        names = [];
      },
    };
  }

  async createReadStream(p: string, options?: ReadOptions): Promise<Readable> {
    const vpath = checkVirtualPath(p);
    const { start, end } = checkReadOptions(options, vpath);
    const real = await this.#jail.resolveExisting(vpath);
    const { fd, size } = await this.#open(real, O_RDONLY, vpath);
    // Each read allocates a highWaterMark-sized buffer: 1 MiB for big files, less for small ones
    // (a 1 MiB buffer costs ~1 ms per tiny file).
    const remaining = (end === undefined ? size : Math.min(size, end + 1)) - (start ?? 0);
    const highWaterMark = Math.min(READ_HIGH_WATER_MARK, Math.max(MIN_HIGH_WATER_MARK, remaining + 1));
    return createReadStream(real, { fd, start, ...(end === undefined ? {} : { end }), highWaterMark });
  }

  async openReader(p: string, options?: ReadOptions): Promise<BlockReader> {
    // A subclass that reshapes createReadStream keeps its bytes: read through it.
    if (this.createReadStream !== LocalStorage.prototype.createReadStream) return readerFromStream(await this.createReadStream(p, options));
    const vpath = checkVirtualPath(p);
    const { start, end } = checkReadOptions(options, vpath);
    const real = await this.#jail.resolveExisting(vpath);
    const { fd, size } = await this.#open(real, O_RDONLY, vpath);
    // Stat'ed at open, like a stream's end: a file growing meanwhile is sent as it was.
    return fdReader(fd, start ?? 0, end === undefined ? size : Math.min(size, end + 1), { mapError: (err) => hostError(err, vpath) });
  }

  async createWriteStream(p: string, options?: WriteOptions): Promise<Writable> {
    const vpath = checkVirtualPath(p);
    const { start, append } = checkWriteOptions(options, vpath);
    const flush = options?.flush === true;
    if (vpath === '/') throw storageError('EISDIR', vpath);
    const target = await this.#writeTarget(vpath);
    // 'r+'-like (keep existing bytes) plus create; truncation happens only after the
    // descriptor is verified to be inside, so a raced swap cannot truncate a foreign file.
    const { fd } = await this.#open(target, O_WRONLY | O_CREAT | (append ? O_APPEND : 0), vpath);
    if (!append && start === undefined) {
      try {
        await ftruncateFd(fd, 0);
      } catch (err) {
        await closeFd(fd).catch(() => {});
        throw hostError(err, vpath);
      }
    }
    // flush: fsync before the descriptor closes, so 'close' means the bytes are on disk.
    return createWriteStream(target, { fd, flush, highWaterMark: WRITE_HIGH_WATER_MARK, ...(start === undefined ? {} : { start }) });
  }

  async mkdir(p: string): Promise<void> {
    const vpath = checkVirtualPath(p);
    if (vpath === '/') throw storageError('EEXIST', vpath);
    const host = await this.#jail.resolveEntry(vpath);
    try {
      await fsp.mkdir(host);
    } catch (err) {
      throw hostError(err, vpath);
    }
  }

  async rmdir(p: string): Promise<void> {
    const vpath = checkVirtualPath(p);
    const host = await this.#jail.resolveEntry(vpath);
    if (await this.#jail.isHiddenLink(host)) throw storageError('ENOENT', vpath);
    try {
      await fsp.rmdir(host); // does not follow a final symlink: ENOTDIR
    } catch (err) {
      throw hostError(err, vpath);
    }
  }

  async delete(p: string): Promise<void> {
    const vpath = checkVirtualPath(p);
    if (vpath === '/') throw storageError('EISDIR', vpath);
    const host = await this.#jail.resolveEntry(vpath);
    if (await this.#jail.isHiddenLink(host)) throw storageError('ENOENT', vpath);
    try {
      await fsp.unlink(host); // removes a link itself, never its target; EISDIR for folders
    } catch (err) {
      throw hostError(err, vpath);
    }
  }

  async rename(from: string, to: string): Promise<void> {
    const vfrom = checkVirtualPath(from);
    const vto = checkVirtualPath(to);
    const hostFrom = await this.#jail.resolveEntry(vfrom);
    const hostTo = await this.#jail.resolveEntry(vto);
    if (await this.#jail.isHiddenLink(hostFrom)) throw storageError('ENOENT', vfrom);
    try {
      await fsp.rename(hostFrom, hostTo);
    } catch (err) {
      throw hostError(err, vfrom);
    }
  }

  async setMtime(p: string, mtime: Date): Promise<void> {
    const vpath = checkVirtualPath(p);
    checkMtime(mtime, vpath);
    const real = await this.#jail.resolveExisting(vpath);
    try {
      const st = await fsp.stat(real);
      await fsp.utimes(real, st.atime, mtime);
    } catch (err) {
      throw hostError(err, vpath);
    }
  }

  async chmod(p: string, mode: number): Promise<void> {
    const vpath = checkVirtualPath(p);
    checkMode(mode, vpath);
    const real = await this.#jail.resolveExisting(vpath);
    try {
      await fsp.chmod(real, mode);
    } catch (err) {
      throw hostError(err, vpath);
    }
  }

  async truncate(p: string, size: number): Promise<void> {
    const vpath = checkVirtualPath(p);
    if (!Number.isSafeInteger(size) || size < 0) throw storageError('EINVAL', vpath);
    const real = await this.#jail.resolveExisting(vpath);
    const { fd, size: current } = await this.#open(real, O_WRONLY, vpath);
    try {
      if (size < current) await ftruncateFd(fd, size);
    } catch (err) {
      throw hostError(err, vpath);
    } finally {
      await closeFd(fd).catch(() => {});
    }
  }

  /**
   * Where a write to `vpath` lands. A new name is created in the (real, jailed) parent.
   * An existing final symlink is followed only when its real target is inside the root;
   * one pointing outside or dangling is treated as missing-and-unwritable (ENOENT), since
   * creating its target would create a file wherever the link says.
   */
  async #writeTarget(vpath: string): Promise<string> {
    const host = await this.#jail.resolveEntry(vpath);
    let st: Stats;
    try {
      st = await fsp.lstat(host);
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'ENOENT') return host;
      throw hostError(err, vpath);
    }
    if (!st.isSymbolicLink()) return host;
    if (await this.#jail.isHiddenLink(host)) throw storageError('ENOENT', vpath);
    return this.#jail.resolveExisting(vpath);
  }

  /** Opens a regular file, verifies the descriptor is inside the jail, else closes it. */
  /** Opens a regular file inside the jail; resolves with the descriptor. */
  async #open(host: string, flags: number, vpath: string): Promise<{ fd: number; size: number }> {
    let fd: number;
    try {
      fd = await openFd(host, flags | O_NOFOLLOW | O_NONBLOCK, 0o666);
    } catch (err) {
      throw hostError(err, vpath);
    }
    try {
      await this.#jail.verifyFd(fd, vpath);
      const st = await fstatFd(fd);
      if (st.isDirectory()) throw storageError('EISDIR', vpath);
      if (!st.isFile()) throw storageError('EACCES', vpath); // FIFOs, devices, sockets
      return { fd, size: st.size };
    } catch (err) {
      await closeFd(fd).catch(() => {});
      throw hostError(err, vpath);
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

/** One list() entry, or undefined when it is hidden (escaping/dangling link, vanished, unreadable). */
async function statEntry(realRoot: string, realDir: string, name: string): Promise<StorageStat | undefined> {
  if (UNLISTABLE.test(name)) return undefined;
  const host = path.join(realDir, name);
  try {
    let st = await fsp.lstat(host);
    if (st.isSymbolicLink()) {
      const target = await fsp.realpath(host);
      if (!HostJail.inside(realRoot, target)) return undefined;
      st = await fsp.stat(target);
    }
    return toStat(name, st);
  } catch {
    return undefined;
  }
}

/** Promise.all with at most `limit` calls of `fn` in flight, results in input order. */
async function mapLimit<T, R>(items: readonly T[], limit: number, fn: (item: T) => Promise<R>): Promise<R[]> {
  const out = new Array<R>(items.length);
  let next = 0;
  const worker = async (): Promise<void> => {
    while (next < items.length) {
      const i = next++;
      out[i] = await fn(items[i] as T);
    }
  };
  await Promise.all(Array.from({ length: Math.min(limit, items.length) }, worker));
  return out;
}

function realpathOr(root: string): string {
  try {
    return realpathSync.native(root);
  } catch {
    return root;
  }
}
