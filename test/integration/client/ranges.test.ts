// createReadStream / read() / listing mediaType against ftpkit's FileServer: backpressure,
// argument checks, aborts.
import { randomBytes } from 'node:crypto';
import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { FileClient } from '../../../src/index.js';
import { startTestServer, type TestServer } from '../../helpers/server.js';

let t: TestServer;
let client: FileClient;
const big = randomBytes(48 * 1024 * 1024);
const sent: number[] = [];

beforeAll(async () => {
  t = await startTestServer();
  t.server.on('transfer-end', (e) => sent.push(e.bytes));
  await writeFile(join(t.root, 'movie.mkv'), big);
  await mkdir(join(t.root, 'media'));
  await writeFile(join(t.root, 'media', 'a.opus'), 'x');
  await writeFile(join(t.root, 'media', 'b'), 'x');
  await mkdir(join(t.root, 'media', 'c.mp4'));
  client = new FileClient({ host: '127.0.0.1', port: t.port, user: 'alice', password: 'secret', timeout: 10_000 });
  await client.connect();
});
afterAll(async () => {
  await client?.close();
  await t?.close();
});

describe('createReadStream', () => {
  it('has backpressure: an unread stream stops the server far short of the range', async () => {
    sent.length = 0;
    const stream = client.createReadStream('movie.mkv', { start: 0, end: big.length - 1, highWaterMark: 64 * 1024 });
    await new Promise((r) => stream.once('readable', r));
    // Time for a stream without backpressure to take all 48 MiB (loopback moves it in ~50 ms);
    // with it, the server stops once socket buffers and the stream's 64 KiB are full.
    await new Promise((r) => setTimeout(r, 500));
    expect(stream.readableLength).toBeLessThanOrEqual(2 * 64 * 1024);
    stream.destroy();
    expect(await client.pwd()).toBe('/');
    expect(sent).toHaveLength(1);
    expect(sent[0]!).toBeLessThan(big.length / 2);
  });

  it('checks its arguments synchronously', () => {
    expect(() => client.createReadStream('movie.mkv', { start: 10, end: 9 })).toThrow(/end must be an integer from 10/);
    expect(() => client.createReadStream('movie.mkv', { start: -1 })).toThrow(/start must be an integer/);
    expect(() => client.createReadStream('movie.mkv', { start: 1.5 })).toThrow(/start must be an integer/);
    expect(() => client.createReadStream('', {})).toThrow(/path must not be empty/);
    expect(() => client.createReadStream('a\r\nDELE b', {})).toThrow(/FTPKIT_ERR_INVALID_ARGUMENT|line break|CR/);
    expect(() => client.createReadStream('movie.mkv', { stop: 3 } as never)).toThrow(/stop/);
  });

  it('an aborted signal destroys the stream with the reason; the client goes on', async () => {
    const ac = new AbortController();
    const stream = client.createReadStream('movie.mkv', { signal: ac.signal });
    await new Promise((r) => stream.once('data', r));
    ac.abort(new Error('user seeks'));
    await expect(new Promise((_, reject) => stream.once('error', reject))).rejects.toBeDefined();
    expect(await client.read('movie.mkv', { start: 5, end: 9 })).toEqual(big.subarray(5, 10));
  });
});

describe('read', () => {
  it('needs an end and refuses more than 64 MiB', async () => {
    await expect(client.read('movie.mkv', { start: 0 })).rejects.toMatchObject({ code: 'FTPKIT_ERR_INVALID_ARGUMENT' });
    await expect((client.read as (p: string) => Promise<Buffer>)('movie.mkv')).rejects.toThrow(/end is required/);
    await expect(client.read('movie.mkv', { start: 0, end: 64 * 1024 * 1024 })).rejects.toThrow(/at most 67108864 bytes/);
  });

  it('an end past the file gives the bytes up to its end (the server cuts the range)', async () => {
    expect(await client.read('movie.mkv', { start: big.length - 3, end: big.length + 100 })).toEqual(big.subarray(big.length - 3));
  });
});

describe('list() mediaType', () => {
  it('comes from the media-type fact; folders have none', async () => {
    const entries = await client.list('media');
    expect(Object.fromEntries(entries.map((e) => [e.name, e.mediaType]))).toEqual({
      'a.opus': 'audio/ogg',
      b: 'application/octet-stream',
      'c.mp4': undefined,
    });
  });
});
