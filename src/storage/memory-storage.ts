import { Readable, Writable } from 'node:stream';
import { FtpError } from '../errors.js';
import { PagedBytes } from './memory-file.js';
import { checkMode, checkMtime, checkReadOptions, checkWriteOptions } from './options.js';
import { checkVirtualPath, resolveVirtualPath, virtualBasename } from './path.js';
import type { ReadOptions, Storage, StorageStat, WriteOptions } from './types.js';
import { storageError } from './types.js';

interface MemFile {
  kind: 'file';
  bytes: PagedBytes;
  mtime: Date;
  mode: number;
}

interface MemDir {
  kind: 'dir';
  children: Map<string, MemNode>;
  mtime: Date;
  mode: number;
}

type MemNode = MemFile | MemDir;

const FILE_MODE = 0o644;
const DIR_MODE = 0o755;
const READ_CHUNK = 64 * 1024;

let instances = 0;

/**
 * A Storage held in memory: a test double, and the smallest example of the interface for
 * embedders writing their own (S3, database, ...). It follows LocalStorage's POSIX
 * behaviour and codes; the shared test suite runs both.
 *
 * ```ts
 * const storage = new MemoryStorage({ '/readme.txt': 'hello', '/pub/': '' });
 * ```
 * Keys are virtual paths; folders they imply are created; a key ending in '/' is an empty folder.
 *
 * Streams are lazy and honour backpressure: reads produce 64 KiB chunks only as the consumer
 * asks; writes complete on a later event-loop turn, like real I/O. A file deleted or
 * replaced while a stream is open keeps serving that stream (as an unlinked host file does).
 */
export class MemoryStorage implements Storage {
  readonly #root: MemDir = newDir();
  /** Unique per instance: two MemoryStorages never share files, so never share locks. */
  readonly lockScope = `memory:${++instances}`;

  constructor(files?: Record<string, string | Buffer>) {
    for (const [key, value] of Object.entries(files ?? {})) {
      const vpath = resolveVirtualPath('/', key);
      const parts = vpath.split('/').filter(Boolean);
      const isDir = key.endsWith('/') || key.endsWith('\\') || parts.length === 0;
      let dir = this.#root;
      for (const [i, name] of parts.entries()) {
        const last = i === parts.length - 1;
        const existing = dir.children.get(name);
        if (last && !isDir) {
          if (existing !== undefined) conflict(key);
          dir.children.set(name, newFile(PagedBytes.from(Buffer.from(value))));
        } else if (existing === undefined) {
          const child = newDir();
          dir.children.set(name, child);
          dir = child;
        } else if (existing.kind === 'dir') {
          dir = existing;
        } else {
          conflict(key);
        }
      }
    }
  }

