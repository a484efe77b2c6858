import fc from 'fast-check';
import { once } from 'node:events';
import { describe, expect, it } from 'vitest';
import { FtpError } from '../../../src/errors.js';
import { PAGE_SIZE, PagedBytes } from '../../../src/storage/memory-file.js';
import { MemoryStorage } from '../../../src/storage/memory-storage.js';
import { readAll, writeAll } from './storage-behaviour.js';

describe('MemoryStorage construction', () => {
  it('creates files and the folders their paths imply', async () => {
    const s = new MemoryStorage({ '/a/b/c.txt': 'c', 'd.bin': Buffer.from([1, 2, 3]), '/e/': '' });
    expect((await s.list('/')).map((e) => `${e.name}:${e.type}`).sort()).toEqual(['a:dir', 'd.bin:file', 'e:dir']);
    expect(await s.stat('/a/b')).toMatchObject({ type: 'dir', mode: 0o755, size: 0 });
    expect(await s.stat('/a/b/c.txt')).toMatchObject({ type: 'file', mode: 0o644, size: 1 });
    expect(await readAll(s, '/d.bin')).toEqual(Buffer.from([1, 2, 3]));
    expect(await s.list('/e')).toEqual([]);
  });

  it('normalises keys like any virtual path', async () => {
    const s = new MemoryStorage({ '..\\x\\y.txt': 'y', '/x/./z/../w.txt': 'w' });
    expect(Object.keys(s.snapshot()).sort()).toEqual(['/x/w.txt', '/x/y.txt']);
  });

  it('throws on a path used as both file and folder, and on unsafe keys', () => {
    expect(() => new MemoryStorage({ '/a': 'file', '/a/b': 'under a file' })).toThrowError(FtpError);
    expect(() => new MemoryStorage({ '/a/b': 'x', '/a': 'file over folder' })).toThrowError(/both a file and a folder/);
    expect(() => new MemoryStorage({ '/a\nb': 'x' })).toThrowError(FtpError);
  });

  it('snapshot() returns every file by virtual path', async () => {
    const s = new MemoryStorage({ '/a.txt': 'a' });
    await s.mkdir('/d');
    await writeAll(s, '/d/b.txt', 'b');
    expect(s.snapshot()).toEqual({ '/a.txt': Buffer.from('a'), '/d/b.txt': Buffer.from('b') });
  });
});

describe('MemoryStorage semantics', () => {
  it('stat returns copies: mutating a result changes nothing', async () => {
    const s = new MemoryStorage({ '/a.txt': 'a' });
    const st = await s.stat('/a.txt');
    st.mtime.setTime(0);
    expect((await s.stat('/a.txt')).mtime.getTime()).not.toBe(0);
  });

  it('creating and removing entries updates the parent folder mtime', async () => {
    const s = new MemoryStorage({ '/d/': '' });
    await s.setMtime('/d', new Date(0));
    await writeAll(s, '/d/x', 'x');
    expect((await s.stat('/d')).mtime.getTime()).toBeGreaterThan(0);
    await s.setMtime('/d', new Date(0));
    await s.delete('/d/x');
    expect((await s.stat('/d')).mtime.getTime()).toBeGreaterThan(0);
  });

  it('a renamed folder keeps its subtree by reference, deep paths included', async () => {
    const s = new MemoryStorage({ '/a/b/c/d.txt': 'deep' });
    await s.rename('/a/b', '/z');
    expect((await readAll(s, '/z/c/d.txt')).toString()).toBe('deep');
    expect(await s.list('/a')).toEqual([]);
    await writeAll(s, '/z/c/e.txt', 'e');
    expect(Object.keys(s.snapshot()).sort()).toEqual(['/z/c/d.txt', '/z/c/e.txt']);
  });

  it('read streams produce data only on demand (backpressure)', async () => {
    const s = new MemoryStorage({ '/big': Buffer.alloc(10 * 1024 * 1024) });
    const stream = await s.createReadStream('/big');
    await new Promise((r) => setTimeout(r, 20));
    // nothing was consumed: at most one high-water mark was buffered
    expect(stream.readableLength).toBeLessThanOrEqual(stream.readableHighWaterMark);
    let total = 0;
    for await (const chunk of stream) total += (chunk as Buffer).length;
    expect(total).toBe(10 * 1024 * 1024);
  });

  it('write streams complete asynchronously, so drain is exercised', async () => {
    const s = new MemoryStorage();
    const w = await s.createWriteStream('/f');
    expect(w.write(Buffer.alloc(w.writableHighWaterMark + 1))).toBe(false);
    await once(w, 'drain');
    w.end();
    await once(w, 'finish');
  });

  it('concurrent writers at different offsets both land (REST-based parallel upload)', async () => {
    const s = new MemoryStorage();
    const a = await s.createWriteStream('/f', { start: 0 });
    const b = await s.createWriteStream('/f', { start: 5 });
    b.end('WORLD');
    a.end('hello');
    await Promise.all([once(a, 'finish'), once(b, 'finish')]);
    expect((await readAll(s, '/f')).toString()).toBe('helloWORLD');
  });
});

