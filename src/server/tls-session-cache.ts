import { Server as TlsServer, type SecureContextOptions } from 'node:tls';

const MAX_SESSIONS = 10_000;
const SESSION_TTL_MS = 10 * 60_000;

/**
 * A tls.Server that never listens: it only owns a TLS session-ID cache. Control and data
 * TLSSockets name it as their `server`, so a data connection can resume the control
 * connection's session by ID (TLS 1.2 clients such as curl do this) as well as by ticket.
 * Without it, Node keeps no server-side session cache and TLS 1.2 data connections could not
 * prove they belong to the session. Bounded in count and age.
 */
export function createTlsSessionOwner(tls: SecureContextOptions): TlsServer {
  const owner = new TlsServer({ ...tls, minVersion: 'TLSv1.2' });
  const cache = new Map<string, { data: Buffer; at: number }>();
  owner.on('newSession', (id: Buffer, data: Buffer, done: () => void) => {
    if (cache.size >= MAX_SESSIONS) cache.delete(cache.keys().next().value!);
    cache.set(id.toString('hex'), { data, at: Date.now() });
    done();
  });
  owner.on('resumeSession', (id: Buffer, done: (err: Error | null, data: Buffer | null) => void) => {
    const key = id.toString('hex');
    const entry = cache.get(key);
    if (entry && Date.now() - entry.at > SESSION_TTL_MS) cache.delete(key);
    done(null, entry && Date.now() - entry.at <= SESSION_TTL_MS ? entry.data : null);
  });
  return owner;
}
