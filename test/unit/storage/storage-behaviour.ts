import { createHash, randomBytes } from 'node:crypto';
import { once } from 'node:events';
import type { Readable, Writable } from 'node:stream';
import { finished } from 'node:stream/promises';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { Storage } from '../../../src/storage/types.js';

/**
 * The behaviour every Storage must share, run against LocalStorage and MemoryStorage
 * (storage-shared.test.ts) so the test double cannot drift from the real thing.
 */
export interface StorageFixture {
  storage: Storage;
  /** Host folder behind the storage, if any: no error message may contain it. */
  hostRoot?: string;
  cleanup(): Promise<void>;
}

/** Builds a storage holding `files` (virtual path -> content; a key ending in '/' is an empty folder). */
export type StorageFactory = (files: Record<string, string>) => Promise<StorageFixture>;

export async function readAll(storage: Storage, path: string, options?: { start?: number; end?: number }): Promise<Buffer> {
  const stream = await storage.createReadStream(path, options);
  const chunks: Buffer[] = [];
  for await (const chunk of stream) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks);
}

export async function writeAll(
  storage: Storage,
  path: string,
  data: string | Buffer,
  options?: { start?: number; append?: boolean },
): Promise<void> {
  const stream = await storage.createWriteStream(path, options);
  stream.end(data);
  await finished(stream);
}

export async function codeOf(promise: Promise<unknown>): Promise<string | undefined> {
  try {
    await promise;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code;
  }
  return 'no error';
}

const sha256 = (b: Buffer): string => createHash('sha256').update(b).digest('hex');
const GiB4 = 4 * 1024 * 1024 * 1024;

