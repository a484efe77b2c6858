// Uploads from a local path: binary from a regular file goes through the data layer's sender
// (src/data/send-blocks.ts: sendfile when the addon is there, else two reused blocks), ASCII
// and pipes stream. Checked by the bytes the server got,
// the commands it saw and the descriptors left open.
import { spawn } from 'node:child_process';
import type { Socket } from 'node:net';
import { randomBytes } from 'node:crypto';
import { createWriteStream } from 'node:fs';
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { Readable } from 'node:stream';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { TransferProgress } from '../../../src/index.js';
import { countFds, makeTempDir, sha256Buffer, type TempDir } from '../../helpers/tmp.js';
import { PYTHON } from '../../helpers/tools.js';
import { fakeServerHarness, startSending, type FakeSession } from './fake-server.js';
import { zeroCopy } from '../../../src/data/zero-copy.js';

const start = fakeServerHarness();
let tmp: TempDir;
beforeAll(async () => {
  tmp = await makeTempDir('ftpkit-upfile-');
});
afterAll(() => tmp.cleanup());

/** STOR/APPE that keep what arrived; `received` resolves each upload's bytes. */
function collect() {
  const uploads: Buffer[] = [];
  const store = async (_a: string, s: FakeSession): Promise<void> => {
    const data = await startSending(s, 'send it');
    const chunks: Buffer[] = [];
    data.on('data', (c: Buffer) => chunks.push(c));
    data.once('end', () => {
      uploads.push(Buffer.concat(chunks));
      s.transferring = false;
      s.reply(226, 'stored');
    });
  };
  return { uploads, handlers: { STOR: store, APPE: store, REST: (_a: string, s: FakeSession) => s.reply(350, 'restarting') } };
}

async function localFile(name: string, body: Buffer): Promise<string> {
  const path = join(tmp.path, name);
  await writeFile(path, body);
  return path;
}

