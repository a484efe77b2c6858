/*
 * CompressedStorage: files kept compressed on any Storage, clients see the original bytes.
 *
 * Format (details and a diagram in compressed/format.ts): every file is a series of gzip
 * members (RFC 1952) in the spirit of BGZF. Data members hold at most `blockSize` original
 * bytes (default 64 KiB) and never cross a multiple of it; their size sits in a gzip extra
 * subfield 'FK'. Empty members follow: the index ('FI': the file offset of each 64 KiB block)
 * and a fixed 58-byte footer ('FZ': original size, block size, index offset, CRC32). Hence:
 *   - `zcat file` / `gzip -dc file` print the original bytes (empty members print nothing);
 *   - stat() reads the footer and the first header: two small reads, whatever the size;
 *   - a read from offset o reads an index entry and starts at block floor(o/blockSize): O(block);
 *   - APPE overwrites only the index and footer, then writes new members: O(appended bytes).
 * Files keep their names (no '.gz'): listings show exactly the user's names, and the sizes
 * (SIZE, LIST, MLSD), hashes and REST offsets of the original bytes.
 *
 * Incompressible data: the first block decides; when zlib saves under 10% the file is stored
 * with level-0 (stored) deflate blocks, trying compression again every 64 blocks, and any member
 * that would grow is stored instead. On-disk overhead then: 54 bytes per 64 KiB block + 58.
 *
 * Files not in the format (already there, or put there by other means) are "plain": read and
 * sized as they are, truncate()d in place; a full rewrite stores them compressed, and so do
 * APPE or REST+STOR onto them (one rewrite through a temporary, then compressed from then on).
 *
 * Writes:
 *   - truncating (STOR): members straight into the file, index and footer at the end;
 *   - append, or start >= size (resume, REST past the end): in place after the last member;
 *   - start < size (REST inside the data, rare): the file is rewritten into a hidden temporary
 *     '.ftpkit-rewrite-*' beside it (old head copied compressed, old tail recompressed) and
 *     renamed over it on success: O(file), and the old version stays intact until then;
 *   - a destroy() without error (an interrupted upload) completes the file with what came, so
 *     a resume sees an exact size. A crash (kill -9) leaves members without footer: such a
 *     file is recovered by walking its members (O(file), only then; list() does not walk and
 *     shows its length on disk) and the next write repairs it.
 *
 * Errors: damaged compressed data is EIO (the server answers 451).
 */
import { mapLimit } from '../util/map-limit.js';
import { Readable, type Writable } from 'node:stream';
import { FtpError } from '../errors.js';
import { inspect, entryAt, readEntries, rewriteName, REWRITE_PREFIX, collect, type Layout, type Packed, type Unfinished } from './compressed/layout.js';
import { inflateRange } from './compressed/inflate.js';
import { CompressingWriter, type WriterHooks, type WriterState } from './compressed/writer.js';
import { MAX_BLOCK_SIZE, MIN_BLOCK_SIZE } from './compressed/format.js';
import { checkReadOptions, checkWriteOptions } from './options.js';
import { checkVirtualPath, joinVirtual, virtualDirname } from './path.js';
import type { ReadOptions, Storage, StorageStat, WriteOptions } from './types.js';
import { storageError } from './types.js';

export interface CompressedStorageOptions {
  /** zlib level 0-9 for new data (0: stored, no compression). Default 6. */
  level?: number;
  /** Original bytes per block: the unit of seeking. 4 KiB to 16 MiB. Default 64 KiB. */
  blockSize?: number;
}

const DEFAULT_LEVEL = 6;
const DEFAULT_BLOCK_SIZE = 64 * 1024;
const LIST_CONCURRENCY = 16;

/** The options with their defaults, validated (FTPKIT_ERR_INVALID_ARGUMENT naming the bad one). */
export function resolveCompressedStorageOptions(options: CompressedStorageOptions = {}): Required<CompressedStorageOptions> {
  const level = options.level ?? DEFAULT_LEVEL;
  if (!Number.isSafeInteger(level) || level < 0 || level > 9) {
    throw new FtpError('FTPKIT_ERR_INVALID_ARGUMENT', 'level must be an integer from 0 to 9');
  }
  const blockSize = options.blockSize ?? DEFAULT_BLOCK_SIZE;
  if (!Number.isSafeInteger(blockSize) || blockSize < MIN_BLOCK_SIZE || blockSize > MAX_BLOCK_SIZE) {
    throw new FtpError('FTPKIT_ERR_INVALID_ARGUMENT', `blockSize must be an integer from ${MIN_BLOCK_SIZE} to ${MAX_BLOCK_SIZE}`);
  }
  return { level, blockSize };
}

export class CompressedStorage implements Storage {
  readonly inner: Storage;
  readonly level: number;
  readonly blockSize: number;
  /** The inner storage's: the same files under the same names. */
  readonly lockScope: string | undefined;
  /**
   * Present when the inner storage can truncate (resuming inside an atomic upload's partial
   * data needs it).
   */
  readonly truncate?: (path: string, size: number) => Promise<void>;

