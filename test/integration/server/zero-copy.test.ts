// The zero-copy addon (native/zero-copy.cc) seen from FTP: which path a RETR (sendfile) and a
// STOR (the addon's receiving thread) take, and the faults of issue 14: a peer that stops, a
// file truncated or deleted mid-send, ABOR, close(), kill -9 of the client, many at once.
// Descriptors, jobs and pool blocks back to zero.
import { spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { readdirSync, truncateSync } from 'node:fs';
import { readFile, readdir, stat, unlink, writeFile } from 'node:fs/promises';
import type { Socket } from 'node:net';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { smallUploadBlocks, uploadBlocks } from '../../../src/data/block-pool.js';
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

/** ABOR of the one running transfer: 426 for it, 226 for the ABOR, the session goes on, no job left. */
async function abortRunning(c: RawFtp): Promise<void> {
  c.socket.write('ABOR\r\n');
  expect((await c.send('NOOP')).code).toBe(426);
  expect((await c.send('NOOP')).code).toBe(226);
  expect((await c.send('NOOP')).code).toBe(200);
  expect(zc!.active()).toBe(0);
}

/**
 * Starts three transfers (`start` on a logged-in session and its passive data socket), closes
 * the server while the addon runs them all, and checks nothing is left: no job, no descriptor
 * beyond `base`.
 */
async function closeDuringThree(base: number, start: (c: RawFtp, data: Socket, i: number) => Promise<void>): Promise<void> {
  const sockets: Socket[] = [];
  for (let i = 0; i < 3; i++) {
    const c = await login();
    const data = await c.passive();
    sockets.push(data);
    await start(c, data, i);
  }
  await until(() => zc!.active() === 3);
  await t!.close();
  t = undefined;
  expect(zc!.active()).toBe(0);
  for (const s of sockets) s.destroy();
  for (const c of clients.splice(0)) c.close();
  await until(() => fds() <= base, 5000);
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
    await abortRunning(c);
    data.destroy();
  });

  it('close() during zero-copy sends leaves nothing running', async () => {
    await setup({ closeTimeout: 200 });
    await writeFile(join(t!.root, 'big.bin'), randomBytes(64 * 1024 * 1024));
    const base = fds();
    await closeDuringThree(base, async (c, data) => {
      data.pause();
      expect((await c.send('RETR big.bin')).code).toBe(150);
    });
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

describe.runIf(required)('zero-copy STOR (the addon reads the data socket)', () => {
  const written = (sock: { write(b: Buffer, cb: () => void): unknown }, b: Buffer): Promise<void> => new Promise((r) => void sock.write(b, () => r()));

  it('STOR, REST + STOR and APPE are written by the addon, byte for byte, with the right byte counts', async () => {
    await setup();
    const ends: { command: string; bytes: number }[] = [];
    t!.server.on('transfer-end', (e) => ends.push({ command: e.command, bytes: e.bytes }));
    const body = randomBytes(16 * 1024 * 1024 + 7);
    const before = zc!.receivesStarted();
    const c = await login();
    expect((await c.store('STOR up.bin', body)).final.code).toBe(226);
    expect(sha256Buffer(await readFile(join(t!.root, 'up.bin')))).toBe(sha256Buffer(body));
    // A resume from 1,000,000 (over a shorter partial upload) and an append.
    await c.send('REST 1000000');
    expect((await c.store('STOR up.bin', body.subarray(1_000_000))).final.code).toBe(226);
    expect(sha256Buffer(await readFile(join(t!.root, 'up.bin')))).toBe(sha256Buffer(body));
    const tail = randomBytes(300_001);
    expect((await c.store('APPE up.bin', tail)).final.code).toBe(226);
    expect(sha256Buffer(await readFile(join(t!.root, 'up.bin')))).toBe(sha256Buffer(Buffer.concat([body, tail])));
    expect(zc!.receivesStarted()).toBe(before + 3);
    await until(() => ends.length === 3);
    expect(ends).toEqual([
      { command: 'STOR', bytes: body.length },
      { command: 'STOR', bytes: body.length - 1_000_000 },
      { command: 'APPE', bytes: tail.length },
    ]);
    expect(zc!.active()).toBe(0);
    expect(uploadBlocks.lent + smallUploadBlocks.lent).toBe(0);
  });

  it('zeroCopy: false, TYPE A, MODE Z and an upload rate take the JavaScript path', async () => {
    const before = zc!.receivesStarted();
    const body = randomBytes(1024 * 1024);
    await setup({ zeroCopy: false });
    const c = await login();
    expect((await c.store('STOR off.bin', body)).final.code).toBe(226);
    expect(sha256Buffer(await readFile(join(t!.root, 'off.bin')))).toBe(sha256Buffer(body));
    await t!.close();
    await setup({
      authenticate: ({ username }) => (username === 'alice' ? { root: t!.root, write: true } : { root: t!.root, write: true, uploadRate: 50_000_000 }),
    });
    const a = await login();
    await a.send('TYPE A');
    expect((await a.store('STOR a.txt', 'a\r\nb\r\n')).final.code).toBe(226);
    expect(await readFile(join(t!.root, 'a.txt'), 'utf8')).toBe('a\nb\n');
    const paced = await RawFtp.connect(t!.port);
    clients.push(paced);
    await paced.login('carol', 'secret');
    await paced.send('TYPE I');
    expect((await paced.store('STOR paced.bin', body)).final.code).toBe(226);
    expect(sha256Buffer(await readFile(join(t!.root, 'paced.bin')))).toBe(sha256Buffer(body));
    expect(zc!.receivesStarted()).toBe(before);
  });

  it('a sender that stops: the data timeout ends the receive with 426, nothing left running, what came is kept', async () => {
    await setup({ timeouts: { data: 600 } });
    const base = fds();
    const c = await login();
    const data = await c.passive();
    expect((await c.send('STOR slow.bin')).code).toBe(150);
    await written(data, randomBytes(1024 * 1024));
    await until(() => zc!.active() === 1);
    // Nothing more is sent, and the connection stays open.
    expect(await c.read()).toMatchObject({ code: 426, text: 'Data connection timed out; transfer aborted' });
    expect(zc!.active()).toBe(0);
    const temporaries = (await readdir(t!.root)).filter((n) => n.startsWith('.ftpkit-upload-'));
    expect(temporaries).toEqual(['.ftpkit-upload-slow.bin']);
    expect((await stat(join(t!.root, temporaries[0]!))).size).toBe(1024 * 1024);
    data.destroy();
    c.close();
    clients.length = 0;
    await until(() => fds() <= base, 5000);
  });

  it('ABOR during a zero-copy receive: 426 then 226, the session goes on, the previous file stays', async () => {
    await setup();
    await writeFile(join(t!.root, 'keep.bin'), 'previous');
    const c = await login();
    const data = await c.passive();
    expect((await c.send('STOR keep.bin')).code).toBe(150);
    await written(data, randomBytes(2 * 1024 * 1024));
    await until(() => zc!.active() === 1);
    await abortRunning(c);
    expect(await readFile(join(t!.root, 'keep.bin'), 'utf8')).toBe('previous');
    data.destroy();
  });

  it('close() during zero-copy receives leaves nothing running', async () => {
    await setup({ closeTimeout: 200 });
    const base = fds();
    await closeDuringThree(base, async (c, data, i) => {
      expect((await c.send(`STOR open-${i}.bin`)).code).toBe(150);
      await written(data, randomBytes(64 * 1024));
    });
  });

  it('kill -9 of a curl mid-upload: the previous file stays, the receive ends, nothing leaks', async () => {
    await setup();
    await writeFile(join(t!.root, 'k.bin'), 'previous');
    const base = fds();
    const before = zc!.receivesStarted();
    // --limit-rate keeps curl mid-transfer when it is killed; it reads the upload from a pipe
    const curl = spawn('curl', ['-s', '--limit-rate', '1M', '-T', '-', `ftp://alice:secret@127.0.0.1:${t!.port}/k.bin`], { stdio: ['pipe', 'ignore', 'ignore'] });
    curl.stdin.on('error', () => {});
    curl.stdin.write(randomBytes(8 * 1024 * 1024));
    await until(() => zc!.active() === 1);
    await new Promise((r) => setTimeout(r, 200));
    curl.kill('SIGKILL');
    await until(() => zc!.active() === 0);
    expect(zc!.receivesStarted()).toBe(before + 1);
    await until(() => fds() <= base, 5000);
    expect(await readFile(join(t!.root, 'k.bin'), 'utf8')).toBe('previous');
  });

  it('300 concurrent zero-copy uploads all arrive intact', async () => {
    await setup({ maxConnectionsPerAddress: 0 });
    const before = zc!.receivesStarted();
    const base = fds();
    const bodies = Array.from({ length: 300 }, () => randomBytes(200_000 + Math.floor(Math.random() * 1000)));
    const codes: number[] = [];
    await Promise.all(
      bodies.map(async (body, i) => {
        const c = await RawFtp.connect(t!.port);
        await c.login();
        await c.send('TYPE I');
        codes.push((await c.store(`STOR u-${i}.bin`, body)).final.code);
        c.close();
      }),
    );
    expect(codes.filter((code) => code !== 226)).toEqual([]);
    for (const [i, body] of bodies.entries()) expect(sha256Buffer(await readFile(join(t!.root, `u-${i}.bin`))), `u-${i}.bin`).toBe(sha256Buffer(body));
    expect(zc!.receivesStarted() - before).toBe(300);
    expect(zc!.active()).toBe(0);
    await until(() => fds() <= base + 5, 10_000);
  });
});
