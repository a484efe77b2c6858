import net from 'node:net';
import { Readable } from 'node:stream';

/** Node reads sockets 64 KiB at a time; 1 MiB reads cut syscalls and events per byte ~16x. */
const READ_SIZE = 1024 * 1024;
/** A read at least this large keeps its buffer; smaller ones are copied out so the big buffer is reused. */
const KEEP_THRESHOLD = READ_SIZE / 4;

/**
 * Connects with large reads (net's `onread` with our own buffers) and exposes
 * the incoming bytes as an ordinary Readable with backpressure: when the
 * consumer is full the callback returns false, which pauses the socket, and
 * the next `_read` resumes it.
 */
export function connectWithLargeReads(opts: net.TcpNetConnectOpts): { socket: net.Socket; readable: Readable } {
  let current: Buffer | undefined;
  let readable!: Readable;
  const socket = net.connect({
    ...opts,
    onread: {
      buffer: () => (current ??= Buffer.allocUnsafe(READ_SIZE)),
      callback: (n: number, buf: Uint8Array): boolean => {
        let chunk: Buffer;
        if (n >= KEEP_THRESHOLD) {
          chunk = Buffer.from(buf.buffer, buf.byteOffset, n);
          current = undefined; // handed to the consumer: the next read gets a fresh buffer
        } else {
          chunk = Buffer.allocUnsafe(n);
          chunk.set(buf.subarray(0, n));
        }
        return readable.push(chunk);
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
