import type { Writable } from 'node:stream';
import type { LargeReadConnection } from '../util/large-reads.js';

/** A read gets at least this much room; below it the next block is started. */
const MIN_ROOM = 64 * 1024;

/**
 * STOR's fast path: the data socket reads straight into `blocks`, filling
 * each front to back (reads from a slow client are small), every read written
 * to `sink` as it comes. A block is reused once the sink has called back for
 * every read cut from it, which for Node's fs.WriteStream means the bytes are
 * in the file. Reading pauses while the spare block is the last one, so an
 * upload holds at most `blocks` in memory. Resolves when the peer ended and the
 * sink finished; rejects on a sink or socket error or an abort.
 *
 * Only for sinks that let go of a chunk when they call back; a stream that
 * keeps chunks (a PassThrough) would see them overwritten. When it settles,
 * `idle` receives the blocks no read or write can still touch, the only ones
 * safe to lend again.
 */
export function receiveBlocks(conn: LargeReadConnection, sink: Writable, signal: AbortSignal, blocks: Buffer[], idle: Buffer[]): Promise<void> {
  const { socket } = conn;
  const own = new Map<ArrayBufferLike, Buffer>(blocks.map((b) => [b.buffer, b]));
  const free = [...blocks];
  const inFlight = new Map<Buffer, number>();
  let current: Buffer | undefined;
  let used = 0;
  let writing = 0;
  let paused = false;
  let ended = false;
  let ending = false;
  let settled = false;
  const room = (): number => (current ? current.length - used : 0);
  // A block goes back once it is no longer filled and no write holds a part of it.
  const release = (block: Buffer): void => {
    if (block !== current && !inFlight.get(block)) free.push(block);
  };

  return new Promise((resolve, reject) => {
    const finish = (err?: Error): void => {
      if (settled) return;
      settled = true;
      // From here on a late callback's block, or the one armed for a read, stays out of the pool.
      idle.push(...free.splice(0));
      sink.off('error', finish);
      signal.removeEventListener('abort', onAbort);
      if (err) reject(err);
      else resolve();
    };
    const onAbort = (): void => finish(signal.reason instanceof Error ? signal.reason : new Error('aborted'));
    const maybeEnd = (): void => {
      if (!ended || writing > 0 || ending || settled) return;
      ending = true;
      sink.end((err?: Error | null) => finish(err ?? undefined));
    };
    conn.attach({
      buffer: () => {
        if (room() < MIN_ROOM) {
          const full = current;
          // onRead paused before the last spare block was needed, so one is here (else a stray).
          current = free.pop() ?? Buffer.allocUnsafe(MIN_ROOM);
          used = 0;
          if (full) release(full);
        }
        return current!.subarray(used);
      },
      onRead: (n, buf) => {
        if (settled) return false;
        const block = own.get(buf.buffer);
        if (block && block === current) used += n;
        const chunk = Buffer.from(buf.buffer, buf.byteOffset, n);
        if (block) inFlight.set(block, (inFlight.get(block) ?? 0) + 1);
        writing++;
        sink.write(chunk, (err) => {
          writing--;
          if (err) return finish(err);
          if (block) {
            inFlight.set(block, inFlight.get(block)! - 1);
            release(block);
          }
          if (paused && free.length > 0 && !settled) {
            paused = false;
            socket.resume();
          }
          maybeEnd();
        });
        if (room() < MIN_ROOM && free.length <= 1) {
          paused = true;
          return false;
        }
        return true;
      },
      end: () => {
        ended = true;
        maybeEnd();
      },
      fail: finish,
    });
    sink.once('error', finish);
    signal.addEventListener('abort', onAbort, { once: true });
    if (signal.aborted) onAbort();
  });
}
