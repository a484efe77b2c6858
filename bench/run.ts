// npm run bench: ftpkit against vsftpd, pure-ftpd, pyftpdlib and ftp-srv on 127.0.0.1, over
// the same files, driven by the same clients. Prints markdown tables of medians with each
// figure's ratio to vsftpd, and writes every sample to bench/results/<timestamp>.json.
//
//   npm run bench
//   npm run bench -- --servers=ftpkit,vsftpd --steps=1,2 --runs=5
//   npm run bench -- --compare bench/results/A.json bench/results/B.json
//
// Steps: 1 RETR 1 GiB (curl)  2 STOR 1 GiB (curl, from a pipe and from the cached file)  3 ftpbench at each N
//        4 clients: FileClient vs basic-ftp vs curl  5 FTPS: steps 1-2 over explicit TLS
//        (PROT P, session reuse) against ftpkit and vsftpd, next to their plain figures
// Every step has a time limit and the run has a budget (--budget-s, default 570 s).
import { spawn, spawnSync } from 'node:child_process';
import { accessSync, constants, existsSync, readFileSync, readdirSync, statfsSync } from 'node:fs';
import { rm } from 'node:fs/promises';
import { cpus, loadavg, release, totalmem } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { CLIENTS, clientTransfer, type ClientName } from './clients.js';
import { curlRetr, curlStor, curlStorFile, parseClientCpus, type StreamResult } from './curl.js';

/** Step 1 RETR; step 2 STOR from a pipe and from the page-cached fixture (the pipe's writer shares the 2 cores). */
const STREAM_KEYS = ['retr', 'stor', 'storFile'] as const;
type StreamKey = (typeof STREAM_KEYS)[number];
import { installFixtures, makeFixtures } from './fixtures.js';
import { LIMIT_SENDERS, measureLimits, startMinimalReceiver, type LimitSender } from './limit.js';
import { manyClients, type ManyClientsResult } from './ftpbench.js';
import { compareResults, writeResults } from './results.js';
import { FTPS_SERVERS, SERVERS, serverMissingReason, sha512SystemPassword, startServer, type BenchServer, type ServerName } from './servers.js';
import { manyRows, renderTable, type Cell, type Row } from './table.js';
import { GiB, MiB, errorText, median, processTree, runShell, sh, treeSettled } from './util.js';
import { accountCpu, type CpuAccount } from './cpu-account.js';
import { holdFreedMemory } from './vm-memory.js';
import { makeTempDir } from '../test/helpers/tmp.js';

/** Step 4's samples per client and direction, at least. */
const CLIENT_RUNS = 5;

const { values: args, positionals } = parseArgs({
  allowPositionals: true,
  options: {
    servers: { type: 'string', default: SERVERS.join(',') },
    steps: { type: 'string', default: '1,2,3,4,5' },
    n: { type: 'string', default: '300,1000' },
    runs: { type: 'string', default: '3' },
    'size-mib': { type: 'string', default: '1024' },
    'budget-s': { type: 'string', default: '570' },
    /** Step 2's real-disk row: uploads into a folder here (not tmpfs). */
    'disk-dir': { type: 'string', default: '/var/tmp' },
    compare: { type: 'boolean', default: false },
    /** Steps 1, 2 and 5: curl (and the pipe's writer) on these cores only, e.g. 0 (taskset -c). */
    'pin-client': { type: 'string' },
  },
});

/** --pin-client, checked before anything starts: a bad list is one line and exit 2. */
let clientCpus: string | undefined;
try {
  clientCpus = args['pin-client'] === undefined ? undefined : parseClientCpus(args['pin-client']);
} catch (err) {
  process.stderr.write(`bench: ${errorText(err)}\n`);
  process.exit(2);
}

if (args.compare) {
  if (positionals.length !== 2) throw new Error('--compare takes two JSON files');
  process.stdout.write(`${compareResults(positionals[0]!, positionals[1]!)}\n`);
  process.exit(0);
}

function log(message: string): void {
  process.stderr.write(`[bench ${((performance.now() - t0) / 1000).toFixed(0).padStart(3)}s] ${message}\n`);
}

const t0 = performance.now();
const budgetMs = Number(args['budget-s']) * 1000;
const remaining = (): number => budgetMs - (performance.now() - t0);
/** A step's time limit: its own, cut to what the run has left. */
const limit = (ms: number): number => Math.max(1000, Math.min(ms, remaining()));

/** Fraction of CPU time the whole machine spent busy over `ms` (other tenants' load). */
function cpuBusy(ms: number): number {
  const read = (): number[] => readFileSync('/proc/stat', 'latin1').split('\n')[0]!.trim().split(/\s+/).slice(1).map(Number);
  const a = read();
  spawnSync('sleep', [String(ms / 1000)]);
  const b = read();
  const d = b.map((v, i) => v - a[i]!);
  const total = d.reduce((s, v) => s + v, 0);
  const idle = d[3]! + d[4]!;
  return total > 0 ? 1 - idle / total : 0;
}

