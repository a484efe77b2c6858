// What `ftp-serve --workers` buys, and what --redis costs. On demand only (not in the tests),
// after `npm run build` (it runs dist/bin/ftp-serve.js):
//
//   npx tsx bench/workers.ts [--size-mib 256] [--parallel 4] [--sessions 2000] [--uploads 1000]
//
//   1. FTPS RETR: --parallel curl downloads of one --size-mib file at once over explicit FTPS
//      (PROT P), aggregate MiB/s over 3 rounds after a warm-up one, with 1 and with 2 workers
//      (target: >= 1.7x), with the cores the server and the rest (the clients) kept busy, and
//      the limit row: the best ratio the machine's cores allow with these clients
//   2. login storm: --sessions connect/USER/PASS/QUIT, 200 at a time, logins/s, 1 vs 2 workers
//   3. Redis locks: --uploads 1 KiB STORs, 20 sessions at a time, 1 worker, in-process locks
//      vs --redis (needs redis-server)
//
// Clients (curl, the raw sessions) share the machine with the server: on a 2-core machine
// they take CPU the second worker would use, so the speed-up measured here is a floor.
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { createWriteStream, readFileSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { availableParallelism, loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { finished } from 'node:stream/promises';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { curlRetr } from './curl.js';
import { RawFtp, type Target } from './raw-ftp.js';
import { MiB, TICKS, treeCpu } from './util.js';
import { startRedis } from '../test/helpers/scale.js';

const { values: args } = parseArgs({
  options: {
    'size-mib': { type: 'string', default: '256' },
    parallel: { type: 'string', default: '4' },
    sessions: { type: 'string', default: '2000' },
    uploads: { type: 'string', default: '1000' },
  },
});
const SIZE = Number(args['size-mib']) * MiB;
const PARALLEL = Number(args.parallel);
const SESSIONS = Number(args.sessions);
const UPLOADS = Number(args.uploads);
const REPO = fileURLToPath(new URL('..', import.meta.url));
const CERT = join(REPO, 'test/fixtures/tls/cert.pem');
const KEY = join(REPO, 'test/fixtures/tls/key.pem');
const TIMEOUT = 10 * 60_000;
/** Measured rounds of --parallel downloads, after one warm-up round. */
const ROUNDS = 3;

interface Serve {
  target: Target;
  pid: number;
  stop(): Promise<void>;
}

/** CPU seconds the whole machine was busy so far (/proc/stat: all but idle and iowait). */
function machineCpu(): number {
  const [, ...values] = readFileSync('/proc/stat', 'utf8').split('\n')[0]!.trim().split(/\s+/);
  const n = values.map(Number);
  return (n.reduce((a, b) => a + b, 0) - n[3]! - n[4]!) / TICKS;
}

/** ftp-serve from dist/, resolved once its URL line is out. */
function serve(root: string, extra: string[]): Promise<Serve> {
  const child: ChildProcess = spawn(
    process.execPath,
    ['dist/bin/ftp-serve.js', '--port', '0', '--log-level', 'warn', '--user', 'alice:secret', '--max-per-address', '0', '--max-connections', '100000', '--ban-after', '0', ...extra, root],
    { cwd: REPO, stdio: ['ignore', 'pipe', 'inherit'] },
  );
  return new Promise((resolve, reject) => {
    let out = '';
    child.stdout!.on('data', (d: Buffer) => {
      out += d.toString();
      const m = /:(\d+) \(/.exec(out);
      if (!m) return;
      resolve({
        target: { host: '127.0.0.1', port: Number(m[1]), user: 'alice', password: 'secret' },
        pid: child.pid!,
        stop: () =>
          new Promise<void>((done) => {
            child.once('exit', () => done());
            child.kill('SIGTERM');
          }),
      });
    });
    child.once('exit', (code) => reject(new Error(`ftp-serve exited ${code}`)));
  });
}

async function pool(count: number, concurrency: number, one: (i: number) => Promise<void>): Promise<void> {
  let next = 0;
  await Promise.all(
    Array.from({ length: Math.min(concurrency, count) }, async () => {
      for (let i = next++; i < count; i = next++) await one(i);
    }),
  );
}

interface Throughput {
  mibps: number;
  /** Cores busy on average: the server's processes, and everything else (the clients, mostly). */
  serverCores: number;
  otherCores: number;
  /** CPU seconds per GiB moved: the server's, the rest's. */
  serverPerGiB: number;
  otherPerGiB: number;
}

async function ftpsRetr(root: string, workers: number): Promise<Throughput> {
  const s = await serve(root, ['--workers', String(workers), '--tls-cert', CERT, '--tls-key', KEY]);
  try {
    const round = (): Promise<Array<{ bytes: number }>> => Promise.all(Array.from({ length: PARALLEL }, () => curlRetr(s.target, 'big.bin', TIMEOUT, true)));
    // A fresh server's first transfers run before the JIT and the block pools have warmed up
    // (a single stream: ~0.4 GB/s first, ~0.75 by the third): one round is not measured.
    await round();
    const server0 = treeCpu(s.pid);
    const machine0 = machineCpu();
    const started = process.hrtime.bigint();
    let bytes = 0;
    for (let r = 0; r < ROUNDS; r++) bytes += (await round()).reduce((sum, x) => sum + x.bytes, 0);
    const seconds = Number(process.hrtime.bigint() - started) / 1e9;
    const server = treeCpu(s.pid) - server0;
    const other = machineCpu() - machine0 - server;
    const gib = bytes / (1024 * MiB);
    return { mibps: bytes / MiB / seconds, serverCores: server / seconds, otherCores: other / seconds, serverPerGiB: server / gib, otherPerGiB: other / gib };
  } finally {
    await s.stop();
  }
}

async function loginStorm(root: string, workers: number): Promise<number> {
  const s = await serve(root, ['--workers', String(workers)]);
  try {
    const started = process.hrtime.bigint();
    await pool(SESSIONS, 200, async () => {
      const c = RawFtp.connect(s.target);
      await c.login(s.target);
      await c.quit();
    });
    return SESSIONS / (Number(process.hrtime.bigint() - started) / 1e9);
  } finally {
    await s.stop();
  }
}

async function smallUploads(root: string, extra: string[]): Promise<number> {
  const s = await serve(root, extra);
  const body = randomBytes(1024);
  try {
    const clients = await Promise.all(
      Array.from({ length: 20 }, async () => {
        const c = RawFtp.connect(s.target);
        await c.login(s.target);
        return c;
      }),
    );
    const started = process.hrtime.bigint();
    let next = 0;
    await Promise.all(
      clients.map(async (c) => {
        for (let i = next++; i < UPLOADS; i = next++) await c.stor(`/up-${i}.bin`, body);
      }),
    );
    const ms = Number(process.hrtime.bigint() - started) / 1e6;
    await Promise.all(clients.map((c) => c.quit()));
    return ms;
  } finally {
    await s.stop();
  }
}

async function main(): Promise<void> {
  const root = await mkdtemp(join(tmpdir(), 'ftpkit-bench-workers-'));
  try {
    const out = createWriteStream(join(root, 'big.bin'));
    for (let n = 0; n < SIZE; n += MiB) out.write(randomBytes(MiB));
    out.end();
    await finished(out);
    const lines = [
      `cores ${availableParallelism()}, load average ${loadavg().map((l) => l.toFixed(2)).join(' ')}`,
      '',
      '| measure | 1 worker | 2 workers | ratio |',
      '|---|---:|---:|---:|',
    ];
    const row = (name: string, one: number, two: number, unit: string): string =>
      `| ${name} | ${one.toFixed(1)} ${unit} | ${two.toFixed(1)} ${unit} | ${(two / one).toFixed(2)}x |`;
    const retr1 = await ftpsRetr(root, 1);
    const retr2 = await ftpsRetr(root, 2);
    lines.push(row(`FTPS RETR, ${PARALLEL} x ${SIZE / MiB} MiB (curl)`, retr1.mibps, retr2.mibps, 'MiB/s'));
    // The limit row: with S and C the CPU seconds per GiB of the server and of the clients, one
    // worker moves at most 1/S GiB/s, two at most 2/S, and the machine at most cores/(S+C)
    // (clients included): the best ratio its cores allow is min(cores/(S+C), 2/S) / min(cores/(S+C), 1/S).
    const S = retr1.serverPerGiB;
    const C = retr1.otherPerGiB;
    const machine = availableParallelism() / (S + C);
    const ceiling = Math.min(machine, 2 / S) / Math.min(machine, 1 / S);
    lines.push(`| FTPS RETR: cores busy, server + rest | ${retr1.serverCores.toFixed(2)} + ${retr1.otherCores.toFixed(2)} | ${retr2.serverCores.toFixed(2)} + ${retr2.otherCores.toFixed(2)} | |`);
    lines.push(`| FTPS RETR: CPU s per GiB, server / rest | ${retr1.serverPerGiB.toFixed(2)} / ${retr1.otherPerGiB.toFixed(2)} | ${retr2.serverPerGiB.toFixed(2)} / ${retr2.otherPerGiB.toFixed(2)} | |`);
    lines.push(`| limit: the best 2-worker ratio ${availableParallelism()} cores allow with these clients | | | ${ceiling.toFixed(2)}x |`);
    const storm1 = await loginStorm(root, 1);
    const storm2 = await loginStorm(root, 2);
    lines.push(row(`login storm, ${SESSIONS} sessions`, storm1, storm2, 'logins/s'));
    if (spawnSync('redis-server', ['--version']).status === 0) {
      const memory = await smallUploads(await mkdtemp(join(root, 'mem-')), []);
      const redis = await startRedis();
      try {
        const viaRedis = await smallUploads(await mkdtemp(join(root, 'redis-')), ['--redis', redis.url]);
        lines.push('', `| ${UPLOADS} x 1 KiB STOR, 20 sessions, 1 worker | in-process locks | --redis | per upload |`, '|---|---:|---:|---:|');
        lines.push(`| total | ${memory.toFixed(0)} ms | ${viaRedis.toFixed(0)} ms | +${((viaRedis - memory) / UPLOADS).toFixed(2)} ms |`);
      } finally {
        await redis.stop();
      }
    } else {
      lines.push('', 'redis-server not found: the Redis lock overhead was not measured');
    }
    process.stdout.write(`${lines.join('\n')}\n`);
  } finally {
    await rm(root, { recursive: true, force: true });
  }
}

await main();
