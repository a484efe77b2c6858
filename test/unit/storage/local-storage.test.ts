import { execFileSync } from 'node:child_process';
import { once } from 'node:events';
import { existsSync, readdirSync } from 'node:fs';
import { lstat, mkdir, mkdtemp, readFile, readlink, rm, stat, symlink, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Transform, type Readable } from 'node:stream';
import { finished } from 'node:stream/promises';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { FtpError } from '../../../src/errors.js';
import { LocalStorage } from '../../../src/storage/local-storage.js';
import { readAll, writeAll } from './storage-behaviour.js';

/**
 * Jail tests. Layout per test:
 *   base/outside/secret.txt      must never be read, written, renamed or removed
 *   base/root/                   the storage root
 *     a.txt, data/f.txt
 *     evil      -> base/outside            (folder symlink pointing out)
 *     evilfile  -> base/outside/secret.txt (file symlink pointing out)
 *     rel       -> ../outside              (relative, pointing out)
 *     link      -> data                    (relative, inside)
 *     flink     -> base/root/data/f.txt    (absolute, inside)
 *     dangle    -> nowhere.txt             (dangling)
 *     loop      -> loop                    (loop)
 */
let base: string;
let root: string;
let outside: string;
let secret: string;
let s: LocalStorage;
const errors: Error[] = [];

async function code(p: Promise<unknown>): Promise<string | undefined> {
  try {
    await p;
  } catch (err) {
    errors.push(err as Error);
    return (err as NodeJS.ErrnoException).code;
  }
  return 'no error';
}

async function outsideUntouched(): Promise<void> {
  expect(readdirSync(outside).sort()).toEqual(['secret.txt']);
  expect(await readFile(secret, 'utf8')).toBe('TOP SECRET');
  expect((await stat(secret)).mode & 0o777).toBe(0o640);
  expect(readdirSync(base).sort()).toEqual(['outside', 'root']);
}

beforeEach(async () => {
  errors.length = 0;
  base = await mkdtemp(join(tmpdir(), 'ftpkit-jail-'));
  root = join(base, 'root');
  outside = join(base, 'outside');
  secret = join(outside, 'secret.txt');
  await mkdir(join(root, 'data'), { recursive: true });
  await mkdir(outside);
  await writeFile(secret, 'TOP SECRET', { mode: 0o640 });
  await writeFile(join(root, 'a.txt'), 'inside a');
  await writeFile(join(root, 'data', 'f.txt'), 'inside f');
  await symlink(outside, join(root, 'evil'));
  await symlink(secret, join(root, 'evilfile'));
  await symlink('../outside', join(root, 'rel'));
  await symlink('data', join(root, 'link'));
  await symlink(join(root, 'data', 'f.txt'), join(root, 'flink'));
  await symlink('nowhere.txt', join(root, 'dangle'));
  await symlink('loop', join(root, 'loop'));
  s = new LocalStorage(root);
});

afterEach(async () => {
  for (const e of errors) {
    expect(e.message).not.toContain(base);
    expect(e.message).not.toContain(tmpdir());
  }
  await rm(base, { recursive: true, force: true });
});

