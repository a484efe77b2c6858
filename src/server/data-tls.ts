import type { Socket } from 'node:net';
import type { TLSSocket } from 'node:tls';
import { FtpError } from '../errors.js';
import type { Session } from './session.js';

/** The 522 text when a data connection does not resume its control connection's session. */
export const REUSE_REFUSAL =
  "Data connection must resume the control connection's TLS session (server option tlsSessionReuse: 'optional' / ftp-serve --tls-session-reuse optional allows clients that do not)";

/**
 * Wraps a PROT P data connection in TLS with the control connection's own binding
 * (tls-bindings.ts). By default the client must resume a session of that binding (vsftpd's
 * require_ssl_reuse): whoever wins the race to the passive port, even from the victim's address
 * with a TLS session of its own (AUTH TLS on another control connection), cannot resume this
 * one, so it gets a 522 and no byte. TLS 1.3 resumes with tickets, TLS 1.2 with tickets or IDs.
 */
export function secureDataConnection(session: Session, socket: Socket, signal: AbortSignal): Promise<TLSSocket> {
  const secure = session.tls!.wrap(socket, 'data');
  return new Promise<TLSSocket>((resolve, reject) => {
    const fail = (err: Error): void => {
      cleanup();
      secure.destroy();
      reject(err);
    };
    const onAbort = (): void => fail(signal.reason as Error);
    const timer = setTimeout(() => fail(tlsError('data connection TLS handshake timed out')), session.host.options.timeouts.data);
    const cleanup = (): void => {
      clearTimeout(timer);
      signal.removeEventListener('abort', onAbort);
      secure.off('error', onError);
      secure.off('close', onClose);
    };
    const onError = (err: Error): void => fail(tlsError(`data connection TLS failed: ${err.message}`));
    // A peer that hangs up before a full record gives no 'error', only 'close'.
    const onClose = (): void => fail(tlsError('data connection closed before the TLS handshake'));
    signal.addEventListener('abort', onAbort, { once: true });
    secure.once('error', onError);
    secure.once('close', onClose);
    secure.once('secure', () => {
      cleanup();
      secure.on('error', () => {}); // later errors surface through the pipeline
      if (session.host.options.tlsSessionReuse === 'required' && !secure.isSessionReused()) {
        secure.destroy();
        reject(new TlsReuseRefused());
        return;
      }
      resolve(secure);
    });
  });
}

function tlsError(message: string): FtpError {
  return new FtpError('FTPKIT_ERR_TLS', message);
}

/** A PROT P data connection that did not resume its control connection's TLS session (answered REUSE_REFUSAL). */
export class TlsReuseRefused extends FtpError {
  constructor() {
    super('FTPKIT_ERR_TLS', "the data connection did not resume its control connection's TLS session (tlsSessionReuse: 'required')");
  }
}
