// Abuse protection over real sockets: failed-login delays and bans, equal timing for unknown
// users and wrong passwords, connection/session/transfer/command limits, per-user rate limits,
// revoked users, and hostile login input. Delays and bans are configured short here.
import { randomBytes } from 'node:crypto';
import { mkdir, writeFile } from 'node:fs/promises';
import { connect } from 'node:net';
import { join } from 'node:path';
import { Writable } from 'node:stream';
import { pino } from 'pino';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { FileServer, UserStore, addUser, deleteUser, loadUsersFile, saveUsersFile, type AuthGrant, type FileServerOptions } from '../../../src/index.js';
import { RawFtp } from '../../helpers/raw-ftp.js';
import { makeTempDir, sha256Buffer, type TempDir } from '../../helpers/tmp.js';

let dir: TempDir;
const servers: FileServer[] = [];
const clients: RawFtp[] = [];

beforeAll(async () => {
  dir = await makeTempDir('ftpkit-abuse-');
  await mkdir(join(dir.path, 'home'));
});
afterEach(async () => {
  for (const c of clients.splice(0)) c.close();
  await Promise.all(servers.splice(0).map((s) => s.close()));
});
afterAll(() => dir.cleanup());

async function start(options: FileServerOptions): Promise<number> {
  const server = new FileServer(options);
  servers.push(server);
  return (await server.listen()).port;
}

async function client(port: number, local?: string): Promise<RawFtp> {
  const c = await RawFtp.connect(port, '127.0.0.1', local);
  clients.push(c);
  return c;
}

/** The first reply on a fresh connection (220, or 421 when refused). */
function greeting(port: number, localAddress?: string): Promise<string> {
  return new Promise((resolve, reject) => {
    const s = connect({ port, host: '127.0.0.1', ...(localAddress ? { localAddress } : {}) });
    let text = '';
    s.on('data', (d: Buffer) => {
      text += d.toString();
      if (text.includes('\r\n')) {
        s.destroy();
        resolve(text.trim());
      }
    });
    s.on('error', reject);
  });
}

/** A pino logger whose lines land in `lines`. */
function capture(lines: string[]): pino.Logger {
  return pino({ level: 'info' }, new Writable({ write: (chunk: Buffer, _e, cb) => (lines.push(chunk.toString()), cb()) }));
}

const simple = (grants: Record<string, AuthGrant>) => ({ username, password }: { username: string; password: string }) =>
  password === 'right' && grants[username] ? grants[username]! : false;

const median = (xs: number[]): number => {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.floor(s.length / 2)]!;
};