describe('upload from a path', () => {
  it('sends a multi-block file byte for byte, with progress up to its size', async () => {
    const body = randomBytes(5 * 1024 * 1024 + 123);
    const { uploads, handlers } = collect();
    const { client } = await start({ handlers }, { progressInterval: 0 });
    await client.connect();
    const events: TransferProgress[] = [];
    client.on('progress', (p) => events.push(p));
    const before = countFds();
    const r = await client.upload(await localFile('big.bin', body), '/big.bin');
    expect(r.bytes).toBe(body.length);
    expect(r.reply.code).toBe(226);
    expect(sha256Buffer(uploads[0]!)).toBe(sha256Buffer(body));
    expect(events.at(-1)).toMatchObject({ direction: 'upload', bytes: body.length, total: body.length, done: true });
    expect(countFds()).toBeLessThanOrEqual(before);
  });

  // CI builds the addon: there a plain upload from a regular file must take the zero-copy path.
  it.skipIf(zeroCopy() === undefined && process.env.CI !== 'true')('sends a regular file with sendfile (zero-copy), counting progress to the last byte', async () => {
    const zc = zeroCopy();
    expect(zc).toBeDefined();
    const body = randomBytes(3 * 1024 * 1024 + 7);
    const { uploads, handlers } = collect();
    const { client } = await start({ handlers }, { progressInterval: 0 });
    await client.connect();
    const events: TransferProgress[] = [];
    client.on('progress', (p) => events.push(p));
    const started = zc!.started();
    const r = await client.upload(await localFile('zc.bin', body), '/zc.bin');
    expect(zc!.started()).toBe(started + 1);
    expect(zc!.active()).toBe(0);
    expect(r.bytes).toBe(body.length);
    expect(sha256Buffer(uploads[0]!)).toBe(sha256Buffer(body));
    expect(events.at(-1)).toMatchObject({ bytes: body.length, done: true });
  });

  it('sends an empty file and a one-byte file', async () => {
    const { uploads, handlers } = collect();
    const { client } = await start({ handlers });
    await client.connect();
    expect((await client.upload(await localFile('empty', Buffer.alloc(0)), '/empty')).bytes).toBe(0);
    expect((await client.upload(await localFile('one', Buffer.from('x')), '/one')).bytes).toBe(1);
    expect(uploads.map((u) => u.toString())).toEqual(['', 'x']);
  });

  it('resumes from startAt with REST, and appends from localStart with APPE', async () => {
    const body = randomBytes(3 * 1024 * 1024 + 11);
    const { uploads, handlers } = collect();
    const { client, server } = await start({ handlers });
    await client.connect();
    const path = await localFile('resume.bin', body);
    const r = await client.upload(path, '/r.bin', { startAt: 2_500_000 });
    expect(server.commands).toContain('REST 2500000');
    expect(r.bytes).toBe(body.length - 2_500_000);
    expect(sha256Buffer(uploads[0]!)).toBe(sha256Buffer(body.subarray(2_500_000)));
    await client.append(path, '/r.bin', { localStart: 1000 });
    expect(server.commands).toContain('APPE /r.bin');
    expect(sha256Buffer(uploads[1]!)).toBe(sha256Buffer(body.subarray(1000)));
  });

  it('streams ASCII (LF becomes CRLF) and a pipe, which has no size', async () => {
    const { uploads, handlers } = collect();
    const { client } = await start({ handlers });
    await client.connect();
    await client.upload(await localFile('text.txt', Buffer.from('a\nb\n')), '/t.txt', { ascii: true });
    expect(uploads[0]!.toString()).toBe('a\r\nb\r\n');

    const body = randomBytes(3 * 1024 * 1024);
    const fifo = join(tmp.path, 'fifo');
    await new Promise<void>((resolve, reject) => {
      spawn('mkfifo', [fifo]).on('exit', (code) => (code === 0 ? resolve() : reject(new Error(`mkfifo exited ${code}`))));
    });
    const writer = createWriteStream(fifo);
    writer.end(body);
    const r = await client.upload(fifo, '/p.bin');
    expect(r.bytes).toBe(body.length);
    expect(sha256Buffer(uploads[1]!)).toBe(sha256Buffer(body));
  });

  it('refuses a missing local file before sending STOR', async () => {
    const { client, server } = await start({ handlers: collect().handlers });
    await client.connect();
    const missing = join(tmp.path, 'missing.bin');
    await expect(client.upload(missing, '/m')).rejects.toMatchObject({
      name: 'FtpError', code: 'FTPKIT_ERR_LOCAL_FILE',
      message: `cannot open local file ${missing}: no such file or directory (ENOENT)`,
      cause: expect.objectContaining({ code: 'ENOENT', path: missing }),
    });
    await expect(client.upload({ from: tmp.path, to: '/d' })).rejects.toMatchObject({
      code: 'FTPKIT_ERR_LOCAL_FILE', message: `cannot read local file ${tmp.path}: is a folder (EISDIR)`,
    });
    expect(server.commands.some((c) => c.startsWith('STOR'))).toBe(false);
    expect(await client.pwd()).toBe('/');
  });

  it('rejects with the 426 when the server cuts the connection, closes the file and stays usable', async () => {
    const { client } = await start({
      handlers: {
        STOR: async (_a, s) => {
          const data = await startSending(s);
          let got = 0;
          data.on('data', (c: Buffer) => {
            got += c.length;
            if (got < 1024 * 1024 || data.destroyed) return;
            data.destroy();
            s.transferring = false;
            s.reply(426, 'Connection closed; transfer aborted');
          });
        },
      },
    });
    await client.connect();
    const path = await localFile('cut.bin', randomBytes(16 * 1024 * 1024));
    const before = countFds();
    await expect(client.upload(path, '/cut.bin')).rejects.toMatchObject({ code: 'FTPKIT_ERR_REPLY', replyCode: 426 });
    expect(await client.pwd()).toBe('/');
    expect(countFds()).toBeLessThanOrEqual(before);
  });

  it('aborts an upload the server stopped reading, closes the file and stays usable', async () => {
    let stalled: Socket | undefined;
    const { client, server } = await start({
      handlers: {
        STOR: async (_a, s) => {
          stalled = await startSending(s);
          stalled.pause(); // and never reads
        },
        // A paused socket would never see the client's close: drop it on ABOR like a real server.
        ABOR: (_a, s) => {
          stalled?.destroy();
          s.reply(426, 'aborted');
          s.reply(226, 'ABOR ok');
        },
      },
    }, { dataTimeout: 5000 });
    await client.connect();
    const path = await localFile('stall.bin', randomBytes(64 * 1024 * 1024));
    const before = countFds();
    for (let i = 0; i < 2; i++) {
      const ac = new AbortController();
      setTimeout(() => ac.abort(), 100);
      await expect(client.upload(path, '/stall.bin', { signal: ac.signal })).rejects.toMatchObject({ code: 'FTPKIT_ERR_ABORTED' });
      expect(await client.pwd()).toBe('/');
    }
    expect(server.commands.filter((c) => c === 'ABOR')).toHaveLength(2);
    await new Promise((r) => setTimeout(r, 100));
    expect(countFds()).toBeLessThanOrEqual(before);
  });
});