export function storageBehaviour(label: string, factory: StorageFactory): void {
  describe(`${label}: shared Storage behaviour`, () => {
    let fx: StorageFixture;
    let s: Storage;
    const errors: Error[] = [];

    beforeEach(async () => {
      fx = await factory({
        '/a.txt': 'hello world',
        '/empty.txt': '',
        '/docs/readme.md': '# readme',
        '/docs/deep/x.bin': 'xyz',
        '/emptydir/': '',
      });
      s = fx.storage;
      errors.length = 0;
    });
    afterEach(async () => {
      // Whatever failed in the test, no message may name the host folder.
      if (fx.hostRoot !== undefined) for (const e of errors) expect(e.message).not.toContain(fx.hostRoot);
      await fx.cleanup();
    });

    /** The rejection code, remembering the error for the host-path check. */
    const code = async (p: Promise<unknown>): Promise<string | undefined> => {
      try {
        await p;
      } catch (err) {
        errors.push(err as Error);
        return (err as NodeJS.ErrnoException).code;
      }
      return 'no error';
    };

    describe('stat', () => {
      it('reports the root as a folder named /', async () => {
        const st = await s.stat('/');
        expect(st).toMatchObject({ name: '/', type: 'dir' });
      });

      it('reports a file with name, size, mtime and mode', async () => {
        const st = await s.stat('/a.txt');
        expect(st).toMatchObject({ name: 'a.txt', type: 'file', size: 11 });
        expect(st.mtime).toBeInstanceOf(Date);
        expect(st.mode & ~0o7777).toBe(0);
        expect(Math.abs(st.mtime.getTime() - Date.now())).toBeLessThan(60_000);
      });

      it('reports nested folders', async () => {
        expect(await s.stat('/docs/deep')).toMatchObject({ name: 'deep', type: 'dir' });
      });

      it.each([
        ['/missing', 'ENOENT'],
        ['/docs/missing/x', 'ENOENT'],
        ['/a.txt/x', 'ENOTDIR'],
        ['/a\0b', 'EINVAL'],
        ['/a\r\nb', 'EINVAL'],
      ])('%j -> %s', async (p, expected) => {
        expect(await code(s.stat(p))).toBe(expected);
      });

      it('normalises what it is given: .. clamps at the root, backslashes separate', async () => {
        expect((await s.stat('/../../../a.txt')).size).toBe(11);
        expect((await s.stat('..\\..\\docs\\readme.md')).name).toBe('readme.md');
        expect(await code(s.stat('/../../etc/passwd'))).toBe('ENOENT');
      });
    });

    describe('list', () => {
      it('lists entries of the root with their types', async () => {
        const entries = await s.list('/');
        expect(entries.map((e) => `${e.name}:${e.type}`).sort()).toEqual([
          'a.txt:file',
          'docs:dir',
          'empty.txt:file',
          'emptydir:dir',
        ]);
        expect(entries.find((e) => e.name === 'a.txt')?.size).toBe(11);
      });

      it('lists nested folders and empty ones', async () => {
        expect((await s.list('/docs')).map((e) => e.name).sort()).toEqual(['deep', 'readme.md']);
        expect(await s.list('/emptydir')).toEqual([]);
      });

      it.each([
        ['/missing', 'ENOENT'],
        ['/a.txt', 'ENOTDIR'],
      ])('%j -> %s', async (p, expected) => {
        expect(await code(s.list(p))).toBe(expected);
      });

      it('treats percent-encoded dots as a literal name', async () => {
        await s.mkdir('/%2e%2e');
        await writeAll(s, '/%2e%2e/f.txt', 'inside');
        expect((await s.list('/')).map((e) => e.name)).toContain('%2e%2e');
        expect((await readAll(s, '/%2e%2e/f.txt')).toString()).toBe('inside');
        expect((await s.list('/%2e%2e')).map((e) => e.name)).toEqual(['f.txt']);
      });
    });

    describe('createReadStream', () => {
      it('reads a whole file', async () => {
        expect((await readAll(s, '/a.txt')).toString()).toBe('hello world');
        expect((await readAll(s, '/empty.txt')).length).toBe(0);
      });

      it.each([
        [{ start: 6 }, 'world'],
        [{ start: 0, end: 4 }, 'hello'],
        [{ start: 4, end: 4 }, 'o'],
        [{ start: 6, end: 100 }, 'world'],
        [{ start: 11 }, ''],
        [{ start: 1000 }, ''],
        [{ end: 0 }, 'h'],
      ])('reads range %j', async (range, expected) => {
        expect((await readAll(s, '/a.txt', range)).toString()).toBe(expected);
      });

      it.each([
        [{ start: -1 }],
        [{ start: 1.5 }],
        [{ start: 5, end: 4 }],
        [{ start: Number.NaN }],
      ])('rejects range %j with EINVAL', async (range) => {
        expect(await code(s.createReadStream('/a.txt', range))).toBe('EINVAL');
      });

      it.each([
        ['/docs', 'EISDIR'],
        ['/', 'EISDIR'],
        ['/missing.txt', 'ENOENT'],
        ['/a.txt/x', 'ENOTDIR'],
      ])('%j -> %s', async (p, expected) => {
        expect(await code(s.createReadStream(p))).toBe(expected);
      });

      it('streams large files byte-exact', async () => {
        const data = randomBytes(5 * 1024 * 1024 + 123);
        await writeAll(s, '/big.bin', data);
        expect(sha256(await readAll(s, '/big.bin'))).toBe(sha256(data));
        const part = await readAll(s, '/big.bin', { start: 1_000_001, end: 3_000_000 });
        expect(sha256(part)).toBe(sha256(data.subarray(1_000_001, 3_000_001)));
      });

      it('does not read ahead of a paused consumer (backpressure)', async () => {
        await writeAll(s, '/big.bin', Buffer.alloc(16 * 1024 * 1024, 7));
        const stream = await s.createReadStream('/big.bin');
        stream.pause();
        await new Promise((r) => setTimeout(r, 50));
        expect(stream.readableLength).toBeLessThanOrEqual(2 * 1024 * 1024);
        stream.destroy();
        await once(stream, 'close');
      });

      it('can be destroyed mid-file', async () => {
        await writeAll(s, '/big.bin', Buffer.alloc(4 * 1024 * 1024, 1));
        const stream = await s.createReadStream('/big.bin');
        const closed = once(stream, 'close'); // a fast storage may finish before destroy()
        await once(stream, 'data');
        stream.destroy();
        await closed;
        expect((await s.stat('/big.bin')).size).toBe(4 * 1024 * 1024);
      });
    });

    describe('createWriteStream', () => {
      it('creates a new file', async () => {
        await writeAll(s, '/new.txt', 'fresh');
        expect(await s.stat('/new.txt')).toMatchObject({ type: 'file', size: 5 });
        expect((await readAll(s, '/new.txt')).toString()).toBe('fresh');
      });

      it('creates the file on open, before any byte is written', async () => {
        const stream = await s.createWriteStream('/docs/opened.txt');
        expect((await s.stat('/docs/opened.txt')).size).toBe(0);
        stream.end();
        await finished(stream);
      });

      it('truncates by default', async () => {
        await writeAll(s, '/a.txt', 'hi');
        expect((await readAll(s, '/a.txt')).toString()).toBe('hi');
      });

      it('{start} keeps the bytes before start and overwrites from there (REST + STOR)', async () => {
        await writeAll(s, '/a.txt', 'WORLD', { start: 6 });
        expect((await readAll(s, '/a.txt')).toString()).toBe('hello WORLD');
        await writeAll(s, '/a.txt', 'J', { start: 0 });
        expect((await readAll(s, '/a.txt')).toString()).toBe('Jello WORLD');
      });

      it('{start} keeps bytes after the written range too', async () => {
        await writeAll(s, '/a.txt', 'XY', { start: 2 });
        expect((await readAll(s, '/a.txt')).toString()).toBe('heXYo world');
      });

      it('{start} past the end leaves a zero-filled gap; on a missing file it creates it', async () => {
        await writeAll(s, '/a.txt', '!', { start: 13 });
        expect(await readAll(s, '/a.txt')).toEqual(Buffer.from('hello world\0\0!'));
        await writeAll(s, '/gap.txt', 'z', { start: 3 });
        expect(await readAll(s, '/gap.txt')).toEqual(Buffer.from('\0\0\0z'));
      });

      it('{append} appends, and creates a missing file', async () => {
        await writeAll(s, '/a.txt', '!!', { append: true });
        expect((await readAll(s, '/a.txt')).toString()).toBe('hello world!!');
        await writeAll(s, '/app.txt', 'one', { append: true });
        await writeAll(s, '/app.txt', 'two', { append: true });
        expect((await readAll(s, '/app.txt')).toString()).toBe('onetwo');
      });

      it('{append} ignores start', async () => {
        await writeAll(s, '/a.txt', '?', { append: true, start: 0 });
        expect((await readAll(s, '/a.txt')).toString()).toBe('hello world?');
      });

      it.each([
        ['/docs', 'EISDIR'],
        ['/', 'EISDIR'],
        ['/missing/x.txt', 'ENOENT'],
        ['/a.txt/x.txt', 'ENOTDIR'],
        ['/x\0.txt', 'EINVAL'],
      ])('%j -> %s', async (p, expected) => {
        expect(await code(s.createWriteStream(p))).toBe(expected);
      });

      it('rejects a bad start with EINVAL', async () => {
        expect(await code(s.createWriteStream('/a.txt', { start: -5 }))).toBe('EINVAL');
        expect(await code(s.createWriteStream('/a.txt', { start: 0.5 }))).toBe('EINVAL');
        expect((await readAll(s, '/a.txt')).toString()).toBe('hello world'); // untouched
      });

      it('applies backpressure: write() returns false past the buffer and drain follows', async () => {
        const stream: Writable = await s.createWriteStream('/bp.bin');
        const chunk = Buffer.alloc(64 * 1024, 3);
        let writes = 0;
        while (stream.write(chunk)) writes++;
        // Bounded by the stream's buffer (LocalStorage uses 4 MiB so uploads batch into writev).
        expect(writes).toBeLessThanOrEqual(Math.ceil(stream.writableHighWaterMark / chunk.length));
        await once(stream, 'drain');
        stream.end();
        await finished(stream);
        expect((await s.stat('/bp.bin')).size).toBe((writes + 1) * chunk.length);
      });

      it('updates mtime and size as it writes', async () => {
        await s.setMtime('/a.txt', new Date('2001-01-01T00:00:00Z'));
        await writeAll(s, '/a.txt', 'more', { append: true });
        const st = await s.stat('/a.txt');
        expect(st.size).toBe(15);
        expect(st.mtime.getUTCFullYear()).toBeGreaterThan(2001);
      });
    });

    describe('offsets beyond 4 GiB', () => {
      it('writes and reads at 4 GiB + n without 32-bit wrap-around', async () => {
        const at = GiB4 + 3;
        await writeAll(s, '/huge.bin', 'abc', { start: at });
        expect((await s.stat('/huge.bin')).size).toBe(at + 3);
        expect((await readAll(s, '/huge.bin', { start: at })).toString()).toBe('abc');
        expect(await readAll(s, '/huge.bin', { start: at - 2, end: at + 1 })).toEqual(Buffer.from('\0\0ab'));
        // the low 32 bits of the offset must not have been written
        expect(await readAll(s, '/huge.bin', { start: 0, end: 5 })).toEqual(Buffer.alloc(6));
        await writeAll(s, '/huge.bin', 'Z', { append: true });
        expect((await readAll(s, '/huge.bin', { start: at })).toString()).toBe('abcZ');
        await s.delete('/huge.bin');
      });
    });

    describe('mkdir', () => {
      it('creates a folder', async () => {
        await s.mkdir('/docs/new');
        expect(await s.stat('/docs/new')).toMatchObject({ type: 'dir', name: 'new' });
        expect(await s.list('/docs/new')).toEqual([]);
      });

      it.each([
        ['/docs', 'EEXIST'],
        ['/a.txt', 'EEXIST'],
        ['/', 'EEXIST'],
        ['/missing/new', 'ENOENT'],
        ['/a.txt/new', 'ENOTDIR'],
      ])('%j -> %s', async (p, expected) => {
        expect(await code(s.mkdir(p))).toBe(expected);
      });
    });

    describe('rmdir', () => {
      it('removes an empty folder', async () => {
        await s.rmdir('/emptydir');
        expect(await code(s.stat('/emptydir'))).toBe('ENOENT');
      });

      it.each([
        ['/docs', 'ENOTEMPTY'],
        ['/a.txt', 'ENOTDIR'],
        ['/missing', 'ENOENT'],
        ['/', 'EPERM'],
      ])('%j -> %s', async (p, expected) => {
        expect(await code(s.rmdir(p))).toBe(expected);
      });
    });

    describe('delete', () => {
      it('removes a file', async () => {
        await s.delete('/docs/readme.md');
        expect(await code(s.stat('/docs/readme.md'))).toBe('ENOENT');
        expect((await s.list('/docs')).map((e) => e.name)).toEqual(['deep']);
      });

      it.each([
        ['/docs', 'EISDIR'],
        ['/', 'EISDIR'],
        ['/missing', 'ENOENT'],
        ['/a.txt/x', 'ENOTDIR'],
      ])('%j -> %s', async (p, expected) => {
        expect(await code(s.delete(p))).toBe(expected);
      });

      it('leaves an already open read stream readable (as an unlinked file)', async () => {
        const stream: Readable = await s.createReadStream('/a.txt');
        await s.delete('/a.txt');
        const chunks: Buffer[] = [];
        for await (const c of stream) chunks.push(c as Buffer);
        expect(Buffer.concat(chunks).toString()).toBe('hello world');
      });
    });

    describe('rename', () => {
      it('renames a file', async () => {
        await s.rename('/a.txt', '/docs/b.txt');
        expect(await code(s.stat('/a.txt'))).toBe('ENOENT');
        expect((await readAll(s, '/docs/b.txt')).toString()).toBe('hello world');
      });

      it('replaces an existing file', async () => {
        await s.rename('/a.txt', '/docs/readme.md');
        expect((await readAll(s, '/docs/readme.md')).toString()).toBe('hello world');
        expect(await code(s.stat('/a.txt'))).toBe('ENOENT');
      });

      it('moves a folder with its subtree', async () => {
        await s.rename('/docs', '/emptydir/moved');
        expect(await code(s.stat('/docs'))).toBe('ENOENT');
        expect((await readAll(s, '/emptydir/moved/deep/x.bin')).toString()).toBe('xyz');
        expect((await s.list('/emptydir/moved')).map((e) => e.name).sort()).toEqual(['deep', 'readme.md']);
      });

      it('replaces an empty folder with a folder', async () => {
        await s.rename('/docs', '/emptydir');
        expect((await readAll(s, '/emptydir/readme.md')).toString()).toBe('# readme');
      });

      it('is a no-op onto itself', async () => {
        await s.rename('/a.txt', '/a.txt');
        expect((await readAll(s, '/a.txt')).toString()).toBe('hello world');
      });

      it.each([
        ['/missing', '/x', 'ENOENT'],
        ['/a.txt', '/missing/x', 'ENOENT'],
        ['/a.txt', '/docs', 'EISDIR'],
        ['/docs', '/a.txt', 'ENOTDIR'],
        ['/emptydir', '/docs', 'ENOTEMPTY'],
        ['/docs', '/docs/deep/inside', 'EINVAL'],
        ['/', '/x', 'EPERM'],
        ['/a.txt', '/', 'EPERM'],
      ])('%j -> %j: %s', async (from, to, expected) => {
        expect(await code(s.rename(from, to))).toBe(expected);
        expect((await readAll(s, '/a.txt')).toString()).toBe('hello world');
        expect((await readAll(s, '/docs/deep/x.bin')).toString()).toBe('xyz');
      });
    });

    describe('setMtime and chmod', () => {
      it('sets the modification time of files and folders', async () => {
        const when = new Date('2020-02-29T12:34:56Z');
        await s.setMtime('/a.txt', when);
        await s.setMtime('/docs', when);
        expect((await s.stat('/a.txt')).mtime.getTime()).toBe(when.getTime());
        expect((await s.stat('/docs')).mtime.getTime()).toBe(when.getTime());
        expect((await s.list('/')).find((e) => e.name === 'a.txt')?.mtime.getTime()).toBe(when.getTime());
      });

      it('sets permission bits', async () => {
        await s.chmod('/a.txt', 0o600);
        expect((await s.stat('/a.txt')).mode).toBe(0o600);
        await s.chmod('/docs', 0o750);
        expect((await s.stat('/docs')).mode).toBe(0o750);
      });

      it('applies the 0o777 bits only: never setuid, setgid or sticky', async () => {
        for (const [mode, applied] of [
          [0o4777, 0o777],
          [0o2755, 0o755],
          [0o1777, 0o777],
          [0o7640, 0o640],
        ] as const) {
          await s.chmod('/a.txt', mode);
          expect((await s.stat('/a.txt')).mode, mode.toString(8)).toBe(applied);
        }
        await s.chmod('/docs', 0o3775);
        expect((await s.stat('/docs')).mode).toBe(0o775);
      });

      it('refuses the root (EPERM) and leaves its mode alone', async () => {
        const mode = (await s.stat('/')).mode;
        expect(await code(s.chmod('/', 0o777))).toBe('EPERM');
        expect(await code(s.chmod('/docs/..', 0o700))).toBe('EPERM');
        expect((await s.stat('/')).mode).toBe(mode);
      });

      it('rejects bad arguments and missing paths', async () => {
        expect(await code(s.setMtime('/missing', new Date()))).toBe('ENOENT');
        expect(await code(s.setMtime('/a.txt', new Date(Number.NaN)))).toBe('EINVAL');
        expect(await code(s.chmod('/missing', 0o644))).toBe('ENOENT');
        expect(await code(s.chmod('/a.txt', 0o10000))).toBe('EINVAL');
        expect(await code(s.chmod('/a.txt', -1))).toBe('EINVAL');
      });
    });

    it('only ever fails with the POSIX codes the contract names', async () => {
      const allowed = ['ENOENT', 'EEXIST', 'ENOTDIR', 'EISDIR', 'ENOTEMPTY', 'EACCES', 'EPERM', 'ENOSPC', 'EXDEV', 'EINVAL'];
      const results = await Promise.all([
        code(s.stat('/nope')),
        code(s.list('/a.txt')),
        code(s.mkdir('/docs')),
        code(s.rmdir('/docs')),
        code(s.delete('/docs')),
        code(s.rename('/nope', '/x')),
        code(s.createReadStream('/docs')),
        code(s.createWriteStream('/nope/x')),
      ]);
      for (const r of results) expect(allowed).toContain(r);
      for (const e of errors) expect(e.message).toMatch(/^E[A-Z]+: \//);
    });
  });
}
