import { spawnSync } from 'node:child_process';
import { createHash, randomBytes } from 'node:crypto';
import { once } from 'node:events';
import { mkdir, mkdtemp, readdir, readFile, rm, stat, writeFile } from 'node:fs/promises';
import type { Readable } from 'node:stream';
import { finished } from 'node:stream/promises';
import { gzipSync } from 'node:zlib';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { CompressedStorage } from '../../../src/storage/compressed-storage.js';
import { LocalStorage } from '../../../src/storage/local-storage.js';
import { MemoryStorage } from '../../../src/storage/memory-storage.js';
import { codeOf, readAll, storageBehaviour, writeAll } from './storage-behaviour.js';
import { countFds } from '../../helpers/tmp.js';

/** The fixture's files written through the CompressedStorage, so they are in its format. */
async function fill(storage: CompressedStorage, files: Record<string, string>): Promise<void> {
  for (const [key, content] of Object.entries(files)) {
    if (key.endsWith('/')) await storage.mkdir(key.slice(0, -1));
    else {
      const parts = key.split('/').filter(Boolean);
      for (let i = 1; i < parts.length; i++) await storage.mkdir('/' + parts.slice(0, i).join('/')).catch(() => {});
      await writeAll(storage, key, content);
    }
  }
}

storageBehaviour('CompressedStorage over LocalStorage', async (files) => {
  const root = await mkdtemp(join(tmpdir(), 'ftpkit-zstorage-'));
  const storage = new CompressedStorage(new LocalStorage(root));
  await fill(storage, files);
  return { storage, hostRoot: root, cleanup: () => rm(root, { recursive: true, force: true }) };
});

storageBehaviour('CompressedStorage over MemoryStorage', async (files) => {
  const storage = new CompressedStorage(new MemoryStorage());
  await fill(storage, files);
  return { storage, cleanup: async () => {} };
});

storageBehaviour('CompressedStorage over plain files already on disk', async (files) => {
  const root = await mkdtemp(join(tmpdir(), 'ftpkit-zstorage-'));
  for (const [key, content] of Object.entries(files)) {
    const host = join(root, key);
    if (key.endsWith('/')) await mkdir(host, { recursive: true });
    else {
      await mkdir(join(host, '..'), { recursive: true });
      await writeFile(host, content);
    }
  }
  return { storage: new CompressedStorage(new LocalStorage(root)), hostRoot: root, cleanup: () => rm(root, { recursive: true, force: true }) };
});

// ---------------------------------------------------------------------------------------------
// What the format promises beyond the shared behaviour.

const KiB = 1024;
const MiB = 1024 * KiB;
const sha256 = (b: Buffer): string => createHash('sha256').update(b).digest('hex');

/** `gzip -dc` (the real one) of a host file. */
function gunzipWithGzip(path: string): Buffer {
  const r = spawnSync('gzip', ['-dc', path], { maxBuffer: 1024 * MiB });
  if (r.error) throw r.error;
  if (r.status !== 0) throw new Error(`gzip -dc failed: ${r.stderr.toString()}`);
  return r.stdout;
}

/** A repetitive log, like a web server's. */
function logText(bytes: number): Buffer {
  const lines: string[] = [];
  let n = 0;
  for (let i = 0; n < bytes; i++) {
    const line = `2024-05-0${(i % 9) + 1}T12:${String(i % 60).padStart(2, '0')}:07Z INFO GET /api/items/${i % 5000} 200 ${i % 913} ms ua="curl/8.5"\n`;
    lines.push(line);
    n += line.length;
  }
  return Buffer.from(lines.join('')).subarray(0, bytes);
}

/** Counts the bytes read from the wrapped storage's streams. */
class CountingStorage extends MemoryStorage {
  bytesRead = 0;
  override async createReadStream(p: string, options?: { start?: number; end?: number }): Promise<Readable> {
    const stream = await super.createReadStream(p, options);
    stream.on('data', (c: Buffer) => (this.bytesRead += c.length));
    return stream;
  }
}

