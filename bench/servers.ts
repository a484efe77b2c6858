// The servers under test, behind one interface: the four system peers come from
// test/helpers/peers.ts; ftpkit and ftp-srv run as child processes of their own
// (bench/servers/*.ts, bundled with esbuild) so their memory is measured like the others'.
import { spawnSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { startPeer, peerMissingReason, PEER_USER, PEER_PASSWORD, type PeerName } from '../test/helpers/peers.js';
import { spawnServer, waitForBanner, type ServerProcess } from '../test/helpers/peer-process.js';
import { makeTempDir } from '../test/helpers/tmp.js';
import { treeMemory, withTimeout, type GroupMemory } from './util.js';

export type ServerName = 'ftpkit' | 'vsftpd' | 'pure-ftpd' | 'pyftpdlib' | 'ftp-srv';
export const SERVERS: readonly ServerName[] = ['ftpkit', 'vsftpd', 'pure-ftpd', 'pyftpdlib', 'ftp-srv'];

export interface BenchServer {
  name: ServerName | 'bare receiver';
  /** Takes STOR only (the uploads' reference row, limit.ts). */
  uploadsOnly?: true;
  host: string;
  port: number;
  user: string;
  password: string;
  /** Host folder the user sees as '/'. */
  root: string;
  /** Leader of the server's process group. */
  pid: number;
  /** uid/gid files in root should belong to so the server may replace them. */
  uid: number;
  gid: number;
  memory(): GroupMemory;
  stop(): Promise<void>;
}

const BENCH_DIR = fileURLToPath(new URL('.', import.meta.url));
const BUILD_DIR = join(BENCH_DIR, 'results', '.build');
let bundled: Promise<Record<'ftpkit' | 'ftp-srv' | 'client', string>> | undefined;

/**
 * Bundles the two Node servers and the Node clients' worker into plain ESM (dependencies stay
 * external) so they run under plain `node`, without a TypeScript loader inflating their memory
 * or transpiling modules during a timed transfer. ftpkit comes from src/.
 */
export function bundle(): Promise<Record<'ftpkit' | 'ftp-srv' | 'client', string>> {
  bundled ??= (async () => {
    const esbuild = await import('esbuild');
    mkdirSync(BUILD_DIR, { recursive: true });
    await esbuild.build({
      entryPoints: [join(BENCH_DIR, 'servers/ftpkit-server.ts'), join(BENCH_DIR, 'servers/ftp-srv-server.ts'), join(BENCH_DIR, 'client-worker.ts')],
      outdir: BUILD_DIR,
      outExtension: { '.js': '.mjs' },
      // Flat: each entry's bundle at BUILD_DIR/<name>.mjs, whatever folder its source is in.
      entryNames: '[name]',
      bundle: true,
      platform: 'node',
      format: 'esm',
      target: 'node20',
      packages: 'external',
      logLevel: 'error',
    });
    return { ftpkit: join(BUILD_DIR, 'ftpkit-server.mjs'), 'ftp-srv': join(BUILD_DIR, 'ftp-srv-server.mjs'), client: join(BUILD_DIR, 'client-worker.mjs') };
  })();
  return bundled;
}

/** Why `name` cannot run here, or null. */
export function serverMissingReason(name: ServerName): string | null {
  if (name === 'ftpkit' || name === 'ftp-srv') return null;
  return peerMissingReason(name);
}

/** Servers that step 5 runs with FTPS (explicit, PROT P, the test certificate). */
export const FTPS_SERVERS: readonly ServerName[] = ['ftpkit', 'vsftpd'];

export async function startServer(name: ServerName, timeoutMs = 20_000, opts: { tls?: boolean; env?: Record<string, string> } = {}): Promise<BenchServer> {
  if (opts.tls && !FTPS_SERVERS.includes(name)) throw new Error(`${name} has no FTPS setup in the bench`);
  if (name === 'ftpkit' || name === 'ftp-srv') return startNodeServer(name, timeoutMs, opts.tls ?? false, opts.env ?? {});
  const peer = await startPeer(name as PeerName, { startTimeoutMs: timeoutMs, ...(opts.tls ? { tls: true } : {}) });
  return {
    name,
    host: peer.host,
    port: peer.port,
    user: peer.user,
    password: peer.password,
    root: peer.root,
    pid: peer.pid,
    uid: peer.uid,
    gid: peer.gid,
    memory: () => treeMemory(peer.pid),
    stop: () => peer.stop(),
  };
}

const TLS_DIR = fileURLToPath(new URL('../test/fixtures/tls/', import.meta.url));

async function startNodeServer(name: 'ftpkit' | 'ftp-srv', timeoutMs: number, tls: boolean, extraEnv: Record<string, string>): Promise<BenchServer> {
  const script = (await bundle())[name];
  const tmp = await makeTempDir(`ftpkit-bench-${name}-`);
  const root = join(tmp.path, 'home');
  mkdirSync(root);
  const token = randomBytes(6).toString('hex');
  // e.g. FTPKIT_BENCH_NODE_ARGS="--cpu-prof --cpu-prof-dir=/tmp/prof" to profile a server
  const nodeArgs = (process.env.FTPKIT_BENCH_NODE_ARGS ?? '').split(' ').filter(Boolean);
  const proc = spawnServer(process.execPath, [...nodeArgs, script], {
    stdio: ['pipe', 'pipe', 'pipe'],
    env: {
      PATH: process.env.PATH ?? '/usr/bin:/bin',
      NODE_ENV: 'production',
      FTPKIT_USER: PEER_USER,
      FTPKIT_PASSWORD: PEER_PASSWORD,
      FTPKIT_ROOT: root,
      FTPKIT_BANNER: `${name} ${token}`,
      ...(tls ? { FTPKIT_TLS_CERT: join(TLS_DIR, 'cert.pem'), FTPKIT_TLS_KEY: join(TLS_DIR, 'key.pem') } : {}),
      // FTPKIT_ZERO_COPY=0 npm run bench: ftpkit (and the Node clients) on the JavaScript path.
      ...(process.env.FTPKIT_ZERO_COPY ? { FTPKIT_ZERO_COPY: process.env.FTPKIT_ZERO_COPY } : {}),
      ...extraEnv,
    },
  });
  try {
    const port = await withTimeout(readPort(proc), timeoutMs, `${name} start`);
    await waitForBanner(proc, '127.0.0.1', port, token, timeoutMs);
    const pid = proc.child.pid!;
    let stopping: Promise<void> | undefined;
    return {
      name,
      host: '127.0.0.1',
      port,
      user: PEER_USER,
      password: PEER_PASSWORD,
      root,
      pid,
      uid: process.getuid?.() ?? 0,
      gid: process.getgid?.() ?? 0,
      memory: () => treeMemory(pid),
      stop() {
        stopping ??= (async () => {
          await proc.kill(1000);
          await tmp.cleanup();
        })();
        return stopping;
      },
    };
  } catch (err) {
    await proc.kill(500);
    await tmp.cleanup();
    throw new Error(`${name} did not start: ${(err as Error).message}; output: ${proc.output().trim()}`);
  }
}

function readPort(proc: ServerProcess): Promise<number> {
  return new Promise((resolve, reject) => {
    let buf = '';
    const onData = (d: Buffer): void => {
      buf += d.toString('utf8');
      const m = /PORT (\d+)\n/.exec(buf);
      if (m) {
        proc.child.stdout?.off('data', onData);
        resolve(Number(m[1]));
      }
    };
    proc.child.stdout?.on('data', onData);
    proc.child.once('exit', () => reject(new Error('exited before listening')));
  });
}

/**
 * Debian 12's chpasswd stores the peers' system user with yescrypt: a 16 MB memory-hard hash
 * that costs vsftpd ~150 ms of CPU per login (measured with strace), which would turn the
 * login figures into a yescrypt benchmark. pure-ftpd and proftpd get SHA-512 crypt from
 * peers.ts; this gives vsftpd's PAM login the same. Returns what it did, for the notes.
 */
export function sha512SystemPassword(): string | undefined {
  const shadow = spawnSync('getent', ['shadow', PEER_USER], { encoding: 'utf8' }).stdout ?? '';
  const hash = shadow.split(':')[1] ?? '';
  if (!hash.startsWith('$y$')) return undefined;
  const r = spawnSync('chpasswd', ['-c', 'SHA512'], { input: `${PEER_USER}:${PEER_PASSWORD}\n`, encoding: 'utf8' });
  return r.status === 0
    ? `${PEER_USER}'s /etc/shadow hash switched from yescrypt to SHA-512 crypt (same as pure-ftpd's), so vsftpd logins are not a yescrypt benchmark`
    : `could not switch ${PEER_USER}'s hash to SHA-512: ${r.stderr}`;
}
