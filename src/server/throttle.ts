import { Readable } from 'node:stream';
import { setTimeout as sleep } from 'node:timers/promises';

/**
 * A token bucket in bytes per second, shared by every transfer of one user so the rate holds
 * across that user's concurrent transfers. Callers reserve bytes and wait the returned time;
 * reserving ahead (tokens going negative) queues concurrent transfers fairly.
 */
export class TokenBucket {
  #rate: number;
  #tokens: number;
  #last = performance.now();

  constructor(rate: number) {
    this.#rate = rate;
    this.#tokens = this.#capacity();
  }

  get rate(): number {
    return this.#rate;
  }

  /** A new rate (the users file was re-read); the reservations already made stand. */
  set rate(rate: number) {
    this.#refill();
    this.#rate = rate;
    this.#tokens = Math.min(this.#tokens, this.#capacity());
  }

  /** Reserves `bytes`; returns how many milliseconds the caller must wait before sending them. */
  take(bytes: number): number {
    this.#refill();
    this.#tokens -= bytes;
    return this.#tokens >= 0 ? 0 : (-this.#tokens / this.#rate) * 1000;
  }

  /** Largest piece to reserve at once: 50 ms worth, so pacing stays smooth. */
  get slice(): number {
    return Math.max(1, Math.floor(this.#rate / 20));
  }

  // A 100 ms burst at most: a idle user cannot save up a second's worth and then exceed the rate.
  #capacity(): number {
    return this.#rate / 10;
  }

  #refill(): void {
    const now = performance.now();
    this.#tokens = Math.min(this.#capacity(), this.#tokens + ((now - this.#last) / 1000) * this.#rate);
    this.#last = now;
  }
}

/**
 * `source` paced by `bucket`: each chunk is cut into slices and each slice waits for its
 * tokens. Reading from a socket this way pauses it, so TCP backpressure slows the sender.
 * Errors and destroy() pass through (the iterator's return() destroys the source).
 */
export function throttle(source: Readable, bucket: TokenBucket, signal?: AbortSignal): Readable {
  async function* paced(): AsyncGenerator<Buffer> {
    for await (const chunk of source as AsyncIterable<Buffer | string>) {
      const buf = typeof chunk === 'string' ? Buffer.from(chunk) : chunk;
      for (let at = 0; at < buf.length; ) {
        const piece = buf.subarray(at, at + bucket.slice);
        at += piece.length;
        const wait = bucket.take(piece.length);
        if (wait > 0) await sleep(wait, undefined, signal ? { signal } : undefined);
        yield piece;
      }
    }
  }
  return Readable.from(paced(), { objectMode: false, highWaterMark: 16 * 1024 });
}

/**
 * Paces what arrives on `socket` (uploads) without sitting in the pipeline: a prepended 'data'
 * listener (prependListener does not switch the stream to flowing) reserves each chunk and
 * pauses the socket for the wait, so TCP backpressure slows the sender. Returns a cleanup.
 */
export function paceInbound(socket: Readable, bucket: TokenBucket): () => void {
  let timer: NodeJS.Timeout | undefined;
  const onData = (chunk: Buffer): void => {
    const wait = bucket.take(chunk.length);
    if (wait <= 0) return;
    socket.pause();
    clearTimeout(timer);
    timer = setTimeout(() => socket.resume(), wait);
  };
  socket.prependListener('data', onData);
  return () => {
    clearTimeout(timer);
    socket.off('data', onData);
  };
}
