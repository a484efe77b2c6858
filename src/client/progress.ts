import { performance } from 'node:perf_hooks';

/** One progress event; `bytes` counts from the start of the file (a resumed transfer starts above 0). */
export interface TransferProgress {
  /** Remote path of the transfer. */
  name: string;
  direction: 'download' | 'upload' | 'list';
  /** Position in the file: `startAt` plus the bytes moved so far. */
  bytes: number;
  /** Full size when known (SIZE, or the local file for uploads). */
  total: number | undefined;
  /** Bytes moved by this transfer so far (`bytes` minus where it started). */
  transferred: number;
  /** Bytes per second moved by this transfer, averaged since it started. */
  rate: number;
  /** True on the last event of a transfer. */
  done: boolean;
}

/**
 * Counts bytes and emits at most one event per `interval` ms plus a final one,
 * so a fast transfer costs a clock read per chunk, not an event.
 */
export class ProgressTracker {
  #emit: (p: TransferProgress) => void;
  #interval: number;
  #started = performance.now();
  #lastEmit = -Infinity;
  #moved = 0;
  #base: Omit<TransferProgress, 'bytes' | 'transferred' | 'rate' | 'done'>;
  #startAt: number;

  constructor(emit: (p: TransferProgress) => void, interval: number, info: { name: string; direction: TransferProgress['direction']; total: number | undefined; startAt?: number }) {
    this.#emit = emit;
    this.#interval = interval;
    this.#startAt = info.startAt ?? 0;
    this.#base = { name: info.name, direction: info.direction, total: info.total };
  }

  get moved(): number {
    return this.#moved;
  }

  /** Defined once per tracker so the data path adds no closure per chunk. */
  readonly add = (n: number | Buffer): void => {
    this.#moved += typeof n === 'number' ? n : n.length;
    const now = performance.now();
    if (now - this.#lastEmit >= this.#interval) {
      this.#lastEmit = now;
      this.#send(now, false);
    }
  };

  finish(): void {
    this.#send(performance.now(), true);
  }

  #send(now: number, done: boolean): void {
    const seconds = Math.max((now - this.#started) / 1000, 1e-6);
    this.#emit({ ...this.#base, bytes: this.#startAt + this.#moved, transferred: this.#moved, rate: this.#moved / seconds, done });
  }
}
