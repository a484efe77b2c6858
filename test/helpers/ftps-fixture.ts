// A FileServer with FTPS (explicit AUTH TLS plus an implicit port) over a fresh temp folder,
// pinned to one TLS version, for interop tests with real clients.
//
//   const fx = await startFtpsServer({ version: 'TLSv1.3' });      // 127.0.0.1, port 0
//   await curl(['--ssl-reqd', '-k', fx.url('/a.bin')]);           // explicit, alice/secret
//   await curl(['-k', fx.url('/a.bin', 'ftps')]);                  // implicit port
//   fx.commands  // every command the server heard: "AUTH TLS", "USER alice", "PASS ***"
//   afterAll(() => fx.close());
import type { SecureVersion } from 'node:tls';
import { FileServer } from '../../src/server/index.js';
import { encodePath } from './server-fixture.js';
import { makeTempDir, type TempDir } from './tmp.js';
import { TEST_CERT, TEST_KEY } from './tls.js';
import type { FtpTarget } from './tools.js';

export type TlsVersion = Extract<SecureVersion, 'TLSv1.2' | 'TLSv1.3'>;
export const TLS_VERSIONS: readonly TlsVersion[] = ['TLSv1.2', 'TLSv1.3'];

export interface FtpsFixtureOptions {
  /** The only TLS version the server accepts (min = max). */
  version: TlsVersion;
  requireTls?: boolean;
  tlsSessionReuse?: 'required' | 'optional';
  /** timeouts.data in ms (default 10 s): how long a data connection may take to open and handshake. */
  dataTimeout?: number;
}

export interface TransferEnd {
  command: string;
  path: string;
  bytes: number;
  ok: boolean;
  failure?: string;
}

export interface FtpsFixture {
  server: FileServer;
  host: string;
  /** Explicit FTPS (and plain FTP unless requireTls). */
  port: number;
  /** Implicit FTPS: TLS from the first byte. */
  implicitPort: number;
  /** Host folder served as '/' (alice writes). */
  root: string;
  /** Client-side scratch folder. */
  local: string;
  /** alice / secret on the explicit port. */
  user: FtpTarget;
  /** alice / secret on the implicit port. */
  implicitUser: FtpTarget;
  /** Every command heard, "VERB arg" (PASS shown as "PASS ***" by the server). */
  commands: string[];
  /** Every login event (username). */
  logins: string[];
  /** Every transfer-end event. */
  transfers: TransferEnd[];
  /** ftp://alice:secret@host:port/path (explicit port) or ftps://...@host:implicitPort/path. */
  url(path: string, scheme?: 'ftp' | 'ftps'): string;
  close(): Promise<void>;
}

/** Starts a FileServer on port 0 with TLS pinned to `version` and an implicit FTPS port. */
export async function startFtpsServer(opts: FtpsFixtureOptions): Promise<FtpsFixture> {
  const dirs: TempDir[] = [await makeTempDir('ftpkit-ftps-root-'), await makeTempDir('ftpkit-ftps-local-')];
  const [rootDir, localDir] = dirs as [TempDir, TempDir];
  const root = rootDir.path;
  const host = '127.0.0.1';
  const server = new FileServer({
    host,
    port: 0,
    implicitTlsPort: 0,
    tls: { cert: TEST_CERT, key: TEST_KEY, minVersion: opts.version, maxVersion: opts.version },
    ...(opts.requireTls ? { requireTls: true } : {}),
    ...(opts.tlsSessionReuse ? { tlsSessionReuse: opts.tlsSessionReuse } : {}),
    authenticate: ({ username, password }) => (username === 'alice' && password === 'secret' ? { root, write: true } : false),
    anonymous: false,
    timeouts: { login: 10_000, idle: 30_000, data: opts.dataTimeout ?? 10_000 },
    closeTimeout: 1_000,
  });
  const commands: string[] = [];
  const logins: string[] = [];
  const transfers: TransferEnd[] = [];
  server.on('command', ({ verb, arg }) => commands.push(arg ? `${verb} ${arg}` : verb));
  server.on('login', ({ username }) => logins.push(username));
  server.on('transfer-end', (t) => transfers.push({ command: t.command, path: t.path, bytes: t.bytes, ok: t.ok, ...(t.failure ? { failure: t.failure } : {}) }));
  let port: number;
  try {
    ({ port } = await server.listen());
  } catch (err) {
    await Promise.all(dirs.map((d) => d.cleanup()));
    throw err;
  }
  const implicitPort = server.implicitAddress()!.port;
  const user: FtpTarget = { host, port, user: 'alice', password: 'secret' };
  const implicitUser: FtpTarget = { ...user, port: implicitPort };
  return {
    server,
    host,
    port,
    implicitPort,
    root,
    local: localDir.path,
    user,
    implicitUser,
    commands,
    logins,
    transfers,
    url: (path, scheme = 'ftp') =>
      `${scheme}://alice:secret@${host}:${scheme === 'ftp' ? port : implicitPort}${encodePath(path.startsWith('/') ? path : `/${path}`)}`,
    async close() {
      await server.close();
      await Promise.all(dirs.map((d) => d.cleanup()));
    },
  };
}
