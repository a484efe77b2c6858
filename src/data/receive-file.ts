import { WriteStream } from 'node:fs';
import type { Socket } from 'node:net';
import { TLSSocket } from 'node:tls';
import { adoptWithLargeReads, type LargeReadConnection } from './large-reads.js';
import { socketFd, zeroCopy } from './zero-copy.js';
import { runZeroCopyJob } from './zero-copy-job.js';

/** A clear data socket no one reads yet, left for the addon's thread to read (receiveFileZeroCopy). */
export interface AddonReads {
  socket: Socket;
  addon: true;
}

/** How the data layer reads an upload's socket when it takes the reads over from Node's stream. */
export type OwnedReads = LargeReadConnection | AddonReads;

/**
 * Whether the addon's thread can read `socket`: plain TCP, Node's own descriptor, never read by
 * Node (an accepted socket still paused), or, `afterHandOver`, a large-read connection whose
 * handOver() will say whether Node read anything yet.
 */
export function canReceiveZeroCopy(socket: Socket, opts: { afterHandOver?: boolean } = {}): boolean {
  return (
    zeroCopy()?.canReceive === true &&
    !(socket instanceof TLSSocket) &&
    socketFd(socket) !== undefined &&
    (opts.afterHandOver === true || (socket.readableFlowing === false && socket.readableLength === 0)) &&
    !socket.destroyed
  );
}

/**
 * Takes the reads of a clear, paused data socket over for an upload into a file: the addon's
 * thread when it loaded (and `zeroCopy` is on), else large reads into pooled blocks. Undefined
 * when neither can: the socket is read as a stream.
 */
export function ownReads(socket: Socket, opts: { zeroCopy: boolean }): OwnedReads | undefined {
  if (opts.zeroCopy && canReceiveZeroCopy(socket)) return { socket, addon: true };
  return adoptWithLargeReads(socket);
}

/**
 * socket -> file in the addon's thread (native/zero-copy.cc): each read is written to `fd` at
 * once, from `position` on (null: at the descriptor's own position, as an appending stream
 * writes), by one thread, as a blocking server does it; the event loop only hears the end.
 * Resolves with the bytes written once the peer ended the stream with a FIN (a reset, even
 * one after the FIN, rejects: see util/peer-end.ts) or once `limit` bytes came. Rejects on a
 * failed write (the file's errno code, e.g. ENOSPC), a connection error, an abort, or a
 * close of the socket (a timeout's ETIMEDOUT included); every byte counted was written.
 */
export function receiveFileZeroCopy(
  socket: Socket,
  fd: number,
  position: number | null,
  signal: AbortSignal,
  opts: { limit?: number; onBytes?: (n: number) => void } = {},
): Promise<number> {
  const zc = zeroCopy();
  if (!zc) return Promise.reject(new Error('zero-copy unavailable'));
  return runZeroCopyJob(socket, signal, () => zc.receive(socket, fd, position, opts.limit), opts.onBytes ? { onBytes: opts.onBytes } : {});
}

/**
 * A file stream's descriptor and the position its next write goes to (null: the descriptor's
 * own, for appending streams), once the writes queued before (a resumed upload's prefix) are
 * done; undefined for other sinks and streams not made on an open descriptor (LocalStorage's
 * are): they are written as streams.
 */
export async function fileTarget(sink: unknown): Promise<{ fd: number; position: number | null; advance(n: number): void } | undefined> {
  if (!(sink instanceof WriteStream)) return undefined;
  const stream = sink as WriteStream & { fd: number | null; pos?: number };
  if (typeof stream.fd !== 'number' || stream.destroyed) return undefined;
  // An empty write calls back after every write before it.
  if (stream.writableLength > 0) await new Promise<void>((resolve, reject) => stream.write(Buffer.alloc(0), (err) => (err ? reject(err) : resolve())));
  if (stream.writableLength > 0 || stream.destroyed) return undefined;
  const position = typeof stream.pos === 'number' ? stream.pos : null;
  return {
    fd: stream.fd,
    position,
    // The stream's own later writes (none for an upload) would go after these bytes.
    advance: (n) => void (position !== null && (stream.pos = position + n)),
  };
}