describe('upload from memory and streams', () => {
  it('sends a Buffer or Uint8Array as the file content (it used to crash the process)', async () => {
    const { uploads, handlers } = collect();
    const { client, server } = await start({ handlers });
    await client.connect();
    await expect(client.upload(Buffer.from('hi'), '/x')).resolves.toMatchObject({ bytes: 2, reply: { code: 226 } });
    const body = randomBytes(300_000);
    const r = await client.upload({ from: new Uint8Array(body.buffer, body.byteOffset, body.length), to: '/u8.bin' });
    expect(r.bytes).toBe(body.length);
    // startAt resumes a Buffer too: REST, then the bytes from there
    await client.upload(body, '/u8.bin', { startAt: 100_000 });
    await client.append({ from: Buffer.from('tail'), to: '/u8.bin', localStart: 2 });
    await client.upload(Buffer.from('a\nb\n'), '/t.txt', { ascii: true });
    expect(uploads.map((u) => sha256Buffer(u))).toEqual([
      sha256Buffer(Buffer.from('hi')), sha256Buffer(body), sha256Buffer(body.subarray(100_000)), sha256Buffer(Buffer.from('il')), sha256Buffer(Buffer.from('a\r\nb\r\n')),
    ]);
    expect(server.commands.filter((c) => /^(STOR|APPE|REST)/.test(c))).toEqual(['STOR /x', 'STOR /u8.bin', 'REST 100000', 'STOR /u8.bin', 'APPE /u8.bin', 'STOR /t.txt']);
  });

  it('rejects with FTPKIT_ERR_LOCAL_FILE when the source stream fails, resets the data connection and stays usable', async () => {
    // A FIN would be the end of the file (stream mode): the receiver must see a reset instead.
    // Python reads with a plain recv(), which reports a reset as ECONNRESET every time.
    const receiver = await pythonReceiver();
    const { client } = await start({
      handlers: {
        EPSV: (_a, s) => s.reply(229, `Entering Extended Passive Mode (|||${receiver.port}|)`),
        STOR: (_a, s) => {
          s.reply(150, 'send it');
          s.transferring = true;
        },
      },
    });
    await client.connect();
    const failure = Object.assign(new Error('disk on fire'), { code: 'EIO' });
    let sent = 0;
    const source = new Readable({
      read() {
        if ((sent += 64 * 1024) <= 4 * 1024 * 1024) this.push(Buffer.alloc(64 * 1024, 1));
        else this.destroy(failure);
      },
    });
    await expect(client.upload(source, '/s.bin')).rejects.toMatchObject({
      name: 'FtpError', code: 'FTPKIT_ERR_LOCAL_FILE', message: 'the source stream failed: disk on fire', cause: failure,
    });
    expect(await receiver.outcome).toBe('reset');
    expect(await client.pwd()).toBe('/');
  });
});

/** A one-connection TCP receiver in Python: resolves 'reset' or 'eof', as recv() saw the end. */
async function pythonReceiver(): Promise<{ port: number; outcome: Promise<string> }> {
  const child = spawn(PYTHON, ['-c', [
    'import socket',
    's = socket.socket(); s.bind(("127.0.0.1", 0)); s.listen(1); s.settimeout(20)',
    'print(s.getsockname()[1], flush=True)',
    'c, _ = s.accept(); c.settimeout(20)',
    'try:',
    '    while c.recv(65536): pass',
    '    print("eof", flush=True)',
    'except ConnectionResetError:',
    '    print("reset", flush=True)',
  ].join('\n')], { stdio: ['ignore', 'pipe', 'inherit'] });
  const lines = createInterface({ input: child.stdout })[Symbol.asyncIterator]();
  const first = await lines.next();
  const port = Number(first.value);
  if (first.done || !Number.isInteger(port) || port <= 0) throw new Error(`the Python receiver did not start (${PYTHON})`);
  return { port, outcome: lines.next().then((r) => String(r.value)) };
}