  constructor(inner: Storage, options: CompressedStorageOptions = {}) {
    if (inner === null || typeof inner !== 'object' || typeof inner.createWriteStream !== 'function') {
      throw new FtpError('FTPKIT_ERR_INVALID_ARGUMENT', 'CompressedStorage needs a Storage to wrap');
    }
    const { level, blockSize } = resolveCompressedStorageOptions(options);
    this.inner = inner;
    this.level = level;
    this.blockSize = blockSize;
    this.lockScope = inner.lockScope;
    if (typeof inner.truncate === 'function') this.truncate = (path, size) => this.#truncate(path, size);
  }

  async stat(p: string): Promise<StorageStat> {
    const vpath = checkVirtualPath(p);
    const st = await this.inner.stat(vpath);
    if (st.type !== 'file') return st;
    return { ...st, size: (await inspect(this.inner, vpath, st)).size };
  }

  async list(p: string): Promise<StorageStat[]> {
    const vpath = checkVirtualPath(p);
    const entries = (await this.inner.list(vpath)).filter((e) => !e.name.startsWith(REWRITE_PREFIX));
    return mapLimit(entries, LIST_CONCURRENCY, async (e) => {
      if (e.type !== 'file') return e;
      // A file that vanished or cannot be read meanwhile is listed as the inner storage saw it,
      // and so is one being written (no footer yet): a listing never walks a whole file.
      const layout = await inspect(this.inner, joinVirtual(vpath, e.name), e, { walk: false }).catch(() => undefined);
      return layout ? { ...e, size: layout.size } : e;
    });
  }

  async createReadStream(p: string, options?: ReadOptions): Promise<Readable> {
    const vpath = checkVirtualPath(p);
    const { start, end } = checkReadOptions(options, vpath);
    const layout = await this.#layout(vpath);
    if (layout.kind === 'plain') return this.inner.createReadStream(vpath, options);
    return this.#open(vpath, layout, start, end === undefined ? layout.size : Math.min(layout.size, end + 1));
  }

  async createWriteStream(p: string, options?: WriteOptions): Promise<Writable> {
    const vpath = checkVirtualPath(p);
    const { start, append } = checkWriteOptions(options, vpath);
    const flush = options?.flush === true;
    if (vpath === '/') throw storageError('EISDIR', vpath);
    if (!append && start === undefined) return this.#fresh(vpath, flush, 0);
    let layout: Layout;
    try {
      layout = await this.#layout(vpath);
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw err;
      return this.#fresh(vpath, flush, start ?? 0); // the inner storage says whether the folder exists
    }
    const at = append ? layout.size : start!;
    if (layout.kind === 'plain' && layout.size === 0) return this.#fresh(vpath, flush, at);
    if (layout.kind !== 'plain' && at >= layout.size) return this.#extend(vpath, layout, flush, at - layout.size);
    return this.#rewrite(vpath, layout, flush, at);
  }

  mkdir(p: string): Promise<void> {
    return this.inner.mkdir(p);
  }

  rmdir(p: string): Promise<void> {
    return this.inner.rmdir(p);
  }

  delete(p: string): Promise<void> {
    return this.inner.delete(p);
  }

  rename(from: string, to: string): Promise<void> {
    return this.inner.rename(from, to);
  }

  setMtime(p: string, mtime: Date): Promise<void> {
    return this.inner.setMtime(p, mtime);
  }

  chmod(p: string, mode: number): Promise<void> {
    return this.inner.chmod(p, mode);
  }

