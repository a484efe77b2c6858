import { writev } from 'node:fs';
import type { Writable } from 'node:stream';
import type { LargeReadConnection } from './large-reads.js';

/** A read gets at least this much room; below it the block is retired and the next one started. */
const MIN_ROOM = 64 * 1024;
/** Bytes that arrived but do not fill a block are written after this long (a slow sender's data lands in the file). */
const FLUSH_DELAY_MS = 20;

/**
 * Where received bytes go: one batch at a time (the receiver never starts a
 * write before the last one called back), and a chunk is let go of once the
 * callback ran, so its block may be filled again.
 */
export interface BlockSink {
  /** Writes `chunks` in order; calls back with the byte count written (a short write leaves the rest queued). */
  write(chunks: Buffer[], done: (err: Error | null, written: number) => void): void;
  /** Reports a failure outside a write (a stream's 'error'); returns the unsubscribe. */
  watch?(onError: (err: Error) => void): () => void;
}

/** An open descriptor: positional writev from `position` on, or at the descriptor's offset when null (pipes, devices). */
export function fdSink(fd: number, position: number | null): BlockSink {
  let at = position;
  return {
    write: (chunks, done) => {
      const then = (err: Error | null, n: number): void => {
        if (!err && at !== null) at += n;
        done(err, err ? 0 : n);
      };
      if (at === null) writev(fd, chunks, then);
      else writev(fd, chunks, at, then);
    },
  };
}

/**
 * A stream that lets go of a chunk when it calls back (fs.WriteStream: the
 * batch becomes one writev). A stream that keeps chunks (a PassThrough) must
 * not be used: its chunks would be overwritten.
 */
export function streamSink(stream: Writable): BlockSink {
  return {
    write: (chunks, done) => {
      let total = 0;
      stream.cork();
      for (let i = 0; i < chunks.length; i++) {
        total += chunks[i]!.length;
        if (i < chunks.length - 1) stream.write(chunks[i]);
        else stream.write(chunks[i], (err) => done(err ?? null, err ? 0 : total));
      }
      stream.uncork();
    },
    watch: (onError) => {
      stream.once('error', onError);
      return () => stream.off('error', onError);
    },
  };
}

export interface ReceiveOptions {
  signal: AbortSignal;
  /** The blocks reads land in (a pool's loan or the caller's own); `idle` receives those safe to reuse once settled. */
  blocks: Buffer[];
  idle?: Buffer[];
  /** Stop after this many bytes (a client's segment); the rest of the stream is not read. */
  length?: number;
  /** Sees each read's byte count (progress). */
  onBytes?: (n: number) => void;
}

/**
 * The socket -> file receiver of the server's uploads and the client's
 * downloads. The data socket reads straight into `blocks`, each filled front
 * to back (a sender writing from a pipe arrives in small reads). A full
 * block is queued for the sink, and so are the bytes of a partial one after
 * FLUSH_DELAY_MS; whatever queued while the sink was busy goes out as one
 * batch (one writev) as soon as it calls back. Writing whole blocks keeps
 * the thread-pool hand-offs per byte low: with 1,000 uploads at once they
 * were the server's largest cost. A block is filled again once it is retired and
 * every chunk cut from it was written. Reading pauses while no spare block is
 * left, so a transfer holds at most `blocks` in memory and the sink's speed
 * paces the sender.
 *
 * Resolves 'complete' when the peer ended the stream (large-reads.ts confirms
 * a FIN first: a reset is never a clean end, see util/peer-end.ts) and
 * 'stopped' once `length` bytes arrived; rejects on a sink error, a
 * connection error or an abort. It settles only once no write is in flight,
 * so the caller may close the file; after a connection error or an abort what
 * arrived is written first (an interrupted upload resumes from it), after a
 * sink error nothing more is written; the socket is destroyed.
 */
