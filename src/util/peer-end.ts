import type { Socket } from 'node:net';

const EMPTY = Buffer.alloc(0);

/**
 * Settles once `socket`, whose peer has ended it ('end'), is known to have been ended by a FIN
 * and not by a reset (RST); rejects (ECONNRESET, EPIPE) when it was reset.
 *
 * 'end' alone does not tell: when a reset arrives while the last bytes are still queued, the
 * kernel signals a hang-up, libuv reads those bytes, sees a short read and reports end of file
 * without reading the error that follows them (uv__stream_io's POLLHUP shortcut). Measured on
 * loopback: 9 resets in 30 surfaced as 'end'. An upload cut by a reset is missing the bytes the
 * client's kernel threw away, so it must not be taken for a finished one.
 *
 * A zero-length write asks the kernel: on a connection the peer reset it fails (the pending
 * ECONNRESET, or EPIPE once the socket is closed); on one the peer half-closed it succeeds and
 * sends nothing. So the socket must still be writable here: allowHalfOpen, or the call made from
 * an 'end' listener before Node ends our side. Not for TLS sockets: an empty TLS write never
 * reaches the kernel's answer (see tls-end.ts for what ends a TLS stream).
 */
export function confirmPeerEnd(socket: Socket): Promise<void> {
  return new Promise((resolve, reject) => {
    if (socket.destroyed || !socket.writable) {
      reject(socket.errored ?? Object.assign(new Error('the data connection closed before its end was confirmed'), { code: 'ERR_STREAM_PREMATURE_CLOSE' }));
      return;
    }
    socket.write(EMPTY, (err) => (err ? reject(err) : resolve()));
  });
}
