import net from 'node:net';
import { Readable } from 'node:stream';
import { confirmPeerEnd } from '../util/peer-end.js';

/** Node reads sockets 64 KiB at a time; 1 MiB reads cut syscalls and events per byte ~16x. */
const READ_SIZE = 1024 * 1024;
/** Each read gets at least this much room; below it a fresh 1 MiB block is started. */
const MIN_ROOM = 64 * 1024;
/** The buffer Node asks for when the socket is made (see withLargeReads). */
const FIRST_SIZE = 16 * 1024;

/**
 * Where the socket's reads land. The default target feeds a Readable; a
 * consumer that knows when it is done with each buffer (a file writer) can
 * take over and recycle its own buffers instead (receive-blocks.ts, used by
 * the server's uploads and the client's downloads).
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
  /**
   * Stops Node's reads for now, before the peer may send (the client, before its transfer
   * command), so that handOver() finds nothing read; attach() or reading `readable` resumes them.
   */
  hold(): void;
  /**
   * Stops Node's reads for good so that another reader (the addon's thread, receive-file.ts)
   * takes the socket from here. True only when nothing was read yet and the stream is open;
   * false leaves the connection reading as before.
   */
  handOver(): boolean;
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
  // Node asks for a buffer when the socket is made, before anyone can attach: that first one is
  // small, so a connection handed to receive-blocks.ts at once does not hold a megabyte for it.
  let block: Buffer | undefined;
  let used = 0;
  let readable!: Readable;
  const toReadable: ReadTarget = {
    buffer: () => {
      if (!block || block.length - used < MIN_ROOM) {
        block = Buffer.allocUnsafe(block ? READ_SIZE : FIRST_SIZE);
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
  let handedOver = false;
  const socket = create({
    buffer: () => target.buffer(),
    callback: (n: number, buf: Uint8Array): boolean => target.onRead(n, buf),
  });
  readable = new Readable({
    highWaterMark: 4 * READ_SIZE,
    // Returning false from the callback only stops the handle (isPaused() stays false),
    // so resume unconditionally; it is a no-op while reading runs.
    read: () => void (handedOver || socket.resume()),
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
  const handOver = (): boolean => {
    const handle = (socket as net.Socket & { _handle?: { reading?: boolean } | null })._handle;
    if (state !== 'open' || handedOver || !handle || socket.connecting || socket.destroyed || readable.readableLength > 0) return false;
    socket.pause(); // stops the handle's reads (net's onread sockets)
    if (handle.reading || readable.readableLength > 0) {
      socket.resume();
      return false;
    }
    handedOver = true;
    // The new reader watches the socket itself; what Node would still report is not ours.
    target = { buffer: () => toReadable.buffer(), onRead: () => false, end: () => {}, fail: () => {} };
    return true;
  };
  const hold = (): void => {
    if (state === 'open' && !socket.connecting && !socket.destroyed) socket.pause();
  };
  return { socket, readable, attach, handOver, hold };
}

/** Connects with large reads (the client's data connections). */
export function connectWithLargeReads(opts: net.TcpNetConnectOpts): LargeReadConnection {
  return withLargeReads((onread) => net.connect({ ...opts, onread }));
}

/**
 * Takes over an accepted data socket so its reads land in our buffers (net's
 * `onread`, which Node offers to sockets it connects but not to accepted ones):
 * the socket's handle moves into a new Socket built with `onread`. Only done
 * while the socket has read nothing (passive listeners accept paused), and
 * only when Node exposes the handle; otherwise undefined and the caller keeps
 * the socket as it is.
 */
export function adoptWithLargeReads(socket: net.Socket): LargeReadConnection | undefined {
  const holder = socket as net.Socket & { _handle?: object | null };
  const handle = holder._handle;
  if (!handle || socket.readableFlowing !== false || socket.readableLength > 0 || socket.destroyed) return undefined;
  return withLargeReads((onread) => {
    holder._handle = null;
    socket.destroy(); // the old wrapper only: its handle is gone
    const adopted = new net.Socket({ handle, onread, readable: true, writable: true } as net.SocketConstructorOpts);
    adopted.on('error', () => {}); // errors surface through the transfer
    return adopted;
  });
}