export function receiveBlocks(conn: Pick<LargeReadConnection, 'socket' | 'attach'>, sink: BlockSink, opts: ReceiveOptions): Promise<'complete' | 'stopped'> {
  const { socket } = conn;
  const { signal, onBytes } = opts;
  // Pooled blocks are views of one slab (block-pool.ts): a block is known by its place, not its ArrayBuffer.
  const blocks = opts.blocks;
  const blockOf = (view: Uint8Array): Buffer | undefined => {
    for (const b of blocks) if (view.buffer === b.buffer && view.byteOffset >= b.byteOffset && view.byteOffset < b.byteOffset + b.length) return b;
    return undefined;
  };
  const free = [...blocks];
  /** Chunks queued or being written, per block. */
  const pending = new Map<Buffer, number>();
  const queue: Buffer[] = [];
  let current: Buffer | undefined;
  let used = 0;
  let queued = 0;
  let remaining = opts.length;
  let writing = false;
  let paused = false;
  let outcome: 'complete' | 'stopped' | undefined;
  /** Stops at once (abort, sink error). */
  let failure: Error | undefined;
  /** The connection failed: what is queued is still written, then the receive rejects with it. */
  let broken: Error | undefined;
  let settled = false;
  let unwatch: (() => void) | undefined;
  let timer: NodeJS.Timeout | undefined;

  return new Promise((resolve, reject) => {
    const settle = (): void => {
      if (settled || writing) return;
      if (failure === undefined && ((outcome === undefined && broken === undefined) || queue.length > 0)) return;
      settled = true;
      clearTimeout(timer);
      signal.removeEventListener('abort', onAbort);
      unwatch?.();
      // The block armed for the next read stays out: the kernel may still fill it.
      opts.idle?.push(...free.splice(0));
      if (failure ?? broken) reject(failure ?? broken);
      else resolve(outcome!);
    };
    /** Stops now (the sink failed): queued bytes are dropped, the write in flight is waited for. */
    const fail = (err: Error): void => {
      if (failure || settled) return;
      failure = err;
      queue.length = 0;
      socket.destroy();
      settle();
    };
    // An abort stops reading, but what arrived is still written (an upload resumes from it).
    const onAbort = (): void => {
      if (failure || broken || settled) return;
      broken = signal.reason instanceof Error ? signal.reason : new Error('aborted');
      socket.destroy();
      flush();
      settle();
    };
    const release = (block: Buffer): void => {
      const left = pending.get(block)! - 1;
      if (left > 0) return void pending.set(block, left);
      pending.delete(block);
      if (block !== current) free.push(block);
    };
    const write = (): void => {
      if (writing || queue.length === 0 || failure) return;
      writing = true;
      const batch = queue.splice(0);
      sink.write(batch, (err, written) => {
        writing = false;
        if (err) {
          failure ??= err;
          socket.destroy();
          return settle();
        }
        // A short write keeps the rest queued, in front.
        let skip = written;
        const rest: Buffer[] = [];
        for (const chunk of batch) {
          if (skip >= chunk.length) {
            skip -= chunk.length;
            const block = blockOf(chunk);
            if (block) release(block);
          } else {
            rest.push(skip > 0 ? chunk.subarray(skip) : chunk);
            skip = 0;
          }
        }
        queue.unshift(...rest);
        if (paused && outcome === undefined && !failure && free.length > 0) {
          paused = false;
          socket.resume();
        }
        write();
        settle();
      });
    };
    /** Queues the current block's bytes not queued yet. */
    const cut = (): void => {
      if (!current || used === queued) return;
      const last = queue[queue.length - 1];
      if (last && queued > 0 && last.byteOffset + last.length === current.byteOffset + queued && blockOf(last) === current) {
        // Still waiting for the sink: the read extends the chunk queued before it.
        queue[queue.length - 1] = current.subarray(queued - last.length, used);
      } else {
        queue.push(current.subarray(queued, used));
        pending.set(current, (pending.get(current) ?? 0) + 1);
      }
      queued = used;
    };
    const retire = (): void => {
      cut();
      const block = current;
      current = undefined;
      used = queued = 0;
      if (block && !pending.has(block)) free.push(block);
    };
    /** Queues what arrived so far and writes it (an end, a failure, the flush timer). */
    const flush = (): void => {
      clearTimeout(timer);
      timer = undefined;
      cut();
      write();
    };
    conn.attach({
      // onRead paused before the last spare block was needed, so one is here (else a stray).
      buffer: () => {
        current ??= free.pop() ?? Buffer.allocUnsafe(MIN_ROOM);
        return current.subarray(used);
      },
      onRead: (n, buf) => {
        if (outcome !== undefined || failure || broken) return false;
        let length = n;
        if (remaining !== undefined) {
          length = Math.min(n, remaining);
          remaining -= length;
        }
        onBytes?.(length);
        if (current && buf.buffer === current.buffer && buf.byteOffset === current.byteOffset + used && blockOf(current) === current) {
          used += length;
          if (current.length - used < MIN_ROOM) retire();
          else timer ??= setTimeout(flush, FLUSH_DELAY_MS);
        } else {
          // Bytes from before attach (the connection's own buffer) or in a stray: written as they are.
          queue.push(Buffer.from(buf.buffer, buf.byteOffset, length));
          if (current && blockOf(current) !== current) current = undefined;
        }
        write();
        if (remaining === 0) {
          outcome = 'stopped';
          flush();
          settle();
          return false;
        }
        if (current === undefined && free.length <= 1) {
          paused = true;
          return false;
        }
        return true;
      },
      end: () => {
        if (failure || outcome !== undefined) return;
        outcome = 'complete';
        flush();
        settle();
      },
      // What arrived is written first (queued already): a resumed upload continues from it.
      fail: (err) => {
        if (outcome !== undefined || failure || broken || settled) return;
        broken = err;
        flush();
        settle();
      },
    });
    unwatch = sink.watch?.(fail);
    signal.addEventListener('abort', onAbort, { once: true });
    if (signal.aborted) onAbort();
  });
}
