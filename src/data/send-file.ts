import type { Socket } from 'node:net';
import { TLSSocket } from 'node:tls';
import { zeroCopy, socketFd } from './zero-copy.js';
import { runZeroCopyJob } from './zero-copy-job.js';

/** A byte range of an open file that a zero-copy sender may read directly (BlockReader.file). */
export interface FileRange {
  fd: number;
  start: number;
  /** One past the last byte. */
  stop: number;
}

/** Whether `socket` can take a zero-copy send now: plain TCP, Node's own descriptor, nothing queued. */
export function canSendZeroCopy(socket: Socket): boolean {
  return zeroCopy() !== undefined && !(socket instanceof TLSSocket) && socketFd(socket) !== undefined && socket.writableLength === 0;
}

/**
 * file -> socket with sendfile(2), no byte in user space (see native/zero-copy.cc). Same
 * contract as the block pump: resolves once the socket has ended after the last byte;
 * rejects on a socket error or close (a timeout's ETIMEDOUT included), an abort, or a
 * file that ends early. The socket's idle timer only sees Node's own writes, so while
 * the kernel moves bytes it is re-armed whenever progress is made. `onSent` sees the
 * progress as it is polled (a few times a second) and the rest at the end.
 */
export async function sendFileZeroCopy(range: FileRange, socket: Socket, signal: AbortSignal, onSent?: (n: number) => void): Promise<void> {
  const zc = zeroCopy();
  if (!zc) throw new Error('zero-copy unavailable');
  await runZeroCopyJob(socket, signal, () => zc.send(socket, range.fd, range.start, range.stop - range.start), {
    ...(onSent ? { onBytes: onSent } : {}),
    after: (finish) => void socket.end(() => finish()),
  });
}
