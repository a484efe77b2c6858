import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
import { zeroCopy } from './zero-copy.js';

/**
 * Blocks are cut from slabs of this size: above glibc's largest mmap threshold (32 MiB), so a
 * slab is always its own mapping and goes back to the system whole once collected, instead
 * of leaving holes in malloc's heap that keep the process's RSS up after a load.
 */
const SLAB_BYTES = 33 * 1024 * 1024;

/**
 * Large buffers shared by every transfer of the process. A transfer borrows a
 * few and returns them when it ends, so a long transfer allocates nothing per
 * chunk (fresh megabyte buffers cost a page fault per 4 KiB, about a third of
 * the server's time on loopback). At most `maxLent` blocks are out at once, so
 * a thousand concurrent transfers cannot pin gigabytes; a transfer that finds
 * the pool empty uses small buffers of its own. Blocks given back are kept
 * for the next borrower (a load makes no garbage), and none once nothing was
 * borrowed for `idleReleaseMs`: then the slabs they were cut from are
 * collected and the memory goes back to the system (see `configureMemory`).
 */
/** Calls `onQuiet` once, `idleReleaseMs` after the last note(), when armed (unref'd: it never keeps the process up). */
class QuietTimer {
  #last = 0;
  #timer: NodeJS.Timeout | undefined;

  constructor(private readonly onQuiet: () => void) {}

  note(): void {
    this.#last = Date.now();
  }

