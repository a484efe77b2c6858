// LocalStorage options protectedPaths and dotfiles (issue 12, item 1): hidden entries behave
// as missing (ENOENT) whatever name reaches them; creating one is EACCES, existing or not.
import { existsSync } from 'node:fs';
import { once } from 'node:events';
import type { Readable, Writable } from 'node:stream';
import { link, lstat, mkdir, mkdtemp, readdir, readFile, rename, rm, stat, symlink, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { FtpError } from '../../../src/errors.js';
import { LocalStorage } from '../../../src/storage/local-storage.js';
import { UPLOAD_TEMP_PREFIX } from '../../../src/storage/hidden-entries.js';
import { TEMP_PREFIX } from '../../../src/server/upload.js';
import { readAll, writeAll } from './storage-behaviour.js';

/**
 *   base/root/                    the storage root
 *     users.json                  protected (file)
 *     keys/tls.key                protected (folder)
 *     conf/app/users2.json        protected (file deep in a folder)
 *     public.txt, sub/f.txt
 *     .env, .git/config, sub/.hidden
 *     to-users -> users.json      symlinks onto protected entries
 *     to-keys  -> keys
 */
let base: string;
let root: string;
let users: string;
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

const names = async (s: LocalStorage, p = '/'): Promise<string[]> => (await s.list(p)).map((e) => e.name).sort();

beforeEach(async () => {
  errors.length = 0;
  base = await mkdtemp(join(tmpdir(), 'ftpkit-hidden-'));
  root = join(base, 'root');
  users = join(root, 'users.json');
  await mkdir(join(root, 'keys'), { recursive: true });
  await mkdir(join(root, 'sub'));
  await mkdir(join(root, '.git'));
  await mkdir(join(root, 'conf', 'app'), { recursive: true });
  await writeFile(users, '{"hashes":"secret"}');
  await writeFile(join(root, 'keys', 'tls.key'), 'PRIVATE KEY');
  await writeFile(join(root, 'conf', 'app', 'users2.json'), 'deep');
  await writeFile(join(root, 'public.txt'), 'public');
  await writeFile(join(root, 'sub', 'f.txt'), 'f');
  await writeFile(join(root, 'sub', '.hidden'), 'h');
  await writeFile(join(root, '.env'), 'TOKEN=1');
  await writeFile(join(root, '.git', 'config'), '[core]');
  await symlink('users.json', join(root, 'to-users'));
  await symlink(join(root, 'keys'), join(root, 'to-keys'));
});

afterEach(async () => {
  for (const e of errors) {
    expect(e.message).not.toContain(base);
    expect(e.message).not.toContain(tmpdir());
  }
  await rm(base, { recursive: true, force: true });
});

function guarded(extra: { dotfiles?: 'hide' | 'show' } = {}): LocalStorage {
  // Given through aliases on purpose: '..' and a symlinked parent must not matter.
  return new LocalStorage(root, {
    protectedPaths: [join(root, 'sub', '..', 'users.json'), join(root, 'keys'), join(root, 'conf', 'app', 'users2.json')],
    ...extra,
  });
}

describe('LocalStorage protectedPaths: what is protected behaves as missing', () => {
  it('is never listed, by any name', async () => {
    const s = guarded();
    expect(await names(s)).toEqual(['conf', 'public.txt', 'sub']);
    expect(await names(s, '/conf/app')).toEqual([]);
  });

  it.each(['/users.json', '/to-users', '/keys', '/keys/tls.key', '/to-keys/tls.key', '/sub/../users.json', '/conf/app/users2.json'])(
    '%s: stat, read, list, setMtime and chmod are ENOENT',
    async (p) => {
      const s = guarded();
      expect(await code(s.stat(p))).toBe('ENOENT');
      expect(await code(s.createReadStream(p))).toBe('ENOENT');
      expect(await code(s.openReader(p))).toBe('ENOENT');
      expect(await code(s.setMtime(p, new Date(0)))).toBe('ENOENT');
      expect(await code(s.chmod(p, 0o666))).toBe('ENOENT');
      expect(await code(s.truncate(p, 0))).toBe('ENOENT');
      if (p.includes('keys') && !p.endsWith('.key')) expect(await code(s.list(p))).toBe('ENOENT');
    },
  );

  it('is never deleted, renamed away or removed', async () => {
    const s = guarded();
    expect(await code(s.delete('/users.json'))).toBe('ENOENT');
    expect(await code(s.delete('/keys/tls.key'))).toBe('ENOENT');
    expect(await code(s.rmdir('/keys'))).toBe('ENOENT');
    expect(await code(s.rename('/users.json', '/stolen.json'))).toBe('ENOENT');
    expect(await code(s.rename('/keys', '/k2'))).toBe('ENOENT');
    expect(await code(s.delete('/to-users'))).toBe('ENOENT'); // a link onto it is hidden like it
    expect(await readFile(users, 'utf8')).toBe('{"hashes":"secret"}');
    expect(existsSync(join(root, 'keys', 'tls.key'))).toBe(true);
  });

  it('a folder holding a protected path cannot be moved (it would take the path along): EACCES', async () => {
    const s = guarded();
    expect(await code(s.rename('/conf', '/elsewhere'))).toBe('EACCES');
    expect(await code(s.rename('/conf/app', '/app'))).toBe('EACCES');
    expect(existsSync(join(root, 'conf', 'app', 'users2.json'))).toBe(true);
  });

  it('is never written or created, existing or not: EACCES', async () => {
    const s = guarded();
    for (const opts of [undefined, { append: true }, { start: 0 }]) {
      expect(await code(s.createWriteStream('/users.json', opts))).toBe('EACCES');
    }
    expect(await code(s.createWriteStream('/to-users'))).toBe('EACCES'); // a link onto it: a hidden name too
    expect(await code(s.createWriteStream('/keys/new.key'))).toBe('ENOENT'); // inside a protected folder
    expect(await code(s.mkdir('/keys'))).toBe('EACCES');
    expect(await code(s.rename('/public.txt', '/users.json'))).toBe('EACCES');
    expect(await code(s.rename('/public.txt', '/keys'))).toBe('EACCES');
    expect(await code(s.rename('/public.txt', '/to-users'))).toBe('EACCES'); // a link onto it is hidden like it
    // the atomic upload's temporary of a protected name: refused before any byte is written
    expect(await code(s.createWriteStream(`/${UPLOAD_TEMP_PREFIX}users.json`))).toBe('EACCES');
    expect(await readFile(users, 'utf8')).toBe('{"hashes":"secret"}');
    expect(await readFile(join(root, 'public.txt'), 'utf8')).toBe('public');
    expect((await readdir(root)).sort()).toEqual(['.env', '.git', 'conf', 'keys', 'public.txt', 'sub', 'to-keys', 'to-users', 'users.json']);
    expect((await lstat(join(root, 'to-users'))).isSymbolicLink()).toBe(true);
  });

  it('a protected path that does not exist yet cannot be created', async () => {
    const s = new LocalStorage(root, { protectedPaths: [join(root, 'later.key'), join(root, 'not-yet', 'deep.key')] });
    expect(await code(s.createWriteStream('/later.key'))).toBe('EACCES');
    expect(await code(s.mkdir('/later.key'))).toBe('EACCES');
    expect(await code(s.rename('/public.txt', '/later.key'))).toBe('EACCES');
    await s.mkdir('/not-yet');
    expect(await code(s.createWriteStream('/not-yet/deep.key'))).toBe('EACCES');
    expect(existsSync(join(root, 'later.key'))).toBe(false);
    expect(existsSync(join(root, 'not-yet', 'deep.key'))).toBe(false);
  });

  it('a hard link to a protected file is hidden too (compared by device and inode)', async () => {
    await link(users, join(root, 'alias.json'));
    const s = guarded();
    expect(await names(s)).not.toContain('alias.json');
    expect(await code(s.stat('/alias.json'))).toBe('ENOENT');
    expect(await code(s.createReadStream('/alias.json'))).toBe('ENOENT');
    expect(await code(s.delete('/alias.json'))).toBe('ENOENT');
    expect(await code(s.createWriteStream('/alias.json'))).toBe('EACCES');
    expect(await code(s.createWriteStream(`/${UPLOAD_TEMP_PREFIX}alias.json`))).toBe('EACCES');
    expect(await code(s.rename('/public.txt', '/alias.json'))).toBe('EACCES');
    expect(await readFile(users, 'utf8')).toBe('{"hashes":"secret"}');
  });

  it('a protected file replaced by rename (a new inode) stays protected, hard links to it too', async () => {
    const s = guarded();
    expect(await code(s.stat('/users.json'))).toBe('ENOENT');
    await writeFile(join(root, 'users.new'), '{"hashes":"rotated"}');
    await rename(join(root, 'users.new'), users);
    await link(users, join(root, 'alias2.json'));
    expect(await code(s.stat('/users.json'))).toBe('ENOENT');
    await new Promise((r) => setTimeout(r, 1100)); // inodes are looked up again at most once a second
    expect(await code(s.stat('/alias2.json'))).toBe('ENOENT');
    expect(await names(s)).not.toContain('alias2.json');
  });

  it('a protected path given through a symlinked parent protects the real file', async () => {
    await symlink(root, join(base, 'root-link'));
    const s = new LocalStorage(root, { protectedPaths: [join(base, 'root-link', 'public.txt')] });
    expect(await code(s.stat('/public.txt'))).toBe('ENOENT');
    expect(await names(s)).not.toContain('public.txt');
  });

  it('a protected root, or one inside a protected folder, serves nothing', async () => {
    const s = new LocalStorage(join(root, 'sub'), { protectedPaths: [root] });
    expect(await code(s.list('/'))).toBe('ENOENT');
    expect(await code(s.stat('/f.txt'))).toBe('ENOENT');
    expect(await code(s.createWriteStream('/new.txt'))).toBe('ENOENT');
    expect(await code(s.mkdir('/d'))).toBe('ENOENT');
  });

  it('everything else works as before', async () => {
    const s = guarded();
    expect((await readAll(s, '/public.txt')).toString()).toBe('public');
    await writeAll(s, '/new.txt', 'n');
    await s.rename('/new.txt', '/sub/moved.txt');
    await s.mkdir('/sub/d');
    await s.chmod('/sub/moved.txt', 0o600);
    expect((await stat(join(root, 'sub', 'moved.txt'))).mode & 0o777).toBe(0o600);
    await s.delete('/sub/moved.txt');
    await s.rmdir('/sub/d');
    expect(await names(s, '/sub')).toEqual(['f.txt']);
  });
});

describe('LocalStorage dotfiles', () => {
  it("'hide' (the default): not listed, missing as a name and as a path component", async () => {
    const s = new LocalStorage(root);
    expect(await names(s)).toEqual(['conf', 'keys', 'public.txt', 'sub', 'to-keys', 'to-users', 'users.json']);
    expect(await names(s, '/sub')).toEqual(['f.txt']);
    for (const p of ['/.env', '/.git', '/.git/config', '/sub/.hidden', '/.git/../.env']) {
      expect(await code(s.stat(p)), p).toBe('ENOENT');
      expect(await code(s.createReadStream(p)), p).toBe('ENOENT');
      expect(await code(s.delete(p)), p).toBe('ENOENT');
      expect(await code(s.chmod(p, 0o777)), p).toBe('ENOENT');
      expect(await code(s.rename(p, '/taken')), p).toBe('ENOENT');
    }
    expect(await code(s.list('/.git'))).toBe('ENOENT');
    expect(await code(s.rmdir('/.git'))).toBe('ENOENT');
  });

  it("'hide': creating a dot name is EACCES, existing or not; inside a dot folder ENOENT", async () => {
    const s = new LocalStorage(root);
    expect(await code(s.createWriteStream('/.env'))).toBe('EACCES');
    expect(await code(s.createWriteStream('/.htaccess'))).toBe('EACCES');
    expect(await code(s.mkdir('/.ssh'))).toBe('EACCES');
    expect(await code(s.rename('/public.txt', '/.profile'))).toBe('EACCES');
    expect(await code(s.createWriteStream('/.git/hooks'))).toBe('ENOENT');
    expect(await code(s.createWriteStream(`/${UPLOAD_TEMP_PREFIX}.env`))).toBe('EACCES'); // an upload of .env
    expect(await readFile(join(root, '.env'), 'utf8')).toBe('TOKEN=1');
    expect((await readdir(root)).filter((n) => n.startsWith('.')).sort()).toEqual(['.env', '.git']);
  });

  it("'hide': upload temporaries (the server's own dot names) keep working", async () => {
    expect(UPLOAD_TEMP_PREFIX).toBe(TEMP_PREFIX);
    const s = new LocalStorage(root);
    const temp = `/sub/${UPLOAD_TEMP_PREFIX}f.txt`;
    await writeAll(s, temp, 'partial');
    expect((await s.stat(temp)).size).toBe(7);
    expect(await names(s, '/sub')).toEqual([`${UPLOAD_TEMP_PREFIX}f.txt`, 'f.txt']);
    await s.truncate(temp, 3);
    await s.chmod(temp, 0o640);
    await s.rename(temp, '/sub/f.txt');
    expect(await readFile(join(root, 'sub', 'f.txt'), 'utf8')).toBe('par');
  });

  it("'show' serves dotfiles; protected paths stay hidden", async () => {
    const s = guarded({ dotfiles: 'show' });
    expect(await names(s)).toEqual(['.env', '.git', 'conf', 'public.txt', 'sub']);
    expect((await readAll(s, '/.git/config')).toString()).toBe('[core]');
    await writeAll(s, '/.htaccess', 'x');
    expect(existsSync(join(root, '.htaccess'))).toBe(true);
    expect(await code(s.stat('/users.json'))).toBe('ENOENT');
  });

  it.skipIf(!existsSync('/proc/self/fd'))('leaves no descriptor open, on success or refusal', async () => {
    const s = guarded();
    // Some of these succeed (a rename onto the link name replaces the link): close what opens.
    const attempt = async (p: Promise<Readable | Writable | void>): Promise<void> => {
      const stream = await p.catch(() => undefined);
      if (stream) {
        stream.destroy();
        await once(stream, 'close');
      }
    };
    const round = async (i: number): Promise<void> => {
      await readAll(s, '/public.txt');
      await s.list('/');
      await writeAll(s, `/sub/w${i}`, 'w');
      await s.rename(`/sub/w${i}`, `/sub/x${i}`);
      await s.chmod(`/sub/x${i}`, 0o600);
      await s.setMtime(`/sub/x${i}`, new Date());
      await s.delete(`/sub/x${i}`);
      await s.mkdir('/sub/d');
      await s.rmdir('/sub/d');
      for (const p of ['/users.json', '/to-users', '/keys/tls.key', '/.env', '/missing/x', '/public.txt/x']) {
        await attempt(s.stat(p).then(() => {}));
        await attempt(s.createReadStream(p));
        await attempt(s.createWriteStream(p));
        await attempt(s.delete(p));
        await attempt(s.rename(p, '/r'));
        await attempt(s.rename('/sub/f.txt', p));
        await attempt(s.chmod(p, 0o600));
        await attempt(s.mkdir(p));
      }
      await attempt(s.rename('/conf', '/c2'));
    };
    await round(0); // warm up lazily opened handles (libuv, vitest) before the baseline
    const fds = (await readdir('/proc/self/fd')).length;
    for (let i = 1; i <= 20; i++) await round(i);
    expect((await readdir('/proc/self/fd')).length).toBe(fds);
  });

  it('refuses bad options with FtpError naming the option', () => {
    expect(() => new LocalStorage(root, { dotfiles: 'yes' as 'hide' })).toThrowError(/dotfiles/);
    expect(() => new LocalStorage(root, { protectedPaths: 'users.json' as unknown as string[] })).toThrowError(FtpError);
    expect(() => new LocalStorage(root, { protectedPaths: [''] })).toThrowError(/protectedPaths/);
  });
});