function tmpRoot(needBytes: number): string | undefined {
  if (process.env.TMPDIR) return undefined;
  // tmpfs: uploads land in memory, not behind disk writeback that would time the disk
  try {
    accessSync('/dev/shm', constants.W_OK);
    const fs = statfsSync('/dev/shm');
    if (fs.bavail * fs.bsize > needBytes) return '/dev/shm';
    // A run killed before its cleanup leaves its server roots behind (gigabytes each).
    const left = readdirSync('/dev/shm').filter((n) => n.startsWith('ftpkit-bench-'));
    log(`/dev/shm has less than ${(needBytes / GiB).toFixed(1)} GiB free: files go to /tmp (disk)${left.length > 0 ? `; left by killed runs: ${left.map((n) => `/dev/shm/${n}`).join(' ')}` : ''}`);
  } catch {
    // no /dev/shm here
  }
  return undefined;
}

function versions(): Record<string, string> {
  const first = (cmd: string, a: string[]): string => {
    const r = spawnSync(cmd, a, { encoding: 'utf8', timeout: 5000, stdio: ['ignore', 'pipe', 'pipe'] });
    return `${r.stdout ?? ''}${r.stderr ?? ''}`.trim().split('\n')[0] ?? '';
  };
  const pkg = (name: string): string => {
    try {
      return (JSON.parse(readFileSync(join('node_modules', name, 'package.json'), 'utf8')) as { version: string }).version;
    } catch {
      return '?';
    }
  };
  return {
    node: process.version,
    curl: first('curl', ['--version']),
    vsftpd: existsSync('/usr/sbin/vsftpd') ? first('bash', ['-c', '/usr/sbin/vsftpd -v 0>&1']) : 'missing',
    pyftpdlib: first('/usr/bin/python3', ['-c', 'import pyftpdlib; print(pyftpdlib.__ver__)']),
    'ftp-srv': pkg('ftp-srv'),
    'basic-ftp': pkg('basic-ftp'),
  };
}

const isTimeout = (message: string): boolean => message.includes('timed out');

function sizeLabel(bytes: number): string {
  return bytes >= GiB ? `${+(bytes / GiB).toFixed(2)} GiB` : `${+(bytes / MiB).toFixed(0)} MiB`;
}

interface Series {
  samples: number[];
  median: number;
  errors: string[];
  /** Single streams: the server's CPU seconds per GiB moved, sample by sample (its processes, ended ones included). */
  cpuPerGiB?: number[];
}

function series(samples: number[], errors: string[], cpuPerGiB?: number[]): Series {
  return { samples, median: median(samples), errors, ...(cpuPerGiB?.length ? { cpuPerGiB } : {}) };
}

function cell(s: Series | undefined, scale = 1): Cell | undefined {
  if (!s) return undefined;
  if (s.samples.length === 0) return { error: s.errors[0] ?? 'no sample' };
  return { value: s.median / scale, ...(s.errors.length ? { note: `⚠ ${s.errors.length} failed` } : {}) };
}

/** One server for a step: withServers with a single column. */
async function withServer<T>(
  name: ServerName,
  fixtures: Parameters<typeof installFixtures>[1],
  fn: (s: BenchServer) => Promise<T>,
  opts: { tls?: boolean; env?: Record<string, string>; disk?: string } = {},
): Promise<T | { error: string }> {
  const { env, ...rest } = opts;
  const out = await withServers([{ column: name, name, ...(env ? { env } : {}) }], fixtures, async ([[, s]]) => ({ [name]: await fn(s!) }), rest);
  return out[name]!;
}

/** A server to start for an interleaved step: its column in the table, which server, its env (or how to start it). */
type Column = { column: string; name: ServerName; env?: Record<string, string> } | { column: string; start: () => Promise<BenchServer> };

/**
 * Starts every column's server (a failed start is that column's error), runs `fn` on those
 * that started, and stops them all. Steps 1, 2 and 5 take their samples by turns across the
 * servers, so the VM's drift over minutes falls on every server alike (one server's samples in
 * a block measured whichever minute it got: two runs of the same build read 0.95x and 1.04x).
 */
