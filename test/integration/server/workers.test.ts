// ftp-serve --workers 2 (node:cluster), from outside: the built bin, real sockets, real signals.
// Which worker served what comes from the JSON log lines (pino puts each process's pid on
// every line): 'listening' per worker, 'transfer end' per transfer, 'login failed', ...
import { createHash, randomBytes } from 'node:crypto';
import { connect, type Socket } from 'node:net';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { addUser } from '../../../src/index.js';
import { RawFtp } from '../../helpers/raw-ftp.js';
import { killAllServe, startServe, type LogLine, type ServeProcess } from '../../helpers/serve-process.js';

const sha = (b: Buffer): string => createHash('sha256').update(b).digest('hex');

let root = '';
const clients: RawFtp[] = [];
beforeEach(async () => {
  root = await mkdtemp(join(tmpdir(), 'ftpkit-workers-'));
});
afterEach(async () => {
  for (const c of clients.splice(0)) c.close();
  killAllServe();
  await rm(root, { recursive: true, force: true });
});

async function session(s: ServeProcess, user = 'alice', pass = 'secret'): Promise<RawFtp> {
  const c = await RawFtp.connect(s.port);
  clients.push(c);
  await c.login(user, pass);
  expect((await c.send('TYPE I')).code).toBe(200);
  return c;
}

let probes = 0;
/** Which worker holds `c`'s session: it stores a probe file and reads the pid of its 'transfer end' line. */
async function workerOf(s: ServeProcess, c: RawFtp): Promise<number> {
  const path = `/probe-${++probes}`;
  expect((await c.store(`STOR ${path}`, 'p')).final.code).toBe(226);
  return (await s.waitLog((l) => l.msg === 'transfer end' && l.path === path)).pid;
}

/** Logged-in sessions, one on each of `pids` (opens connections until each worker has one). */
async function sessionsOnEach(s: ServeProcess, pids: number[], user?: string, pass?: string): Promise<Map<number, RawFtp>> {
  const on = new Map<number, RawFtp>();
  for (let i = 0; i < 20 && on.size < pids.length; i++) {
    const c = await session(s, user, pass);
    const pid = await workerOf(s, c);
    if (pids.includes(pid) && !on.has(pid)) on.set(pid, c);
    else c.close();
  }
  expect([...on.keys()].sort()).toEqual([...pids].sort());
  return on;
}

/** STOR started (150) with `first` sent; returns the data socket to finish with end(). */
async function startUpload(c: RawFtp, path: string, first: Buffer): Promise<Socket> {
  const data = await c.passive();
  expect((await c.send(`STOR ${path}`)).code).toBe(150);
  await new Promise<void>((resolve) => data.write(first, () => resolve()));
  return data;
}

/** The first reply of a new connection (a 220 greeting or a 421 refusal). */
function greeting(port: number): Promise<string> {
  return new Promise((resolve, reject) => {
    const socket = connect({ port, host: '127.0.0.1' });
    let text = '';
    socket.on('data', (d: Buffer) => {
      text += d.toString();
      if (text.includes('\r\n')) {
        socket.destroy();
        resolve(text.split('\r\n')[0]!);
      }
    });
    socket.on('error', reject);
  });
}

const pidsOf = (lines: LogLine[]): number[] => [...new Set(lines.map((l) => l.pid))].sort();