describe('LocalStorage: lexical escapes stay inside the root', () => {
  it('.. chains clamp at the root', async () => {
    expect(await code(s.stat('/../../../../etc/passwd'))).toBe('ENOENT');
    expect(await code(s.stat('/../outside/secret.txt'))).toBe('ENOENT');
    expect((await readAll(s, '/data/../../../a.txt')).toString()).toBe('inside a');
    await writeAll(s, '/../../../escaped.txt', 'x');
    expect(existsSync(join(root, 'escaped.txt'))).toBe(true);
    await outsideUntouched();
  });

  it('absolute host paths are virtual paths under the root', async () => {
    expect(await code(s.stat(secret))).toBe('ENOENT');
    errors.pop(); // its message echoes the client's own input, which happens to be a host path
    expect(await code(s.createReadStream('/etc/passwd'))).toBe('ENOENT');
    await mkdir(join(root, 'etc'));
    await writeFile(join(root, 'etc', 'passwd'), 'fake');
    expect((await readAll(s, '/etc/passwd')).toString()).toBe('fake');
  });

  it('backslashes are separators, so ..\\..\\ clamps too (ftp-srv CVE-2020-26299)', async () => {
    expect(await code(s.stat('..\\..\\outside\\secret.txt'))).toBe('ENOENT');
    expect(await code(s.createReadStream('\\..\\..\\outside\\secret.txt'))).toBe('ENOENT');
    await writeAll(s, '..\\..\\outside\\secret.txt', 'overwrite?').catch(() => {});
    await s.mkdir('..\\..\\made').catch(() => {});
    expect(existsSync(join(root, 'made'))).toBe(true);
    expect((await readAll(s, 'data\\..\\..\\a.txt')).toString()).toBe('inside a');
    await outsideUntouched();
  });

  it('percent-encoded dots are a literal name inside the root', async () => {
    expect(await code(s.stat('/%2e%2e/outside/secret.txt'))).toBe('ENOENT');
    await s.mkdir('/%2e%2e');
    await writeAll(s, '/%2e%2e/x.txt', 'lit');
    expect(await readFile(join(root, '%2e%2e', 'x.txt'), 'utf8')).toBe('lit');
    await outsideUntouched();
  });

  it('NUL, CR and LF are refused with EINVAL before touching the disk', async () => {
    for (const p of ['/a.txt\0.jpg', '/a\r\n.txt', '/data\0/../..']) {
      expect(await code(s.stat(p))).toBe('EINVAL');
      expect(await code(s.createWriteStream(p))).toBe('EINVAL');
      expect(await code(s.mkdir(p))).toBe('EINVAL');
      expect(await code(s.rename('/a.txt', p))).toBe('EINVAL');
    }
    expect(readdirSync(root).sort()).toEqual(['a.txt', 'dangle', 'data', 'evil', 'evilfile', 'flink', 'link', 'loop', 'rel']);
  });
});