async function withServers<T>(
  columns: readonly Column[],
  fixtures: Parameters<typeof installFixtures>[1],
  fn: (up: readonly [string, BenchServer][]) => Promise<Record<string, T>>,
  opts: { tls?: boolean; disk?: string } = {},
): Promise<Record<string, T | { error: string }>> {
  const up: [string, BenchServer][] = [];
  const out: Record<string, T | { error: string }> = {};
  const tmpdir = process.env.TMPDIR;
  try {
    for (const c of columns) {
      const { column } = c;
      try {
        // The real-disk row: the server's root (made under TMPDIR) on the disk; no fixtures (another file system).
        if (opts.disk) process.env.TMPDIR = opts.disk;
        const starting = 'start' in c ? c.start() : startServer(c.name, limit(20_000), { ...opts, ...(c.env ? { env: c.env } : {}) });
        const server = await starting.finally(() => {
          if (tmpdir === undefined) delete process.env.TMPDIR;
          else process.env.TMPDIR = tmpdir;
        });
        up.push([column, server]);
        if (!opts.disk && !server.uploadsOnly) await installFixtures(server.root, fixtures);
      } catch (err) {
        log(`${column}: ${errorText(err)}`);
        out[column] = { error: errorText(err) };
      }
    }
    if (up.length > 0) Object.assign(out, await fn(up));
    return out;
  } catch (err) {
    log(`${columns.map((c) => c.column).join(', ')}: ${errorText(err)}`);
    for (const { column } of columns) out[column] ??= { error: errorText(err) };
    return out;
  } finally {
    for (const [, server] of up) await server.stop().catch(() => {});
  }
}

