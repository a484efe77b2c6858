import { mkdir, readFile, stat, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  UserStore,
  addUser,
  deleteUser,
  hashPassword,
  listUsers,
  loadUsersFile,
  parsePermissions,
  saveUsersFile,
  setUserPassword,
  verifyPassword,
} from '../../../src/index.js';
import { LoginGuard } from '../../../src/server/abuse/login-guard.js';
import { Permissions } from '../../../src/server/permissions.js';
import { TokenBucket } from '../../../src/server/throttle.js';
import { makeTempDir, type TempDir } from '../../helpers/tmp.js';

const FAST = { N: 1024, r: 8, p: 1 };

describe('permission letters', () => {
  it('accepts the pyftpdlib letters in any order and refuses anything else, naming the field', () => {
    expect(parsePermissions('rle')).toBe('elr');
    expect(parsePermissions('TMwmfdarle')).toBe('elradfmwMT');
    expect(parsePermissions('')).toBe('');
    expect(() => parsePermissions('elrx', 'users[0].permissions')).toThrow(/users\[0\]\.permissions: unknown permission letter 'x'/);
    expect(() => parsePermissions('elR')).toThrow(/unknown permission letter 'R'/);
    expect(() => parsePermissions(7)).toThrow(/must be a string/);
  });

  it('per-folder overrides: the longest matching folder wins, on segment boundaries', () => {
    const p = new Permissions('elr', { '/pub': 'elradfmw', '/pub/ro': 'el', '/incoming': 'w' });
    expect(p.at('/')).toBe('elr');
    expect(p.at('/pub')).toBe('elradfmw');
    expect(p.at('/pub/a/b.txt')).toBe('elradfmw');
    expect(p.at('/pub/ro/x')).toBe('el');
    expect(p.at('/public')).toBe('elr'); // not under /pub
    expect(p.has('w', '/incoming/up.bin')).toBe(true);
    expect(p.has('l', '/incoming')).toBe(false);
    expect(p.readOnly).toBe(false);
    expect(new Permissions('elr').readOnly).toBe(true);
    expect(() => new Permissions('elr', { 'relative/x': 'e' })).toThrow(/absolute virtual path/);
    expect(() => new Permissions('elr', { '/x': 'q' })).toThrow(/overrides\['\/x'\]: unknown permission letter 'q'/);
  });
});

describe('password hashes', () => {
  it('scrypt$N$r$p$salt$hash, verified in constant time, salted', async () => {
    const h = await hashPassword('pässword', FAST);
    expect(h).toMatch(/^scrypt\$1024\$8\$1\$[A-Za-z0-9+/=]+\$[A-Za-z0-9+/=]+$/);
    expect(await verifyPassword('pässword', h)).toBe(true);
    expect(await verifyPassword('password', h)).toBe(false);
    expect(await hashPassword('pässword', FAST)).not.toBe(h);
  });

  it('refuses empty and oversized passwords, and hostile parameters', async () => {
    await expect(hashPassword('')).rejects.toThrow(/non-empty/);
    await expect(hashPassword('x'.repeat(100_000))).rejects.toThrow(/at most 1024 bytes/);
    const h = await hashPassword('ok', FAST);
    expect(await verifyPassword('x'.repeat(100_000), h)).toBe(false);
    await expect(verifyPassword('ok', h.replace('$1024$', '$1000$'))).rejects.toThrow(/scrypt parameters/);
    await expect(verifyPassword('ok', h.replace('$1024$', `$${2 ** 30}$`))).rejects.toThrow(/scrypt parameters/);
  });
});