  /** Every file's contents by virtual path (for assertions in tests). */
  snapshot(): Record<string, Buffer> {
    const out: Record<string, Buffer> = {};
    const walk = (dir: MemDir, prefix: string): void => {
      for (const [name, node] of dir.children) {
        if (node.kind === 'dir') walk(node, `${prefix}/${name}`);
        else out[`${prefix}/${name}`] = node.bytes.read(0, node.bytes.size);
      }
    };
    walk(this.#root, '');
    return out;
  }

  async stat(p: string): Promise<StorageStat> {
    const vpath = checkVirtualPath(p);
    return toStat(virtualBasename(vpath), this.#lookup(vpath));
  }

  async list(p: string): Promise<StorageStat[]> {
    const vpath = checkVirtualPath(p);
    const dir = this.#lookupDir(vpath);
    return [...dir.children].map(([name, node]) => toStat(name, node));
  }

  async createReadStream(p: string, options?: ReadOptions): Promise<Readable> {
    const vpath = checkVirtualPath(p);
    const { start, end } = checkReadOptions(options, vpath);
    const node = this.#lookup(vpath);
    if (node.kind === 'dir') throw storageError('EISDIR', vpath);
    const bytes = node.bytes;
    // Like a host read stream: the range is fixed at open, capped by the size then.
    const stop = Math.min(end === undefined ? Infinity : end + 1, bytes.size);
    let pos = start;
    return new Readable({
      highWaterMark: READ_CHUNK,
      read() {
        // Called only when the consumer wants more: that is the backpressure.
        const n = Math.min(READ_CHUNK, stop - pos);
        if (n <= 0) {
          this.push(null);
          return;
        }
        const chunk = bytes.read(pos, n);
        pos += n;
        this.push(chunk.length > 0 ? chunk : null); // file shrank meanwhile: end early
      },
    });
  }

  async createWriteStream(p: string, options?: WriteOptions): Promise<Writable> {
    const vpath = checkVirtualPath(p);
    const { start, append } = checkWriteOptions(options, vpath);
    if (vpath === '/') throw storageError('EISDIR', vpath);
    const { dir, name } = this.#parent(vpath);
    let node = dir.children.get(name);
    if (node?.kind === 'dir') throw storageError('EISDIR', vpath);
    if (node === undefined) {
      node = newFile(new PagedBytes());
      dir.children.set(name, node);
      dir.mtime = new Date();
    } else if (!append && start === undefined) {
      node.bytes.truncate(0);
      node.mtime = new Date();
    }
    const file = node;
    let pos = start ?? 0;
    return new Writable({
      write(chunk: Buffer, _encoding, callback) {
        if (append) pos = file.bytes.size;
        if (pos + chunk.length > Number.MAX_SAFE_INTEGER) {
          callback(storageError('ENOSPC', vpath));
          return;
        }
        file.bytes.write(pos, chunk);
        pos += chunk.length;
        file.mtime = new Date();
        // Complete on a later turn, as disk I/O would, so callers' drain handling is exercised.
        setImmediate(callback);
      },
    });
  }

  async mkdir(p: string): Promise<void> {
    const vpath = checkVirtualPath(p);
    if (vpath === '/') throw storageError('EEXIST', vpath);
    const { dir, name } = this.#parent(vpath);
    if (dir.children.has(name)) throw storageError('EEXIST', vpath);
    dir.children.set(name, newDir());
    dir.mtime = new Date();
  }

  async rmdir(p: string): Promise<void> {
    const vpath = checkVirtualPath(p);
    if (vpath === '/') throw storageError('EPERM', vpath);
    const { dir, name } = this.#parent(vpath);
    const node = dir.children.get(name);
    if (node === undefined) throw storageError('ENOENT', vpath);
    if (node.kind !== 'dir') throw storageError('ENOTDIR', vpath);
    if (node.children.size > 0) throw storageError('ENOTEMPTY', vpath);
    dir.children.delete(name);
    dir.mtime = new Date();
  }

  async delete(p: string): Promise<void> {
    const vpath = checkVirtualPath(p);
    if (vpath === '/') throw storageError('EISDIR', vpath);
    const { dir, name } = this.#parent(vpath);
    const node = dir.children.get(name);
    if (node === undefined) throw storageError('ENOENT', vpath);
    if (node.kind === 'dir') throw storageError('EISDIR', vpath);
    dir.children.delete(name);
    dir.mtime = new Date();
  }

  /** POSIX rename(2): see the checks below for the codes, which match Linux. */
  async rename(from: string, to: string): Promise<void> {
    const vfrom = checkVirtualPath(from);
    const vto = checkVirtualPath(to);
    if (vfrom === '/' || vto === '/') throw storageError('EPERM', vfrom === '/' ? vfrom : vto);
    const src = this.#parent(vfrom);
    const node = src.dir.children.get(src.name);
    if (node === undefined) throw storageError('ENOENT', vfrom);
    const dst = this.#parent(vto);
    if (vfrom === vto) return;
    if (node.kind === 'dir' && vto.startsWith(vfrom + '/')) throw storageError('EINVAL', vfrom); // into itself
    const existing = dst.dir.children.get(dst.name);
    if (existing !== undefined) {
      if (node.kind === 'file' && existing.kind === 'dir') throw storageError('EISDIR', vto);
      if (node.kind === 'dir' && existing.kind === 'file') throw storageError('ENOTDIR', vto);
      if (existing.kind === 'dir' && existing.children.size > 0) throw storageError('ENOTEMPTY', vto);
    }
    // The subtree moves with its node: children are held by reference.
    src.dir.children.delete(src.name);
    dst.dir.children.set(dst.name, node);
    const now = new Date();
    src.dir.mtime = now;
    dst.dir.mtime = now;
  }

  async setMtime(p: string, mtime: Date): Promise<void> {
    const vpath = checkVirtualPath(p);
    checkMtime(mtime, vpath);
    this.#lookup(vpath).mtime = new Date(mtime.getTime());
  }

  /** Like LocalStorage: the 0o777 bits only, and never the root (EPERM). */
  async chmod(p: string, mode: number): Promise<void> {
    const vpath = checkVirtualPath(p);
    checkMode(mode, vpath);
    if (vpath === '/') throw storageError('EPERM', vpath);
    this.#lookup(vpath).mode = mode & 0o777;
  }

  async truncate(p: string, size: number): Promise<void> {
    const vpath = checkVirtualPath(p);
    if (!Number.isSafeInteger(size) || size < 0) throw storageError('EINVAL', vpath);
    const node = this.#lookup(vpath);
    if (node.kind === 'dir') throw storageError('EISDIR', vpath);
    if (size < node.bytes.size) {
      node.bytes.truncate(size);
      node.mtime = new Date();
    }
  }

  /** The node at `vpath`: ENOENT when missing, ENOTDIR when a file sits on the way. */
  #lookup(vpath: string): MemNode {
    let node: MemNode = this.#root;
    for (const name of vpath.split('/')) {
      if (name === '') continue;
      if (node.kind !== 'dir') throw storageError('ENOTDIR', vpath);
      const child: MemNode | undefined = node.children.get(name);
      if (child === undefined) throw storageError('ENOENT', vpath);
      node = child;
    }
    return node;
  }

  #lookupDir(vpath: string): MemDir {
    const node = this.#lookup(vpath);
    if (node.kind !== 'dir') throw storageError('ENOTDIR', vpath);
    return node;
  }

  /** The existing folder that holds (or would hold) `vpath`, and its last name. */
  #parent(vpath: string): { dir: MemDir; name: string } {
    const slash = vpath.lastIndexOf('/');
    const parentPath = vpath.slice(0, slash) || '/';
    let dir: MemDir;
    try {
      dir = this.#lookupDir(parentPath);
    } catch (err) {
      throw storageError((err as NodeJS.ErrnoException).code ?? 'ENOENT', vpath);
    }
    return { dir, name: vpath.slice(slash + 1) };
  }
}

function newDir(): MemDir {
  return { kind: 'dir', children: new Map(), mtime: new Date(), mode: DIR_MODE };
}

function newFile(bytes: PagedBytes): MemFile {
  return { kind: 'file', bytes, mtime: new Date(), mode: FILE_MODE };
}

function toStat(name: string, node: MemNode): StorageStat {
  return node.kind === 'dir'
    ? { name, type: 'dir', size: 0, mtime: new Date(node.mtime), mode: node.mode }
    : { name, type: 'file', size: node.bytes.size, mtime: new Date(node.mtime), mode: node.mode };
}

function conflict(key: string): never {
  throw new FtpError('FTPKIT_ERR_INVALID_ARGUMENT', `MemoryStorage: ${JSON.stringify(key)} is both a file and a folder`);
}
