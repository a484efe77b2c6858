import { availableParallelism } from 'node:os';
import { Writable, type Readable } from 'node:stream';
import * as zlib from 'node:zlib';
import { gzip as gzipCallback, type ZlibOptions } from 'node:zlib';
import { promisify } from 'node:util';
import { crc32 as jsCrc32 } from '../../util/crc32.js';
import { dataMember, indexAndFooter, storedGzip } from './format.js';

const gzip = promisify<Buffer, ZlibOptions, Buffer>(gzipCallback);

/** Members compressed at once in libuv's pool (4 threads by default). */
const IN_FLIGHT = Math.min(4, Math.max(2, availableParallelism()));
/** A first block that does not shrink below this ratio marks the file as incompressible. */
const INCOMPRESSIBLE_RATIO = 0.9;
/** In raw mode, every this-many members one is tried at the level again (the data may change). */
const REPROBE_EVERY = 64;
const HIGH_WATER_MARK = 1024 * 1024;

/** Where the writer continues: a fresh file is all zeros/empty. */
export interface WriterState {
  blockSize: number;
  /** File offset the next member is written at (the inner stream is positioned there). */
  position: number;
  /** Original bytes before that position. */
  size: number;
  /** Offsets of the first member of each logical block before `size` (taken over, then grown). */
  entries: number[];
}

export interface WriterHooks {
  level: number;
  /** Work done before the caller's bytes (a rewrite copies the old head). */
  prologue?: (w: MemberWriter) => Promise<void>;
  /** Work done after the caller's bytes and before the index (a rewrite copies the old tail). */
  epilogue?: (w: MemberWriter, written: number) => Promise<void>;
  /** After the inner stream closed cleanly, with the file's length (truncate, rename...). */
  committed?: (length: number) => Promise<void>;
  /** After a failure or a destroy that is not committed (remove a temporary...). */
  discarded?: () => Promise<void>;
  /**
   * destroy() before end() (an interrupted upload): keep what was written as a complete file
   * (true), or discard it (false: rewrites, whose temporary is removed).
   */
  keepOnDestroy: boolean;
}

/** What prologues and epilogues may do. */
export interface MemberWriter {
  /** Compresses `data` as the next original bytes. */
  push(data: Buffer): Promise<void>;
  /** `n` zero bytes (whole blocks reuse one compressed member). */
  zeros(n: number): Promise<void>;
  /** Every chunk of `source` through push. */
  pushAll(source: Readable): Promise<void>;
  /**
   * `length` bytes of whole members from the start of another file of the same block size,
   * copied as they are: they hold the first `size` original bytes (a multiple of the block
   * size) and `entries` is their index. Only first, on a fresh file.
   */
  copyRaw(source: Readable, length: number, entries: readonly number[], size: number): Promise<void>;
}

interface Pending {
  member: Promise<[Buffer, Buffer]>;
  /** Original offset of the member's first byte. */
  start: number;
}

// zlib's own CRC32 where Node has it (20.15+), else ours.
const nativeCrc32 = (zlib as { crc32?: (data: Buffer) => number }).crc32;
const crc32 = nativeCrc32 ?? ((b: Buffer): number => jsCrc32(b));

const zeroMembers = new Map<string, Promise<Buffer>>();

/** The gzip output for a block of zeros, computed once per block size and level. */
function zeroGzip(blockSize: number, level: number): Promise<Buffer> {
  const key = `${blockSize}/${level}`;
  let p = zeroMembers.get(key);
  if (!p) {
    p = gzip(Buffer.alloc(blockSize), { level });
    zeroMembers.set(key, p);
    p.catch(() => zeroMembers.delete(key));
  }
  return p;
}

/**
 * The Writable that CompressedStorage.createWriteStream returns: cuts the bytes into members
 * (never across a multiple of blockSize), compresses up to IN_FLIGHT of them at once with zlib's
 * async API, writes them in order to the inner stream, then the index and the footer. It
 * emits 'close' only after the inner stream has closed (so `flush: true` means on disk).
 */
export class CompressingWriter extends Writable implements MemberWriter {
  readonly #inner: Writable;
  readonly #state: WriterState;
  readonly #hooks: WriterHooks;
  readonly #pending: Pending[] = [];
  #block: Buffer;
  #fill = 0;
  /** Original offset of the member being filled. */
  #memberStart: number;
  #written = 0;
  #raw = false;
  #probed = false;
  #sinceProbe = 0;
  #chain: Promise<unknown> = Promise.resolve();
  #innerError: Error | undefined;
  #settled = false;