describe('users file', () => {
  let dir: TempDir;
  let hash: string;
  beforeAll(async () => {
    dir = await makeTempDir('ftpkit-users-');
    await mkdir(join(dir.path, 'srv', 'alice'), { recursive: true });
    await mkdir(join(dir.path, 'elsewhere'));
    hash = await hashPassword('secret', FAST);
  });
  afterAll(() => dir.cleanup());

  const user = (over: Record<string, unknown> = {}): Record<string, unknown> => ({
    name: 'alice',
    password: hash,
    home: join(dir.path, 'srv', 'alice'),
    permissions: 'elr',
    ...over,
  });

  async function load(content: unknown): Promise<unknown> {
    const file = join(dir.path, `f-${Math.random()}.json`);
    await writeFile(file, typeof content === 'string' ? content : JSON.stringify(content));
    return loadUsersFile(file);
  }

  it.each([
    ['not JSON', () => ('{"version": 1,'), /not valid JSON/],
    ['an array', () => ([]), /must hold a JSON object/],
    ['a wrong version', () => ({ version: 2, users: [] }), /version must be 1/],
    ['an unknown top-level field', () => ({ version: 1, users: [], extra: 1 }), /extra: unknown field/],
    ['users not an array', () => ({ version: 1, users: {} }), /users must be an array/],
    ['an unknown permission letter', () => ({ version: 1, users: [user({ permissions: 'elrz' })] }), /users\[0\]\.permissions: unknown permission letter 'z'/],
    ['a misspelt field', () => ({ version: 1, users: [user({ dissabled: true })] }), /users\[0\]\.dissabled: unknown field/],
    ['a bad name', () => ({ version: 1, users: [user({ name: 'a b' })] }), /users\[0\]\.name must be/],
    ['a reserved name', () => ({ version: 1, users: [user({ name: 'anonymous' })] }), /users\[0\]\.name: 'anonymous' is reserved/],
    ['a duplicate name', () => ({ version: 1, users: [user(), user()] }), /users\[1\]\.name: 'alice' appears twice/],
    ['a clear-text password', () => ({ version: 1, users: [user({ password: 'secret' })] }), /users\[0\]\.password: must look like scrypt/],
    ['a relative home', () => ({ version: 1, users: [user({ home: 'srv/alice' })] }), /users\[0\]\.home must be an absolute path/],
    ['a negative rate', () => ({ version: 1, users: [user({ uploadRate: -1 })] }), /users\[0\]\.uploadRate must be a non-negative integer/],
    ['a string disabled', () => ({ version: 1, users: [user({ disabled: 'yes' })] }), /users\[0\]\.disabled must be true or false/],
    ['a string requireTls', () => ({ version: 1, users: [user({ requireTls: 'on' })] }), /users\[0\]\.requireTls must be true or false/],
    ['a bad override letter', () => ({ version: 1, users: [user({ overrides: { '/pub': 'elrq' } })] }), /users\[0\]\.overrides\['\/pub'\]: unknown permission letter 'q'/],
  ])('refuses %s, naming the field', async (_what, content, message) => {
    await expect(load(content())).rejects.toThrow(message);
  });

  it('refuses a home that is missing, or outside homeRoot (also through a symlink)', async () => {
    await expect(load({ version: 1, users: [user({ home: join(dir.path, 'nope') })] })).rejects.toThrow(/users\[0\]\.home: .*nope does not exist or is not a folder/);
    const homeRoot = join(dir.path, 'srv');
    await expect(load({ version: 1, homeRoot, users: [user({ home: join(dir.path, 'elsewhere') })] })).rejects.toThrow(/users\[0\]\.home: .*elsewhere is outside homeRoot/);
    await expect(load({ version: 1, homeRoot, users: [user({ home: join(homeRoot, 'alice', '..', '..', 'elsewhere') })] })).rejects.toThrow(/outside homeRoot/);
    const { symlink } = await import('node:fs/promises');
    await symlink(join(dir.path, 'elsewhere'), join(homeRoot, 'sneaky'));
    await expect(load({ version: 1, homeRoot, users: [user({ home: join(homeRoot, 'sneaky') })] })).rejects.toThrow(/outside homeRoot/);
    await expect(load({ version: 1, homeRoot, users: [user()] })).resolves.toMatchObject({ version: 1, users: [{ name: 'alice', permissions: 'elr' }] });
  });

  it('is written atomically with mode 0600, and managed with add/passwd/del/list', async () => {
    const file = join(dir.path, 'managed.json');
    await addUser(file, 'alice', 'first', { home: join(dir.path, 'srv', 'alice'), permissions: 'rle' });
    expect((await stat(file)).mode & 0o777).toBe(0o600);
    await expect(addUser(file, 'alice', 'x', { home: dir.path })).rejects.toThrow(/user 'alice' exists already/);
    await expect(addUser(file, 'bob', 'x', { home: join(dir.path, 'missing') })).rejects.toThrow(/does not exist/);
    await expect(addUser(file, 'bob', 'x', { home: dir.path, permissions: 'elrX' })).rejects.toThrow(/perms: unknown permission letter 'X'/);
    await addUser(file, 'bob', 'second', { home: dir.path, uploadRate: 1000 });
    expect(await listUsers(file)).toEqual([
      { name: 'alice', home: join(dir.path, 'srv', 'alice'), permissions: 'elr' },
      { name: 'bob', home: dir.path, permissions: 'elradfmwMT', uploadRate: 1000 },
    ]);
    const store = await UserStore.open(file);
    const req = { username: 'alice', password: 'first', remoteAddress: '127.0.0.1' };
    expect(await store.authenticate(req)).toMatchObject({ permissions: 'elr' });
    await setUserPassword(file, 'alice', 'changed');
    await store.reload();
    expect(await store.authenticate(req)).toBe(false);
    expect(await store.authenticate({ ...req, password: 'changed' })).toMatchObject({ root: join(dir.path, 'srv', 'alice'), permissions: 'elr' });
    await deleteUser(file, 'alice');
    await expect(deleteUser(file, 'alice')).rejects.toThrow(/no user named 'alice'/);
    await store.reload();
    expect(store.isActive('alice')).toBe(false);
    expect(await store.authenticate({ ...req, password: 'changed' })).toBe(false);
    expect((await stat(file)).mode & 0o777).toBe(0o600);
    expect(JSON.parse(await readFile(file, 'utf8')).users).toHaveLength(1);
    // A broken file on reload keeps the previous users.
    await writeFile(file, '{ broken');
    await expect(store.reload()).rejects.toThrow(/not valid JSON/);
    expect(store.isActive('bob')).toBe(true);
  });

  it('a saved file round-trips and never holds a temp file afterwards', async () => {
    const sub = join(dir.path, 'rt');
    await mkdir(sub);
    const file = join(sub, 'u.json');
    await saveUsersFile(file, { version: 1, users: [user() as never] });
    const { readdir } = await import('node:fs/promises');
    expect(await readdir(sub)).toEqual(['u.json']);
    expect((await loadUsersFile(file)).users[0]!.name).toBe('alice');
  });
});

