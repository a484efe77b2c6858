import type { Socket } from 'node:net';
import { Duplex } from 'node:stream';
import type { TLSSocket } from 'node:tls';
import { FtpError } from '../errors.js';
import { confirmPeerEnd } from '../util/peer-end.js';

/**
 * How an upload's data connection must end for the upload to count as complete: the client
 * closed its side on purpose. Anything else (a reset, a timeout, ABOR, under TLS a close
 * without close_notify) is an interrupted upload, never committed.
 *
 *   clear (PROT C):  ... data ... FIN                 -> 'end', then confirmPeerEnd: FIN, not RST
 *   TLS (PROT P):    ... records ... close_notify FIN -> the TLS stream ends on the close_notify,
 *                                                        before the TCP end reaches it
 *   TLS, truncated:  ... records ... FIN (no alert)    -> Node ends the TLS stream on the TCP
 *                                                        end alone: refused (RFC 8446 6.1; an
 *                                                        attacker's forged FIN looks the same)
 */

const tlsEnds = new WeakMap<Socket, () => Promise<void>>();

/**
 * Called before an upload starts reading `socket` (its plain or TLS data socket); returns the
 * check to await once the data has been read to its end: it rejects unless the client ended
 * the connection properly. Large-read connections check their end themselves (large-reads.ts).
 */
export function endCheck(socket: Socket): () => Promise<void> {
  const tls = tlsEnds.get(socket);
  if (tls) return tls;
  socket.allowHalfOpen = true; // our side stays open past the client's FIN, so it can be checked
  return () => confirmPeerEnd(socket);
}

/**
 * For PROT P uploads: a stream between the TCP socket and the TLS layer, so that the end of
 * each can be told apart. Node's TLS socket reads a TCP socket's handle directly and reports
 * "end" alike for a close_notify and for a bare TCP end; through this carrier the TCP end
 * reaches the TLS layer only after every byte before it, so if the TLS stream has ended by
 * then, a close_notify ended it. `bind` names the TLS socket made over the carrier; endCheck
 * of that socket then answers from what was seen.
 */
export function tlsCarrier(raw: Socket): { carrier: Duplex; bind(secure: TLSSocket): void } {
  let secure: TLSSocket | undefined;
  let closeNotify = false;
  let tcpEnded = false;
  raw.allowHalfOpen = true;
  const carrier = new Duplex({
    // Ended by hand on the client's end (below), not by the stream itself.
    allowHalfOpen: true,
    read: () => void raw.resume(),
    write: (chunk: Buffer, _encoding, cb) => void raw.write(chunk, cb),
    final: (cb) => {
      raw.end();
      cb();
    },
    destroy: (err, cb) => {
      raw.destroy(err ?? undefined);
      cb(err);
    },
  });
  raw.on('data', (chunk: Buffer) => {
    if (!carrier.push(chunk)) raw.pause();
  });
  raw.once('end', () => {
    // After a close_notify the TCP end cannot cut anything; before it, it must be a real FIN.
    if (secure && tlsEnded(secure)) return void carrier.push(null);
    confirmPeerEnd(raw).then(
      () => carrier.push(null),
      (err: Error) => carrier.destroy(err),
    );
  });
  raw.on('error', (err) => {
    if (secure && tlsEnded(secure)) carrier.push(null);
    else carrier.destroy(err);
  });
  // Runs before the TLS layer's own 'end' listener (added when the TLS socket is made), when
  // every byte before the TCP end has been handed to it.
  carrier.once('end', () => {
    tcpEnded = true;
    closeNotify = secure !== undefined && tlsEnded(secure);
    // During the handshake: our side ends too, as a TCP socket's would (the handshake fails at
    // once). Once secure, the TLS socket ends it (close_notify, then our FIN) when its reader has
    // taken every byte: ending it here would close the carrier, which destroys the TLS socket
    // with what it still buffers for a slower reader (a MODE Z upload's inflate).
    if (!secure) carrier.end();
  });
  const check = (): Promise<void> =>
    // The TLS stream ended before the TCP end reached it: only a close_notify does that.
    secure && tlsEnded(secure) && (!tcpEnded || closeNotify)
      ? Promise.resolve()
      : // A truncated end is the peer gone (isPeerGone), not a complete upload.
        Promise.reject(new FtpError('FTPKIT_ERR_CONNECTION_CLOSED', 'the TLS data connection ended without close_notify'));
  return {
    carrier,
    bind: (s) => {
      secure = s;
      tlsEnds.set(s, check);
    },
  };
}

/** Whether `socket`'s readable side has seen its end (pushed, maybe not yet emitted). */
function tlsEnded(socket: TLSSocket): boolean {
  const state = (socket as unknown as { _readableState?: { ended?: boolean } })._readableState;
  return socket.readableEnded || state?.ended === true;
}