  constructor(inner: Writable, state: WriterState, hooks: WriterHooks) {
    super({ highWaterMark: HIGH_WATER_MARK });
    this.#inner = inner;
    this.#state = state;
    this.#hooks = hooks;
    this.#block = Buffer.allocUnsafe(state.blockSize);
    this.#memberStart = state.size;
    inner.on('error', (err: Error) => {
      this.#innerError ??= err;
    });
    if (hooks.prologue) {
      const prologue = hooks.prologue;
      this.#serial(() => prologue(this)).catch((err: Error) => this.destroy(err));
    }
  }

  /** Bytes of the caller so far. */
  get bytesAccepted(): number {
    return this.#written;
  }

  override _write(chunk: Buffer, _encoding: BufferEncoding, callback: (error?: Error | null) => void): void {
    this.#serial(async () => {
      await this.push(chunk);
      this.#written += chunk.length;
    }).then(() => callback(), callback);
  }

  override _final(callback: (error?: Error | null) => void): void {
    this.#serial(() => this.#commit()).then(() => callback(), callback);
  }

  override _destroy(error: Error | null, callback: (error?: Error | null) => void): void {
    // A destroy while a write is in progress waits for that write (all work is serial).
    this.#serial(async () => {
      if (this.#settled) return;
      // Whatever ended the writes (the client went away, an ABOR, a bad byte in TYPE A), what
      // came is kept as a complete file, as a plain file keeps its written bytes; a failure of
      // the inner stream itself leaves members without footer, recovered by walking them.
      if (this.#hooks.keepOnDestroy && !this.#innerError) await this.#commit();
      else await this.#discard();
    }).then(
      () => callback(error),
      async (err: Error) => {
        await this.#discard().catch(() => {});
        callback(error ?? err);
      },
    );
  }

  #serial<T>(op: () => Promise<T>): Promise<T> {
    const run = this.#chain.then(op);
    this.#chain = run.catch(() => {});
    return run;
  }

  async push(data: Buffer): Promise<void> {
    // Always copied: once a write's callback ran, its caller may reuse the buffer.
    let at = 0;
    while (at < data.length) {
      const n = Math.min(this.#room(), data.length - at);
      data.copy(this.#block, this.#fill, at, at + n);
      this.#fill += n;
      at += n;
      if (this.#room() === 0) await this.#emitBlock();
    }
  }

  async zeros(n: number): Promise<void> {
    const bs = this.#state.blockSize;
    let left = n;
    // Up to the next block boundary, like any data.
    while (left > 0 && (this.#fill > 0 || this.#memberStart % bs !== 0 || left < bs)) {
      const step = Math.min(left, this.#room(), 1024 * 1024);
      await this.push(Buffer.alloc(step));
      left -= step;
    }
    if (left === 0) return;
    const gz = zeroGzip(bs, this.#hooks.level);
    while (left >= bs) {
      const start = this.#memberStart;
      this.#memberStart += bs;
      await this.#enqueue(gz.then((g) => dataMember(g, bs, bs)), start);
      left -= bs;
    }
    if (left > 0) await this.push(Buffer.alloc(left));
  }

  async pushAll(source: Readable): Promise<void> {
    try {
      for await (const chunk of source) await this.push(chunk as Buffer);
    } finally {
      source.destroy();
    }
  }

  async copyRaw(source: Readable, length: number, entries: readonly number[], size: number): Promise<void> {
    const st = this.#state;
    if (this.#memberStart !== 0 || this.#fill !== 0 || this.#pending.length !== 0 || st.position !== 0 || size % st.blockSize !== 0) {
      throw new Error('copyRaw only first, on a fresh file, up to a block boundary');
    }
    let copied = 0;
    try {
      for await (const chunk of source) {
        await this.#out(chunk as Buffer);
        copied += (chunk as Buffer).length;
      }
    } finally {
      source.destroy();
    }
    if (copied !== length) throw Object.assign(new Error('the file changed while it was rewritten'), { code: 'EIO' });
    for (const e of entries) st.entries.push(e);
    this.#memberStart = size;
  }

  /** Room left in the member being filled (it ends at the next multiple of blockSize). */
  #room(): number {
    const bs = this.#state.blockSize;
    return bs - (this.#memberStart % bs) - this.#fill;
  }

  async #emitBlock(): Promise<void> {
    const data = this.#block.subarray(0, this.#fill);
    this.#block = Buffer.allocUnsafe(this.#state.blockSize); // the old one is owned by the compression now
    await this.#emit(data);
  }

  /** Compresses the next member's `data` (in the background, IN_FLIGHT at most). */
  async #emit(data: Buffer): Promise<void> {
    const start = this.#memberStart;
    this.#memberStart += data.length;
    this.#fill = 0;
    await this.#enqueue(this.#compress(data), start);
  }

  async #enqueue(member: Promise<[Buffer, Buffer]>, start: number): Promise<void> {
    member.catch(() => {}); // awaited in order by #writeOldest
    this.#pending.push({ member, start });
    while (this.#pending.length >= IN_FLIGHT) await this.#writeOldest();
  }

  async #writeOldest(): Promise<void> {
    const next = this.#pending.shift()!;
    const [head, body] = await next.member;
    const st = this.#state;
    if (next.start % st.blockSize === 0) st.entries.push(st.position);
    await this.#out(head);
    await this.#out(body);
  }

  async #compress(data: Buffer): Promise<[Buffer, Buffer]> {
    const level = this.#hooks.level;
    const bs = this.#state.blockSize;
    const stored = (): Buffer => storedGzip(data, crc32);
    let gz: Buffer;
    if (level === 0 || (this.#raw && ++this.#sinceProbe % REPROBE_EVERY !== 0)) {
      gz = stored();
    } else {
      gz = await gzip(data, { level });
      // The first sizeable member decides whether the data is incompressible (JPEG, ZIP,
      // random...); in raw mode an occasional probe can turn compression back on.
      if ((!this.#probed || this.#raw) && data.length >= Math.min(bs, 4096)) {
        this.#probed = true;
        this.#raw = gz.length > data.length * INCOMPRESSIBLE_RATIO;
      }
      // Never keep a member larger than its stored (level 0) form.
      if (gz.length > data.length) {
        const s = stored();
        if (s.length < gz.length) gz = s;
      }
    }
    return dataMember(gz, data.length, bs);
  }

  async #out(buf: Buffer): Promise<void> {
    if (this.#innerError) throw this.#innerError;
    this.#state.position += buf.length;
    if (this.#inner.write(buf)) return;
    await new Promise<void>((resolve, reject) => {
      const done = (err?: Error): void => {
        this.#inner.off('drain', done);
        this.#inner.off('error', done);
        this.#inner.off('close', closed);
        if (err) reject(err);
        else resolve();
      };
      const closed = (): void => done(this.#innerError ?? Object.assign(new Error('write stream closed'), { code: 'EIO' }));
      this.#inner.on('drain', done);
      this.#inner.on('error', done);
      this.#inner.on('close', closed);
    });
  }

  async #commit(): Promise<void> {
    if (this.#hooks.epilogue) await this.#hooks.epilogue(this, this.#written);
    if (this.#fill > 0) await this.#emitBlock();
    while (this.#pending.length > 0) await this.#writeOldest();
    const st = this.#state;
    const indexOffset = st.position;
    const size = this.#memberStart;
    if (st.entries.length !== Math.ceil(size / st.blockSize)) throw new Error('index out of step with the data');
    await this.#out(indexAndFooter(st.entries, { blockSize: st.blockSize, size, indexOffset }));
    this.#settled = true;
    await endAndClose(this.#inner);
    if (this.#innerError) throw this.#innerError;
    try {
      await this.#hooks.committed?.(st.position);
    } catch (err) {
      await this.#hooks.discarded?.().catch(() => {});
      throw err;
    }
  }

  async #discard(): Promise<void> {
    if (this.#settled) return;
    this.#settled = true;
    this.#inner.destroy();
    await closedStream(this.#inner).catch(() => {});
    await this.#hooks.discarded?.();
  }
}

function closedStream(stream: Writable): Promise<void> {
  if (stream.closed) return stream.errored ? Promise.reject(stream.errored) : Promise.resolve();
  return new Promise((resolve, reject) => {
    stream.once('close', () => (stream.errored ? reject(stream.errored) : resolve()));
  });
}

/** Ends `stream` and settles once it has closed (for a flushing file stream: fsync done). */
function endAndClose(stream: Writable): Promise<void> {
  const closed = closedStream(stream);
  stream.end();
  return closed;
}
