// Zero-copy downloads (sendfile through native/sendfile.cc) seen from FTP: which path a RETR
// takes, and the faults of issue 14: a reader that stops, a file truncated or deleted mid-send,
// ABOR, close(), kill -9 of the client, 1,000 at once. Descriptors and sends back to zero.
import { spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { readdirSync, truncateSync } from 'node:fs';
import { unlink, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { zeroCopy, zeroCopyUnavailableReason } from '../../../src/data/zero-copy.js';
import type { FileServerOptions } from '../../../src/index.js';
import { RawFtp } from '../../helpers/raw-ftp.js';
import { startTestServer, type TestServer } from '../../helpers/server.js';
import { sha256Buffer } from '../../helpers/tmp.js';

const zc = zeroCopy();
// CI builds the addon (npm test's build): there it must load, unless turned off on purpose.
const required = zc !== undefined || (process.env.CI === 'true' && process.env.FTPKIT_ZERO_COPY !== '0');
const fds = (): number => readdirSync('/proc/self/fd').length;

let t: TestServer | undefined;
const clients: RawFtp[] = [];
afterEach(async () => {
  for (const c of clients.splice(0)) c.close();
  await t?.close();
  t = undefined;
});

async function setup(options: FileServerOptions = {}): Promise<TestServer> {
  t = await startTestServer(options);
  return t;
}
async function login(): Promise<RawFtp> {
  const c = await RawFtp.connect(t!.port);
  clients.push(c);
  await c.login();
  await c.send('TYPE I');
  return c;
}
async function until(check: () => boolean, ms = 10_000): Promise<void> {
  const end = Date.now() + ms;
  while (!check()) {
    if (Date.now() > end) throw new Error('condition not reached in time');
    await new Promise((r) => setTimeout(r, 10));
  }
}

describe.runIf(required)('zero-copy RETR', () => {
  it('the addon is loaded', () => {
    expect(zc, zeroCopyUnavailableReason()).toBeDefined();
  });

  it('a binary RETR goes out through sendfile, byte for byte, with the right byte count', async () => {
    await setup();
    const body = randomBytes(16 * 1024 * 1024 + 7);
    await writeFile(join(t!.root, 'big.bin'), body);
    const ends: number[] = [];
    t!.server.on('transfer-end', (e) => ends.push(e.bytes));
    const before = zc!.started();
    const c = await login();
    const r = await c.fetch('RETR big.bin');
    expect(r.final.code).toBe(226);
    expect(sha256Buffer(r.data)).toBe(sha256Buffer(body));
    expect(zc!.started()).toBe(before + 1);
    await until(() => ends.length === 1);
    expect(ends).toEqual([body.length]);
    // REST: the range from the offset
    await c.send('REST 1000000');
    const part = await c.fetch('RETR big.bin');
    expect(sha256Buffer(part.data)).toBe(sha256Buffer(body.subarray(1_000_000)));
    expect(zc!.started()).toBe(before + 2);
    expect(zc!.active()).toBe(0);
  });

  it('zeroCopy: false, TYPE A and a download rate take the JavaScript path', async () => {
    await setup({ zeroCopy: false });
    const body = randomBytes(1024 * 1024);
    await writeFile(join(t!.root, 'f.bin'), body);
    const before = zc!.started();
    const c = await login();
    expect(sha256Buffer((await c.fetch('RETR f.bin')).data)).toBe(sha256Buffer(body));
    expect(zc!.started()).toBe(before);
    await t!.close();
    t = await startTestServer();
    await writeFile(join(t.root, 'f.txt'), 'a\nb\n');
    const a = await RawFtp.connect(t.port);
    clients.push(a);
    await a.login();
    expect((await a.fetch('RETR f.txt')).data.toString()).toBe('a\r\nb\r\n');
    expect(zc!.started()).toBe(before);
  });

  it('a reader that stops: the data timeout ends the send with 426, nothing left running', async () => {
    await setup({ timeouts: { data: 600 } });
    await writeFile(join(t!.root, 'big.bin'), randomBytes(64 * 1024 * 1024));
    const base = fds();
    const c = await login();
    const data = await c.passive();
    data.pause(); // never reads: the kernel buffers fill, sendfile waits
    expect((await c.send('RETR big.bin')).code).toBe(150);
    await until(() => zc!.active() === 1);
    expect(await c.read()).toMatchObject({ code: 426, text: 'Data connection timed out; transfer aborted' });
    expect(zc!.active()).toBe(0);
    data.destroy();
    c.close();
    clients.length = 0;
    await until(() => fds() <= base, 5000);
    expect(zc!.active()).toBe(0);
  });

  it('a file truncated during the send answers 451 instead of hanging', async () => {
    await setup();
    const file = join(t!.root, 'shrinks.bin');
    await writeFile(file, randomBytes(64 * 1024 * 1024));
    const c = await login();
    const data = await c.passive();
    data.pause();
    const mark = await c.send('RETR shrinks.bin');
    expect(mark.code).toBe(150);
    await until(() => zc!.active() === 1);
    truncateSync(file, 1024);
    data.resume();
    data.on('data', () => {});
    expect((await c.read()).code).toBe(451);
    expect(zc!.active()).toBe(0);
  });

  it('a file deleted during the send still arrives whole (the open file is kept)', async () => {
    await setup();
    const body = randomBytes(32 * 1024 * 1024);
    const file = join(t!.root, 'gone.bin');
    await writeFile(file, body);
    const c = await login();
    const data = await c.passive();
    data.pause();
    const chunks: Buffer[] = [];
    const ended = new Promise((r) => data.on('end', r));
    expect((await c.send('RETR gone.bin')).code).toBe(150);
    await until(() => zc!.active() === 1);
    await unlink(file);
    data.on('data', (d: Buffer) => chunks.push(d));
    data.resume();
    await ended;
    expect((await c.read()).code).toBe(226);
    expect(sha256Buffer(Buffer.concat(chunks))).toBe(sha256Buffer(body));
  });

  it('ABOR during a zero-copy send: 426 then 226, the session goes on', async () => {
    await setup();
    await writeFile(join(t!.root, 'big.bin'), randomBytes(64 * 1024 * 1024));
    const c = await login();
    const data = await c.passive();
    data.pause();
    expect((await c.send('RETR big.bin')).code).toBe(150);
    await until(() => zc!.active() === 1);
    c.socket.write('ABOR\r\n');
    expect((await c.send('NOOP')).code).toBe(426);
    expect((await c.send('NOOP')).code).toBe(226);
    expect((await c.send('NOOP')).code).toBe(200);
    expect(zc!.active()).toBe(0);
    data.destroy();
  });

  it('close() during zero-copy sends leaves nothing running', async () => {
    await setup({ closeTimeout: 200 });
    await writeFile(join(t!.root, 'big.bin'), randomBytes(64 * 1024 * 1024));
    const base = fds();
    const sockets = [];
    for (let i = 0; i < 3; i++) {
      const c = await login();
      const data = await c.passive();
      data.pause();
      sockets.push(data);
      expect((await c.send('RETR big.bin')).code).toBe(150);
    }
    await until(() => zc!.active() === 3);
    await t!.close();
    t = undefined;
    expect(zc!.active()).toBe(0);
    for (const s of sockets) s.destroy();
    for (const c of clients.splice(0)) c.close();
    await until(() => fds() <= base, 5000);
  });

  it('kill -9 of a curl mid-download: the send ends, nothing leaks', async () => {
    await setup();
    await writeFile(join(t!.root, 'big.bin'), randomBytes(128 * 1024 * 1024));
    const base = fds();
    // --limit-rate keeps curl mid-transfer when it is killed
    const curl = spawn('curl', ['-s', '--limit-rate', '1M', '-o', '/dev/null', `ftp://alice:secret@127.0.0.1:${t!.port}/big.bin`]);
    await until(() => zc!.active() === 1);
    curl.kill('SIGKILL');
    await until(() => zc!.active() === 0);
    await until(() => fds() <= base, 5000);
  });

  it('1,000 concurrent zero-copy downloads of the same file all arrive intact', async () => {
    await setup({ maxConnectionsPerAddress: 0 });
    const body = randomBytes(200_000);
    await writeFile(join(t!.root, 'same.bin'), body);
    const expected = sha256Buffer(body);
    const before = zc!.started();
    const base = fds();
    const results: string[] = [];
    const worker = async (): Promise<void> => {
      const c = await RawFtp.connect(t!.port);
      await c.login();
      await c.send('TYPE I');
      const r = await c.fetch('RETR same.bin');
      results.push(r.final.code === 226 ? sha256Buffer(r.data) : `code ${r.final.code}`);
      c.close();
    };
    // 1,000 sessions open at once, in waves of connects so the listen backlog holds
    const running: Promise<void>[] = [];
    for (let i = 0; i < 1000; i++) {
      running.push(worker());
      if (i % 100 === 99) await new Promise((r) => setTimeout(r, 20));
    }
    await Promise.all(running);
    expect(results.filter((h) => h !== expected)).toEqual([]);
    expect(zc!.started() - before).toBe(1000);
    expect(zc!.active()).toBe(0);
    await until(() => fds() <= base + 5, 10_000);
  });
});