describe('LoginGuard', () => {
  it('grows the delay per failure, bans after banAfter, forgets after the window and the ban', () => {
    const g = new LoginGuard({ delay: 100, maxDelay: 250, banAfter: 4, window: 1000, banDuration: 5000 });
    const t = 1_000_000;
    expect(g.failure('a', t)).toEqual({ failures: 1, delay: 100, banned: false });
    expect(g.failure('a', t + 1).delay).toBe(200);
    expect(g.failure('b', t + 2).delay).toBe(100); // per address
    expect(g.failure('a', t + 3).delay).toBe(250); // capped
    expect(g.bannedFor('a', t + 3)).toBe(0);
    expect(g.failure('a', t + 4).banned).toBe(true);
    expect(g.bannedFor('a', t + 5)).toBe(4999);
    expect(g.bannedFor('a', t + 5004)).toBe(0);
    expect(g.failure('b', t + 2000).failures).toBe(1); // the window passed
  });

  it('validates its options', () => {
    expect(() => new LoginGuard({ banAfter: -1 })).toThrow(/loginGuard\.banAfter/);
    expect(() => new LoginGuard({ delay: 1.5 })).toThrow(/loginGuard\.delay/);
  });
});

describe('TokenBucket', () => {
  it('allows a 100 ms burst, then paces at the rate', () => {
    const b = new TokenBucket(1000);
    expect(b.take(100)).toBe(0);
    const wait = b.take(500);
    expect(wait).toBeGreaterThan(450);
    expect(wait).toBeLessThanOrEqual(501);
    expect(b.slice).toBe(50);
  });
});