describe('LocalStorage: a symlink inside pointing outside behaves as missing', () => {
  it('stat', async () => {
    for (const p of ['/evil', '/evil/secret.txt', '/evilfile', '/rel', '/rel/secret.txt']) {
      expect(await code(s.stat(p))).toBe('ENOENT');
    }
  });

  it('list omits it and refuses to list through it', async () => {
    const names = (await s.list('/')).map((e) => e.name).sort();
    expect(names).toEqual(['a.txt', 'data', 'flink', 'link']);
    expect(await code(s.list('/evil'))).toBe('ENOENT');
    expect(await code(s.list('/rel'))).toBe('ENOENT');
  });

  it('read', async () => {
    expect(await code(s.createReadStream('/evilfile'))).toBe('ENOENT');
    expect(await code(s.createReadStream('/evil/secret.txt'))).toBe('ENOENT');
    expect(await code(s.createReadStream('/rel/secret.txt', { start: 1 }))).toBe('ENOENT');
  });

  it('write through it, in every mode', async () => {
    for (const opts of [undefined, { start: 0 }, { start: 3 }, { append: true }]) {
      expect(await code(s.createWriteStream('/evilfile', opts))).toBe('ENOENT');
      expect(await code(s.createWriteStream('/evil/secret.txt', opts))).toBe('ENOENT');
      expect(await code(s.createWriteStream('/evil/new.txt', opts))).toBe('ENOENT');
      expect(await code(s.createWriteStream('/rel/new.txt', opts))).toBe('ENOENT');
    }
    expect((await lstat(join(root, 'evilfile'))).isSymbolicLink()).toBe(true);
    await outsideUntouched();
  });

  it('mkdir under it (and EEXIST on its own name, which is taken)', async () => {
    expect(await code(s.mkdir('/evil/sub'))).toBe('ENOENT');
    expect(await code(s.mkdir('/rel/sub'))).toBe('ENOENT');
    expect(await code(s.mkdir('/evil'))).toBe('EEXIST');
    await outsideUntouched();
  });

  it('rename from it, through it, and into it', async () => {
    expect(await code(s.rename('/evil/secret.txt', '/stolen.txt'))).toBe('ENOENT');
    expect(await code(s.rename('/evilfile', '/stolen.txt'))).toBe('ENOENT');
    expect(await code(s.rename('/evil', '/stolen'))).toBe('ENOENT');
    expect(await code(s.rename('/a.txt', '/evil/a.txt'))).toBe('ENOENT');
    expect(await code(s.rename('/data', '/rel/data'))).toBe('ENOENT');
    expect(existsSync(join(root, 'stolen.txt'))).toBe(false);
    expect(existsSync(join(root, 'a.txt'))).toBe(true);
    await outsideUntouched();
  });

  it('rename onto its name replaces the link entry, not the file it points to', async () => {
    await s.rename('/a.txt', '/evilfile');
    expect((await lstat(join(root, 'evilfile'))).isFile()).toBe(true);
    expect((await readAll(s, '/evilfile')).toString()).toBe('inside a');
    await outsideUntouched();
  });

  it('delete and rmdir of it, and of entries behind it', async () => {
    expect(await code(s.delete('/evilfile'))).toBe('ENOENT');
    expect(await code(s.delete('/evil/secret.txt'))).toBe('ENOENT');
    expect(await code(s.delete('/evil'))).toBe('ENOENT');
    expect(await code(s.rmdir('/evil'))).toBe('ENOENT');
    expect(await code(s.rmdir('/rel'))).toBe('ENOENT');
    expect((await lstat(join(root, 'evilfile'))).isSymbolicLink()).toBe(true); // hidden, so kept
    expect((await lstat(join(root, 'evil'))).isSymbolicLink()).toBe(true);
    await outsideUntouched();
  });

  it('setMtime and chmod', async () => {
    expect(await code(s.chmod('/evilfile', 0o777))).toBe('ENOENT');
    expect(await code(s.chmod('/evil/secret.txt', 0o777))).toBe('ENOENT');
    expect(await code(s.setMtime('/evilfile', new Date(0)))).toBe('ENOENT');
    expect((await stat(secret)).mtime.getTime()).not.toBe(0);
    await outsideUntouched();
  });

  it('a chain of links that ends outside is hidden too', async () => {
    await symlink('evil', join(root, 'hop'));
    await symlink(join(root, 'data'), join(root, 'okhop'));
    await symlink('evilfile', join(root, 'hopfile'));
    expect(await code(s.stat('/hop/secret.txt'))).toBe('ENOENT');
    expect(await code(s.createReadStream('/hopfile'))).toBe('ENOENT');
    expect(await code(s.createWriteStream('/hopfile'))).toBe('ENOENT');
    expect((await s.list('/')).map((e) => e.name)).not.toContain('hop');
    expect((await s.stat('/okhop')).type).toBe('dir');
    await outsideUntouched();
  });

  it('a symlink to a parent of the root is hidden', async () => {
    await symlink('..', join(root, 'up'));
    await symlink('/', join(root, 'slash'));
    expect(await code(s.stat('/up'))).toBe('ENOENT');
    expect(await code(s.list('/slash/etc'))).toBe('ENOENT');
    expect(await code(s.createReadStream('/slash/etc/passwd'))).toBe('ENOENT');
  });
});

