import { randomBytes } from 'node:crypto';
import { createServer, type Socket } from 'node:net';
import { readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it, onTestFinished } from 'vitest';
import { encodeHostPort, formatEprtArg } from '../../../src/protocol/index.js';
import { RawFtp } from '../../helpers/raw-ftp.js';
import { startTestServer, type TestServer } from '../../helpers/server.js';
import { randomFile, sha256Buffer, sha256File } from '../../helpers/tmp.js';
import { smallUploadBlocks, uploadBlocks } from '../../../src/data/block-pool.js';

async function waitUntil(check: () => boolean, ms = 5000): Promise<void> {
  for (const end = Date.now() + ms; !check(); ) {
    if (Date.now() > end) throw new Error('condition not met in time');
    await new Promise((r) => setTimeout(r, 5));
  }
}

let t: TestServer;
let ftp: RawFtp;

beforeAll(async () => {
  t = await startTestServer();
});
afterAll(async () => {
  await t.close();
});
beforeEach(async () => {
  ftp = await RawFtp.connect(t.port);
  await ftp.login();
  await ftp.send('TYPE I');
});
afterEach(() => ftp.close());

/**
 * The JavaScript upload path (what runs without the zero-copy addon): this test's session on a
 * server with zeroCopy: false, closed after the test.
 */
async function jsPath(): Promise<string> {
  const js = await startTestServer({ zeroCopy: false });
  onTestFinished(() => js.close());
  ftp.close();
  ftp = await RawFtp.connect(js.port);
  await ftp.login();
  await ftp.send('TYPE I');
  return js.root;
}