  arm(): void {
    if (this.#timer) return;
    const check = (): void => {
      const quiet = Date.now() - this.#last;
      if (quiet >= memory.idleReleaseMs) {
        this.#timer = undefined;
        return this.onQuiet();
      }
      this.#timer = setTimeout(check, memory.idleReleaseMs - quiet).unref();
    };
    this.#timer = setTimeout(check, memory.idleReleaseMs).unref();
  }

  cancel(): void {
    clearTimeout(this.#timer);
    this.#timer = undefined;
  }
}

export class BlockPool {
  readonly blockSize: number;
  /** The share of `poolBytes` this pool gets (its default `maxLent` in bytes). */
  readonly #share: number;
  #maxLent: number;
  #free: Buffer[] = [];
  /** The unused tail of the last slab. */
  #slab: Buffer | undefined;
  #lent = 0;
  /** Since the last borrow: drops the idle blocks once nothing was borrowed for `idleReleaseMs`. */
  readonly #idle = new QuietTimer(() => this.release());

  constructor(blockSize: number, maxLent: number) {
    this.blockSize = blockSize;
    this.#maxLent = maxLent;
    this.#share = blockSize * maxLent;
  }

  /** Whether `count` blocks could be lent now. */
  canLend(count: number): boolean {
    return this.#lent + count <= this.#maxLent;
  }

  /** `count` blocks, or none when fewer than that are left to lend. */
  borrow(count: number): Buffer[] | undefined {
    if (!this.canLend(count)) return undefined;
    this.#lent += count;
    this.#idle.note();
    const blocks: Buffer[] = [];
    for (let i = 0; i < count; i++) blocks.push(this.#free.pop() ?? this.#cut());
    return blocks;
  }

  #cut(): Buffer {
    if (!this.#slab || this.#slab.length < this.blockSize) {
      const room = Math.max(this.blockSize, Math.min(SLAB_BYTES, (this.#maxLent - this.#lent + 1) * this.blockSize));
      // A small pool's slab stays under the mmap threshold: fine, it is small.
      this.#slab = Buffer.allocUnsafeSlow(room - (room % this.blockSize));
    }
    const block = this.#slab.subarray(0, this.blockSize);
    this.#slab = this.#slab.subarray(this.blockSize);
    return block;
  }

  /**
   * Ends a loan of `count` blocks; only `idle` ones are kept for reuse. A block a socket
   * write or a file read may still touch must be left out: the next borrower would
   * otherwise fill it while the kernel still reads it (another file's bytes on this socket).
   */
  giveBack(count: number, idle: Buffer[]): void {
    this.#lent -= count;
    for (const block of idle) if (this.#free.length < this.#maxLent) this.#free.push(block);
    if (this.#free.length > 0) this.#idle.arm();
  }

  /** Blocks lent out now (tests check it returns to zero). */
  get lent(): number {
    return this.#lent;
  }

  /** Idle blocks kept for reuse now (tests check they go once the pool is idle). */
  get kept(): number {
    return this.#free.length;
  }

  /** Drops the idle blocks now (the collector frees them). */
  release(): void {
    this.#idle.cancel();
    const dropped = this.#free.length > 0 || this.#slab !== undefined;
    this.#free = [];
    this.#slab = undefined;
    if (dropped) collectSoon();
  }

  /** Applies `configureMemory`: the pool's cap scaled to `fraction` of its default. */
  limit(fraction: number): void {
    this.#maxLent = Math.floor((this.#share * fraction) / this.blockSize);
    if (this.#free.length > this.#maxLent) this.#free.length = this.#maxLent;
  }
}

/** 2 MiB blocks measured fastest for RETR on loopback (1.9 GB/s against 1.4 with 1 MiB); 64 lent = 128 MiB at most. */
export const downloadBlocks = new BlockPool(2 * 1024 * 1024, 64);

/** Uploads: eight 1 MiB blocks each (1.9 GB/s into /dev/shm against 1.5 with four); 64 lent = 64 MiB at most. */
export const uploadBlocks = new BlockPool(1024 * 1024, 64);

/**
 * Uploads beyond the eight the large blocks serve: two 128 KiB blocks each. Node's own socket
 * reads allocate 64 KiB per read, and 1,000 concurrent uploads of 10 MB left up to 1.4 GB of
 * such buffers waiting for the collector (1.5 GB RSS, 27 s); with these blocks 0.5 GB and 17 s
 * (1 × 128 KiB and 4 × 64 KiB were slower). 2048 lent = 256 MiB at most, 1,024 uploads; the
 * rest read through streams.
 */
export const smallUploadBlocks = new BlockPool(128 * 1024, 2048);

const POOLS = [downloadBlocks, uploadBlocks, smallUploadBlocks];

/** What the pools may hold by default: 128 + 64 + 256 MiB. */
export const DEFAULT_POOL_BYTES = 448 * 1024 * 1024;

/** Idle blocks are dropped once no transfer borrowed any for this long (the `memory` option). */
export const DEFAULT_IDLE_RELEASE_MS = 5000;

export interface MemoryOptions {
  /**
   * Bytes all block pools together may lend at once (default 448 MiB: 128 for downloads that
   * cannot use zero-copy, 64 + 256 for uploads). Transfers beyond it use small buffers of their
   * own; 0 turns pooling off.
   */
  poolBytes?: number;
  /** Idle pooled blocks are dropped after this long without a transfer borrowing one (default 5000 ms). */
  idleReleaseMs?: number;
}

const memory = { poolBytes: DEFAULT_POOL_BYTES, idleReleaseMs: DEFAULT_IDLE_RELEASE_MS };

/**
 * Caps the process's block pools (they are shared by every server and client of the
 * process: the last call wins). Checked by the callers' option validation.
 */
export function configureMemory(options: MemoryOptions = {}): void {
  memory.poolBytes = options.poolBytes ?? DEFAULT_POOL_BYTES;
  memory.idleReleaseMs = options.idleReleaseMs ?? DEFAULT_IDLE_RELEASE_MS;
  for (const pool of POOLS) pool.limit(memory.poolBytes / DEFAULT_POOL_BYTES);
}

let collecting: NodeJS.Timeout | undefined;
let gc: (() => void) | undefined;
const afterTransfers = new QuietTimer(() => collectSoon());

/**
 * A transfer that borrowed nothing from the pools ended (the addon's sends and receives):
 * once none ended for `idleReleaseMs`, the process collects and trims as after a pool's
 * release, so the memory a load left behind (the sessions' garbage, malloc's free pages)
 * goes back to the system even when no block was lent.
 */
export function transferEnded(): void {
  afterTransfers.note();
  afterTransfers.arm();
}

/**
 * Runs the collector, soon and once more a second later, after the pools dropped their
 * blocks: an idle process allocates nothing, so V8 would not collect them on its own and the
 * memory would stay (measured: 400 MB of dropped buffers still held 15 s after a 1,000-session
 * load). The second pass frees the buffers' memory the first one found dead; then the
 * free pages of malloc's heap go back to the system (malloc_trim, through the addon). A
 * full collection of a small idle heap costs milliseconds.
 */
function collectSoon(): void {
  if (collecting) return;
  let passes = 0;
  const run = (): void => {
    try {
      if (!gc) {
        gc = (globalThis as { gc?: () => void }).gc;
        if (!gc) {
          setFlagsFromString('--expose-gc');
          gc = runInNewContext('gc') as () => void;
        }
      }
      gc();
    } catch {
      gc = () => {};
    }
    if (++passes < 2) collecting = setTimeout(run, 1000).unref();
    else {
      collecting = undefined;
      // What the collector freed sits in malloc's heap between live allocations: give the
      // free pages back (through the native addon, when it is loaded).
      zeroCopy()?.trim();
    }
  };
  collecting = setTimeout(run, 10).unref();
}
