// A FileServer over a fresh temp folder for interop tests with real clients.
//
//   const fx = await startFileServer();          // 127.0.0.1, port 0
//   await curl(['-sS', fx.url('/a.txt')]);        // alice/secret, read-write
//   await curl(['-sS', fx.url('/a.txt', 'anonymous')]); // read-only
//   afterAll(() => fx.close());
import { mkdir } from 'node:fs/promises';
import { join } from 'node:path';
import { createServer as createNetServer } from 'node:net';
import { FileServer } from '../../src/server/index.js';
import { makeTempDir, randomFile, type TempDir } from './tmp.js';
import { ftpUrl, type FtpTarget } from './tools.js';

/** Size of the one big file each client moves both ways. */
export const BIG_SIZE = 50 * 1024 * 1024;

/** A name with spaces, double quotes and non-ASCII letters (UTF-8 on the wire, RFC 2640). */
export const FANCY_NAME = 'my "quoted" file ñandú.txt';

/** Text with LF line ends, for TYPE A checks. */
export const LF_TEXT = 'first line\nsecond line\n\nlast line without end';
export const CRLF_TEXT = LF_TEXT.replace(/\n/g, '\r\n');

export interface ServerFixture {
  server: FileServer;
  host: string;
  port: number;
  /** Host folder served as '/' (alice writes, anonymous reads). */
  root: string;
  /** Client-side scratch folder (downloads, files to upload). */
  local: string;
  /** alice / secret, read-write. */
  user: FtpTarget;
  /** anonymous, read-only. */
  anon: FtpTarget;
  /** ftp://user:pass@host:port/path, each path segment percent-encoded. */
  url(path: string, who?: 'user' | 'anonymous'): string;
  close(): Promise<void>;
}

export interface FixtureOptions {
  /** Listen address: '127.0.0.1' (default) or '::1'. */
  host?: string;
}

/** Starts a FileServer on port 0 over a fresh temp folder. */
export async function startFileServer(opts: FixtureOptions = {}): Promise<ServerFixture> {
  const dirs: TempDir[] = [await makeTempDir('ftpkit-srv-root-'), await makeTempDir('ftpkit-srv-local-')];
  const [rootDir, localDir] = dirs as [TempDir, TempDir];
  const root = rootDir.path;
  const host = opts.host ?? '127.0.0.1';
  const server = new FileServer({
    host,
    port: 0,
    authenticate: ({ username, password }) => (username === 'alice' && password === 'secret' ? { root, write: true } : false),
    anonymous: { root, write: false },
    timeouts: { login: 10_000, idle: 30_000, data: 10_000 },
    closeTimeout: 1_000,
  });
  let port: number;
  try {
    ({ port } = await server.listen());
  } catch (err) {
    await Promise.all(dirs.map((d) => d.cleanup()));
    throw err;
  }
  const user: FtpTarget = { host, port, user: 'alice', password: 'secret' };
  const anon: FtpTarget = { host, port, user: 'anonymous', password: 'guest@example.com' };
  return {
    server,
    host,
    port,
    root,
    local: localDir.path,
    user,
    anon,
    url: (path, who = 'user') => ftpUrl(who === 'user' ? user : anon, encodePath(path)),
    async close() {
      await server.close();
      await Promise.all(dirs.map((d) => d.cleanup()));
    },
  };
}

/** Percent-encodes each segment of a '/'-separated path for an FTP URL (curl decodes it). */
export function encodePath(path: string): string {
  return path
    .split('/')
    .map((s) => encodeURIComponent(s))
    .join('/');
}

/** Writes the big random file once into `dir` and returns its path and sha256. */
export async function makeBigFile(dir: string, name = 'big.bin'): Promise<{ path: string; sha256: string }> {
  const path = join(dir, name);
  return { path, sha256: await randomFile(path, BIG_SIZE) };
}

/** mkdir -p inside the served root (test setup). */
export async function mkdirIn(root: string, rel: string): Promise<string> {
  const p = join(root, rel);
  await mkdir(p, { recursive: true });
  return p;
}

/** Whether this machine can listen on ::1 (IPv6 tests need it). */
export const HAS_IPV6: boolean = await new Promise<boolean>((resolve) => {
  const srv = createNetServer();
  srv.once('error', () => resolve(false));
  srv.listen(0, '::1', () => srv.close(() => resolve(true)));
});
