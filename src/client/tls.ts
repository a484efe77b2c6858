import net from 'node:net';
import tls from 'node:tls';
import { FtpError } from '../errors.js';
import { normalizeFingerprint, type TlsSettings } from './options.js';

/**
 * FTPS on the client side (RFC 4217).
 *
 *   explicit                               implicit
 *   ◀─ 220 (clear)                          TLS handshake on connect
 *   AUTH TLS ─▶  ◀─ 234                    ◀─ 220 (inside TLS)
 *   TLS handshake over the same socket
 *   USER / PASS, then PBSZ 0 ─▶ ◀─ 200, PROT P ─▶ ◀─ 200 (both modes)
 *
 * Every data connection is then a TLS client that resumes the control
 * connection's session: vsftpd (require_ssl_reuse), ProFTPD and ftpkit refuse
 * one that does not (522), since resuming proves the data connection comes
 * from whoever holds the control connection.
 */
export interface ControlTls {
  readonly socket: tls.TLSSocket;
  readonly settings: TlsSettings;
  readonly host: string;
  /** The newest session (TLS 1.2 session/ticket, TLS 1.3 ticket) the control connection received. */
  session: Buffer | undefined;
}

/** Connection options shared by the control and data handshakes. */
function connectOptions(host: string, settings: TlsSettings): tls.ConnectionOptions {
  const servername = settings.servername ?? (net.isIP(host) === 0 ? host : undefined);
  return {
    host,
    ...(servername !== undefined ? { servername } : {}),
    ...(settings.ca !== undefined ? { ca: settings.ca } : {}),
    // A pin replaces CA and host checks: handshake() compares the fingerprint instead.
    rejectUnauthorized: settings.fingerprint256 === undefined && settings.rejectUnauthorized,
    minVersion: settings.minVersion,
    ...(settings.maxVersion !== undefined ? { maxVersion: settings.maxVersion } : {}),
  };
}

/**
 * Wraps the (connected) control socket and completes the handshake. Under
 * TLS 1.3 the session ticket arrives after the handshake, so we wait for it
 * (briefly: a server may send none) before any data connection needs it.
 */
export async function secureControl(raw: net.Socket, host: string, settings: TlsSettings, timeout: number): Promise<ControlTls> {
  const socket = tls.connect({ ...connectOptions(host, settings), socket: raw });
  const state: ControlTls = { socket, settings, host, session: undefined };
  let ticket: (() => void) | undefined;
  socket.on('session', (session: Buffer) => {
    state.session = session;
    ticket?.();
  });
  await handshake(socket, settings, timeout, 'control connection');
  if (socket.getProtocol() === 'TLSv1.3' && state.session === undefined) {
    await new Promise<void>((resolve) => {
      const timer = setTimeout(resolve, Math.min(timeout, TICKET_WAIT_MS));
      ticket = () => {
        clearTimeout(timer);
        resolve();
      };
    });
    ticket = undefined;
  }
  // On Node 20 a write on the TLS socket in the same tick as its 'session'
  // event stalls the connection: let that tick finish before the next command.
  await new Promise((resolve) => setImmediate(resolve));
  return state;
}

/** How long to wait for a TLS 1.3 ticket after the control handshake. */
const TICKET_WAIT_MS = 2000;

/** Starts TLS on a connected data socket, resuming the control session. The handshake runs in `handshake()`. */
export function secureData(raw: net.Socket, control: ControlTls): tls.TLSSocket {
  const session = control.session ?? control.socket.getSession();
  return tls.connect({ ...connectOptions(control.host, control.settings), socket: raw, ...(session ? { session } : {}) });
}

/**
 * Resolves once `socket` is secure and, with a pin, shows the pinned
 * certificate. Failures become FTPKIT_ERR_TLS, a stall FTPKIT_ERR_TIMEOUT;
 * either way the socket is destroyed.
 */
export function handshake(socket: tls.TLSSocket, settings: TlsSettings, timeout: number, what: string): Promise<void> {
  return new Promise((resolve, reject) => {
    const done = (err?: FtpError): void => {
      clearTimeout(timer);
      socket.off('secureConnect', onSecure);
      socket.off('error', onError);
      socket.off('close', onClose);
      if (err) {
        socket.on('error', ignore);
        socket.destroy();
        reject(err);
      } else {
        resolve();
      }
    };
    const onSecure = (): void => {
      const pin = settings.fingerprint256;
      // A resumed session (data connections) was pinned on the control connection; Node
      // shows no peer certificate for it, and only the pinned server holds its secret.
      if (pin !== undefined && !socket.isSessionReused()) {
        const got = normalizeFingerprint(socket.getPeerCertificate().fingerprint256 ?? '');
        if (got !== pin) {
          done(new FtpError('FTPKIT_ERR_TLS', `TLS: the server's certificate (SHA-256 ${formatFingerprint(got)}) does not match the pinned fingerprint`));
          return;
        }
      }
      done();
    };
    const onError = (err: Error): void => done(tlsError(err));
    const onClose = (): void => done(new FtpError('FTPKIT_ERR_TLS', `TLS: the server closed the ${what} during the handshake`));
    const timer = setTimeout(() => done(new FtpError('FTPKIT_ERR_TIMEOUT', `TLS handshake on the ${what} took longer than ${timeout} ms`)), timeout);
    socket.once('secureConnect', onSecure);
    socket.once('error', onError);
    socket.once('close', onClose);
  });
}

/** `TLS: certificate has expired`, `TLS: self-signed certificate`, `TLS: Hostname/IP does not match ...`. */
export function tlsError(err: Error): FtpError {
  if (err instanceof FtpError) return err;
  return new FtpError('FTPKIT_ERR_TLS', `TLS: ${err.message}`, { cause: err });
}

function formatFingerprint(hex: string | null): string {
  return hex === null ? 'unknown' : (hex.match(/../g) ?? []).join(':');
}

function ignore(): void {}