describe('LocalStorage: a symlink inside pointing inside works', () => {
  it('stat follows it and reports the target', async () => {
    expect(await s.stat('/link')).toMatchObject({ name: 'link', type: 'dir' });
    expect(await s.stat('/flink')).toMatchObject({ name: 'flink', type: 'file', size: 8 });
  });

  it('list shows it with the target type, and lists through it', async () => {
    const entries = await s.list('/');
    expect(entries.find((e) => e.name === 'link')?.type).toBe('dir');
    expect(entries.find((e) => e.name === 'flink')?.type).toBe('file');
    expect((await s.list('/link')).map((e) => e.name)).toEqual(['f.txt']);
  });

  it('read and write through it', async () => {
    expect((await readAll(s, '/flink')).toString()).toBe('inside f');
    expect((await readAll(s, '/link/f.txt', { start: 7 })).toString()).toBe('f');
    await writeAll(s, '/flink', 'rewritten');
    expect(await readFile(join(root, 'data', 'f.txt'), 'utf8')).toBe('rewritten');
    expect((await lstat(join(root, 'flink'))).isSymbolicLink()).toBe(true);
    await writeAll(s, '/link/new.txt', 'n');
    await s.mkdir('/link/sub');
    expect(existsSync(join(root, 'data', 'new.txt'))).toBe(true);
    expect(existsSync(join(root, 'data', 'sub'))).toBe(true);
  });

  it('delete removes the link, never its target; rmdir of a folder link is ENOTDIR', async () => {
    await s.delete('/flink');
    expect(existsSync(join(root, 'flink'))).toBe(false);
    expect(await readFile(join(root, 'data', 'f.txt'), 'utf8')).toBe('inside f');
    expect(await code(s.rmdir('/link'))).toBe('ENOTDIR');
    await s.delete('/link');
    expect(existsSync(join(root, 'data', 'f.txt'))).toBe(true);
  });

  it('rename moves the link itself', async () => {
    await s.rename('/flink', '/data/moved');
    expect(await readlink(join(root, 'data', 'moved'))).toBe(join(root, 'data', 'f.txt'));
  });

  it('a root that is itself reached through a symlink works', async () => {
    await symlink(root, join(base, 'rootlink'));
    const viaLink = new LocalStorage(join(base, 'rootlink'));
    expect((await readAll(viaLink, '/a.txt')).toString()).toBe('inside a');
    expect((await readAll(viaLink, '/flink')).toString()).toBe('inside f');
    expect(await code(viaLink.stat('/evil'))).toBe('ENOENT');
    await rm(join(base, 'rootlink'));
  });
});

describe('LocalStorage: dangling links, loops and special files', () => {
  it('a dangling symlink is missing: stat, list, read, write, delete', async () => {
    expect(await code(s.stat('/dangle'))).toBe('ENOENT');
    expect((await s.list('/')).map((e) => e.name)).not.toContain('dangle');
    expect(await code(s.createReadStream('/dangle'))).toBe('ENOENT');
    expect(await code(s.createWriteStream('/dangle'))).toBe('ENOENT');
    expect(existsSync(join(root, 'nowhere.txt'))).toBe(false); // not created behind the link
    expect(await code(s.delete('/dangle'))).toBe('ENOENT');
  });

  it('a symlink loop is missing', async () => {
    expect(await code(s.stat('/loop'))).toBe('ENOENT');
    expect(await code(s.createReadStream('/loop'))).toBe('ENOENT');
    expect(await code(s.createWriteStream('/loop'))).toBe('ENOENT');
    expect((await s.list('/')).map((e) => e.name)).not.toContain('loop');
  });

  it('a FIFO is refused (EACCES) without hanging', async () => {
    execFileSync('mkfifo', [join(root, 'pipe')]);
    expect(await code(s.createReadStream('/pipe'))).toBe('EACCES');
    expect(await code(s.createWriteStream('/pipe'))).toBe('EACCES');
    expect((await s.stat('/pipe')).type).toBe('other');
  });

  it('host names a virtual path cannot address are left out of list()', async () => {
    await writeFile(join(root, 'back\\slash'), '');
    await writeFile(join(root, 'new\nline'), '');
    const names = (await s.list('/')).map((e) => e.name);
    expect(names).not.toContain('back\\slash');
    expect(names).not.toContain('new\nline');
  });
});

