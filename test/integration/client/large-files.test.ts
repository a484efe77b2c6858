// A 6 GiB sparse file (offsets past 2^32, so any 32-bit truncation shows) through the server
// and the client both ways: SIZE, REST, RANG, range hashes (XSHA256 start end), RETR resume,
// REST + STOR, and a segment read. Sparse files cost no disk; only ranges are moved and hashed,
// so the suite runs in seconds. Random 1 MiB blocks sit at the offsets that matter (a sparse
// hole reads as zeros, which would match anything zero-filled).
import { createHash, randomBytes } from 'node:crypto';
import { open, stat } from 'node:fs/promises';
import { statfsSync } from 'node:fs';
import { join } from 'node:path';
import { PassThrough } from 'node:stream';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { FileClient } from '../../../src/index.js';
import { startTestServer, type TestServer } from '../../helpers/server.js';
import { makeTempDir, type TempDir } from '../../helpers/tmp.js';

const GiB = 1024 ** 3;
const MiB = 1024 ** 2;
const SIZE = 6 * GiB + 7;
/** Where the random blocks go: across 4 GiB (2^32), at 5 GiB, and the file's last MiB. */
const BLOCKS = [4 * GiB - MiB / 2, 5 * GiB, SIZE - MiB];

const sha = (b: Buffer): string => createHash('sha256').update(b).digest('hex');

/** A sparse file of SIZE bytes with `blocks` written at BLOCKS; the blocks' bytes are returned. */
async function sparseFile(path: string): Promise<Buffer[]> {
  const fh = await open(path, 'w');
  try {
    await fh.truncate(SIZE);
    const blocks = BLOCKS.map(() => randomBytes(MiB));
    for (const [i, at] of BLOCKS.entries()) await fh.write(blocks[i]!, 0, MiB, at);
    return blocks;
  } finally {
    await fh.close();
  }
}

/** SHA-256 of bytes [start, end] of a local file. */
async function hashRange(path: string, start: number, end: number): Promise<string> {
  const fh = await open(path, 'r');
  try {
    const h = createHash('sha256');
    for await (const chunk of fh.createReadStream({ start, end, highWaterMark: 4 * MiB })) h.update(chunk as Buffer);
    return h.digest('hex');
  } finally {
    await fh.close();
  }
}

/** Sparse files work here (the blocks used are far below the size) and there is room to spare. */
function sparseSupported(dir: string): boolean {
  const fs = statfsSync(dir);
  return fs.bavail * fs.bsize > 8 * GiB;
}

let t: TestServer;
let local: TempDir;
let client: FileClient;
let blocks: Buffer[];
let remote: string;

beforeAll(async () => {
  t = await startTestServer();
  local = await makeTempDir('ftpkit-large-');
  if (!sparseSupported(t.root)) throw new Error(`${t.root}: less than 8 GiB free, the 6 GiB sparse tests cannot run`);
  remote = join(t.root, 'huge.mkv');
  blocks = await sparseFile(remote);
  const used = (await stat(remote)).blocks * 512;
  if (used > 64 * MiB) throw new Error(`${t.root} does not keep files sparse (${used} bytes used for a 6 GiB file)`);
  client = new FileClient({ host: '127.0.0.1', port: t.port, user: 'alice', password: 'secret', timeout: 30_000 });
  await client.connect();
});
afterAll(async () => {
  await client?.close();
  await t?.close();
  await local?.cleanup();
});

