// File locks between sessions: readers share, writers exclude, conflicts answer 450 at once
// (or after lockWait), and every exit releases them.
import { randomBytes } from 'node:crypto';
import type { Socket } from 'node:net';
import { mkdir, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { LockConflictInfo } from '../../../src/index.js';
import { downloadBlocks, smallUploadBlocks, uploadBlocks } from '../../../src/data/block-pool.js';
import { RawFtp } from '../../helpers/raw-ftp.js';
import { startTestServer, type TestServer } from '../../helpers/server.js';
import { expectSettled, sleep } from '../../helpers/settle.js';
import { countFds, sha256Buffer } from '../../helpers/tmp.js';

let t: TestServer;
let fds: number;
const clients: RawFtp[] = [];
/** Client-side data sockets, destroyed after each test (a paused one never sees its end). */
const sockets: Socket[] = [];

async function client(): Promise<RawFtp> {
  const c = await RawFtp.connect(t.port);
  clients.push(c);
  await c.login();
  await c.send('TYPE I');
  return c;
}

/** Starts an upload and sends `first` bytes, leaving the data connection open. */
async function startUpload(c: RawFtp, command: string, first: Buffer): Promise<{ data: Socket; finish(rest?: Buffer): Promise<number> }> {
  const data = await c.passive();
  sockets.push(data);
  const mark = await c.send(command);
  expect(mark.code).toBe(150);
  await new Promise<void>((r) => data.write(first, () => r()));
  return {
    data,
    async finish(rest) {
      data.end(rest ?? Buffer.alloc(0));
      return (await c.read(30_000)).code;
    },
  };
}

/** Starts a download without reading it: the server holds the file open, paused by backpressure. */
async function startDownload(c: RawFtp, path: string): Promise<{ data: Socket; finish(): Promise<{ code: number; body: Buffer }> }> {
  const data = await c.passive();
  sockets.push(data);
  data.pause();
  const mark = await c.send(`RETR ${path}`);
  expect(mark.code).toBe(150);
  return {
    data,
    async finish() {
      const chunks: Buffer[] = [];
      const ended = new Promise<void>((r) => data.on('close', () => r()));
      data.on('data', (chunk: Buffer) => chunks.push(chunk));
      data.resume();
      const final = await c.read(30_000);
      await ended;
      return { code: final.code, body: Buffer.concat(chunks) };
    },
  };
}

async function setup(options: Parameters<typeof startTestServer>[0] = {}): Promise<void> {
  t = await startTestServer(options);
  fds = countFds();
}

afterEach(async () => {
  for (const c of clients.splice(0)) c.close();
  for (const s of sockets.splice(0)) s.destroy();
  await expectSettled(t.server, fds);
  await t.close();
});

describe('atomic mode (default)', () => {
  beforeEach(() => setup());

  it('10 clients download while another overwrites: each gets the old or the new file, byte for byte', async () => {
    const v1 = randomBytes(8 * 1024 * 1024);
    const v2 = randomBytes(8 * 1024 * 1024);
    await writeFile(join(t.root, 'f.bin'), v1);
    const readers = await Promise.all(Array.from({ length: 10 }, () => client()));
    const writer = await client();
    // Five downloads opened before the upload; they are paused until the upload is committed.
    const early = await Promise.all(readers.slice(0, 5).map((c) => startDownload(c, 'f.bin')));
    const upload = writer.store('STOR f.bin', v2);
    // Five more run in a loop while the upload is under way.
    const loops = readers.slice(5).map(async (c) => {
      const seen: string[] = [];
      for (let i = 0; i < 4; i++) {
        const r = await c.fetch('RETR f.bin');
        expect(r.final.code).toBe(226);
        seen.push(sha256Buffer(r.data));
      }
      return seen;
    });
    expect((await upload).final.code).toBe(226);
    const earlyResults = await Promise.all(early.map((d) => d.finish()));
    const old = sha256Buffer(v1);
    const fresh = sha256Buffer(v2);
    for (const r of earlyResults) {
      expect(r.code).toBe(226);
      expect(sha256Buffer(r.body)).toBe(old); // opened before the rename: the old version whole
    }
    for (const seen of await Promise.all(loops)) for (const h of seen) expect([old, fresh]).toContain(h);
    // After the upload, everyone sees the new version.
    const after = await readers[0]!.fetch('RETR f.bin');
    expect(sha256Buffer(after.data)).toBe(fresh);
  });

  it('two simultaneous uploads to one path: one wins, the other gets 450, the file is the winner\'s', async () => {
    const a = await client();
    const b = await client();
    const conflicts: LockConflictInfo[] = [];
    t.server.on('lock-conflict', (info) => conflicts.push(info));
    const winner = randomBytes(300_000);
    const up = await startUpload(a, 'STOR same.bin', winner.subarray(0, 100_000));
    const refused = await b.store('STOR same.bin', randomBytes(1000));
    expect(refused.mark.code).toBe(450);
    expect(refused.mark.text).toBe('/same.bin: file busy');
    expect(await up.finish(winner.subarray(100_000))).toBe(226);
    expect(sha256Buffer(await readFile(join(t.root, 'same.bin')))).toBe(sha256Buffer(winner));
    expect(conflicts).toHaveLength(1);
    expect(conflicts[0]).toMatchObject({ command: 'STOR', path: '/same.bin', heldBy: [{ mode: 'exclusive', command: 'STOR' }] });
    // Now free: b may upload.
    expect((await b.store('STOR same.bin', 'b')).final.code).toBe(226);
  });

  it('DELE, RNFR, RNTO onto it, SITE CHMOD and MFMT of a file being uploaded are 450; RETR still works', async () => {
    await writeFile(join(t.root, 'up.bin'), 'old');
    await writeFile(join(t.root, 'other'), 'x');
    const a = await client();
    const b = await client();
    const up = await startUpload(a, 'STOR up.bin', randomBytes(1000));
    expect((await b.send('DELE up.bin')).code).toBe(450);
    expect((await b.send('RNFR up.bin')).code).toBe(450);
    expect((await b.send('RNFR other')).code).toBe(350);
    expect((await b.send('RNTO up.bin')).code).toBe(450);
    expect((await b.send('SITE CHMOD 600 up.bin')).code).toBe(450);
    expect((await b.send('MFMT 20200101000000 up.bin')).code).toBe(450);
    expect((await b.fetch('RETR up.bin')).data.toString()).toBe('old');
    expect(await up.finish()).toBe(226);
    expect((await b.send('DELE up.bin')).code).toBe(250);
  });

  it('renaming or removing a folder covers everything under it', async () => {
    await mkdir(join(t.root, 'd/sub'), { recursive: true });
    await writeFile(join(t.root, 'd/sub/f'), randomBytes(32 * 1024 * 1024));
    const a = await client();
    const b = await client();
    const down = await startDownload(a, 'd/sub/f');
    expect((await b.send('RNFR d')).code).toBe(450);
    expect((await b.send('RMD d/sub')).code).toBe(450);
    expect((await b.send('RNFR d/sub/f')).code).toBe(450);
    expect((await b.store('STOR d/sub/g', 'new')).final.code).toBe(226); // a sibling is free
    expect((await down.finish()).code).toBe(226);
    expect((await b.send('RNFR d')).code).toBe(350);
    expect((await b.send('RNTO e')).code).toBe(250);
  });

  it('HASH shares the file with readers and waits for no one', async () => {
    await writeFile(join(t.root, 'h'), 'abc');
    const a = await client();
    const b = await client();
    const down = await startDownload(a, 'h');
    expect((await b.send('HASH h')).code).toBe(213);
    expect((await down.finish()).code).toBe(226);
  });
});

describe('direct mode', () => {
  beforeEach(() => setup({ uploadMode: 'direct' }));

  it('readers keep writers out and writers keep readers out', async () => {
    const body = randomBytes(32 * 1024 * 1024);
    await writeFile(join(t.root, 'f'), body);
    const a = await client();
    const b = await client();
    const down = await startDownload(a, 'f');
    expect((await b.store('STOR f', 'x')).mark.code).toBe(450);
    expect((await b.store('APPE f', 'x')).mark.code).toBe(450);
    expect((await b.fetch('RETR f')).final.code).toBe(226); // readers share
    expect(sha256Buffer((await down.finish()).body)).toBe(sha256Buffer(body));
    const up = await startUpload(a, 'STOR f', Buffer.from('new'));
    expect((await b.fetch('RETR f')).mark.code).toBe(450);
    expect(await up.finish()).toBe(226);
    expect((await b.fetch('RETR f')).data.toString()).toBe('new');
  });
});

for (const uploadMode of ['atomic', 'direct'] as const) {
  describe(`a final reply comes after the lock is gone (${uploadMode} uploads)`, () => {
    beforeEach(() => setup({ uploadMode }));

    it('another session\'s RETR sent the moment STOR\'s 226 arrives reads the new file (50 rounds)', async () => {
      const a = await client();
      const b = await client();
      for (let i = 0; i < 50; i++) {
        const data = await b.passive();
        const chunks: Buffer[] = [];
        const ended = new Promise<void>((resolve) => {
          data.on('data', (c: Buffer) => chunks.push(c));
          data.on('close', () => resolve());
        });
        const stored = await a.store('STOR f', `version ${i}`).then((r) => {
          b.write('RETR f\r\n'); // at once, in the same turn as the 226
          return r;
        });
        expect(stored.final.code).toBe(226);
        const mark = await b.read();
        if (mark.code !== 150) data.destroy();
        expect(`${mark.code} ${mark.text}`).toMatch(/^150 /);
        expect((await b.read(30_000)).code).toBe(226);
        await ended;
        expect(Buffer.concat(chunks).toString()).toBe(`version ${i}`);
      }
    });
  });
}

describe('lockWait', () => {
  beforeEach(() => setup({ lockWait: 5000 }));

  it('waits for the holder instead of answering 450', async () => {
    const a = await client();
    const b = await client();
    const up = await startUpload(a, 'STOR w', Buffer.from('first'));
    const second = b.store('STOR w', 'second');
    await sleep(100);
    expect(await up.finish()).toBe(226);
    expect((await second).final.code).toBe(226);
    expect(await readFile(join(t.root, 'w'), 'utf8')).toBe('second');
  });

  it('crossed renames (a->b while b->a) never deadlock', async () => {
    await writeFile(join(t.root, 'a'), 'A');
    await writeFile(join(t.root, 'b'), 'B');
    const [x, y] = [await client(), await client()];
    for (let i = 0; i < 20; i++) {
      const rename = async (c: RawFtp, from: string, to: string): Promise<number> => {
        const r = await c.send(`RNFR ${from}`);
        if (r.code !== 350) return r.code;
        return (await c.send(`RNTO ${to}`)).code;
      };
      const codes = await Promise.all([rename(x, 'a', 'b'), rename(y, 'b', 'a')]);
      for (const code of codes) expect([250, 550]).toContain(code);
      await writeFile(join(t.root, 'a'), 'A');
      await writeFile(join(t.root, 'b'), 'B');
    }
  });

  it('a waiting client that disconnects gives up its place', async () => {
    const a = await client();
    const b = await client();
    const up = await startUpload(a, 'STOR v', Buffer.from('x'));
    b.write('STOR v\r\n');
    await sleep(50);
    b.close();
    await sleep(50);
    expect(await up.finish()).toBe(226);
  });
});

describe('locks and download buffers are released on every exit', () => {
  beforeEach(() => setup({ timeouts: { data: 300 } }));

  it('error, ABOR, a vanished client, a data timeout', async () => {
    await writeFile(join(t.root, 'f'), randomBytes(32 * 1024 * 1024));
    const a = await client();
    // error: RETR of a missing file, STOR into a missing folder
    expect((await a.fetch('RETR missing')).mark.code).toBe(550);
    expect((await a.store('STOR nodir/x', 'x')).mark.code).toBe(553);
    // ABOR mid-download
    const down = await startDownload(a, 'f');
    a.write('ABOR\r\n');
    expect((await a.read()).code).toBe(426);
    expect((await a.read()).code).toBe(226);
    down.data.destroy();
    expect(await t.server.locks.held()).toEqual([]);
    expect(downloadBlocks.lent).toBe(0);
    // data timeout: a download the client stopped reading
    await startDownload(a, 'f');
    expect((await a.read(5000)).code).toBe(426);
    expect(await t.server.locks.held()).toEqual([]);
    expect(downloadBlocks.lent).toBe(0);
    // data timeout: a stalled upload
    const up = await startUpload(a, 'STOR stalled', Buffer.from('x'));
    expect((await a.read(5000)).code).toBe(426);
    up.data.destroy();
    expect(await t.server.locks.held()).toEqual([]);
    expect(uploadBlocks.lent).toBe(0);
    expect(smallUploadBlocks.lent).toBe(0);
    // vanished client mid-download
    const b = await client();
    await startDownload(b, 'f');
    expect((await t.server.locks.held()).length).toBe(1);
    b.close();
    await expectSettled(t.server, countFds() + 100); // locks only
    expect(await t.server.locks.held()).toEqual([]);
    expect(downloadBlocks.lent).toBe(0);
  });

  it('server close ends transfers and releases their locks', async () => {
    await writeFile(join(t.root, 'f'), randomBytes(32 * 1024 * 1024));
    const a = await client();
    const b = await client();
    await startDownload(a, 'f');
    await startUpload(b, 'STOR g', Buffer.from('partial'));
    expect((await t.server.locks.held()).length).toBe(3);
    await t.server.close();
    expect(await t.server.locks.held()).toEqual([]);
    expect(downloadBlocks.lent).toBe(0);
    expect(uploadBlocks.lent).toBe(0);
    expect(smallUploadBlocks.lent).toBe(0);
    expect(await readFile(join(t.root, 'f'))).toHaveLength(32 * 1024 * 1024);
  });
});