describe('LocalStorage: resources and limits', () => {
  const fdCount = (): number => readdirSync('/proc/self/fd').length;
  // once() would reject on the 'error' that destroy(err) emits; only 'close' matters here
  const closed = (stream: NodeJS.EventEmitter): Promise<void> => new Promise((r) => stream.once('close', () => r()));

  it.skipIf(!existsSync('/proc/self/fd'))('releases descriptors on end, error and destroy', async () => {
    await writeFile(join(root, 'big.bin'), Buffer.alloc(1.5 * 1024 * 1024, 9)); // > one 1 MiB chunk
    // warm up lazily opened handles (libuv, vitest) before taking the baseline
    await readAll(s, '/a.txt');
    // A leaked FileHandle may be closed by the garbage collector before we count, which
    // Node reports as a warning: count those as leaks too.
    const gcClosed: string[] = [];
    const onWarning = (w: Error): void => {
      if (/closing file descriptor/i.test(w.message)) gcClosed.push(w.message);
    };
    process.on('warning', onWarning);
    const before = fdCount();
    for (let i = 0; i < 100; i++) {
      // read to the end
      await readAll(s, '/big.bin', { start: i });
      // read, destroyed before the first byte
      const r1 = await s.createReadStream('/big.bin');
      r1.destroy();
      await once(r1, 'close');
      // read, destroyed mid-file
      const r2 = await s.createReadStream('/big.bin');
      const r2closed = once(r2, 'close');
      await once(r2, 'data');
      r2.destroy();
      await r2closed;
      // read, destroyed with an error
      const r3 = await s.createReadStream('/big.bin');
      r3.on('error', () => {});
      r3.destroy(new Error('boom'));
      await closed(r3);
      // write to the end
      await writeAll(s, `/w${i % 3}.bin`, 'x'.repeat(1000), i % 2 === 0 ? { start: 5 } : undefined);
      // write, destroyed before end, and with an error
      const w1 = await s.createWriteStream('/w.bin', { append: true });
      w1.write('partial');
      w1.destroy();
      await once(w1, 'close');
      const w2 = await s.createWriteStream('/w.bin');
      w2.on('error', () => {});
      w2.destroy(new Error('boom'));
      await closed(w2);
      // opens that fail after the descriptor exists (folder, FIFO-free) must close it
      await code(s.createReadStream('/data'));
      await code(s.createWriteStream('/data'));
    }
    // FileHandle.close() settles asynchronously; give it a moment
    for (let i = 0; i < 20 && fdCount() > before; i++) await new Promise((r) => setTimeout(r, 10));
    global.gc?.();
    await new Promise((r) => setTimeout(r, 50));
    process.off('warning', onWarning);
    expect(fdCount()).toBe(before);
    expect(gcClosed).toEqual([]);
  });

  it('reads large files with a 1 MiB highWaterMark, small ones with a smaller buffer', async () => {
    await writeFile(join(root, 'large.bin'), Buffer.alloc(3 * 1024 * 1024));
    const large = await s.createReadStream('/large.bin');
    expect(large.readableHighWaterMark).toBe(1024 * 1024);
    large.destroy();
    await once(large, 'close');
    const small = await s.createReadStream('/a.txt');
    expect(small.readableHighWaterMark).toBe(16 * 1024);
    small.destroy();
    await once(small, 'close');
  });

  it('lists a folder of 10,000 files in reasonable time', async () => {
    const dir = join(root, 'many');
    await mkdir(dir);
    const names = Array.from({ length: 10_000 }, (_, i) => `file-${i}.txt`);
    for (let i = 0; i < names.length; i += 500) {
      await Promise.all(names.slice(i, i + 500).map((n) => writeFile(join(dir, n), n)));
    }
    const t0 = performance.now();
    const entries = await s.list('/many');
    const elapsed = performance.now() - t0;
    expect(entries).toHaveLength(10_000);
    expect(entries.every((e) => e.type === 'file' && e.size === e.name.length)).toBe(true);
    console.log(`list of 10k files: ${elapsed.toFixed(0)} ms`);
    expect(elapsed).toBeLessThan(5000);
  });

  it('a missing root is ENOENT, without naming it', async () => {
    const gone = new LocalStorage(join(base, 'not-there'));
    expect(await code(gone.stat('/'))).toBe('ENOENT');
    expect(await code(gone.list('/'))).toBe('ENOENT');
    expect(await code(gone.createWriteStream('/x'))).toBe('ENOENT');
    // and it starts working once the folder appears
    await mkdir(join(base, 'not-there'));
    expect((await gone.stat('/')).type).toBe('dir');
    await rm(join(base, 'not-there'), { recursive: true });
  });

  it('error messages carry the code and the virtual path only', async () => {
    const err = await s.stat('/nope/x').catch((e: NodeJS.ErrnoException) => e);
    expect(err).toBeInstanceOf(Error);
    expect((err as Error).message).toBe('ENOENT: /nope/x');
    expect((err as NodeJS.ErrnoException).cause).toBeUndefined();
  });

  it('refuses an empty root', () => {
    expect(() => new LocalStorage('')).toThrowError(FtpError);
  });

  it('keeps a write stream usable through to finish', async () => {
    const w = await s.createWriteStream('/data/f.txt', { start: 7 });
    w.end('F!');
    await finished(w);
    expect(await readFile(join(root, 'data', 'f.txt'), 'utf8')).toBe('inside F!');
  });
});

