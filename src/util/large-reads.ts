import type net from 'node:net';
import { Readable } from 'node:stream';
import { confirmPeerEnd } from './peer-end.js';

/** Node reads sockets 64 KiB at a time; 1 MiB reads cut syscalls and events per byte ~16x. */
const READ_SIZE = 1024 * 1024;
/** Each read gets at least this much room; below it a fresh 1 MiB block is started. */
const MIN_ROOM = 64 * 1024;

/**
 * Where the socket's reads land. The default target feeds a Readable; a
 * consumer that knows when it is done with each buffer (a file writer) can
 * take over and recycle its own buffers instead (client/file-sink.ts,
 * server/receive-blocks.ts).
 */
export interface ReadTarget {
  /** The buffer the next read fills; asked for after every read. */
  buffer(): Uint8Array;
  /** `n` bytes arrived at the start of `buf`; false pauses reading until `socket.resume()`. */
  onRead(n: number, buf: Uint8Array): boolean;
  /** The peer ended the stream. */
  end(): void;
  /** The connection closed without an end. */
  fail(err: Error): void;
}

export interface LargeReadConnection {
  socket: net.Socket;
  readable: Readable;
  /**
   * Hands the reads to `target` from now on: bytes already buffered in
   * `readable` are given to it first, and an end already seen is passed on.
   */
  attach(target: ReadTarget): void;
}

/**
 * A socket made by `create` with large reads (net's `onread` with our own
 * buffers), exposing the incoming bytes as an ordinary Readable with
 * backpressure: when the consumer is full the callback returns false, which
 * pauses the socket, and the next `_read` resumes it.
 *
 * Reads fill a 1 MiB block front to back and each chunk is a view into it, so
 * nothing is copied: a block is never written twice, and it is freed once the
 * consumer has dropped every chunk cut from it.
 */
export function withLargeReads(create: (onread: net.OnReadOpts) => net.Socket): LargeReadConnection {
  let block = Buffer.allocUnsafe(READ_SIZE);
  let used = 0;
  let readable!: Readable;
  const toReadable: ReadTarget = {
    buffer: () => {
      if (READ_SIZE - used < MIN_ROOM) {
        block = Buffer.allocUnsafe(READ_SIZE);
        used = 0;
      }
      return block.subarray(used);
    },
    onRead: (n, buf) => {
      used += n;
      return readable.push(Buffer.from(buf.buffer, buf.byteOffset, n));
    },
    end: () => void readable.push(null),
    fail: (err) => void readable.destroy(err),
  };
  let target = toReadable;
  let state: 'open' | 'ended' | Error = 'open';
  const socket = create({
    buffer: () => target.buffer(),
    callback: (n: number, buf: Uint8Array): boolean => target.onRead(n, buf),
  });
  readable = new Readable({
    highWaterMark: 4 * READ_SIZE,
    // Returning false from the callback only stops the handle (isPaused() stays false),
    // so resume unconditionally; it is a no-op while reading runs.
    read: () => void socket.resume(),
    destroy: (err, cb) => {
      // After a confirmed end the socket is the owner's to close (its end was checked, not cut).
      if (err || state !== 'ended') socket.destroy(err ?? undefined);
      cb(err);
    },
  });
  // Our side stays open past the peer's end so the end can be checked (peer-end.ts); then it
  // ends as Node would have ended it.
  const halfOpen = socket.allowHalfOpen;
  socket.allowHalfOpen = true;
  let checking = false;
  socket.once('end', () => {
    checking = true;
    confirmPeerEnd(socket).then(
      () => {
        if (state !== 'open') return;
        state = 'ended';
        if (!halfOpen) socket.end();
        target.end();
      },
      (err: Error) => cut(err),
    );
  });
  const cut = (err: Error): void => {
    if (state !== 'open') return;
    state = err;
    socket.destroy(err);
    target.fail(err);
  };
  // 'close' without a confirmed end is a cut connection: the reader must fail, not hang.
  socket.once('close', () => {
    if (checking && !socket.errored) return; // the check settles it
    const err = socket.errored ?? Object.assign(new Error('the data connection closed early'), { code: 'ERR_STREAM_PREMATURE_CLOSE' });
    cut(err instanceof Error ? err : new Error(String(err)));
  });
  const attach = (next: ReadTarget): void => {
    for (let chunk: Buffer | null; (chunk = readable.read() as Buffer | null) !== null; ) next.onRead(chunk.length, chunk);
    target = next;
    if (state === 'ended') next.end();
    else if (state instanceof Error) next.fail(state);
    else socket.resume();
  };
  return { socket, readable, attach };
}