/** Listens for one active-mode data connection; resolves the bytes it received. */
async function activeListener(): Promise<{ port: number; received: Promise<Buffer>; socket: Promise<Socket> }> {
  const server = createServer();
  let resolveSocket!: (s: Socket) => void;
  const socket = new Promise<Socket>((r) => (resolveSocket = r));
  const received = new Promise<Buffer>((resolve) => {
    server.once('connection', (s) => {
      server.close();
      resolveSocket(s);
      const chunks: Buffer[] = [];
      s.on('data', (c: Buffer) => chunks.push(c));
      s.on('end', () => resolve(Buffer.concat(chunks)));
    });
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const port = (server.address() as { port: number }).port;
  return { port, received, socket };
}

describe('binary transfers', () => {
  it('STOR then RETR of 20 MB is byte-exact', async () => {
    const body = randomBytes(20 * 1024 * 1024);
    const up = await ftp.store('STOR big.bin', body);
    expect(up.final.code).toBe(226);
    expect(await sha256File(join(t.root, 'big.bin'))).toBe(sha256Buffer(body));
    const down = await ftp.fetch('RETR big.bin');
    expect(down.mark.text).toContain(`(${body.length} bytes)`);
    expect(down.final.code).toBe(226);
    expect(sha256Buffer(down.data)).toBe(sha256Buffer(body));
  });

  it('a binary STOR reads into pooled blocks and returns them; an ASCII one does not', async () => {
    const root = await jsPath();
    const body = randomBytes(16 * 1024 * 1024);
    const data = await ftp.passive();
    expect((await ftp.send('STOR pooled.bin')).code).toBe(150);
    data.write(body.subarray(0, 8 * 1024 * 1024));
    await waitUntil(() => uploadBlocks.lent === 8);
    data.end(body.subarray(8 * 1024 * 1024));
    expect((await ftp.read()).code).toBe(226);
    expect(uploadBlocks.lent).toBe(0);
    expect(await sha256File(join(root, 'pooled.bin'))).toBe(sha256Buffer(body));
    await ftp.send('TYPE A');
    const ascii = await ftp.passive();
    expect((await ftp.send('STOR text.txt')).code).toBe(150);
    ascii.write('line\r\n'.repeat(100_000));
    await new Promise((r) => setTimeout(r, 50));
    expect(uploadBlocks.lent).toBe(0);
    ascii.end();
    expect((await ftp.read()).code).toBe(226);
    expect(await readFile(join(root, 'text.txt'), 'utf8')).toBe('line\n'.repeat(100_000));
  });

  it('beyond the large blocks a STOR reads into two small pooled ones; with none left it streams', async () => {
    const root = await jsPath();
    // Stand in for eight uploads holding every large block.
    const large = uploadBlocks.borrow(64)!;
    try {
      const body = randomBytes(4 * 1024 * 1024 + 12345);
      const data = await ftp.passive();
      expect((await ftp.send('STOR small-pool.bin')).code).toBe(150);
      data.write(body.subarray(0, 1024 * 1024));
      await waitUntil(() => smallUploadBlocks.lent === 2);
      expect(uploadBlocks.lent).toBe(64);
      data.end(body.subarray(1024 * 1024));
      expect((await ftp.read()).code).toBe(226);
      expect(smallUploadBlocks.lent).toBe(0);
      expect(await sha256File(join(root, 'small-pool.bin'))).toBe(sha256Buffer(body));

      // Every small block lent too (untouched memory, never written): the upload streams.
      const small = smallUploadBlocks.borrow(2048)!;
      try {
        const up = await ftp.store('STOR streamed.bin', body);
        expect(up.final.code).toBe(226);
        expect(smallUploadBlocks.lent).toBe(2048);
        expect(await sha256File(join(root, 'streamed.bin'))).toBe(sha256Buffer(body));
      } finally {
        smallUploadBlocks.giveBack(small.length, []);
      }
    } finally {
      uploadBlocks.giveBack(large.length, []);
    }
    expect(uploadBlocks.lent).toBe(0);
    expect(smallUploadBlocks.lent).toBe(0);
  });

  it('REST + RETR resumes a download; REST + STOR resumes an upload', async () => {
    const body = randomBytes(100_000);
    await writeFile(join(t.root, 'r.bin'), body);
    expect((await ftp.send('REST 40000')).code).toBe(350);
    const down = await ftp.fetch('RETR r.bin');
    expect(down.final.code).toBe(226);
    expect(down.data.equals(body.subarray(40000))).toBe(true);
    // the offset applies once
    expect((await ftp.fetch('RETR r.bin')).data.length).toBe(body.length);

    await writeFile(join(t.root, 'u.bin'), body.subarray(0, 30000));
    expect((await ftp.send('REST 30000')).code).toBe(350);
    expect((await ftp.store('STOR u.bin', body.subarray(30000))).final.code).toBe(226);
    expect((await readFile(join(t.root, 'u.bin'))).equals(body)).toBe(true);
  });

  it('APPE appends; STOU picks a unique name', async () => {
    await writeFile(join(t.root, 'a.txt'), 'one,');
    expect((await ftp.store('APPE a.txt', 'two')).final.code).toBe(226);
    expect(await readFile(join(t.root, 'a.txt'), 'utf8')).toBe('one,two');
    const stou = await ftp.store('STOU a.txt', 'unique');
    expect(stou.mark.code).toBe(150);
    const name = /^FILE: (.+)$/.exec(stou.mark.text)![1]!;
    expect(name).not.toBe('a.txt');
    expect(stou.final.text).toContain(name);
    expect(await readFile(join(t.root, name), 'utf8')).toBe('unique');
    expect(await readFile(join(t.root, 'a.txt'), 'utf8')).toBe('one,two');
  });

  it('PASV, PORT and EPRT carry data too', async () => {
    const body = randomBytes(300_000);
    await writeFile(join(t.root, 'm.bin'), body);
    const pasv = await ftp.send('PASV');
    expect(pasv.code).toBe(227);
    expect(pasv.text).toMatch(/^Entering Passive Mode \(127,0,0,1,\d+,\d+\)\.$/);

    for (const make of [(p: number) => `PORT ${encodeHostPort('127.0.0.1', p)}`, (p: number) => `EPRT ${formatEprtArg('127.0.0.1', p)}`]) {
      const l = await activeListener();
      expect((await ftp.send(make(l.port))).code).toBe(200);
      expect((await ftp.send('RETR m.bin')).code).toBe(150);
      expect((await ftp.read()).code).toBe(226);
      expect(sha256Buffer(await l.received)).toBe(sha256Buffer(body));
    }
    const l = await activeListener();
    await ftp.send(`PORT ${encodeHostPort('127.0.0.1', l.port)}`);
    expect((await ftp.send('STOR act.bin')).code).toBe(150);
    (await l.socket).end(body);
    expect((await ftp.read()).code).toBe(226);
    expect(await sha256File(join(t.root, 'act.bin'))).toBe(sha256Buffer(body));
  });

  it('a file of any size streams: 300 MB sparse file with REST past 4 GiB offsets in SIZE', async () => {
    const { open } = await import('node:fs/promises');
    const fh = await open(join(t.root, 'huge.bin'), 'w');
    await fh.truncate(5 * 1024 ** 3 + 7); // sparse: no disk used
    await fh.close();
    expect((await ftp.send('SIZE huge.bin')).text).toBe(String(5 * 1024 ** 3 + 7));
    expect((await ftp.send(`REST ${5 * 1024 ** 3}`)).code).toBe(350);
    const r = await ftp.fetch('RETR huge.bin');
    expect(r.final.code).toBe(226);
    expect(r.data.length).toBe(7);
  });
});

describe('TYPE A', () => {
  it('converts LF to CRLF on RETR and CRLF to LF on STOR', async () => {
    await ftp.send('TYPE A');
    await writeFile(join(t.root, 't.txt'), 'a\nb\n\nc');
    const down = await ftp.fetch('RETR t.txt');
    expect(down.data.toString()).toBe('a\r\nb\r\n\r\nc');
    const up = await ftp.store('STOR t2.txt', 'x\r\ny\r\n');
    expect(up.final.code).toBe(226);
    expect(await readFile(join(t.root, 't2.txt'), 'utf8')).toBe('x\ny\n');
  });

  it('TYPE I is byte-exact for CR and LF bytes', async () => {
    const body = Buffer.from('a\r\nb\rc\n');
    expect((await ftp.store('STOR b.bin', body)).final.code).toBe(226);
    expect((await ftp.fetch('RETR b.bin')).data.equals(body)).toBe(true);
  });
});

describe('during a transfer', () => {
  it('STAT shows progress, NOOP answers, ABOR gives 426 then 226', async () => {
    await randomFile(join(t.root, 'slow.bin'), 64 * 1024 * 1024);
    const data = await ftp.passive();
    data.pause(); // the client reads nothing: the server blocks on backpressure
    expect((await ftp.send('RETR slow.bin')).code).toBe(150);
    await new Promise((r) => setTimeout(r, 200));
    const stat = await ftp.send('STAT');
    expect(stat.code).toBe(213);
    expect(stat.text).toMatch(/^Status: RETR \/slow\.bin, \d+ of \d+ bytes transferred \(\d+%\), [\d.]+ (B|KiB|MiB|GiB)\/s$/);
    expect((await ftp.send('NOOP')).code).toBe(200);
    // Telnet IP + Synch precede ABOR, as clients send them
    ftp.write(Buffer.from([0xff, 0xf4, 0xff, 0xf2]));
    ftp.write('ABOR\r\n');
    expect((await ftp.read()).code).toBe(426);
    expect((await ftp.read()).code).toBe(226);
    data.destroy();
    expect((await ftp.send('PWD')).code).toBe(257);
  });

  it('ABOR with no transfer is 225', async () => {
    expect((await ftp.send('ABOR')).code).toBe(225);
  });

  it('pipelined commands are answered in order', async () => {
    ftp.write('NOOP\r\nPWD\r\nSYST\r\n');
    expect((await ftp.read()).code).toBe(200);
    expect((await ftp.read()).code).toBe(257);
    expect((await ftp.read()).code).toBe(215);
  });

  it('a command split across packets is read whole', async () => {
    ftp.write('PW');
    await new Promise((r) => setTimeout(r, 50));
    ftp.write('D\r');
    await new Promise((r) => setTimeout(r, 50));
    ftp.write('\n');
    expect((await ftp.read()).code).toBe(257);
  });
});