describe('PagedBytes', () => {
  it('writes and reads across page boundaries', () => {
    const bytes = new PagedBytes();
    const data = Buffer.alloc(PAGE_SIZE * 2 + 10, 5);
    bytes.write(PAGE_SIZE - 3, data);
    expect(bytes.size).toBe(PAGE_SIZE * 3 + 7);
    expect(bytes.read(0, PAGE_SIZE - 3).equals(Buffer.alloc(PAGE_SIZE - 3))).toBe(true);
    expect(bytes.read(PAGE_SIZE - 3, data.length).equals(data)).toBe(true);
    expect(bytes.read(bytes.size - 1, 100).equals(Buffer.from([5]))).toBe(true);
    expect(bytes.read(bytes.size + 5, 100).equals(Buffer.alloc(0))).toBe(true);
  });

  it('is sparse: a byte at 6 GiB costs one page', () => {
    const bytes = new PagedBytes();
    bytes.write(6 * 1024 ** 3, Buffer.from('x'));
    expect(bytes.size).toBe(6 * 1024 ** 3 + 1);
    expect(bytes.read(6 * 1024 ** 3 - 1, 2).equals(Buffer.from('\0x'))).toBe(true);
  });

  it('truncate then grow exposes zeros, not old bytes', () => {
    const bytes = PagedBytes.from(Buffer.alloc(PAGE_SIZE + 100, 7));
    bytes.truncate(50);
    bytes.write(PAGE_SIZE + 200, Buffer.from('z'));
    const all = bytes.read(0, bytes.size);
    expect(all.subarray(0, 50).equals(Buffer.alloc(50, 7))).toBe(true);
    expect(all.subarray(50, PAGE_SIZE + 200).equals(Buffer.alloc(PAGE_SIZE + 150))).toBe(true);
  });

  it('behaves like a plain growing Buffer (property, 8-byte pages)', () => {
    type Op = { kind: 'write'; at: number; data: Uint8Array } | { kind: 'truncate'; to: number };
    const page = 8;
    const max = page * 5;
    const op: fc.Arbitrary<Op> = fc.oneof(
      fc.record({ kind: fc.constant('write' as const), at: fc.nat({ max }), data: fc.uint8Array({ minLength: 0, maxLength: page * 2 + 3, min: 1 }) }),
      fc.record({ kind: fc.constant('truncate' as const), to: fc.nat({ max }) }),
    );
    fc.assert(
      fc.property(fc.array(op, { maxLength: 12 }), fc.nat({ max }), fc.nat({ max }), (ops, from, len) => {
        const bytes = new PagedBytes(page);
        let model = Buffer.alloc(0);
        for (const o of ops) {
          if (o.kind === 'write') {
            const end = o.at + o.data.length;
            if (end > model.length) model = Buffer.concat([model, Buffer.alloc(end - model.length)]);
            model.set(o.data, o.at);
            bytes.write(o.at, o.data);
          } else {
            model = o.to <= model.length ? Buffer.from(model.subarray(0, o.to)) : Buffer.concat([model, Buffer.alloc(o.to - model.length)]);
            bytes.truncate(o.to);
          }
        }
        expect(bytes.size).toBe(model.length);
        expect(bytes.read(0, bytes.size).toString('hex')).toBe(model.toString('hex'));
        expect(bytes.read(from, len).toString('hex')).toBe(model.subarray(from, from + len).toString('hex'));
      }),
      { numRuns: 1000 },
    );
  });
});