describe('a 6 GiB file', () => {
  it('SIZE and MLST give the exact size', async () => {
    expect(await client.size('huge.mkv')).toBe(SIZE);
    expect((await client.stat('huge.mkv')).size).toBe(SIZE);
  });

  it('RANG across 2^32 and at 5 GiB, byte-exact', async () => {
    const across = await client.read('huge.mkv', { start: BLOCKS[0]!, end: BLOCKS[0]! + MiB - 1 });
    expect(sha(across)).toBe(sha(blocks[0]!));
    const at5 = await client.read('huge.mkv', { start: 5 * GiB + 1000, end: 5 * GiB + 1999 });
    expect(at5).toEqual(blocks[1]!.subarray(1000, 2000));
  });

  it('REST near the end: RETR sends the last MiB and 7 bytes... of holes', async () => {
    const got = await new Promise<Buffer>((resolve, reject) => {
      const chunks: Buffer[] = [];
      const s = client.createReadStream('huge.mkv', { start: SIZE - MiB });
      s.on('data', (c: Buffer) => chunks.push(c)).on('end', () => resolve(Buffer.concat(chunks))).on('error', reject);
    });
    expect(got.length).toBe(MiB);
    expect(sha(got)).toBe(sha(blocks[2]!));
  });

  it('XSHA256 hashes a range past 4 GiB as the local bytes say', async () => {
    const start = 5 * GiB - 100;
    const end = 5 * GiB + MiB + 100; // XSHA's end is exclusive (ProFTPD's mod_digest)
    const reply = await client.send(`XSHA256 huge.mkv ${start} ${end}`);
    expect(reply.code).toBe(250);
    expect(reply.text.toLowerCase()).toBe(await hashRange(remote, start, end - 1));
  });

  it('resumes a download at 5 GiB: the local file is completed to 6 GiB, byte-exact where it matters', async () => {
    const dest = join(local.path, 'resumed.mkv');
    const fh = await open(dest, 'w');
    await fh.truncate(5 * GiB); // a partial download, sparse
    await fh.close();
    // 1 GiB over loopback: the one long transfer of this suite.
    const result = await client.download('huge.mkv', dest, { startAt: 5 * GiB });
    expect(result.bytes).toBe(GiB + 7);
    expect((await stat(dest)).size).toBe(SIZE);
    expect(await hashRange(dest, 5 * GiB, 5 * GiB + MiB - 1)).toBe(sha(blocks[1]!));
    expect(await hashRange(dest, SIZE - MiB, SIZE - 1)).toBe(sha(blocks[2]!));
  });

  it('a segment past 2^32 (what downloadSegmented asks each client): REST + a bounded read', async () => {
    const out = new PassThrough();
    const chunks: Buffer[] = [];
    out.on('data', (c: Buffer) => chunks.push(c));
    const result = await client.download('huge.mkv', out, { startAt: BLOCKS[0]!, length: MiB });
    expect(result.bytes).toBe(MiB);
    expect(sha(Buffer.concat(chunks))).toBe(sha(blocks[0]!));
    expect(await client.pwd()).toBe('/'); // in step after the ABOR
  });

  it('uploads with REST + STOR at 6 GiB - 1 MiB (uploadMode direct): the server file grows to 6 GiB with the right tail', async () => {
    // Atomic mode would first copy the 6 GiB already there into the upload's temporary
    // (a resume without a partial upload starts from the target's bytes): direct writes in place.
    const direct = await startTestServer({ uploadMode: 'direct' });
    const c = new FileClient({ host: '127.0.0.1', port: direct.port, user: 'alice', password: 'secret', timeout: 30_000 });
    try {
      await c.connect();
      const src = join(local.path, 'upload.mkv');
      const tail = randomBytes(MiB);
      const fh = await open(src, 'w');
      await fh.truncate(SIZE);
      await fh.write(tail, 0, MiB, SIZE - MiB);
      await fh.close();
      const target = join(direct.root, 'up.mkv');
      const th = await open(target, 'w');
      await th.truncate(SIZE - MiB); // the part already uploaded, sparse
      await th.close();
      const result = await c.upload(src, 'up.mkv', { startAt: SIZE - MiB });
      expect(result.bytes).toBe(MiB);
      expect(await c.size('up.mkv')).toBe(SIZE);
      const reply = await c.send(`XSHA256 up.mkv ${SIZE - MiB} ${SIZE}`);
      expect(reply.text.toLowerCase()).toBe(sha(tail));
      expect((await stat(target)).size).toBe(SIZE);
      expect((await stat(target)).blocks * 512).toBeLessThan(64 * MiB); // still sparse: nothing copied
    } finally {
      await c.close();
      await direct.close();
    }
  });
});