describe('LocalStorage: openReader (the RETR fast path)', () => {
  /** Every byte openReader gives, read into buffers of `size` bytes. */
  async function readBlocks(path: string, options?: { start?: number; end?: number }, size = 3): Promise<Buffer> {
    const reader = await s.openReader(path, options);
    const parts: Buffer[] = [];
    try {
      for (;;) {
        const into = Buffer.alloc(size);
        const n = await reader.read(into);
        if (n === 0) break;
        parts.push(into.subarray(0, n));
      }
    } finally {
      await reader.close();
    }
    return Buffer.concat(parts);
  }

  it.each([
    [undefined, 'inside a'],
    [{ start: 7 }, 'a'],
    [{ start: 0, end: 5 }, 'inside'],
    [{ start: 2, end: 2 }, 's'],
    [{ start: 8 }, ''],
    [{ start: 1000 }, ''],
    [{ end: 100 }, 'inside a'],
  ])('reads %j like createReadStream', async (range, expected) => {
    expect((await readBlocks('/a.txt', range)).toString()).toBe(expected);
    expect((await readAll(s, '/a.txt', range)).toString()).toBe(expected);
  });

  it('reads a large file byte-exact into large buffers', async () => {
    const body = Buffer.alloc(5 * 1024 * 1024 + 3, 7);
    body.write('head');
    await writeFile(join(root, 'big.bin'), body);
    expect((await readBlocks('/big.bin', undefined, 2 * 1024 * 1024)).equals(body)).toBe(true);
  });

  it.each([
    ['/data', 'EISDIR'],
    ['/missing', 'ENOENT'],
    ['/a.txt/x', 'ENOTDIR'],
    ['/evilfile', 'ENOENT'],
    ['/evil/secret.txt', 'ENOENT'],
    ['/../outside/secret.txt', 'ENOENT'],
  ])('%s -> %s', async (p, expected) => {
    expect(await code(s.openReader(p))).toBe(expected);
    for (const err of errors) expect(err.message).not.toContain(base);
  });

  it('refuses bad ranges with EINVAL and a FIFO with EACCES', async () => {
    expect(await code(s.openReader('/a.txt', { start: -1 }))).toBe('EINVAL');
    expect(await code(s.openReader('/a.txt', { start: 5, end: 4 }))).toBe('EINVAL');
    execFileSync('mkfifo', [join(root, 'pipe')]);
    expect(await code(s.openReader('/pipe'))).toBe('EACCES');
  });

  it('a subclass that reshapes createReadStream is read through it', async () => {
    class Shouting extends LocalStorage {
      override async createReadStream(path: string, options?: { start?: number; end?: number }): Promise<Readable> {
        const inner = await super.createReadStream(path, options);
        return inner.pipe(new Transform({ transform: (c: Buffer, _e, cb) => cb(null, Buffer.from(c.toString().toUpperCase())) }));
      }
    }
    const shouting = new Shouting(root);
    const reader = await shouting.openReader('/a.txt', { start: 2 });
    const parts: string[] = [];
    for (let into = Buffer.alloc(4), n; (n = await reader.read(into)) > 0; ) parts.push(into.toString('utf8', 0, n));
    expect(parts).toEqual(['SIDE', ' A']);
    await reader.close();
    expect(await reader.read(Buffer.alloc(4))).toBe(0);
  });

  it('close() waits for a read in flight, reads after it give 0, and no descriptor is left', async () => {
    const fds = readdirSync('/proc/self/fd').length;
    const reader = await s.openReader('/a.txt');
    const into = Buffer.alloc(4);
    const pending = reader.read(into);
    await Promise.all([reader.close(), reader.close()]);
    expect(await pending).toBe(4);
    expect(into.toString()).toBe('insi');
    expect(await reader.read(Buffer.alloc(4))).toBe(0);
    expect(readdirSync('/proc/self/fd').length).toBe(fds);
  });
});