async function main(): Promise<void> {
  const startedAt = new Date();
  const servers = args.servers.split(',').filter(Boolean) as ServerName[];
  const steps = new Set(args.steps.split(',').map(Number));
  const ns = args.n.split(',').filter(Boolean).map(Number);
  const runs = Number(args.runs);
  const bigBytes = Number(args['size-mib']) * MiB;
  const smallBytes = 10 * MiB;
  const notes: string[] = [];
  if (clientCpus !== undefined) notes.push(`steps 1, 2 and 5: curl, and head feeding its pipe, ran on core ${clientCpus} only (taskset -c ${clientCpus}); the servers were free`);
  /** Each single-stream server's CPU account (cpu-account.ts), opened at its first sample. */
  const accounts = new Map<BenchServer, CpuAccount>();

  const shm = tmpRoot(bigBytes + Math.max(...ns, 0) * smallBytes + 2 * GiB);
  if (shm) process.env.TMPDIR = shm;
  const busy = cpuBusy(1000);
  const machine = {
    cpu: cpus()[0]?.model ?? '?',
    cores: cpus().length,
    memGiB: +(totalmem() / GiB).toFixed(1),
    kernel: release(),
    tmpdir: process.env.TMPDIR ?? '/tmp',
    fdLimit: spawnSync('bash', ['-c', 'ulimit -n'], { encoding: 'utf8' }).stdout.trim(),
    loadBefore: loadavg().map((x) => +x.toFixed(2)),
    cpuBusyBefore: +busy.toFixed(2),
  };
  log(`${machine.cores} × ${machine.cpu}, ${machine.memGiB} GiB, files in ${machine.tmpdir}, fd limit ${machine.fdLimit}`);
  if (busy > 0.2) {
    notes.push(`the machine was ${(busy * 100).toFixed(0)}% busy before the run started (other processes): figures are noisy`);
    log(`warning: ${notes.at(-1)}`);
  }
  for (const name of servers) {
    const why = serverMissingReason(name);
    if (why) notes.push(`${name} skipped: ${why}`);
  }
  const present = servers.filter((n) => !serverMissingReason(n));
  if (present.includes('vsftpd')) {
    const did = sha512SystemPassword();
    if (did) notes.push(did);
  }

  // Uploads land on memory the host backs (with warmMemory): see vm-memory.ts.
  const hold = holdFreedMemory();
  if (hold.note) {
    notes.push(hold.note);
    log(hold.note);
  }

  const tmp = await makeTempDir('ftpkit-bench-files-');
  const fx = await makeFixtures(tmp.path, bigBytes, smallBytes);
  const results: {
    single: Partial<Record<ServerName, Partial<Record<StreamKey, Series>> | { error: string }>>;
    many: Record<string, Partial<Record<ServerName, ManyClientsResult | { error: string }>>>;
    clients: Record<string, Partial<Record<ClientName, { download?: Series; upload?: Series }>>>;
    /** Step 5: curl RETR/STOR of the big file over explicit FTPS. */
    ftps: Partial<Record<ServerName, { retr?: Series; stor?: Series } | { error: string }>>;
    /** Steps 1-2: minimal senders into a minimal receiver, the machine's limit for one stream. */
    limits: Partial<Record<LimitSender, Series>>;
    /** Step 1: ftpkit's RETR with the addon off, into the limit rows' receiver (its JavaScript path). */
    jsPath?: Series | { error: string };
    /** Step 2: curl's uploads into limit.py's bare copying FTP receiver, the uploads' reference. */
    uploadReference: Partial<Record<StreamKey, Series>> | { error: string };
    /** Step 2: STOR from the cached file into a root on a real disk; ftpkit with and without its fsync. */
    disk: Record<string, Series | { error: string }>;
  } = { single: {}, many: {}, clients: {}, ftps: {}, limits: {}, uploadReference: {}, disk: {} };

  /**
   * Steps 1, 2 and 5: curl RETR/STOR of the big file, median of `runs` per server; the servers
   * take turns sample by sample (see withServers). A server whose run timed out takes no more
   * samples of that kind (it would only spend the budget again).
   */
  async function singleStreams(
    up: readonly [string, BenchServer][],
    keys: readonly StreamKey[],
    tls: boolean,
  ): Promise<Record<string, Partial<Record<StreamKey, Series>>>> {
    const out: Record<string, Partial<Record<StreamKey, Series>>> = {};
    const timeout = tls ? 60_000 : 30_000;
    for (const key of keys) {
      const acc = new Map(up.map(([column]) => [column, { samples: [] as number[], errors: [] as string[], cpu: [] as number[] }]));
      for (let i = 0; i < runs && remaining() > 30_000; i++) {
        for (const [column, s] of up) {
          if (key === 'retr' && s.uploadsOnly) continue;
          const { samples, errors, cpu } = acc.get(column)!;
          if (errors.some(isTimeout) || remaining() < 30_000) continue;
          const remote = `${tls ? 'ftps-' : ''}stor-big-${i}.bin`;
          // Uploads land on memory the VM's host has backed, whichever server runs (see warmMemory).
          if (key !== 'retr') await warmMemory(tmp.path, bigBytes);
          const account = accounts.get(s) ?? accounts.set(s, accountCpu(s.pid, column)).get(s)!;
          const quiet = new Set(processTree(s.pid).keys());
          const cpu0 = account.seconds();
          try {
            const r: StreamResult =
              key === 'retr' ? await curlRetr(s, fx.big.name, limit(timeout), tls, undefined, clientCpus)
                : key === 'stor' ? await curlStor(s, remote, bigBytes, limit(timeout), tls, clientCpus)
                  : await curlStorFile(s, fx.big.path, remote, limit(timeout), clientCpus);
            if (r.bytes !== bigBytes) throw new Error(`moved ${r.bytes} of ${bigBytes} bytes`);
            samples.push(r.bytes / r.seconds);
            // The session's processes end after the transfer (the /proc count sees them once reaped).
            if ((await treeSettled(s.pid, quiet)) || account.exact) cpu.push((account.seconds() - cpu0) / (r.bytes / GiB));
          } catch (err) {
            errors.push(errorText(err));
          } finally {
            if (key !== 'retr') await rm(join(s.root, remote), { force: true });
          }
        }
      }
      for (const [column, { samples, errors, cpu }] of acc) {
        if (samples.length === 0 && errors.length === 0) continue; // not this column's kind
        (out[column] ??= {})[key] = series(samples, errors, cpu);
        log(`${column}${tls ? ' FTPS' : ''} ${key === 'storFile' ? 'STOR (file)' : key.toUpperCase()} ${(median(samples) / 1e9).toFixed(2)} GB/s (${samples.map((x) => (x / 1e9).toFixed(2)).join(', ')})${cpu.length ? `, server CPU ${median(cpu).toFixed(2)} s/GiB` : ''}${errors.length ? ` errors: ${errors[0]}` : ''}`);
      }
    }
    return out;
  }

  try {
    // Steps 1 and 2: first the machine's limit (no FTP at all), then curl against each server.
    if (steps.has(1) || steps.has(2)) {
      // Step 1 also measures ftpkit's JavaScript path (the addon off) into the same receiver.
      let js: BenchServer | undefined;
      try {
        if (steps.has(1) && present.includes('ftpkit')) {
          const server = await startServer('ftpkit', limit(20_000), { env: { FTPKIT_ZERO_COPY: '0' } });
          await installFixtures(server.root, fx).catch(async (err: unknown) => {
            await server.stop().catch(() => {});
            throw err;
          });
          js = server;
        }
      } catch (err) {
        results.jsPath = { error: errorText(err) };
      }
      try {
        const got = await measureLimits('/usr/bin/python3', fx.big.path, runs, limit(60_000), js && { server: js, remote: fx.big.name });
        for (const sender of LIMIT_SENDERS) {
          results.limits[sender] = series(got[sender], []);
          log(`limit, ${sender}: ${(results.limits[sender]!.median / 1e9).toFixed(2)} GB/s`);
        }
        if (got.besideError) results.jsPath = { error: got.besideError };
        else if (js) {
          results.jsPath = series(got.beside, []);
          log(`ftpkit RETR, JavaScript path, into the same receiver: ${(results.jsPath.median / 1e9).toFixed(2)} GB/s`);
        }
      } catch (err) {
        notes.push(`limit rows: ${errorText(err)}`);
        if (js) results.jsPath = { error: errorText(err) };
      } finally {
        await js?.stop().catch(() => {});
      }
    }
    if (steps.has(1) || steps.has(2)) {
      const keys = ([[1, 'retr'], [2, 'stor'], [2, 'storFile']] as const).filter(([step]) => steps.has(step)).map(([, key]) => key);
      const columns: Column[] = present.map((name) => ({ column: name, name }));
      // The uploads' reference takes its turn beside the servers (limit.ts).
      const receiver = 'bare receiver';
      if (steps.has(2)) columns.push({ column: receiver, start: () => startMinimalReceiver('/usr/bin/python3', limit(10_000)) });
      const { [receiver]: uploadReference, ...got } = await withServers(columns, fx, (up) => singleStreams(up, keys, false));
      Object.assign(results.single, got);
      if (uploadReference) results.uploadReference = uploadReference;
    }

    // Step 2 on a real disk: STOR from the cached file into a root on args['disk-dir'] (atomic
    // uploads fsync before the rename: ftpkit also without it, uploadFsync: false).
    if (steps.has(2)) {
      const disk = args['disk-dir'];
      let onDisk = false;
      try {
        onDisk = statfsSync(disk).type !== 0x01021994; // TMPFS_MAGIC
      } catch {
        notes.push(`real-disk STOR skipped: ${disk} is not usable`);
      }
      if (onDisk) {
        const columns: Column[] = present.map((name) => ({ column: name, name }));
        if (present.includes('ftpkit')) columns.splice(1, 0, { column: 'ftpkit, uploadFsync: false', name: 'ftpkit', env: { FTPKIT_UPLOAD_FSYNC: '0' } });
        const got = await withServers(columns, fx, (up) => singleStreams(up, ['storFile'], false), { disk });
        for (const { column } of columns) {
          const r = got[column];
          results.disk[column] = !r ? { error: 'no sample' } : 'error' in r ? r : r.storFile ?? { error: 'no sample' };
        }
      } else if (existsSync(disk)) {
        notes.push(`real-disk STOR skipped: ${disk} is on tmpfs (pass --disk-dir=<a folder on a disk>)`);
      }
    }

    // Step 5: the same single streams over explicit FTPS (AUTH TLS, PROT P; both servers
    // require the data connections to resume the control session, which curl does).
    if (steps.has(5)) {
      const names = FTPS_SERVERS.filter((n) => present.includes(n));
      if (remaining() < 40_000) {
        for (const name of names) results.ftps[name] = { error: 'skipped: time budget spent' };
      } else {
        Object.assign(results.ftps, await withServers(names.map((name) => ({ column: name, name })), fx, (up) => singleStreams(up, ['retr', 'stor'], true), { tls: true }));
      }
    }

    // Step 4: clients, against vsftpd and ftpkit (interleaved runs, so drift hits all alike).
    if (steps.has(4)) {
      for (const name of (['vsftpd', 'ftpkit'] as const).filter((n) => present.includes(n))) {
        const table: Partial<Record<ClientName, { download?: Series; upload?: Series }>> = {};
        const acc = new Map<string, { samples: number[]; errors: string[] }>();
        const res = await withServer(name, fx, async (s) => {
          // At least 5 runs: a Node client's speed here is bimodal (which core its threads land
          // on beside the server's), so a median of 3 is a coin toss.
          for (let i = 0; i < Math.max(runs, CLIENT_RUNS) && remaining() > 60_000; i++) {
            for (const client of CLIENTS) {
              for (const op of ['download', 'upload'] as const) {
                const key = `${client}/${op}`;
                const a = acc.get(key) ?? { samples: [], errors: [] };
                acc.set(key, a);
                if (a.errors.some(isTimeout)) continue;
                const remote = op === 'download' ? fx.big.name : `client-up-${i}.bin`;
                // A download lands in a file on the fixtures' file system, as a user's would.
                const local = op === 'download' ? join(tmp.path, 'client-down.bin') : fx.big.path;
                await warmMemory(tmp.path, bigBytes);
                try {
                  const r = await clientTransfer(client, op, s, remote, local, limit(30_000));
                  if (r.bytes !== bigBytes) throw new Error(`moved ${r.bytes} of ${bigBytes} bytes`);
                  a.samples.push(r.bytes / r.seconds);
                } catch (err) {
                  a.errors.push(errorText(err));
                } finally {
                  await rm(op === 'upload' ? join(s.root, remote) : local, { force: true });
                }
              }
            }
          }
        });
        for (const client of CLIENTS) {
          const entry: { download?: Series; upload?: Series } = {};
          for (const op of ['download', 'upload'] as const) {
            const a = acc.get(`${client}/${op}`);
            if (a) entry[op] = series(a.samples, a.errors);
            else if (res && 'error' in res) entry[op] = series([], [res.error]);
          }
          table[client] = entry;
          log(`${name} ${client}: down ${((entry.download?.median ?? NaN) / 1e9).toFixed(2)} GB/s, up ${((entry.upload?.median ?? NaN) / 1e9).toFixed(2)} GB/s${entry.download?.errors[0] ? ` (${entry.download.errors[0]})` : ''}`);
        }
        results.clients[name] = table;
      }
    }

    // Step 3: ftpbench at each N, a fresh server each time (clean "at start" memory).
    if (steps.has(3)) {
      for (const n of ns) {
        const byServer: Partial<Record<ServerName, ManyClientsResult | { error: string }>> = {};
        for (const name of present) {
          if (remaining() < 20_000) {
            byServer[name] = { error: 'skipped: time budget spent' };
            continue;
          }
          byServer[name] = await withServer(name, fx, (s) =>
            manyClients(s, {
              n,
              bigFile: fx.big.name,
              smallFile: fx.small.name,
              smallBytes,
              limits: { login: limit(15_000), idleRetr: limit(30_000), retr: limit(60_000), stor: limit(60_000), quit: limit(10_000) },
              beforeStor: () => warmMemory(tmp.path, n * smallBytes),
            }),
          );
          const r = byServer[name]!;
          if (!('error' in r)) {
            const errs = r.login.errors + r.retr.errors + r.stor.errors + r.quit.errors;
            log(`${name} N=${n}: login ${r.login.seconds.toFixed(2)} s, idle RETR ${r.idleRetrMBps.toFixed(0)} MB/s, RETR ${r.retr.seconds.toFixed(2)} s, STOR ${r.stor.seconds.toFixed(2)} s, QUIT ${r.quit.seconds.toFixed(2)} s, RSS ${(r.memoryStart.rss / 1e6).toFixed(0)} → ${(r.memoryLoggedIn.rss / 1e6).toFixed(0)} MB, ${errs} errors`);
          }
        }
        results.many[String(n)] = byServer;
      }
    }
  } finally {
    hold.release();
    await tmp.cleanup();
    if ([...accounts.values()].some((a) => !a.exact)) {
      notes.push('server CPU counted from /proc (no cgroup v2 to put the servers in, or not root): a session process whose parent ended first is missed');
    }
    await Promise.all([...accounts.values()].map((a) => a.close()));
  }

  // ---------------------------------------------------------------- report
  const cols = present as string[];
  const out: string[] = [];
  out.push(`### ftpkit benchmark, ${startedAt.toISOString().slice(0, 16).replace('T', ' ')} UTC`);
  out.push('');
  out.push(`Machine: ${machine.cores} × ${machine.cpu}, ${machine.memGiB} GiB RAM, Linux ${machine.kernel}, Node ${process.version}; loopback; files on ${machine.tmpdir}. Medians of ${runs} for single streams, of ${Math.max(runs, CLIENT_RUNS)} for clients; ftpbench steps run once. Ratios are to vsftpd (higher is better for GB/s and MB/s, lower for seconds and MB).`);
  out.push('');
  if (steps.has(1) || steps.has(2)) {
    const labels: Record<StreamKey, string> = {
      retr: `RETR ${sizeLabel(bigBytes)} to /dev/null, curl (GB/s)`,
      stor: `STOR ${sizeLabel(bigBytes)} from a pipe, curl (GB/s)`,
      storFile: `STOR ${sizeLabel(bigBytes)} from a page-cached file, curl (GB/s)`,
    };
    const single = (key: StreamKey): Row => ({
      label: labels[key],
      cells: Object.fromEntries(cols.map((c) => {
        const r = results.single[c as ServerName];
        return [c, r && 'error' in r ? { error: r.error } : cell(r?.[key], 1e9)];
      })),
    });
    // Only the rows this run's steps measured (--steps=2 has no RETR).
    const singleKeys = STREAM_KEYS.filter((k) => cols.some((c) => {
      const r = results.single[c as ServerName];
      return r !== undefined && ('error' in r || r[k] !== undefined);
    }));
    out.push(renderTable('single stream', cols, singleKeys.map(single)));
    out.push('');
    // The work each server did for those bytes, whatever the VM's noise did to the clock.
    const cpuOf = (c: string, key: StreamKey): number[] | undefined => {
      const r = results.single[c as ServerName];
      return r && !('error' in r) && r[key]?.cpuPerGiB?.length ? r[key].cpuPerGiB : undefined;
    };
    const cpuRow = (key: StreamKey): Row => ({
      label: labels[key].replace(/, curl \(GB\/s\)$/, ''),
      cells: Object.fromEntries(cols.map((c) => {
        const cpu = cpuOf(c, key);
        return [c, cpu ? { value: median(cpu) } : undefined];
      })),
    });
    const cpuKeys = STREAM_KEYS.filter((k) => cols.some((c) => cpuOf(c, k)));
    if (cpuKeys.length > 0) {
      out.push(renderTable('server CPU per GiB moved, its processes together (s; lower is better)', cols, cpuKeys.map(cpuRow)));
      out.push('');
    }
    const limits = LIMIT_SENDERS.filter((k) => results.limits[k]?.samples.length);
    if (limits.length > 0) {
      // The machine's limit, and each server's figures as a fraction of the best sender's.
      const best = Math.max(...limits.map((k) => results.limits[k]!.median));
      out.push(renderTable(`limit: one stream, no FTP, into a Python receiver (GB/s)`, ['GB/s', 'of the best'], limits.map((k) => ({
        label: k,
        baseline: 'none',
        cells: { 'GB/s': cell(results.limits[k], 1e9), 'of the best': { value: results.limits[k]!.median / best } },
      }))));
      out.push('');
      // The JavaScript path beside Node's raw copy sender, into the same receiver (limit.ts).
      const nodeCopy = results.limits['node copy']?.median;
      if (results.jsPath) {
        const js = results.jsPath;
        out.push(renderTable('JavaScript path: ftpkit RETR 1 GiB with the addon off (FTPKIT_ZERO_COPY=0), read by an FTP client with the same Python receiver', ['GB/s', 'of node copy'], [{
          label: 'ftpkit, JavaScript path',
          baseline: 'none',
          cells: 'error' in js ? { 'GB/s': { error: js.error } } : { 'GB/s': cell(js, 1e9), ...(nodeCopy ? { 'of node copy': { value: js.median / nodeCopy } } : {}) },
        }]));
        out.push('');
      }
      // Uploads: a fraction of the bare receiver's figure from the same sender (curl), when measured.
      const up = 'error' in results.uploadReference ? {} : results.uploadReference;
      const uploadKeys = (['stor', 'storFile'] as const).filter((k) => up[k]?.samples.length);
      if (steps.has(2)) {
        out.push(renderTable('reference for uploads: curl into a bare copying FTP receiver (Python, blocking recv 256 KiB + write; GB/s)', ['GB/s'], (['stor', 'storFile'] as const).map((k) => ({
          label: labels[k].replace(/, curl \(GB\/s\)$/, ''),
          baseline: 'none',
          cells: { 'GB/s': 'error' in results.uploadReference ? { error: results.uploadReference.error } : cell(up[k], 1e9) },
        }))));
        out.push('');
      }
      const limitOf = (key: StreamKey): number | undefined => (key === 'retr' ? best : uploadKeys.includes(key) ? up[key]!.median : undefined);
      const fraction = (key: StreamKey): Row => ({
        label: `${labels[key].replace(/, curl \(GB\/s\)$/, '')}: fraction of ${key === 'retr' ? 'the best sender' : 'the bare receiver'}`,
        cells: Object.fromEntries(cols.map((c) => {
          const r = results.single[c as ServerName];
          const v = r && !('error' in r) ? r[key]?.median : undefined;
          const of = limitOf(key);
          return [c, v === undefined || of === undefined || !Number.isFinite(v) ? undefined : { value: v / of }];
        })),
      });
      const fractionKeys = STREAM_KEYS.filter((k) => steps.has(k === 'retr' ? 1 : 2) && limitOf(k) !== undefined);
      out.push(renderTable(`as a fraction of the limit (sends: ${(best / 1e9).toFixed(2)} GB/s) and of the bare receiver (uploads)`, cols, fractionKeys.map(fraction)));
      out.push('');
    }
  }
  if (Object.keys(results.disk).length > 0) {
    const diskCols = Object.keys(results.disk);
    out.push(renderTable(`STOR ${sizeLabel(bigBytes)} from a page-cached file into ${args['disk-dir']} (a real disk), curl (GB/s)`, diskCols, [{
      label: 'GB/s',
      cells: Object.fromEntries(diskCols.map((c) => {
        const r = results.disk[c]!;
        return [c, 'error' in r ? { error: r.error } : cell(r, 1e9)];
      })),
    }]));
    out.push('');
  }
  for (const [n, byServer] of Object.entries(results.many)) {
    out.push(renderTable(`ftpbench, N = ${n}`, cols, manyRows(byServer, sizeLabel(bigBytes), smallBytes)));
    out.push('');
  }
  if (Object.keys(results.clients).length > 0) {
    const clientCols = Object.keys(results.clients).flatMap((srv) => [`download from ${srv}`, `upload to ${srv}`]);
    const rows: Row[] = CLIENTS.map((client) => ({
      label: client,
      baseline: 'curl',
      cells: {},
    }));
    // one row per client, ratios to curl in the same column
    const lines = [`| clients, ${sizeLabel(bigBytes)} (GB/s) | ${clientCols.join(' | ')} |`, `|---|${clientCols.map(() => '---:').join('|')}|`];
    for (const row of rows) {
      const cells = Object.entries(results.clients).flatMap(([, t]) =>
        (['download', 'upload'] as const).map((op) => {
          const c = cell(t[row.label as ClientName]?.[op], 1e9);
          const base = cell(t.curl?.[op], 1e9);
          if (!c) return '';
          if ('error' in c) return `error: ${c.error.replace(/\|/g, '/').slice(0, 60)}`;
          const ratio = base && 'value' in base && base.value > 0 ? ` (${(c.value / base.value).toFixed(2)}× curl)` : '';
          return `${c.value.toFixed(2)}${ratio}${c.note ? ` ${c.note}` : ''}`;
        }),
      );
      lines.push(`| ${row.label} | ${cells.join(' | ')} |`);
    }
    out.push(lines.join('\n'));
    out.push('');
  }
  if (Object.keys(results.ftps).length > 0) {
    // Plain figures come from steps 1-2 of the same run (when they ran), for the side-by-side.
    const ftpsCols = Object.keys(results.ftps);
    const row = (key: 'retr' | 'stor', tls: boolean): Row => ({
      label: `${key.toUpperCase()} ${sizeLabel(bigBytes)}, curl, ${tls ? 'FTPS (TLS, PROT P)' : 'plain FTP'} (GB/s)`,
      cells: Object.fromEntries(ftpsCols.map((c) => {
        const r = (tls ? results.ftps : results.single)[c as ServerName];
        return [c, r && 'error' in r ? { error: r.error } : cell(r?.[key], 1e9)];
      })),
    });
    out.push(renderTable('FTPS vs plain', ftpsCols, [row('retr', false), row('retr', true), row('stor', false), row('stor', true)]));
    out.push('');
  }
  const busyAfter = cpuBusy(500);
  if (notes.length) out.push(...notes.map((n) => `- ${n}`), '');
  const durationS = (performance.now() - t0) / 1000;
  const file = writeResults(
    { startedAt: startedAt.toISOString(), durationS, machine: { ...machine, loadAfter: loadavg(), cpuBusyAfter: busyAfter }, versions: versions(), config: { servers, steps: [...steps], ns, runs, bigBytes, smallBytes }, notes, results },
    startedAt,
  );
  out.push(`Run took ${durationS.toFixed(0)} s; all samples in ${file}.`);
  process.stdout.write(`\n${out.join('\n')}\n`);
}

