import type { Writable } from 'node:stream';
import type { LargeReadConnection } from '../util/large-reads.js';

/**
 * STOR's fast path: the data socket reads straight into `blocks`, each
 * written to `sink` and reused once the sink's callback says the bytes are in
 * the file. Reading pauses while every spare block waits on the sink, so an
 * upload holds at most `blocks` in memory. Resolves when the peer ended and
 * the sink finished; rejects on a sink or socket error or an abort.
 *
 * Only for sinks that let go of a chunk when they call back (Node's
 * fs.WriteStream); a stream that keeps chunks (a PassThrough) would see
 * them overwritten. When it settles, `idle` receives the blocks no read or
 * write can still touch, the only ones safe to lend again.
 */
export function receiveBlocks(conn: LargeReadConnection, sink: Writable, signal: AbortSignal, blocks: Buffer[], idle: Buffer[]): Promise<void> {
  const { socket } = conn;
  const own = new Map<ArrayBufferLike, Buffer>(blocks.map((b) => [b.buffer, b]));
  const free = [...blocks];
  let writing = 0;
  let paused = false;
  let ended = false;
  let ending = false;
  return new Promise((resolve, reject) => {
    let settled = false;
    const finish = (err?: Error): void => {
      if (settled) return;
      settled = true;
      // From here on a late callback's block, or a buffer armed for a read, stays out of the pool.
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
      // One block is always kept back for the read Node arms right after a callback.
      buffer: () => free.pop() ?? Buffer.allocUnsafe(64 * 1024),
      onRead: (n, buf) => {
        if (settled) return false;
        const chunk = Buffer.from(buf.buffer, buf.byteOffset, n);
        writing++;
        sink.write(chunk, (err) => {
          writing--;
          if (err) return finish(err);
          const block = own.get(chunk.buffer);
          if (block) free.push(block);
          if (paused && free.length > 1 && !settled) {
            paused = false;
            socket.resume();
          }
          maybeEnd();
        });
        if (free.length <= 1) {
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