describe('failed logins', () => {
  it('20 wrong passwords from one address get slower, then banned; 127.0.0.2 still logs in; the ban expires', async () => {
    const logs: string[] = [];
    const bans: unknown[] = [];
    const port = await start({
      authenticate: simple({ alice: { root: dir.path } }),
      loginGuard: { delay: 100, maxDelay: 2000, banAfter: 8, window: 60_000, banDuration: 2500 },
      logger: capture(logs),
    });
    servers[0]!.on('ban', (info) => bans.push(info));
    const times: number[] = [];
    const outcomes: string[] = [];
    for (let i = 0; i < 20; i++) {
      const first = await greeting(port);
      if (first.startsWith('421')) {
        outcomes.push('refused');
        continue;
      }
      const c = await client(port);
      await c.send('USER alice');
      const t0 = performance.now();
      const r = await c.send(`PASS wrong-${i}`);
      times.push(performance.now() - t0);
      outcomes.push(String(r.code));
      c.close();
    }
    // 7 refusals (530) with a growing delay, the 8th bans (421), the other 12 are refused at connect.
    expect(outcomes.slice(0, 7)).toEqual(Array(7).fill('530'));
    expect(outcomes[7]).toBe('421');
    expect(outcomes.slice(8)).toEqual(Array(12).fill('refused'));
    expect(times[6]! - times[0]!).toBeGreaterThan(400); // 100 ms, 200 ms, ... 700 ms
    for (let i = 1; i < 8; i++) expect(times[i]!).toBeGreaterThan(times[i - 1]! + 20); // each step adds 100 ms
    expect(await greeting(port)).toMatch(/^421 Too many failed logins from your address, try again in \d+ s$/);

    // Another address is not affected.
    const other = await client(port, '127.0.0.2');
    await other.login('alice', 'right');

    // Logged: address and user for each failure and the ban; never a password.
    const text = logs.join('');
    expect(text).toMatch(/"remote":"127\.0\.0\.1".*"user":"alice".*"msg":"login failed"/);
    expect(text).toMatch(/"remote":"127\.0\.0\.1".*"user":"alice".*"msg":"address banned after repeated failed logins"/);
    expect(text).not.toContain('wrong-');
    expect(bans).toEqual([expect.objectContaining({ remoteAddress: '127.0.0.1', username: 'alice', failures: 8 })]);

    await new Promise((r) => setTimeout(r, 2600));
    const back = await client(port);
    await back.login('alice', 'right');
  });

  it('a connection is closed after maxTries failures (vsftpd max_login_fails)', async () => {
    const port = await start({ authenticate: simple({}), loginGuard: { delay: 0, maxTries: 2, banAfter: 100 } });
    const c = await client(port);
    await c.send('USER x');
    expect((await c.send('PASS a')).code).toBe(530);
    await c.send('USER x');
    expect((await c.send('PASS b')).code).toBe(530);
    await new Promise((r) => c.socket.once('close', r));
  });

  it('unknown user and wrong password take the same time (medians, scrypt on a dummy hash)', async () => {
    const file = join(dir.path, 'timing.json');
    await addUser(file, 'alice', 'correct horse', { home: join(dir.path, 'home') });
    const store = await UserStore.open(file);
    const port = await start({ authenticate: store.authenticate, loginGuard: { delay: 0, maxTries: 1000, banAfter: 1000 } });
    const c = await client(port);
    const attempt = async (user: string): Promise<number> => {
      await c.send(`USER ${user}`);
      const t0 = performance.now();
      const r = await c.send('PASS not-the-password');
      expect(r.code).toBe(530);
      expect(r.text).toBe('Login incorrect');
      return performance.now() - t0;
    };
    await attempt('warm-up');
    const unknown: number[] = [];
    const wrong: number[] = [];
    for (let i = 0; i < 11; i++) {
      unknown.push(await attempt(`nobody${i}`));
      wrong.push(await attempt('alice'));
    }
    const [mu, mw] = [median(unknown), median(wrong)];
    // Both pay one scrypt (tens of ms); without the dummy hash an unknown user would answer in ~1 ms.
    expect(mw).toBeGreaterThan(5);
    expect(Math.abs(mu - mw)).toBeLessThan(0.4 * Math.max(mu, mw) + 3);
  });
});

describe('limits', () => {
  it('the connection over the per-address limit gets 421; other addresses are not counted', async () => {
    const port = await start({ authenticate: simple({}), maxConnectionsPerAddress: 2 });
    await client(port);
    await client(port);
    expect(await greeting(port)).toBe('421 Too many connections from your address (at most 2), try again later');
    await client(port, '127.0.0.2');
    clients[0]!.close();
    await new Promise((r) => setTimeout(r, 100));
    await client(port);
  });

  it("the session over a user's maxSessions gets 421 after login", async () => {
    const port = await start({ authenticate: simple({ alice: { root: dir.path, maxSessions: 1 } }) });
    const a = await client(port);
    await a.login('alice', 'right');
    const b = await client(port);
    await b.send('USER alice');
    expect(await b.send('PASS right')).toEqual({ code: 421, text: 'Too many sessions for this user (at most 1), try again later', lines: expect.anything() });
    a.close();
    await new Promise((r) => setTimeout(r, 100));
    const c = await client(port);
    await c.login('alice', 'right');
  });

  it('maxTransfersPerUser: a second concurrent transfer of the same user gets 450', async () => {
    await writeFile(join(dir.path, 'big.bin'), randomBytes(16 * 1024 * 1024));
    const port = await start({ authenticate: simple({ alice: { root: dir.path } }), maxTransfersPerUser: 1 });
    const a = await client(port);
    await a.login('alice', 'right');
    await a.send('TYPE I');
    const data = await a.passive();
    data.pause(); // hold the first transfer open
    expect((await a.send('RETR big.bin')).code).toBe(150);
    const b = await client(port);
    await b.login('alice', 'right');
    const second = await b.fetch('NLST');
    expect(second.final.code).toBe(450);
    expect(second.final.text).toMatch(/Too many concurrent transfers/);
    data.resume();
    data.on('data', () => {});
    expect((await a.read(30_000)).code).toBe(226);
    expect((await b.fetch('NLST')).final.code).toBe(226);
  });

  it('maxCommandsPerSecond slows a flooding client down without dropping a command', async () => {
    const port = await start({ authenticate: simple({}), maxCommandsPerSecond: 20 });
    const c = await client(port);
    const t0 = performance.now();
    c.write('NOOP\r\n'.repeat(60));
    for (let i = 0; i < 60; i++) expect((await c.read()).code).toBe(200);
    expect(performance.now() - t0).toBeGreaterThan(1500); // 20 at once, then 40 at 20/s
  });
});