// 1,000 clients need ~4,000 descriptors between the bench and a server: raise the soft limit
// once, by re-running ourselves under `ulimit -n` (Node cannot call setrlimit).
if (process.env.FTPKIT_BENCH_ULIMIT !== '1') {
  const script = 'ulimit -n 65536 2>/dev/null || ulimit -n "$(ulimit -Hn)"; exec "$@"';
  const child = spawn('bash', ['-c', script, 'bash', process.execPath, ...process.execArgv, ...process.argv.slice(1)], {
    stdio: 'inherit',
    env: { ...process.env, FTPKIT_BENCH_ULIMIT: '1' },
  });
  child.on('exit', (code, signal) => process.exit(code ?? (signal ? 1 : 0)));
} else {
  await main();
}

/**
 * Writes and deletes 1.5 x `bytes` in `dir` (the fixtures' folder, tmpfs when there is room) right before a STOR sample.
 * A virtual machine with free page reporting (virtio-balloon) hands freed memory back to its
 * host within seconds and faults it in again at a fraction of the memory's speed when it is
 * used (measured here: 8 GiB into /dev/shm in 23 s when the memory had been idle, 6 s right
 * after): a 1 GiB upload that lands on such pages measures the host (0.3-0.5 GB/s for every
 * server), and which server it hits is luck. Freshly freed pages are taken first, so after
 * this every server's upload lands on backed memory, unless the kernel reported part of them
 * meanwhile (holdFreedMemory delays that where the kernel allows). On a disk or outside a VM
 * it only costs a second.
 */
async function warmMemory(dir: string, bytes: number): Promise<void> {
  const file = join(dir, '.bench-warm');
  const size = Math.ceil(bytes * 1.5);
  // Pages the host took back fault in at 0.3-0.5 GB/s here: step 3's 15 GB at N = 1,000 once
  // took over a minute. Allow 0.1 GB/s, at least a minute.
  await runShell(`head -c ${size} /dev/zero > ${sh(file)}; rm -f ${sh(file)}`, Math.max(60_000, size / 100_000));
}