describe('CompressedStorage on disk', () => {
  let root: string;
  let s: CompressedStorage;
  beforeEach(async () => {
    root = await mkdtemp(join(tmpdir(), 'ftpkit-zdisk-'));
    s = new CompressedStorage(new LocalStorage(root));
  });
  afterEach(() => rm(root, { recursive: true, force: true }));

  it('keeps a text log at least 4x smaller, byte-identical back, readable by gzip -dc', async () => {
    const text = logText(8 * MiB + 123);
    await writeAll(s, '/access.log', text);
    const onDisk = (await stat(join(root, 'access.log'))).size;
    expect(onDisk * 4).toBeLessThan(text.length);
    expect((await s.stat('/access.log')).size).toBe(text.length);
    expect(sha256(await readAll(s, '/access.log'))).toBe(sha256(text));
    expect(sha256(gunzipWithGzip(join(root, 'access.log')))).toBe(sha256(text));
    // Same name on disk, nothing else beside it.
    expect(await readdir(root)).toEqual(['access.log']);
  });

  it('stores random data raw: never bigger than the original + 0.1% + a few hundred bytes', async () => {
    for (const size of [0, 1, 4095, 64 * KiB, 5 * MiB + 77]) {
      const data = randomBytes(size);
      await writeAll(s, '/random.bin', data);
      const onDisk = (await stat(join(root, 'random.bin'))).size;
      expect(onDisk).toBeLessThanOrEqual(size + size / 1000 + 300);
      expect(sha256(await readAll(s, '/random.bin'))).toBe(sha256(data));
      expect(sha256(gunzipWithGzip(join(root, 'random.bin')))).toBe(sha256(data));
    }
  });

  it('a mix of text and random data is never bigger than stored', async () => {
    const data = Buffer.concat([logText(MiB), randomBytes(2 * MiB), logText(MiB)]);
    await writeAll(s, '/mixed.tar', data);
    expect((await stat(join(root, 'mixed.tar'))).size).toBeLessThan(2 * MiB + 2 * MiB / 4);
    expect(sha256(gunzipWithGzip(join(root, 'mixed.tar')))).toBe(sha256(data));
  });

  it('round-trips a real .gz upload byte for byte (stored wrapped, not mistaken for ours)', async () => {
    const original = logText(300 * KiB);
    const gz = gzipSync(original);
    await writeAll(s, '/backup.tar.gz', gz);
    expect((await s.stat('/backup.tar.gz')).size).toBe(gz.length);
    expect(sha256(await readAll(s, '/backup.tar.gz'))).toBe(sha256(gz));
    expect(sha256(await readAll(s, '/backup.tar.gz', { start: 10, end: 99 }))).toBe(sha256(gz.subarray(10, 100)));
    // zcat of the file on disk gives the user's .gz back, which is itself a gzip file.
    expect(sha256(gunzipWithGzip(join(root, 'backup.tar.gz')))).toBe(sha256(gz));
    // The same .gz put on disk directly is a plain file: served as it is.
    await writeFile(join(root, 'direct.gz'), gz);
    expect((await s.stat('/direct.gz')).size).toBe(gz.length);
    expect(sha256(await readAll(s, '/direct.gz'))).toBe(sha256(gz));
  });

  it('reads plain files already there as they are; APPE converts them', async () => {
    const old = logText(200 * KiB);
    await writeFile(join(root, 'old.log'), old);
    expect((await s.stat('/old.log')).size).toBe(old.length);
    expect((await s.list('/')).find((e) => e.name === 'old.log')?.size).toBe(old.length);
    expect(sha256(await readAll(s, '/old.log', { start: 1000 }))).toBe(sha256(old.subarray(1000)));
    await writeAll(s, '/old.log', 'appended\n', { append: true });
    const both = Buffer.concat([old, Buffer.from('appended\n')]);
    expect(sha256(await readAll(s, '/old.log'))).toBe(sha256(both));
    expect((await stat(join(root, 'old.log'))).size * 4).toBeLessThan(both.length); // now compressed
    expect(sha256(gunzipWithGzip(join(root, 'old.log')))).toBe(sha256(both));
    expect(await readdir(root)).toEqual(['old.log']); // the rewrite's temporary is gone
  });

  it('APPE adds members in place; REST+STOR at the size resumes; both O(appended)', async () => {
    const a = logText(300 * KiB + 5);
    await writeAll(s, '/f.log', a);
    const before = (await stat(join(root, 'f.log'))).size;
    await writeAll(s, '/f.log', 'tail line\n', { append: true });
    const after = (await stat(join(root, 'f.log'))).size;
    expect(after - before).toBeLessThan(200);
    const b = randomBytes(700 * KiB);
    await writeAll(s, '/f.log', b, { start: a.length + 10 });
    const all = Buffer.concat([a, Buffer.from('tail line\n'), b]);
    expect((await s.stat('/f.log')).size).toBe(all.length);
    expect(sha256(await readAll(s, '/f.log'))).toBe(sha256(all));
    expect(sha256(gunzipWithGzip(join(root, 'f.log')))).toBe(sha256(all));
    // Reads at every kind of boundary: inside a block, across members of one block, at the end.
    for (const [start, end] of [[0, 0], [a.length - 3, a.length + 12], [65535, 65537], [all.length - 1, all.length - 1]] as const) {
      expect(sha256(await readAll(s, '/f.log', { start, end }))).toBe(sha256(all.subarray(start, end + 1)));
    }
  });

  it('an interrupted write (destroy) keeps a complete file with every byte accepted; resume continues it', async () => {
    const data = logText(3 * MiB + 99);
    const w = await s.createWriteStream('/up.log', { flush: true });
    await new Promise<void>((resolve) => w.write(data.subarray(0, MiB + 17), () => resolve()));
    w.destroy();
    await once(w, 'close');
    expect((await s.stat('/up.log')).size).toBe(MiB + 17);
    expect(sha256(gunzipWithGzip(join(root, 'up.log')))).toBe(sha256(data.subarray(0, MiB + 17)));
    // The same when the upload's pipeline destroys it with the connection's error.
    const w2 = await s.createWriteStream('/up2.log');
    w2.on('error', () => {});
    await new Promise<void>((resolve) => w2.write(data.subarray(0, 100_001), () => resolve()));
    const closed = new Promise((r) => w2.once('close', r));
    w2.destroy(Object.assign(new Error('reset'), { code: 'ECONNRESET' }));
    await closed;
    expect(sha256(gunzipWithGzip(join(root, 'up2.log')))).toBe(sha256(data.subarray(0, 100_001)));
    // lftp put -c: REST <size> + STOR; the atomic server: truncate to the offset, then append.
    await s.truncate!('/up.log', MiB);
    expect((await s.stat('/up.log')).size).toBe(MiB);
    await writeAll(s, '/up.log', data.subarray(MiB), { append: true });
    expect(sha256(await readAll(s, '/up.log'))).toBe(sha256(data));
    expect(sha256(gunzipWithGzip(join(root, 'up.log')))).toBe(sha256(data));
  });

  it('truncate cuts inside a block and at a block boundary; never grows', async () => {
    const data = logText(500 * KiB);
    for (const cut of [300 * KiB + 11, 256 * KiB, 0]) {
      await writeAll(s, '/t.log', data);
      await s.truncate!('/t.log', cut);
      expect((await s.stat('/t.log')).size).toBe(cut);
      expect(sha256(gunzipWithGzip(join(root, 't.log')))).toBe(sha256(data.subarray(0, cut)));
      await s.truncate!('/t.log', cut + 100);
      expect((await s.stat('/t.log')).size).toBe(cut);
    }
  });

  it('a write inside the data rewrites through a temporary and keeps the tail', async () => {
    const data = logText(1 * MiB);
    await writeAll(s, '/m.log', data);
    const patch = Buffer.from('PATCHED');
    await writeAll(s, '/m.log', patch, { start: 700 * KiB + 3 });
    const expected = Buffer.from(data);
    patch.copy(expected, 700 * KiB + 3);
    expect(sha256(await readAll(s, '/m.log'))).toBe(sha256(expected));
    expect(sha256(gunzipWithGzip(join(root, 'm.log')))).toBe(sha256(expected));
    expect(await readdir(root)).toEqual(['m.log']);
  });

  it('recovers a file a crash left without its footer, and the next append repairs it', async () => {
    const data = logText(2 * MiB);
    await writeAll(s, '/c.log', data);
    const host = join(root, 'c.log');
    const bytes = await readFile(host);
    // Cut inside the data members, as kill -9 of a writer would leave it (a torn member too).
    const cut = Math.floor(bytes.length * 0.6);
    await writeFile(host, bytes.subarray(0, cut));
    const size = (await s.stat('/c.log')).size;
    expect(size).toBeGreaterThan(0);
    expect(size % (64 * KiB)).toBe(0); // whole members only
    expect(size).toBeLessThan(data.length);
    // A listing does not walk the file: it shows its length on disk until it is repaired.
    expect((await s.list('/')).find((e) => e.name === 'c.log')?.size).toBe(cut);
    expect(sha256(await readAll(s, '/c.log'))).toBe(sha256(data.subarray(0, size)));
    await writeAll(s, '/c.log', data.subarray(size), { append: true });
    expect((await s.stat('/c.log')).size).toBe(data.length);
    expect(sha256(gunzipWithGzip(host))).toBe(sha256(data));
  });

  it('damaged compressed data is EIO, on open or while streaming, and nothing crashes', async () => {
    const data = logText(1 * MiB);
    await writeAll(s, '/bad.log', data);
    const host = join(root, 'bad.log');
    const bytes = await readFile(host);
    bytes[5000] = (bytes[5000]! ^ 0xff) & 0xff; // inside the first member's deflate data
    await writeFile(host, bytes);
    expect((await s.stat('/bad.log')).size).toBe(data.length); // footer intact
    expect(await codeOf(readAll(s, '/bad.log'))).toBe('EIO');
    // Bytes from an undamaged block still read.
    expect(sha256(await readAll(s, '/bad.log', { start: 512 * KiB, end: 600 * KiB }))).toBe(sha256(data.subarray(512 * KiB, 600 * KiB + 1)));
  });

  it('closes every descriptor: reads ended early, writes destroyed, stats, lists, truncates', async () => {
    const data = logText(2 * MiB);
    await writeAll(s, '/x.log', data);
    await new Promise((r) => setTimeout(r, 50));
    const before = countFds();
    const r = await s.createReadStream('/x.log', { start: 100 });
    await once(r, 'data');
    r.destroy();
    await once(r, 'close');
    const w = await s.createWriteStream('/y.log');
    w.write(data.subarray(0, 300 * KiB));
    w.destroy();
    await once(w, 'close');
    const w2 = await s.createWriteStream('/x.log', { start: 5 }); // a rewrite, given up
    w2.write('abc');
    w2.destroy();
    await once(w2, 'close');
    await s.stat('/x.log');
    await s.list('/');
    await s.truncate!('/y.log', 1000);
    await writeAll(s, '/y.log', 'more', { append: true });
    await new Promise((r) => setTimeout(r, 50));
    expect(countFds()).toBe(before);
    expect((await readdir(root)).sort()).toEqual(['x.log', 'y.log']);
    expect(sha256(await readAll(s, '/x.log'))).toBe(sha256(data)); // the abandoned rewrite changed nothing
  });

  it('rejects bad options', () => {
    const inner = new MemoryStorage();
    expect(() => new CompressedStorage(inner, { level: 10 })).toThrow(/level/);
    expect(() => new CompressedStorage(inner, { level: 1.5 })).toThrow(/level/);
    expect(() => new CompressedStorage(inner, { blockSize: 100 })).toThrow(/blockSize/);
    expect(() => new CompressedStorage(inner, { blockSize: 64 * MiB })).toThrow(/blockSize/);
    expect(() => new CompressedStorage(undefined as unknown as MemoryStorage)).toThrow(/Storage/);
  });

  it('honours level and block size (level 0 stores, a file keeps its own block size)', async () => {
    const text = logText(MiB);
    const stored = new CompressedStorage(new LocalStorage(root), { level: 0, blockSize: 16 * KiB });
    await writeAll(stored, '/l0.log', text);
    expect((await stat(join(root, 'l0.log'))).size).toBeGreaterThan(text.length);
    // Appended through a storage with another block size: the file's own one is kept.
    await writeAll(s, '/l0.log', text, { append: true });
    expect(sha256(gunzipWithGzip(join(root, 'l0.log')))).toBe(sha256(Buffer.concat([text, text])));
    expect(sha256(await readAll(s, '/l0.log', { start: 16 * KiB * 70 + 5 }))).toBe(sha256(Buffer.concat([text, text]).subarray(16 * KiB * 70 + 5)));
  });
});

