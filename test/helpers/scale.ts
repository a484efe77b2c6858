// redis-server and haproxy on loopback for the scale-out tests.
//
//   describe.skipIf(!hasDaemon('redis-server'))('...', () => { ... })
//   const redis = await startRedis();   // redis.url, redis.stop(), redis.start()
//   const lb = await startHaproxy(config);
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { createServer, connect } from 'node:net';
import { join } from 'node:path';
import { readBanner } from './peer-process.js';

export type DaemonName = 'redis-server' | 'haproxy';

const PROBE: Record<DaemonName, string[]> = { 'redis-server': ['--version'], haproxy: ['-v'] };
const known = new Map<DaemonName, boolean>();

export function daemonAvailable(name: DaemonName): boolean {
  let ok = known.get(name);
  if (ok === undefined) {
    const r = spawnSync(name, PROBE[name], { encoding: 'utf8', timeout: 10_000 });
    ok = r.error === undefined && r.status === 0;
    known.set(name, ok);
  }
  return ok;
}

/** For describe.skipIf: false (skip) when missing locally; with CI=true a missing daemon throws. */
export function hasDaemon(name: DaemonName): boolean {
  if (daemonAvailable(name)) return true;
  if (process.env.CI === 'true') throw new Error(`${name} is required in CI but missing (apt-get install ${name === 'haproxy' ? 'haproxy' : 'redis-server'})`);
  return false;
}

/**
 * A port free right now on `host`, below the kernel's ephemeral range (32768 and up), so no
 * other test's `listen(0)` or outgoing connection can take it before the daemon binds it.
 * Callers still retry on EADDRINUSE.
 */
export async function freePort(host = '127.0.0.1'): Promise<number> {
  return (await freePortRange(1, [host]))[0];
}

/** A run of `count` consecutive ports free right now on every host. */
export async function freePortRange(count: number, hosts: string[]): Promise<[number, number]> {
  for (let attempt = 0; attempt < 50; attempt++) {
    const min = 10000 + Math.floor(Math.random() * (32768 - 10000 - count));
    const servers = [];
    let ok = true;
    for (const host of hosts) {
      for (let p = min; p < min + count && ok; p++) {
        const s = createServer();
        ok = await new Promise<boolean>((resolve) => {
          s.once('error', () => resolve(false));
          s.listen(p, host, () => resolve(true));
        });
        if (ok) servers.push(s);
      }
    }
    await Promise.all(servers.map((s) => new Promise((r) => s.close(r))));
    if (ok) return [min, min + count - 1];
  }
  throw new Error('no free port range');
}

/** Resolves once something accepts TCP on host:port (polls), rejects after `timeout`. */
export async function waitForPort(host: string, port: number, timeout = 10_000): Promise<void> {
  const until = Date.now() + timeout;
  for (;;) {
    const ok = await new Promise<boolean>((resolve) => {
      const s = connect({ host, port });
      s.once('connect', () => {
        s.destroy();
        resolve(true);
      });
      s.once('error', () => resolve(false));
    });
    if (ok) return;
    if (Date.now() > until) throw new Error(`nothing listens on ${host}:${port}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

/** Resolves once the greeting host:port sends matches `greeting` (polls) or `gone()`; rejects after `timeout`. */
async function waitForGreeting(host: string, port: number, greeting: RegExp, gone: () => boolean, timeout = 10_000): Promise<void> {
  const until = Date.now() + timeout;
  let last = '';
  while (!gone()) {
    last = await readBanner(host, port, 2000).catch((err: Error) => err.message);
    if (greeting.test(last)) return;
    if (Date.now() > until) throw new Error(`${host}:${port} greets with ${JSON.stringify(last)}, not ${greeting}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

export interface RedisProcess {
  readonly port: number;
  readonly url: string;
  /** Starts it again on the same port (empty: no persistence). */
  start(): Promise<void>;
  /** Stops it (SIGKILL: an outage, not a shutdown). */
  stop(): Promise<void>;
}

/** redis-server on 127.0.0.1, a free port, no persistence. */
export async function startRedis(): Promise<RedisProcess> {
  let child: ChildProcess | undefined;
  let port = 0;
  const run = async (): Promise<boolean> => {
    const p = spawn('redis-server', ['--port', String(port), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no', '--protected-mode', 'no'], {
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let out = '';
    p.stdout!.on('data', (d: Buffer) => (out += d.toString()));
    p.stderr!.on('data', (d: Buffer) => (out += d.toString()));
    const exited = new Promise<boolean>((resolve) => p.once('exit', () => resolve(false)));
    const ready = waitForPort('127.0.0.1', port, 10_000).then(() => true);
    const ok = await Promise.race([ready, exited]);
    if (!ok) {
      if (/Address already in use/.test(out)) return false;
      throw new Error(`redis-server did not start: ${out}`);
    }
    child = p;
    return true;
  };
  for (let attempt = 0; ; attempt++) {
    port = await freePort();
    if (await run()) break;
    if (attempt > 5) throw new Error('redis-server: no free port');
  }
  const stop = async (): Promise<void> => {
    const c = child;
    child = undefined;
    if (!c || c.exitCode !== null) return;
    await new Promise<void>((resolve) => {
      c.once('exit', () => resolve());
      c.kill('SIGKILL');
    });
  };
  return {
    port,
    url: `redis://127.0.0.1:${port}`,
    stop,
    async start() {
      for (let attempt = 0; attempt < 50; attempt++) {
        if (await run()) return;
        await new Promise((r) => setTimeout(r, 100)); // the port is ours again in a moment
      }
      throw new Error('redis-server could not restart on its port');
    },
  };
}

export interface HaproxyProcess {
  stop(): Promise<void>;
}

/**
 * haproxy in the foreground (-db) with `config` written to `dir`; resolves once `probe` accepts
 * and, with `greeting`, once the first line read there matches it (proof that haproxy, not some
 * other listener, holds the port). Rejects if haproxy exits first (a port taken meanwhile).
 */
export async function startHaproxy(dir: string, config: string, probe: { host: string; port: number; greeting?: RegExp }): Promise<HaproxyProcess> {
  const file = join(dir, 'haproxy.cfg');
  writeFileSync(file, config);
  const check = spawnSync('haproxy', ['-c', '-f', file], { encoding: 'utf8' });
  if (check.status !== 0) throw new Error(`haproxy config refused: ${check.stdout}${check.stderr}`);
  const p = spawn('haproxy', ['-db', '-f', file], { stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  p.stdout!.on('data', (d: Buffer) => (out += d.toString()));
  p.stderr!.on('data', (d: Buffer) => (out += d.toString()));
  const exited = new Promise<never>((_, reject) => p.once('exit', (code) => reject(new Error(`haproxy exited (${code}): ${out}`))));
  const up = probe.greeting ? waitForGreeting(probe.host, probe.port, probe.greeting, () => p.exitCode !== null) : waitForPort(probe.host, probe.port);
  try {
    await Promise.race([up, exited]);
  } catch (err) {
    p.kill('SIGKILL');
    throw err;
  }
  exited.catch(() => {});
  return {
    stop: () =>
      new Promise<void>((resolve) => {
        if (p.exitCode !== null) return resolve();
        p.once('exit', () => resolve());
        p.kill('SIGKILL');
      }),
  };
}
