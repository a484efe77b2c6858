import type { Socket } from 'node:net';
import { TLSSocket } from 'node:tls';
import { zeroCopy, socketFd, type ZeroCopySend } from './zero-copy.js';

/** A byte range of an open file that a zero-copy sender may read directly (BlockReader.file). */
export interface FileRange {
  fd: number;
  start: number;
  /** One past the last byte. */
  stop: number;
}

/** Bytes each socket carried outside Node's stream (zero-copy), for byte counts and STAT. */
const carried = new WeakMap<Socket, () => number>();

/** Bytes `socket` carried through zero-copy sends, on top of its own `bytesWritten`. */
export function zeroCopyBytes(socket: Socket): number {
  return carried.get(socket)?.() ?? 0;
}

/** Whether `socket` can take a zero-copy send now: plain TCP, Node's own descriptor, nothing queued. */
export function canSendZeroCopy(socket: Socket): boolean {
  return zeroCopy() !== undefined && !(socket instanceof TLSSocket) && socketFd(socket) !== undefined && socket.writableLength === 0;
}

/**
 * file -> socket with sendfile(2), no byte in user space (see native/sendfile.cc). Same
 * contract as the block pump: resolves once the socket has ended after the last byte;
 * rejects on a socket error or close (a timeout's ETIMEDOUT included), an abort, or a
 * file that ends early. The socket's idle timer only sees Node's own writes, so while
 * the kernel moves bytes it is re-armed whenever progress is made. `onSent` sees the
 * progress as it is polled (a few times a second) and the rest at the end.
 */
export function sendFileZeroCopy(range: FileRange, socket: Socket, signal: AbortSignal, onSent?: (n: number) => void): Promise<void> {
  const zc = zeroCopy();
  if (!zc) return Promise.reject(new Error('zero-copy unavailable'));
  return new Promise((resolve, reject) => {
    let settled = false;
    let send: ZeroCopySend | undefined;
    let lastProgress = 0;
    let reported = 0;
    const report = (now: number): void => {
      if (onSent && now > reported) onSent(now - reported);
      reported = Math.max(reported, now);
    };
    const idle = socket.timeout ?? 0;
    const ticker = setInterval(() => {
      const now = send?.progress() ?? 0;
      if (now !== lastProgress && idle > 0) socket.setTimeout(idle); // re-arms the idle timer
      lastProgress = now;
      report(now);
    }, Math.max(50, Math.min(onSent ? 250 : 1000, idle > 0 ? idle / 4 : 1000)));
    const finish = (err?: Error): void => {
      if (settled) return;
      settled = true;
      clearInterval(ticker);
      socket.off('close', onClose);
      socket.off('error', onError);
      signal.removeEventListener('abort', onAbort);
      if (err) {
        send?.cancel(); // synchronous: nothing more is written once it returns
        reject(err);
      } else resolve();
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
      send = zc.send(socket, range.fd, range.start, range.stop - range.start);
    } catch (err) {
      return finish(err as Error);
    }
    const running = send;
    carried.set(socket, () => running.progress());
    running.done.then(
      (sent) => {
        if (settled) return;
        report(sent);
        socket.end(() => finish());
      },
      (err: Error) => finish(err),
    );
  });
}