describe('CompressedStorage seeks in O(block)', () => {
  it('stat and a read near the end of a 256 MiB file read a few KiB from the inner storage', async () => {
    const inner = new CountingStorage();
    const s = new CompressedStorage(inner, { level: 1 }); // the level does not matter here: be quick
    const chunk = logText(MiB);
    const size = 256 * MiB;
    const w = await s.createWriteStream('/big.log');
    for (let i = 0; i < size / MiB; i++) if (!w.write(chunk)) await once(w, 'drain');
    w.end();
    await finished(w);
    inner.bytesRead = 0;
    expect((await s.stat('/big.log')).size).toBe(size);
    expect(inner.bytesRead).toBeLessThan(100);
    inner.bytesRead = 0;
    const start = size - 100 * KiB - 7;
    const tail = await readAll(s, '/big.log', { start });
    expect(sha256(tail)).toBe(sha256(Buffer.concat([chunk, chunk]).subarray(2 * MiB - (size - start))));
    // stat (~90 bytes) + one index entry + the compressed members of two 64 KiB blocks.
    expect(inner.bytesRead).toBeLessThan(2 * 64 * KiB);
    inner.bytesRead = 0;
    const mid = await readAll(s, '/big.log', { start: 100 * MiB + 3, end: 100 * MiB + 10 });
    expect(mid).toEqual(chunk.subarray(3, 11));
    expect(inner.bytesRead).toBeLessThan(64 * KiB);
  });
});
