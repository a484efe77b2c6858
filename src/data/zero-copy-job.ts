import type { Socket } from 'node:net';
import { transferEnded } from './block-pool.js';
import type { ZeroCopySend } from './zero-copy.js';

/** Bytes each socket carried outside Node's stream (zero-copy), for byte counts and STAT. */
const carried = new WeakMap<Socket, () => number>();

/** Bytes `socket` carried through zero-copy jobs, on top of its own `bytesWritten` or `bytesRead`. */
export function zeroCopyBytes(socket: Socket): number {
  return carried.get(socket)?.() ?? 0;
}

export interface JobOptions {
  /** Sees the progress as it is polled (a few times a second) and the rest at the end. */
  onBytes?: (n: number) => void;
  /** Runs once the job moved its last byte; calls `finish` when the transfer is over (a send ends the socket first). */
  after?: (finish: (err?: Error) => void) => void;
}

/**
 * Runs one job of the addon on `socket` (a sendfile send or a receive) the way a transfer
 * needs it: resolves with the bytes moved once the job and `after` are done; rejects on a
 * socket error or close (a timeout's ETIMEDOUT included), an abort, or the job's failure,
 * cancelling the job first (synchronous: no byte more moves once it returns). The socket's
 * idle timer only sees Node's own reads and writes, so while the kernel moves bytes it is
 * re-armed whenever progress is made.
 */
export function runZeroCopyJob(socket: Socket, signal: AbortSignal, start: () => ZeroCopySend, opts: JobOptions = {}): Promise<number> {
  const { onBytes, after } = opts;
  return new Promise((resolve, reject) => {
    let settled = false;
    let job: ZeroCopySend | undefined;
    let lastProgress = 0;
    let reported = 0;
    let total = 0;
    const report = (now: number): void => {
      if (onBytes && now > reported) onBytes(now - reported);
      reported = Math.max(reported, now);
    };
    const idle = socket.timeout ?? 0;
    const ticker = setInterval(
      () => {
        const now = job?.progress() ?? 0;
        if (now !== lastProgress && idle > 0) socket.setTimeout(idle); // re-arms the idle timer
        lastProgress = now;
        report(now);
      },
      Math.max(50, Math.min(onBytes ? 250 : 1000, idle > 0 ? idle / 4 : 1000)),
    );
    const finish = (err?: Error): void => {
      if (settled) return;
      settled = true;
      clearInterval(ticker);
      socket.off('close', onClose);
      socket.off('error', onError);
      signal.removeEventListener('abort', onAbort);
      transferEnded();
      if (err) {
        job?.cancel(); // synchronous: nothing more is moved once it returns
        reject(err);
      } else resolve(total);
    };
    const onError = (err: Error): void => finish(err);
    const onClose = (): void => {
      const err = socket.errored;
      finish(err instanceof Error ? err : Object.assign(new Error('the data connection closed early'), { code: 'ERR_STREAM_PREMATURE_CLOSE' }));
    };
    const onAbort = (): void => finish(signal.reason instanceof Error ? signal.reason : new Error('aborted'));
    socket.once('close', onClose);
    socket.once('error', onError);
    signal.addEventListener('abort', onAbort, { once: true });
    if (signal.aborted) return onAbort();
    try {
      job = start();
    } catch (err) {
      return finish(err as Error);
    }
    const running = job;
    carried.set(socket, () => running.progress());
    running.done.then(
      (moved) => {
        if (settled) return;
        total = moved;
        report(moved);
        if (after) after(finish);
        else finish();
      },
      (err: Error) => finish(err),
    );
  });
}
