// FileServer options protectedPaths and dotfiles (issue 12, item 1), over raw FTP: the users
// file and a TLS key inside the served folder, and dotfiles, behave as missing for every command;
// nothing in a reply names a host path. The reproduction: download the users file, upload an
// edited one with "home": "/", read a file outside.
import { link, mkdir, readdir, readFile, stat, symlink, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { FileServer, type FileServerOptions } from '../../../src/index.js';
import { RawFtp } from '../../helpers/raw-ftp.js';
import { makeTempDir, type TempDir } from '../../helpers/tmp.js';

const USERS = '{"alice":{"hash":"scrypt$secret-hash","home":"."}}';

let dir: TempDir;
let root: string;
let server: FileServer | undefined;
const clients: RawFtp[] = [];
/** Every reply text seen, to check none names a host path. */
const seen: string[] = [];

beforeEach(async () => {
  dir = await makeTempDir('ftpkit-protected-');
  root = join(dir.path, 'root');
  await mkdir(join(root, 'tls'), { recursive: true });
  await mkdir(join(root, '.git'));
  await mkdir(join(root, 'pub'));
  await writeFile(join(root, 'ftp-users.json'), USERS);
  await writeFile(join(root, 'tls', 'key.pem'), 'PRIVATE KEY');
  await writeFile(join(root, 'tls', 'cert.pem'), 'CERT');
  await writeFile(join(root, '.env'), 'TOKEN=1');
  await writeFile(join(root, '.git', 'config'), '[core]');
  await writeFile(join(root, 'pub', 'a.txt'), 'public a');
  await link(join(root, 'ftp-users.json'), join(root, 'pub', 'users-copy.json')); // a hard link
  await symlink('../ftp-users.json', join(root, 'pub', 'users-link.json'));
});

afterEach(async () => {
  for (const c of clients.splice(0)) c.close();
  await server?.close();
  server = undefined;
  for (const text of seen.splice(0)) {
    expect(text).not.toContain(dir.path);
    expect(text).not.toContain('ftp-users.json"'); // no JSON or path leaks either
  }
  await dir.cleanup();
});

async function start(options: FileServerOptions = {}): Promise<number> {
  server = new FileServer({
    authenticate: ({ username, password }) => (username === 'alice' && password === 'secret' ? { root, write: true } : false),
    anonymous: { root },
    protectedPaths: [join(root, 'ftp-users.json'), join(root, 'tls', 'key.pem')],
    maxCommandsPerSecond: 0,
    ...options,
  });
  return (await server.listen()).port;
}

async function login(port: number, user = 'alice', pass = 'secret'): Promise<RawFtp> {
  const c = await RawFtp.connect(port);
  clients.push(c);
  await c.login(user, pass);
  await c.send('TYPE I');
  return c;
}

async function send(c: RawFtp, line: string): Promise<{ code: number; text: string }> {
  const r = await c.send(line);
  seen.push(r.text);
  return r;
}

async function listing(c: RawFtp, command: string): Promise<string> {
  const r = await c.fetch(command);
  seen.push(r.final.text);
  expect(r.final.code).toBe(226);
  return r.data.toString();
}

describe('protectedPaths: the users file and a TLS key inside the root', () => {
  it('the reproduction: the users file cannot be downloaded, replaced or reached through an alias', async () => {
    const c = await login(await start());
    for (const path of ['ftp-users.json', '/ftp-users.json', 'pub/../ftp-users.json', 'pub/users-copy.json', 'pub/users-link.json', 'tls/key.pem']) {
      const r = await c.fetch(`RETR ${path}`);
      seen.push(r.final.text);
      expect(r.final.code, path).toBe(550);
      expect(r.data.length).toBe(0);
    }
    const edited = '{"alice":{"hash":"x","home":"/"}}';
    for (const cmd of ['STOR ftp-users.json', 'APPE ftp-users.json', 'STOR pub/users-copy.json', 'STOR tls/key.pem']) {
      const r = await c.store(cmd, edited);
      seen.push(r.final.text);
      expect(r.final.code, cmd).toBe(550);
    }
    expect(await readFile(join(root, 'ftp-users.json'), 'utf8')).toBe(USERS);
    expect(await readFile(join(root, 'tls', 'key.pem'), 'utf8')).toBe('PRIVATE KEY');
    expect((await readdir(root)).sort()).toEqual(['.env', '.git', 'ftp-users.json', 'pub', 'tls']);
  });

  it('every command treats them as missing (550), with no host path in the reply', async () => {
    const c = await login(await start());
    for (const path of ['ftp-users.json', 'tls/key.pem', 'pub/users-copy.json']) {
      for (const cmd of [`SIZE ${path}`, `MDTM ${path}`, `MLST ${path}`, `HASH ${path}`, `XSHA256 ${path}`, `DELE ${path}`, `RNFR ${path}`, `SITE CHMOD 666 ${path}`, `MFMT 20200101000000 ${path}`]) {
        const r = await send(c, cmd);
        expect(r.code, cmd).toBe(550);
        expect(r.text, cmd).toMatch(/No such file or directory/);
      }
    }
    expect((await send(c, 'RNFR pub/a.txt')).code).toBe(350);
    expect((await send(c, 'RNTO ftp-users.json')).code).toBe(550);
    expect((await send(c, 'MKD ftp-users.json')).code).toBe(550);
    expect(await readFile(join(root, 'ftp-users.json'), 'utf8')).toBe(USERS);
    expect((await stat(join(root, 'ftp-users.json'))).mode & 0o777).not.toBe(0o666);
    expect(await readFile(join(root, 'pub', 'a.txt'), 'utf8')).toBe('public a');
  });

  it('listings leave them out; what is next to them is served', async () => {
    const c = await login(await start());
    expect((await listing(c, 'NLST')).split('\r\n').filter(Boolean).sort()).toEqual(['pub', 'tls']);
    expect((await listing(c, 'NLST tls')).split('\r\n').filter(Boolean)).toEqual(['tls/cert.pem']);
    const list = await listing(c, 'LIST pub');
    expect(list).toContain('a.txt');
    expect(list).not.toContain('users-');
    expect(await listing(c, 'MLSD')).not.toContain('ftp-users');
    expect((await c.fetch('RETR tls/cert.pem')).data.toString()).toBe('CERT');
  });

  it('anonymous users get the same', async () => {
    const c = await login(await start(), 'anonymous', 'guest@example.com');
    const r = await c.fetch('RETR ftp-users.json');
    expect(r.final.code).toBe(550);
    expect(r.data.length).toBe(0);
    expect((await listing(c, 'NLST')).split('\r\n').filter(Boolean).sort()).toEqual(['pub', 'tls']);
  });
});

describe('dotfiles', () => {
  it("'hide' by default: .env and .git are not listed and cannot be read, written or entered", async () => {
    const c = await login(await start({ protectedPaths: [] }));
    expect((await listing(c, 'NLST')).split('\r\n').filter(Boolean).sort()).toEqual(['ftp-users.json', 'pub', 'tls']);
    expect(await listing(c, 'LIST -a')).not.toMatch(/\.env|\.git/);
    for (const path of ['.env', '.git/config', '/pub/../.env']) {
      const r = await c.fetch(`RETR ${path}`);
      seen.push(r.final.text);
      expect(r.final.code, path).toBe(550);
      expect(r.data.length).toBe(0);
    }
    expect((await send(c, 'CWD .git')).code).toBe(550);
    expect((await send(c, 'SIZE .env')).code).toBe(550);
    expect((await send(c, 'DELE .env')).code).toBe(550);
    expect((await send(c, 'MKD .ssh')).code).toBe(550);
    expect((await c.store('STOR .env', 'TOKEN=stolen')).final.code).toBe(550);
    expect((await c.store('STOR .git/config', 'x')).final.code).toBe(553);
    expect(await readFile(join(root, '.env'), 'utf8')).toBe('TOKEN=1');
    expect(await readFile(join(root, '.git', 'config'), 'utf8')).toBe('[core]');
    expect((await readdir(root)).sort()).toEqual(['.env', '.git', 'ftp-users.json', 'pub', 'tls']);
    // ordinary atomic uploads (hidden temporaries) still work
    expect((await c.store('STOR pub/new.txt', 'new')).final.code).toBe(226);
    expect(await readFile(join(root, 'pub', 'new.txt'), 'utf8')).toBe('new');
  });

  it("'show' serves them; protected paths stay hidden", async () => {
    const c = await login(await start({ dotfiles: 'show' }));
    expect((await listing(c, 'NLST')).split('\r\n').filter(Boolean).sort()).toEqual(['.env', '.git', 'pub', 'tls']);
    expect((await c.fetch('RETR .git/config')).data.toString()).toBe('[core]');
    expect((await c.fetch('RETR ftp-users.json')).final.code).toBe(550);
  });

  it('bad options are refused at construction, naming the option', () => {
    expect(() => new FileServer({ dotfiles: 'no' as 'hide' })).toThrowError(/dotfiles/);
    expect(() => new FileServer({ protectedPaths: [42 as unknown as string] })).toThrowError(/protectedPaths/);
  });
});
