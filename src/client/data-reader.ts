import net from 'node:net';
import { Readable } from 'node:stream';

/** Node reads sockets 64 KiB at a time; 1 MiB reads cut syscalls and events per byte ~16x. */
const READ_SIZE = 1024 * 1024;
/** Each read gets at least this much room; below it a fresh 1 MiB block is started. */
const MIN_ROOM = 64 * 1024;

/**
 * Connects with large reads (net's `onread` with our own buffers) and exposes
 * the incoming bytes as an ordinary Readable with backpressure: when the
 * consumer is full the callback returns false, which pauses the socket, and
 * the next `_read` resumes it.
 *
 * Reads fill a 1 MiB block front to back and each chunk is a view into it, so
 * nothing is copied: a block is never written twice, and it is freed once the
 * consumer has dropped every chunk cut from it.
 */
export function connectWithLargeReads(opts: net.TcpNetConnectOpts): { socket: net.Socket; readable: Readable } {
  let block = Buffer.allocUnsafe(READ_SIZE);
  let used = 0;
  let readable!: Readable;
  const socket = net.connect({
    ...opts,
    onread: {
      buffer: () => {
        if (READ_SIZE - used < MIN_ROOM) {
          block = Buffer.allocUnsafe(READ_SIZE);
          used = 0;
        }
        return block.subarray(used);
      },
      callback: (n: number, buf: Uint8Array): boolean => {
        used += n;
        return readable.push(Buffer.from(buf.buffer, buf.byteOffset, n));
      },
    },
  });
  readable = new Readable({
    highWaterMark: 4 * READ_SIZE,
    // Returning false from the callback only stops the handle (isPaused() stays false),
    // so resume unconditionally; it is a no-op while reading runs.
    read: () => void socket.resume(),
    destroy: (err, cb) => {
      socket.destroy(err ?? undefined);
      cb(err);
    },
  });
  let ended = false;
  socket.once('end', () => {
    ended = true;
    readable.push(null);
  });
  // 'close' without 'end' is a cut connection: the reader must fail, not hang.
  socket.once('close', () => {
    if (!ended && !readable.destroyed) {
      const err = socket.errored ?? Object.assign(new Error('the data connection closed early'), { code: 'ERR_STREAM_PREMATURE_CLOSE' });
      readable.destroy(err instanceof Error ? err : undefined);
    }
  });
  return { socket, readable };
}
