// What logging costs (issue 16): RETR and STOR throughput and the time of 1,000 logins, with
// info-level logging to a file (JSON lines, as `ftp-serve --log-file`) plus the xferlog, against
// no logging at all. On demand, not part of `npm run bench` or the tests:
//
//   npx tsx bench/logging.ts [--size-mib=256] [--runs=5] [--logins=1000] [--concurrency=50]
//
// Each run starts fresh child processes for off and on (alternating which starts first), warms
// both up, then measures each; the medians are printed: wall-clock throughput, and the server process's CPU time
// (user + system) per operation, which a busy shared machine disturbs much less.
import { spawn, type ChildProcess } from 'node:child_process';
import { statSync } from 'node:fs';
import { mkdir, mkdtemp, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { pino } from 'pino';
import { FileServer, attachXferLog, openLogFile } from '../src/index.js';
import { RawFtp, type Target } from './raw-ftp.js';
import { MiB, median } from './util.js';

const PASSWORD = 'bench-password';
/** Logins (and one RETR) each fresh server gets before anything is measured: the JIT warms up. */
const WARM_UP_LOGINS = 500;

/** Child mode: `--serve off|on ROOT LOGDIR`; prints the port, runs until killed. */
async function serve(mode: string, root: string, logDir: string): Promise<void> {
  const grant = { root, write: true };
  const options = {
    authenticate: ({ password }: { password: string }) => (password === PASSWORD ? grant : false),
    maxConnectionsPerAddress: 0,
    maxCommandsPerSecond: 0,
    loginGuard: false as const,
  };
  let server: FileServer;
  if (mode === 'on') {
    // What ftp-serve --log-file FILE --xferlog FILE does (FTPKIT_LOG_FLUSH_MS=0: a write per record).
    const flushMs = process.env.FTPKIT_LOG_FLUSH_MS === undefined ? undefined : Number(process.env.FTPKIT_LOG_FLUSH_MS);
    const logger = pino({ level: 'info' }, openLogFile(join(logDir, 'ftp.log'), { flushMs }));
    server = new FileServer({ ...options, logger });
    attachXferLog(server, openLogFile(join(logDir, 'xferlog'), { flushMs }));
  } else {
    server = new FileServer(options);
  }
  const { port } = await server.listen();
  // The parent asks for our CPU time around each measured operation.
  process.on('message', () => {
    const { user, system } = process.cpuUsage();
    process.send!((user + system) / 1000);
  });
  process.on('SIGTERM', () => process.exit(0)); // exit writes the gathered log records
  process.stdout.write(`${port}\n`);
}

interface Server {
  child: ChildProcess;
  port: number;
}

function startServer(mode: 'off' | 'on', root: string, logDir: string): Promise<Server> {
  const child = spawn(process.execPath, [...process.execArgv, fileURLToPath(import.meta.url), '--serve', mode, root, logDir], { stdio: ['ignore', 'pipe', 'inherit', 'ipc'] });
  return new Promise((resolve, reject) => {
    child.stdout!.once('data', (d: Buffer) => resolve({ child, port: Number(d.toString().trim()) }));
    child.once('exit', (code) => reject(new Error(`server (${mode}) exited ${code}`)));
  });
}

/** The server's CPU time so far, in ms. */
function cpuOf(server: Server): Promise<number> {
  return new Promise((resolve) => {
    server.child.once('message', (ms) => resolve(ms as number));
    server.child.send('cpu');
  });
}

/** Wall-clock ms of fn, and the server's CPU ms during it. */
async function timed(server: Server, fn: () => Promise<unknown>): Promise<{ wall: number; cpu: number }> {
  const cpu0 = await cpuOf(server);
  const t0 = process.hrtime.bigint();
  await fn();
  const wall = Number(process.hrtime.bigint() - t0) / 1e6;
  return { wall, cpu: (await cpuOf(server)) - cpu0 };
}

async function session<T>(t: Target, fn: (c: RawFtp) => Promise<T>): Promise<T> {
  const c = RawFtp.connect(t);
  try {
    await c.login(t);
    return await fn(c);
  } finally {
    await c.quit().catch(() => c.destroy());
  }
}

async function logins(t: Target, total: number, concurrency: number): Promise<void> {
  let left = total;
  const worker = async (): Promise<void> => {
    while (left > 0) {
      left--;
      await session(t, async () => {});
    }
  };
  await Promise.all(Array.from({ length: concurrency }, worker));
}

function arg(name: string, fallback: number): number {
  const found = process.argv.find((a) => a.startsWith(`--${name}=`));
  return found ? Number(found.slice(name.length + 3)) : fallback;
}

async function main(): Promise<void> {
  const sizeMiB = arg('size-mib', 256);
  const runs = arg('runs', 5);
  const loginCount = arg('logins', 1000);
  const concurrency = arg('concurrency', 50);
  const base = await mkdtemp(join(existsShm() ? '/dev/shm' : tmpdir(), 'ftpkit-bench-logging-'));
  const root = join(base, 'root');
  const logDir = join(base, 'logs');
  await Promise.all([root, logDir].map((d) => mkdir(d, { recursive: true })));
  const chunk = Buffer.alloc(MiB, 7);
  await writeFile(join(root, 'big.bin'), Buffer.alloc(sizeMiB * MiB, 1));
  type Series = { retr: number[]; stor: number[]; logins: number[] };
  const empty = (): Series => ({ retr: [], stor: [], logins: [] });
  const results = { off: empty(), on: empty() };
  const cpu = { off: empty(), on: empty() };
  const live: Server[] = [];
  try {
    for (let run = 0; run < runs; run++) {
      // Fresh processes each run, started in alternating order and warmed up alike: a process's
      // own luck (its cores, its memory layout) must not count as the cost of logging.
      const order = run % 2 === 0 ? (['off', 'on'] as const) : (['on', 'off'] as const);
      const servers = {} as Record<'off' | 'on', Server>;
      for (const mode of order) live.push((servers[mode] = await startServer(mode, root, logDir)));
      for (const mode of order) {
        const t: Target = { host: '127.0.0.1', port: servers[mode].port, user: 'bench', password: PASSWORD };
        await logins(t, WARM_UP_LOGINS, concurrency);
        await session(t, (c) => c.retr('big.bin'));
      }
      for (const mode of order) {
        const t: Target = { host: '127.0.0.1', port: servers[mode].port, user: 'bench', password: PASSWORD };
        const server = servers[mode];
        const retr = await timed(server, () => session(t, (c) => c.retr('big.bin')));
        const stor = await timed(server, () => session(t, (c) => c.stor(`up-${mode}.bin`, chunk, sizeMiB)));
        const many = await timed(server, () => logins(t, loginCount, concurrency));
        results[mode].retr.push(sizeMiB / (retr.wall / 1000));
        results[mode].stor.push(sizeMiB / (stor.wall / 1000));
        results[mode].logins.push(many.wall);
        cpu[mode].retr.push(retr.cpu);
        cpu[mode].stor.push(stor.cpu);
        cpu[mode].logins.push(many.cpu);
      }
      await Promise.all(live.splice(0).map(({ child }) => new Promise((r) => child.once('exit', r).kill('SIGTERM'))));
      process.stderr.write(`run ${run + 1}/${runs} done\n`);
    }
  } finally {
    for (const { child } of live) child.kill('SIGKILL');
  }
  const logBytes = (await stat(join(logDir, 'ftp.log')).catch(() => ({ size: 0 }))).size;
  // The cost is the median of the run-by-run ratios (on and off ran back to back), which cancels
  // the machine's drift between runs better than a ratio of medians.
  // With it, a 90% bootstrap interval of that median: on a shared machine one run's noise is
  // larger than the cost being measured, so the interval says what the runs can tell apart.
  const pct = (x: number): string => `${x >= 0 ? '+' : ''}${(x * 100).toFixed(1)}%`;
  const row = (what: string, unit: string, off: number[], on: number[], higherIsBetter: boolean): string => {
    const ratios = on.map((v, i) => (higherIsBetter ? off[i]! / v : v / off[i]!) - 1);
    const [low, high] = bootstrapMedian(ratios);
    return `| ${what} | ${median(off).toFixed(1)} ${unit} | ${median(on).toFixed(1)} ${unit} | ${pct(median(ratios))} | ${pct(low)} to ${pct(high)} |`;
  };
  console.log(`\nLogging cost: medians of ${runs} runs, ${sizeMiB} MiB files, ${loginCount} logins (${concurrency} at a time); on = info to a file + xferlog (${(logBytes / 1024).toFixed(0)} KiB of log written); cost = median of the runs' on/off ratios\n`);
  console.log('| measure | logging off | logging on | cost | 90% interval |');
  console.log('|---|---|---|---|---|');
  console.log(row('RETR', 'MiB/s', results.off.retr, results.on.retr, true));
  console.log(row('STOR', 'MiB/s', results.off.stor, results.on.stor, true));
  console.log(row(`${loginCount} logins`, 'ms', results.off.logins, results.on.logins, false));
  console.log(row('server CPU per RETR', 'ms', cpu.off.retr, cpu.on.retr, false));
  console.log(row('server CPU per STOR', 'ms', cpu.off.stor, cpu.on.stor, false));
  console.log(row(`server CPU per ${loginCount} logins`, 'ms', cpu.off.logins, cpu.on.logins, false));
  const samples = (values: number[]): string => values.map((v) => v.toFixed(0)).join(' ');
  console.log('\nsamples (off / on):');
  for (const key of ['retr', 'stor', 'logins'] as const) {
    console.log(`  ${key}: ${samples(results.off[key])} / ${samples(results.on[key])}; CPU ms ${samples(cpu.off[key])} / ${samples(cpu.on[key])}`);
  }
  await rm(base, { recursive: true, force: true });
}

/** The 5th and 95th percentiles of the median of `values` resampled with replacement. */
function bootstrapMedian(values: number[], rounds = 4000): [number, number] {
  const medians: number[] = [];
  for (let r = 0; r < rounds; r++) {
    medians.push(median(Array.from(values, () => values[Math.floor(Math.random() * values.length)]!)));
  }
  medians.sort((a, b) => a - b);
  return [medians[Math.floor(rounds * 0.05)]!, medians[Math.floor(rounds * 0.95)]!];
}

function existsShm(): boolean {
  try {
    return statSync('/dev/shm').isDirectory();
  } catch {
    return false;
  }
}

if (process.argv[2] === '--serve') void serve(process.argv[3]!, process.argv[4]!, process.argv[5]!);
else void main().catch((err: unknown) => {
  console.error(err);
  process.exit(1);
});
