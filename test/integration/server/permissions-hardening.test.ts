// Issue 12, items 5, 8 and 11: renames that would move where per-folder permissions apply,
// RNTO replacing what the user may not delete, and locks keyed by the storage's real folder.
import { randomBytes } from 'node:crypto';
import type { Socket } from 'node:net';
import { mkdir, readFile, readdir, stat, symlink, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { FileServer, type AuthGrant, type LockConflictInfo } from '../../../src/index.js';
import { RawFtp } from '../../helpers/raw-ftp.js';
import { expectSettled } from '../../helpers/settle.js';
import { countFds, makeTempDir, sha256Buffer, type TempDir } from '../../helpers/tmp.js';

let dir: TempDir;
let server: FileServer;
let port: number;
let fds: number;
const clients: RawFtp[] = [];
const sockets: Socket[] = [];

async function start(grants: (username: string) => AuthGrant | false): Promise<void> {
  server = new FileServer({
    authenticate: ({ username, password }) => (password === 'pw' ? grants(username) : false),
    loginGuard: false,
  });
  port = (await server.listen()).port;
  fds = countFds();
}

beforeEach(async () => {
  dir = await makeTempDir('ftpkit-perms-hard-');
});
afterEach(async () => {
  for (const c of clients.splice(0)) c.close();
  for (const s of sockets.splice(0)) s.destroy();
  await expectSettled(server, fds);
  await server.close();
  await dir.cleanup();
});

async function as(user: string): Promise<RawFtp> {
  const c = await RawFtp.connect(port);
  clients.push(c);
  await c.login(user, 'pw');
  await c.send('TYPE I');
  return c;
}

/** Runs a command (control or data) and returns its final code. */
async function code(c: RawFtp, command: string, body?: string): Promise<number> {
  if (body !== undefined) return (await c.store(command, body)).final.code;
  if (/^(LIST|NLST|MLSD|RETR)\b/.test(command)) return (await c.fetch(command)).final.code;
  return (await c.send(command)).code;
}

const at = (...p: string[]): string => join(dir.path, ...p);

/** The folder's entries, sorted, with sub-folders walked ('a/', 'a/b.txt'). */
async function tree(root: string, prefix = ''): Promise<string[]> {
  const out: string[] = [];
  for (const e of await readdir(root, { withFileTypes: true })) {
    if (e.isDirectory()) out.push(`${prefix}${e.name}/`, ...(await tree(join(root, e.name), `${prefix}${e.name}/`)));
    else out.push(`${prefix}${e.name}`);
  }
  return out.sort();
}

describe('renames cannot move where per-folder permissions apply (item 5)', () => {
  const OVERRIDES = { '/shared/ro': 'elr', '/shared/drop': 'w', '/vault/ro': 'elr' };
  const BEFORE = ['home.txt', 'shared/', 'shared/drop/', 'shared/drop/secret.txt', 'shared/ro/', 'shared/ro/keep.txt'];

  beforeEach(async () => {
    await mkdir(at('shared', 'ro'), { recursive: true });
    await mkdir(at('shared', 'drop'));
    await writeFile(at('shared', 'ro', 'keep.txt'), 'keep');
    await writeFile(at('shared', 'drop', 'secret.txt'), 'secret');
    await writeFile(at('home.txt'), 'home');
    await start((u) => (u === 'ov' ? { root: dir.path, permissions: 'elradfmwMT', overrides: OVERRIDES } : false));
  });

  it('the reproduction: RNFR shared is refused, and the rules still hold under /shared', async () => {
    const c = await as('ov');
    expect(await c.send('RNFR shared')).toMatchObject({
      code: 550,
      text: '/shared: Permission denied (/shared/drop inside has its own permissions, so it cannot be renamed or renamed onto)',
    });
    expect((await c.send('RNTO moved')).code).toBe(503); // no rename pending
    expect(await code(c, 'DELE moved/ro/keep.txt')).toBe(550);
    expect(await code(c, 'DELE shared/ro/keep.txt')).toBe(550);
    expect(await code(c, 'STOR shared/ro/new.txt', 'x')).toBe(550);
    expect(await code(c, 'RETR shared/drop/secret.txt')).toBe(550);
    expect(await code(c, 'LIST shared/drop')).toBe(550);
    expect(await tree(dir.path)).toEqual(BEFORE);
  });

  it('every spelling of /shared and of its override folders is refused', async () => {
    const c = await as('ov');
    for (const arg of ['/shared', '//shared', './shared/', 'shared//', '/x/../shared', 'shared/.', '/shared/ro/..', '\\shared']) {
      expect(await c.send(`RNFR ${arg}`), arg).toMatchObject({ code: 550, text: expect.stringMatching(/^\/shared: Permission denied \(\/shared\/(ro|drop) inside has its own permissions/) });
    }
    // A case-insensitive file system would take these for /shared: refused before any lookup.
    expect(await c.send('RNFR /SHARED')).toMatchObject({ code: 550, text: expect.stringMatching(/^\/SHARED: Permission denied \(\/shared\/(ro|drop) inside/) });
    expect(await c.send('RNFR /Shared/Drop')).toMatchObject({ code: 550, text: '/Shared/Drop: Permission denied (rename not allowed)' }); // 'w' applies
    // The override folders themselves: neither grants 'f', which is checked first.
    expect(await c.send('RNFR /shared/ro')).toMatchObject({ code: 550, text: '/shared/ro: Permission denied (rename not allowed)' });
    expect(await c.send('RNFR shared//drop/')).toMatchObject({ code: 550, text: '/shared/drop: Permission denied (rename not allowed)' });
    expect(await tree(dir.path)).toEqual(BEFORE);
  });

  it('a case variant of an override folder gets no more than the override allows', async () => {
    const c = await as('ov');
    await mkdir(at('SHARED', 'RO'), { recursive: true });
    expect(await code(c, 'STOR /SHARED/RO/x.txt', 'x')).toBe(550); // base ∩ elr
    expect(await code(c, 'STOR /SHARED/x.txt', 'x')).toBe(226); // not inside an override folder
    await expect(stat(at('SHARED', 'RO', 'x.txt'))).rejects.toMatchObject({ code: 'ENOENT' });
  });

  it('nothing is renamed onto an override folder or one of its parents, even when it does not exist yet', async () => {
    const c = await as('ov');
    // The planting attack: build ro/evil.txt elsewhere, then rename its parent to /vault.
    expect(await code(c, 'MKD plant')).toBe(257);
    expect(await code(c, 'MKD plant/ro')).toBe(257);
    expect(await code(c, 'STOR plant/ro/evil.txt', 'evil')).toBe(226);
    for (const [target, shown] of [['vault', '/vault'], ['/vault/', '/vault'], ['//vault', '/vault'], ['./x/../vault', '/vault'], ['VAULT', '/VAULT'], ['/shared', '/shared']]) {
      expect((await c.send('RNFR plant')).code).toBe(350);
      expect(await c.send(`RNTO ${target}`), target).toMatchObject({
        code: 550,
        text: expect.stringMatching(new RegExp(`^${shown}: Permission denied \\(/(vault/ro|shared/drop) inside has its own permissions, so it cannot be renamed or renamed onto\\)$`)),
      });
    }
    // The override folders themselves grant no 'f' ('w' and 'elr'), which is checked first.
    for (const target of ['vault/ro', 'shared/drop', 'Vault/RO']) {
      expect((await c.send('RNFR plant')).code).toBe(350);
      expect(await c.send(`RNTO ${target}`), target).toMatchObject({ code: 550, text: expect.stringMatching(/: Permission denied \(rename not allowed\)$/) });
    }
    await expect(stat(at('vault'))).rejects.toMatchObject({ code: 'ENOENT' });
    expect(await readFile(at('plant', 'ro', 'evil.txt'), 'utf8')).toBe('evil');
    expect(await tree(at('shared'))).toEqual(['drop/', 'drop/secret.txt', 'ro/', 'ro/keep.txt']);
  });

  it('files do not move in or out of folders whose letters lack rename', async () => {
    const c = await as('ov');
    expect((await c.send('RNFR home.txt')).code).toBe(350);
    expect(await c.send('RNTO shared/ro/x')).toMatchObject({ code: 550, text: '/shared/ro/x: Permission denied (rename not allowed)' });
    expect((await c.send('RNFR home.txt')).code).toBe(350);
    expect(await c.send('RNTO shared/drop/home.txt')).toMatchObject({ code: 550, text: '/shared/drop/home.txt: Permission denied (rename not allowed)' });
    expect(await c.send('RNFR shared/drop/secret.txt')).toMatchObject({ code: 550, text: '/shared/drop/secret.txt: Permission denied (rename not allowed)' });
    expect(await c.send('RNFR shared/ro/keep.txt')).toMatchObject({ code: 550, text: '/shared/ro/keep.txt: Permission denied (rename not allowed)' });
    expect(await tree(dir.path)).toEqual(BEFORE);
  });

  it('renames that touch no override folder still work, at the root and beside the overrides', async () => {
    const c = await as('ov');
    await mkdir(at('plain', 'sub'), { recursive: true });
    await mkdir(at('shared', 'other'));
    expect((await c.send('RNFR plain')).code).toBe(350);
    expect((await c.send('RNTO plain2')).code).toBe(250);
    expect((await c.send('RNFR /shared/other')).code).toBe(350);
    expect((await c.send('RNTO /shared/other2')).code).toBe(250);
    expect((await c.send('RNFR home.txt')).code).toBe(350);
    expect((await c.send('RNTO /shared/other2/home.txt')).code).toBe(250);
    expect(await readFile(at('shared', 'other2', 'home.txt'), 'utf8')).toBe('home');
    expect((await stat(at('plain2', 'sub'))).isDirectory()).toBe(true);
  });

  it('the rule is by path: an override folder applies whenever it exists, however it came to', async () => {
    const c = await as('ov');
    expect(await code(c, 'MKD vault')).toBe(257);
    expect(await c.send('MKD vault/ro')).toMatchObject({ code: 550, text: '/vault/ro: Permission denied (make folder not allowed)' });
    await mkdir(at('vault', 'ro')); // made by the administrator
    expect(await code(c, 'STOR vault/ro/x', 'x')).toBe(550);
    expect(await code(c, 'RMD vault/ro')).toBe(550); // elr: no delete
    expect(await code(c, 'RMD vault')).toBe(550); // not empty
    expect(await tree(at('vault'))).toEqual(['ro/']);
  });
});

describe('moves between differently ruled folders must not loosen the rules', () => {
  beforeEach(async () => {
    await mkdir(at('pub', 'dir'), { recursive: true });
    await mkdir(at('keep'));
    await writeFile(at('secret.txt'), 'secret');
    await writeFile(at('pub', 'a.txt'), 'a');
    await writeFile(at('keep', 'k.txt'), 'k');
    // Base: write-only (no list, no read); /pub: readable; /keep: rename but no delete.
    await start((u) => (u === 'mv' ? { root: dir.path, permissions: 'edfw', overrides: { '/pub': 'elrdfmw', '/keep': 'elrfw' } } : false));
  });

  it('an unreadable file does not become readable by moving it', async () => {
    const c = await as('mv');
    expect(await code(c, 'RETR secret.txt')).toBe(550);
    expect((await c.send('RNFR secret.txt')).code).toBe(350);
    expect(await c.send('RNTO pub/secret.txt')).toMatchObject({ code: 550, text: "/pub/secret.txt: Permission denied (moving /secret.txt here would allow 'lrm', which it does not have)" });
    expect(await readFile(at('secret.txt'), 'utf8')).toBe('secret');
    await expect(stat(at('pub', 'secret.txt'))).rejects.toMatchObject({ code: 'ENOENT' });
  });

  it('moving out of a folder without delete is refused; a folder needs make-folder at the target', async () => {
    const c = await as('mv');
    expect((await c.send('RNFR keep/k.txt')).code).toBe(350);
    expect(await c.send('RNTO pub/k.txt')).toMatchObject({ code: 550, text: '/keep/k.txt: Permission denied (delete not allowed; moving it where other permissions apply needs it)' });
    expect((await c.send('RNFR pub/dir')).code).toBe(350);
    expect(await c.send('RNTO dir')).toMatchObject({ code: 550, text: '/dir: Permission denied (make folder not allowed)' });
    expect(await tree(dir.path)).toEqual(['keep/', 'keep/k.txt', 'pub/', 'pub/a.txt', 'pub/dir/', 'secret.txt']);
  });

  it('a move that loosens nothing, with delete at the source and store at the target, is allowed', async () => {
    const c = await as('mv');
    expect((await c.send('RNFR pub/a.txt')).code).toBe(350);
    expect((await c.send('RNTO a.txt')).code).toBe(250);
    expect(await readFile(at('a.txt'), 'utf8')).toBe('a');
  });
});

describe('RNTO onto an existing entry needs what removing it needs (item 11)', () => {
  beforeEach(async () => {
    await start((u) => (/^[a-zA-Z]+$/.test(u) ? { root: dir.path, permissions: u } : false));
  });

  async function seed(): Promise<void> {
    await writeFile(at('important.txt'), 'important');
    await writeFile(at('new.txt'), 'new');
    await mkdir(at('empty'));
    await mkdir(at('src'));
  }

  it("'f' alone cannot replace a file or an empty folder", async () => {
    await seed();
    const c = await as('elrf');
    expect((await c.send('RNFR new.txt')).code).toBe(350);
    expect(await c.send('RNTO important.txt')).toMatchObject({ code: 550, text: '/important.txt: Permission denied (delete or store not allowed; replacing a file needs it)' });
    expect((await c.send('RNFR src')).code).toBe(350);
    expect(await c.send('RNTO empty')).toMatchObject({ code: 550, text: '/empty: Permission denied (delete not allowed; replacing a folder needs it)' });
    expect(await readFile(at('important.txt'), 'utf8')).toBe('important');
    expect(await tree(dir.path)).toEqual(['empty/', 'important.txt', 'new.txt', 'src/']);
    // A new name needs nothing more.
    expect((await c.send('RNFR new.txt')).code).toBe(350);
    expect((await c.send('RNTO renamed.txt')).code).toBe(250);
    expect(await readFile(at('renamed.txt'), 'utf8')).toBe('new');
  });

  it("'w' may replace a file (STOR could) but not a folder", async () => {
    await seed();
    const c = await as('elrfw');
    expect((await c.send('RNFR src')).code).toBe(350);
    expect((await c.send('RNTO empty')).code).toBe(550);
    expect((await c.send('RNFR new.txt')).code).toBe(350);
    expect((await c.send('RNTO important.txt')).code).toBe(250);
    expect(await readFile(at('important.txt'), 'utf8')).toBe('new');
    expect(await tree(dir.path)).toEqual(['empty/', 'important.txt', 'src/']);
  });

  it("'d' may replace both", async () => {
    await seed();
    const c = await as('elrdf');
    expect((await c.send('RNFR new.txt')).code).toBe(350);
    expect((await c.send('RNTO important.txt')).code).toBe(250);
    expect((await c.send('RNFR src')).code).toBe(350);
    expect((await c.send('RNTO empty')).code).toBe(250);
    expect(await tree(dir.path)).toEqual(['empty/', 'important.txt']);
    expect(await readFile(at('important.txt'), 'utf8')).toBe('new');
  });
});

describe('locks are keyed by the real folder, not the virtual path (item 8)', () => {
  let other: TempDir;
  const body = randomBytes(32 * 1024 * 1024);

  beforeEach(async () => {
    other = await makeTempDir('ftpkit-perms-other-');
    await mkdir(at('a'));
    await writeFile(at('a', 'd.txt'), body);
    await writeFile(join(other.path, 'd.txt'), 'other');
    await symlink(at('a'), at('a-link')); // the same real folder under another name
    await start((u) => {
      if (u === 'reader') return { root: at('a'), permissions: 'elr' };
      if (u === 'elsewhere') return { root: other.path, permissions: 'elrd' };
      if (u === 'same') return { root: at('a-link'), permissions: 'elrdf' };
      return false;
    });
  });
  afterEach(async () => {
    await other.cleanup();
  });

  /** Starts RETR without reading: the server holds the file open (and its lock), paused by backpressure. */
  async function holdDownload(c: RawFtp, path: string): Promise<() => Promise<{ code: number; body: Buffer }>> {
    const data = await c.passive();
    sockets.push(data);
    data.pause();
    expect((await c.send(`RETR ${path}`)).code).toBe(150);
    return async () => {
      const chunks: Buffer[] = [];
      const ended = new Promise<void>((r) => data.on('close', () => r()));
      data.on('data', (chunk: Buffer) => chunks.push(chunk));
      data.resume();
      const final = await c.read(30_000);
      await ended;
      return { code: final.code, body: Buffer.concat(chunks) };
    };
  }

  it('a reader of /d.txt in one root does not block DELE /d.txt in another; the same real folder does', async () => {
    const conflicts: LockConflictInfo[] = [];
    server.on('lock-conflict', (info) => conflicts.push(info));
    const reader = await as('reader');
    const finish = await holdDownload(reader, '/d.txt');

    const elsewhere = await as('elsewhere');
    expect(await elsewhere.send('DELE /d.txt')).toMatchObject({ code: 250, text: '/d.txt: File deleted' });
    await expect(stat(join(other.path, 'd.txt'))).rejects.toMatchObject({ code: 'ENOENT' });

    const same = await as('same');
    expect(await same.send('DELE /d.txt')).toMatchObject({ code: 450, text: '/d.txt: file busy' });
    expect((await same.send('RNFR d.txt')).code).toBe(450);
    expect(conflicts).toHaveLength(2);
    // Events name virtual paths only: no host folder, no lock scope.
    expect(conflicts[0]).toMatchObject({ command: 'DELE', path: '/d.txt', heldBy: [{ path: '/d.txt', mode: 'shared', command: 'RETR' }] });
    expect(JSON.stringify(conflicts)).not.toContain(dir.path);

    const done = await finish();
    expect(done.code).toBe(226);
    expect(sha256Buffer(done.body)).toBe(sha256Buffer(body));
    expect((await same.send('DELE /d.txt')).code).toBe(250);
    await expect(stat(at('a', 'd.txt'))).rejects.toMatchObject({ code: 'ENOENT' });
  });
});