  /** The layout of a file; EISDIR for a folder (what reads and writes of one answer). */
  async #layout(vpath: string): Promise<Layout> {
    const st = await this.inner.stat(vpath);
    if (st.type === 'dir') throw storageError('EISDIR', vpath);
    if (st.type !== 'file') throw storageError('EACCES', vpath);
    return inspect(this.inner, vpath, st);
  }

  /** Original bytes [start, stop) of a file in our format. */
  async #open(vpath: string, layout: Packed | Unfinished, start: number, stop: number): Promise<Readable> {
    if (start >= stop) return Readable.from([]);
    const bs = layout.blockSize;
    const k = Math.floor(start / bs);
    const kEnd = Math.ceil(stop / bs); // blocks [k, kEnd)
    const [from, to] = await Promise.all([
      entryAt(this.inner, vpath, layout, k),
      kEnd < layout.blockCount ? entryAt(this.inner, vpath, layout, kEnd) : layout.dataEnd,
    ]);
    if (to <= from) throw storageError('EIO', vpath);
    const source = await this.inner.createReadStream(vpath, { start: from, end: to - 1 });
    return inflateRange(source, start - k * bs, stop - start, vpath);
  }

  #hooks(extra: Partial<WriterHooks> = {}): WriterHooks {
    return { level: this.level, keepOnDestroy: true, ...extra } as WriterHooks;
  }

  /** A new file (truncating an existing one), `gap` zero bytes first (REST past the end). */
  async #fresh(vpath: string, flush: boolean, gap: number): Promise<Writable> {
    const inner = await this.inner.createWriteStream(vpath, { flush });
    const state: WriterState = { blockSize: this.blockSize, position: 0, size: 0, entries: [] };
    return new CompressingWriter(inner, state, this.#hooks(gap > 0 ? { prologue: (w) => w.zeros(gap) } : {}));
  }

  /**
   * Appending (APPE, or a start at or past the end): the index and footer are overwritten by
   * new members, then written again after them. A file without footer (a crash) continues
   * after its last complete member; what lay beyond is cut at the end.
   */
  async #extend(vpath: string, layout: Packed | Unfinished, flush: boolean, gap: number): Promise<Writable> {
    const entries = await readEntries(this.inner, vpath, layout);
    const inner = await this.inner.createWriteStream(vpath, { start: layout.dataEnd, flush });
    const state: WriterState = { blockSize: layout.blockSize, position: layout.dataEnd, size: layout.size, entries };
    const oldLength = layout.length;
    return new CompressingWriter(
      inner,
      state,
      this.#hooks({
        ...(gap > 0 ? { prologue: (w) => w.zeros(gap) } : {}),
        committed: async (length) => {
          if (length < oldLength) await this.inner.truncate?.(vpath, length);
        },
      }),
    );
  }

  /**
   * A write inside the data (start < size), or any write at an offset onto a plain file: the
   * new version is built in a temporary beside the file and renamed over it on success.
   */
  async #rewrite(vpath: string, layout: Layout, flush: boolean, at: number): Promise<Writable> {
    const temp = joinVirtual(virtualDirname(vpath), rewriteName());
    const inner = await this.inner.createWriteStream(temp, { flush });
    const size = layout.size;
    const plain = layout.kind === 'plain';
    const bs = plain ? this.blockSize : layout.blockSize;
    const state: WriterState = { blockSize: bs, position: 0, size: 0, entries: [] };
    const head = Math.min(at, size);
    const readOriginal = (from: number, to: number): Promise<Readable> =>
      plain ? this.inner.createReadStream(vpath, { start: from, end: to - 1 }) : this.#open(vpath, layout, from, to);
    let entries: number[] = [];
    if (!plain) entries = await readEntries(this.inner, vpath, layout);
    return new CompressingWriter(
      inner,
      state,
      this.#hooks({
        keepOnDestroy: false,
        prologue: async (w) => {
          let done = 0;
          const k = Math.floor(head / bs);
          if (!plain && k > 0) {
            // Whole blocks before the write are copied as they are, compressed.
            const length = entries[k]!;
            done = k * bs;
            await w.copyRaw(await this.inner.createReadStream(vpath, { start: 0, end: length - 1 }), length, entries.slice(0, k), done);
          }
          if (head > done) await w.pushAll(await readOriginal(done, head));
          if (at > size) await w.zeros(at - size);
        },
        epilogue: async (w, written) => {
          const from = at + written;
          if (from < size) await w.pushAll(await readOriginal(from, size));
        },
        committed: async () => {
          await this.inner.chmod(temp, layout.stat.mode).catch(() => {});
          await this.inner.rename(temp, vpath);
        },
        discarded: async () => {
          await this.inner.delete(temp).catch(() => {});
        },
      }),
    );
  }

  async #truncate(p: string, size: number): Promise<void> {
    const vpath = checkVirtualPath(p);
    if (!Number.isSafeInteger(size) || size < 0) throw storageError('EINVAL', vpath);
    const layout = await this.#layout(vpath);
    if (layout.kind === 'plain') return this.inner.truncate!(vpath, size);
    if (size >= layout.size && layout.kind === 'packed') return; // never grows
    // A file a crash left without footer is completed here, at most at its recovered size.
    size = Math.min(size, layout.size);
    // Keep the blocks before the cut, recompress the part of the cut block that stays.
    const bs = layout.blockSize;
    const k = Math.floor(size / bs);
    const entries = await readEntries(this.inner, vpath, layout);
    const kept = size > k * bs ? await collect(await this.#open(vpath, layout, k * bs, size)) : Buffer.alloc(0);
    const position = k < entries.length ? entries[k]! : layout.dataEnd;
    const inner = await this.inner.createWriteStream(vpath, { start: position });
    const state: WriterState = { blockSize: bs, position, size: k * bs, entries: entries.slice(0, k) };
    const writer = new CompressingWriter(
      inner,
      state,
      this.#hooks({
        keepOnDestroy: false,
        committed: (length) => this.inner.truncate!(vpath, length),
      }),
    );
    await new Promise<void>((resolve, reject) => {
      writer.once('error', reject);
      writer.once('close', () => (writer.errored ? reject(writer.errored) : resolve()));
      writer.end(kept);
    });
  }
}

