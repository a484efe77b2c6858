import net from 'node:net';
import { withLargeReads, type LargeReadConnection } from '../util/large-reads.js';

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
