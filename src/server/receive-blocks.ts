import type { Writable } from 'node:stream';
import type { LargeReadConnection } from '../util/large-reads.js';

/** A read gets at least this much room; below it the block is written and the next one started. */
const MIN_ROOM = 64 * 1024;
/** Bytes that arrived but do not fill a block are written after this long (a slow client's data lands in the file). */
const FLUSH_DELAY_MS = 20;

/**
 * STOR's fast path: the data socket reads straight into `blocks`, filling each
 * front to back (a client sending from a pipe arrives in small reads); a full
 * block goes to `sink` as one write, and bytes waiting in a partial one are
 * written after FLUSH_DELAY_MS. A block is reused once it is full and the sink
 * has called back for every write cut from it, which for Node's
 * fs.WriteStream means the bytes are in the file. Reading pauses while the
 * spare block is the last one, so an upload holds at most `blocks` in memory.
 * Resolves when the peer ended and the sink finished; rejects on a sink or
 * socket error or an abort (bytes already received are written first, so an
 * interrupted upload can resume from them).
 *
 * Only for sinks that let go of a chunk when they call back; a stream that
 * keeps chunks (a PassThrough) would see them overwritten. When it settles,
 * `idle` receives the blocks no read or write can still touch, the only ones
 * safe to lend again.
 */
export function receiveBlocks(conn: LargeReadConnection, sink: Writable, signal: AbortSignal, blocks: Buffer[], idle: Buffer[]): Promise<void> {
  const { socket } = conn;
  const own = new Set<ArrayBufferLike>(blocks.map((b) => b.buffer));
  const free = [...blocks];
  const inFlight = new Map<Buffer, number>();
  let current: Buffer | undefined;
  let used = 0;
  let sent = 0;
  let writing = 0;
  let paused = false;
  let settled = false;
  let timer: NodeJS.Timeout | undefined;
  /** Runs once no write is in flight (a failure settles only then: what arrived is in the file). */
  let onIdle: (() => void) | undefined;

  return new Promise((resolve, reject) => {
    const finish = (err?: Error): void => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      // From here on a late callback's block, or the one armed for a read, stays out of the pool.
      idle.push(...free.splice(0));
      sink.off('error', finish);
      signal.removeEventListener('abort', onAbort);
      if (err) reject(err);
      else resolve();
    };
    const onAbort = (): void => finish(signal.reason instanceof Error ? signal.reason : new Error('aborted'));
    const release = (block: Buffer): void => {
      if (block !== current && !inFlight.get(block)) free.push(block);
    };
    /** Writes `chunk` (a part of `block`, if ours); `then` runs after the sink's callback. */
    const write = (chunk: Buffer, block: Buffer | undefined, then?: (err?: Error | null) => void): void => {
      writing++;
      if (block) inFlight.set(block, (inFlight.get(block) ?? 0) + 1);
      sink.write(chunk, (err) => {
        writing--;
        if (block && !err) {
          inFlight.set(block, inFlight.get(block)! - 1);
          release(block);
        }
        if (writing === 0 && onIdle) {
          const idleNow = onIdle;
          onIdle = undefined;
          idleNow();
        }
        if (then) return then(err);
        if (err) return finish(err);
        if (paused && free.length > 0 && !settled) {
          paused = false;
          socket.resume();
        }
      });
    };
    /** Hands the current block's unsent bytes to the sink; `retire` also moves on to a new block. */
    const flush = (retire: boolean, then?: (err?: Error | null) => void): void => {
      clearTimeout(timer);
      timer = undefined;
      const block = current;
      const chunk = block && used > sent ? block.subarray(sent, used) : undefined;
      sent = used;
      if (retire) {
        current = undefined;
        used = sent = 0;
        if (block && !chunk) release(block);
      }
      if (chunk) write(chunk, block, then);
      else then?.();
    };
    conn.attach({
      buffer: () => {
        // onRead paused before the last spare block was needed, so one is here (else a stray).
        current ??= free.pop() ?? Buffer.allocUnsafe(MIN_ROOM);
        return current.subarray(used);
      },
      onRead: (n, buf) => {
        if (settled) return false;
        if (!current || buf.buffer !== current.buffer || !own.has(buf.buffer)) {
          // Bytes from before attach (the connection's own buffers): written as they are.
          write(Buffer.from(buf.buffer, buf.byteOffset, n), undefined);
          return true;
        }
        used += n;
        if (current.length - used >= MIN_ROOM) {
          timer ??= setTimeout(() => flush(false), FLUSH_DELAY_MS);
          return true;
        }
        flush(true);
        if (free.length <= 1) {
          paused = true;
          return false;
        }
        return true;
      },
      end: () => flush(true, (err) => (err ? finish(err) : sink.end((e?: Error | null) => finish(e ?? undefined)))),
      fail: (err) =>
        flush(true, () => {
          if (writing === 0) finish(err);
          else onIdle = () => finish(err);
        }),
    });
    sink.once('error', finish);
    signal.addEventListener('abort', onAbort, { once: true });
    if (signal.aborted) onAbort();
  });
}