describe('ftp-serve --workers 2', () => {
  it('500 sessions with uploads and downloads land on both workers, every byte intact', async () => {
    const s = await startServe(['--workers', '2', '--user', 'alice:secret', '--max-per-address', '0', root]);
    expect(s.stdout()).toMatch(/^ftp-serve: serving .* at ftp:\/\/127\.0\.0\.1:\d+ \(1 user read-write, 2 workers\)\n$/);
    const workers = await s.workerPids(2);
    const bodies = new Map<string, string>();
    let next = 0;
    const one = async (): Promise<void> => {
      for (let i = next++; i < 500; i = next++) {
        const c = await session(s);
        const body = randomBytes(2048 + i);
        const path = `/s${i}.bin`;
        bodies.set(path, sha(body));
        expect((await c.store(`STOR ${path}`, body)).final.code).toBe(226);
        const back = await c.fetch(`RETR ${path}`);
        expect(back.final.code).toBe(226);
        expect(sha(back.data)).toBe(sha(body));
        expect((await c.send('QUIT')).code).toBe(221);
        c.close();
      }
    };
    await Promise.all(Array.from({ length: 50 }, one));
    for (const [path, hash] of bodies) expect(sha(await readFile(join(root, path)))).toBe(hash);
    const ends = await s.waitLogs((l) => l.msg === 'transfer end' && /^\/s\d+\.bin$/.test(String(l.path)), 1000);
    expect(ends.every((l) => l.ok === true)).toBe(true);
    // Both workers served uploads and downloads.
    expect(pidsOf(ends.filter((l) => l.command === 'STOR'))).toEqual([...workers].sort());
    expect(pidsOf(ends.filter((l) => l.command === 'RETR'))).toEqual([...workers].sort());
  }, 180_000);

  it('an upload on worker A makes DELE on worker B answer 450, until it ends', async () => {
    const s = await startServe(['--workers', '2', '--user', 'alice:secret', root]);
    const [a, b] = await s.workerPids(2);
    const on = await sessionsOnEach(s, [a!, b!]);
    await writeFile(join(root, 'busy.bin'), 'previous');
    const body = randomBytes(256 * 1024);
    const data = await startUpload(on.get(a!)!, 'busy.bin', body.subarray(0, 1000));
    const other = on.get(b!)!;
    expect(await other.send('DELE busy.bin')).toMatchObject({ code: 450, text: '/busy.bin: file busy' });
    expect((await other.send('RNFR busy.bin')).code).toBe(450);
    data.end(body.subarray(1000));
    expect((await on.get(a!)!.read(30_000)).code).toBe(226);
    expect(sha(await readFile(join(root, 'busy.bin')))).toBe(sha(body));
    expect((await other.send('DELE busy.bin')).code).toBe(250);
  }, 60_000);

  it('failed logins spread over both workers ban the address on both; SIGUSR2 lifts it on both', async () => {
    const s = await startServe(['--workers', '2', '--user', 'alice:secret', '--ban-after', '3', root]);
    const workers = await s.workerPids(2);
    for (let i = 0; i < 3; i++) {
      const c = await RawFtp.connect(s.port);
      clients.push(c);
      expect((await c.send('USER alice')).code).toBe(331);
      // The third failure is the one that bans: 421 and the connection ends.
      expect((await c.send('PASS wrong')).code).toBe(i < 2 ? 530 : 421);
      c.close();
    }
    const failed = await s.waitLogs((l) => l.msg === 'login failed', 3);
    expect(pidsOf(failed)).toEqual([...workers].sort());
    for (let i = 0; i < 4; i++) expect(await greeting(s.port)).toMatch(/^421 Too many failed logins from your address/);
    const refused = await s.waitLogs((l) => l.msg === 'connection from a banned address refused', 4);
    expect(pidsOf(refused)).toEqual([...workers].sort());

    s.kill('SIGUSR2');
    const lifted = await s.waitLogs((l) => l.msg === 'bans lifted (SIGUSR2)', 2);
    expect(pidsOf(lifted)).toEqual([...workers].sort());
    await sessionsOnEach(s, workers); // logs in on both
  }, 60_000);

  it('kill -9 of a worker mid-upload: its session ends, the previous file stays, a new worker comes, the other goes on, its locks are released', async () => {
    const s = await startServe(['--workers', '2', '--user', 'alice:secret', root]);
    const [doomed, survivor] = await s.workerPids(2);
    const on = await sessionsOnEach(s, [doomed!, survivor!]);
    const more = await sessionsOnEach(s, [survivor!]);
    await writeFile(join(root, 'k.bin'), 'previous version');
    const victim = on.get(doomed!)!;
    const victimClosed = new Promise<void>((resolve) => victim.socket.once('close', () => resolve()));
    const victimData = await startUpload(victim, 'k.bin', randomBytes(4096));
    const body = randomBytes(512 * 1024);
    const goingOn = on.get(survivor!)!;
    const otherData = await startUpload(goingOn, 'other.bin', body.subarray(0, 4096));
    const third = more.get(survivor!)!;
    expect((await third.send('DELE k.bin')).code).toBe(450);

    process.kill(doomed!, 'SIGKILL');
    await victimClosed; // its control connection ends (no reply promised: the process is gone)
    victimData.destroy();
    const [fresh] = await s.waitLogs((l) => l.msg === 'listening' && l.pid !== doomed && l.pid !== survivor, 1);
    expect(fresh!.pid).toBeGreaterThan(0);
    const released = await s.waitLog((l) => l.msg === 'locks of the dead worker released' && l.worker === doomed);
    expect(released.released).toBe(1);

    otherData.end(body.subarray(4096));
    expect((await goingOn.read(30_000)).code).toBe(226);
    expect(sha(await readFile(join(root, 'other.bin')))).toBe(sha(body));
    expect(await readFile(join(root, 'k.bin'), 'utf8')).toBe('previous version');
    expect((await third.send('DELE k.bin')).code).toBe(250);
    // The replacement serves too.
    await sessionsOnEach(s, [fresh!.pid, survivor!]);
  }, 60_000);

  it('SIGHUP re-reads the users file in every worker; open sessions stay', async () => {
    const users = join(root, 'users.json');
    const home = join(root, 'home');
    await rm(home, { recursive: true, force: true });
    await import('node:fs/promises').then((fs) => fs.mkdir(home));
    await addUser(users, 'alice', 'secret', { home });
    const s = await startServe(['--workers', '2', '--users', users, home]);
    const workers = await s.workerPids(2);
    const open = await sessionsOnEach(s, workers);
    expect(await greeting(s.port)).toMatch(/^220 /);
    const bob = await RawFtp.connect(s.port);
    clients.push(bob);
    await bob.send('USER bob');
    expect((await bob.send('PASS pw2')).code).toBe(530);

    await addUser(users, 'bob', 'pw2', { home });
    s.kill('SIGHUP');
    const reloaded = await s.waitLogs((l) => l.msg === 'users file reloaded', 2);
    expect(pidsOf(reloaded)).toEqual([...workers].sort());
    await sessionsOnEach(s, workers, 'bob', 'pw2');
    for (const c of open.values()) {
      expect((await c.send('NOOP')).code).toBe(200);
      expect((await c.fetch('NLST')).final.code).toBe(226);
    }
  }, 60_000);

  it('SIGTERM drains: the running upload finishes, the primary says how many it waits for, then exits 0', async () => {
    const s = await startServe(['--workers', '2', '--user', 'alice:secret', root]);
    const workers = await s.workerPids(2);
    const on = await sessionsOnEach(s, workers);
    const c = on.get(workers[0]!)!;
    const body = randomBytes(300 * 1024);
    const data = await startUpload(c, 'drain.bin', body.subarray(0, 100));
    s.kill('SIGTERM');
    // The idle session on the other worker is told the server is closing.
    expect((await on.get(workers[1]!)!.read(10_000)).code).toBe(421);
    data.end(body.subarray(100));
    expect((await c.read(30_000)).code).toBe(226);
    expect(await s.exited).toEqual({ code: 0, signal: null });
    expect(s.plainStderr()).toBe('ftp-serve: waiting for 1 transfer to finish (SIGTERM again to stop now)\n');
    expect(sha(await readFile(join(root, 'drain.bin')))).toBe(sha(body));
  }, 60_000);
});
