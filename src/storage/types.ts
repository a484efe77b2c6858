import type { Readable, Writable } from 'node:stream';

export type EntryType = 'file' | 'dir' | 'link' | 'other';

/** What a Storage reports about one entry. */
export interface StorageStat {
  /** Base name (no slashes). '/' for the root. */
  name: string;
  type: EntryType;
  size: number;
  mtime: Date;
  /** Permission bits (0o7777 range). */
  mode: number;
}

export interface ReadOptions {
  /** First byte to read (REST). Default 0. */
  start?: number;
  /** Last byte to read, inclusive. Default: to the end. */
  end?: number;
}

/**
 * A file open for reading in order, into the caller's buffers (Storage.openReader). The
 * server reuses a few large buffers for a whole download instead of a stream allocating
 * one per chunk.
 */
export interface BlockReader {
  /** Fills `into` from where the last read stopped; resolves the byte count, 0 at the end. */
  read(into: Buffer): Promise<number>;
  /** Releases the file. Idempotent. */
  close(): Promise<void>;
  /**
   * Optional: the open descriptor and the byte range this reader covers, so a zero-copy
   * sender (sendfile) can move the bytes without reading them; read() is then not called.
   * LocalStorage sets it; a storage whose bytes are not a plain file range must not.
   */
  readonly file?: { fd: number; start: number; stop: number };
}

/**
 * A folder open for listing in batches (Storage.openList), so a listing of any size is sent
 * without every entry's stat in memory at once.
 */
export interface ListReader {
  /** Up to `max` further entries, sorted by name (as JavaScript compares strings); [] at the end. */
  read(max: number): Promise<StorageStat[]>;
  /** Releases what the reader holds. Idempotent. */
  close(): Promise<void>;
}

export interface WriteOptions {
  /** Byte offset to write at (REST + STOR): the file is kept and overwritten from there. Default: truncate. */
  start?: number;
  /** Append to the end (APPE). */
  append?: boolean;
  /**
   * Make the data durable (fsync) before the stream emits 'close'. Atomic uploads ask for it
   * before renaming over the target. A Storage without durable writes may ignore it.
   */
  flush?: boolean;
}

/**
 * Where a session's files live. Every path given to a Storage is a *virtual* absolute path:
 * '/'-separated, normalised by resolveVirtualPath (no '.', '..', empty segments, NUL or backslash),
 * starting with '/'. A Storage maps it under its own root and must never reach outside it.
 *
 * Failures reject with an Error whose `code` is a POSIX name (ENOENT, EEXIST, ENOTDIR, EISDIR,
 * ENOTEMPTY, EACCES, EPERM, ENOSPC, EXDEV, EINVAL). Messages must not carry host paths: the server
 * builds its replies from the code and the virtual path only.
 */
export interface Storage {
  /**
   * Optional: what this storage's files are, for locks. Sessions whose storages have the same
   * scope lock the same files by the same virtual paths; different scopes never conflict.
   * LocalStorage: the real path of its root. Without it, all such storages share one scope.
   */
  readonly lockScope?: string;
  stat(path: string): Promise<StorageStat>;
  /** The entries of a folder (not '.' or '..'), in no particular order. */
  list(path: string): Promise<StorageStat[]>;
  /**
   * Optional: the entries list() gives, sorted by name, read in batches. Without it the server
   * calls list() and sorts. Fails (ENOENT, ENOTDIR, EACCES) before resolving, as list() does.
   */
  openList?(path: string): Promise<ListReader>;
  createReadStream(path: string, options?: ReadOptions): Promise<Readable>;
  /**
   * Optional fast path for downloads: the same bytes as createReadStream, read into the
   * caller's buffers. Without it the server reads the stream.
   */
  openReader?(path: string, options?: ReadOptions): Promise<BlockReader>;
  /** Creates the file when missing. The parent folder must exist (ENOENT otherwise). */
  createWriteStream(path: string, options?: WriteOptions): Promise<Writable>;
  mkdir(path: string): Promise<void>;
  /** Removes an empty folder (ENOTEMPTY otherwise). */
  rmdir(path: string): Promise<void>;
  /** Removes a file (EISDIR for a folder). */
  delete(path: string): Promise<void>;
  /** Renames a file or folder; replaces an existing file at `to`. */
  rename(from: string, to: string): Promise<void>;
  setMtime(path: string, mtime: Date): Promise<void>;
  /**
   * Sets the permission bits. `mode` may be up to 0o7777, but only `mode & 0o777` is applied:
   * setuid, setgid and sticky are never set through FTP (an upload copying an old mode included).
   * The root's mode is not the client's to change: EPERM for '/'.
   */
  chmod(path: string, mode: number): Promise<void>;
  /**
   * Optional: cuts a file to `size` bytes (never grows it). Resuming an atomic upload at an
   * offset inside its partial data needs it; without it such a REST is refused (554).
   */
  truncate?(path: string, size: number): Promise<void>;
}

/** Builds a storage error carrying a POSIX code and a message free of host paths. */
export function storageError(code: string, virtualPath: string): NodeJS.ErrnoException {
  const err: NodeJS.ErrnoException = new Error(`${code}: ${virtualPath}`);
  err.code = code;
  return err;
}