describe('rate limits', () => {
  it('a download limited to 5 MB/s takes at least 3 s for 20 MB', async () => {
    const body = randomBytes(20_000_000);
    await writeFile(join(dir.path, 'twenty.bin'), body);
    const port = await start({ authenticate: simple({ alice: { root: dir.path, downloadRate: 5_000_000 } }) });
    const c = await client(port);
    await c.login('alice', 'right');
    await c.send('TYPE I');
    const t0 = performance.now();
    const r = await c.fetch('RETR twenty.bin');
    const took = performance.now() - t0;
    expect(r.final.code).toBe(226);
    expect(sha256Buffer(r.data)).toBe(sha256Buffer(body));
    expect(took).toBeGreaterThanOrEqual(3000);
    expect(took).toBeLessThan(15_000);
  });

  it("the upload rate holds across the user's concurrent transfers", async () => {
    const port = await start({ authenticate: simple({ alice: { root: join(dir.path, 'home'), permissions: 'elrw', uploadRate: 1_000_000 } }) });
    const body = randomBytes(1_000_000);
    const t0 = performance.now();
    const one = async (name: string): Promise<number> => {
      const c = await client(port);
      await c.login('alice', 'right');
      await c.send('TYPE I');
      return (await c.store(`STOR ${name}`, body)).final.code;
    };
    expect(await Promise.all([one('u1.bin'), one('u2.bin')])).toEqual([226, 226]);
    expect(performance.now() - t0).toBeGreaterThan(1500); // 2 MB at 1 MB/s in total, minus the burst
  });
});

describe('revoked users', () => {
  it('a removed or disabled user cannot log in again, and their open session ends at its next command', async () => {
    const file = join(dir.path, 'revoke.json');
    const home = join(dir.path, 'home');
    await addUser(file, 'carol', 'pw1', { home });
    await addUser(file, 'dave', 'pw2', { home });
    const store = await UserStore.open(file);
    const port = await start({ authenticate: store.authenticate, loginGuard: { delay: 0 } });
    const carol = await client(port);
    await carol.login('carol', 'pw1');
    const dave = await client(port);
    await dave.login('dave', 'pw2');
    await deleteUser(file, 'carol');
    const users = await loadUsersFile(file);
    users.users.find((u) => u.name === 'dave')!.disabled = true;
    await saveUsersFile(file, users);
    await store.reload();
    for (const c of [carol, dave]) {
      expect(await c.send('PWD')).toMatchObject({ code: 421, text: 'Your account is no longer active, closing control connection' });
      await new Promise((r) => c.socket.once('close', r));
    }
    for (const [user, pw] of [['carol', 'pw1'], ['dave', 'pw2']]) {
      const c = await client(port);
      await c.send(`USER ${user}`);
      expect((await c.send(`PASS ${pw}`)).code).toBe(530);
    }
  });
});

describe('hostile login input', () => {
  it('a 100 KB password is refused as an over-long line; a 2 KB one costs a normal 530', async () => {
    const port = await start({ authenticate: simple({ alice: { root: dir.path } }), loginGuard: { delay: 0 } });
    const c = await client(port);
    await c.send('USER alice');
    c.write(`PASS ${'p'.repeat(100_000)}\r\n`);
    expect(await c.read()).toMatchObject({ code: 500, text: 'Command line too long' });
    await c.send('USER alice');
    expect((await c.send(`PASS ${'p'.repeat(2000)}`)).code).toBe(530);
    await c.login('alice', 'right');
  });

  it('USER with NUL or CR is refused with 501; an LF ends the line there', async () => {
    const port = await start({ authenticate: simple({ alice: { root: dir.path } }), loginGuard: { delay: 0 } });
    const c = await client(port);
    expect((await c.send('USER ali\0ce')).code).toBe(501);
    expect((await c.send('USER ali\rce')).code).toBe(501);
    c.write('USER ali\nce\r\n');
    expect((await c.read()).code).toBe(331); // "USER ali"
    expect((await c.read()).code).toBe(500); // "ce"
    expect((await c.send('PASS right')).code).toBe(530);
    await c.login('alice', 'right');
  });
});
