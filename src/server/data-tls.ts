import type { Socket } from 'node:net';
import { TLSSocket } from 'node:tls';
import type { Session } from './session.js';

/**
 * Wraps a PROT P data connection in TLS with the control connection's context. By default the
 * client must resume a session of that context (vsftpd's require_ssl_reuse): a stranger who wins
 * the race to the passive port has no session to resume, so it gets nothing. TLS 1.3 resumes
 * with tickets the control connection was given; TLS 1.2 with tickets too.
 */
export function secureDataConnection(session: Session, socket: Socket, signal: AbortSignal): Promise<TLSSocket> {
  const owner = session.host.tlsOwner;
  const secure = new TLSSocket(socket, { isServer: true, secureContext: session.tlsContext!, ...(owner ? { server: owner } : {}) });
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
        reject(tlsError('session reuse required', 'ERR_FTPKIT_TLS_REUSE'));
        return;
      }
      resolve(secure);
    });
  });
}

function tlsError(message: string, code = 'ERR_FTPKIT_TLS'): Error {
  return Object.assign(new Error(message), { code });
}
