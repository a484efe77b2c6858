// Permission letters over real connections: for each letter one command allowed and one refused,
// per-folder overrides, the MLSD perm fact, and the anonymous "incoming" folder.
import { mkdir, readFile, stat, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ALL_PERMISSIONS, FileServer, type AuthGrant } from '../../../src/index.js';
import { RawFtp } from '../../helpers/raw-ftp.js';
import { makeTempDir, type TempDir } from '../../helpers/tmp.js';

let dir: TempDir;
let server: FileServer;
let port: number;

/** only-X may do X alone; but-X may do everything else; ov has per-folder overrides. */
function grantFor(username: string, root: string): AuthGrant | false {
  const only = /^only-(\w)$/.exec(username);
  if (only) return { root, permissions: only[1]! };
  const but = /^but-(\w)$/.exec(username);
  if (but) return { root, permissions: ALL_PERMISSIONS.replace(but[1]!, '') };
  if (username === 'ov') return { root, permissions: 'elr', overrides: { '/drop': 'elrw', '/drop/locked': 'el' } };
  if (username === 'legacy-rw') return { root, write: true };
  if (username === 'legacy-ro') return { root };
  return false;
}

beforeAll(async () => {
  dir = await makeTempDir('ftpkit-perms-');
  await mkdir(join(dir.path, 'sub'));
  await mkdir(join(dir.path, 'drop', 'locked'), { recursive: true });
  await mkdir(join(dir.path, 'incoming'));
  await writeFile(join(dir.path, 'file.txt'), 'hello');
  await writeFile(join(dir.path, 'drop', 'locked', 'z.txt'), 'z');
  server = new FileServer({
    authenticate: ({ username, password }) => (password === 'pw' ? grantFor(username, dir.path) : false),
    anonymous: { root: dir.path, uploadFolder: '/incoming' },
    loginGuard: false,
  });
  port = (await server.listen()).port;
});
afterAll(async () => {
  await server.close();
  await dir.cleanup();
});

async function as(user: string): Promise<RawFtp> {
  const c = await RawFtp.connect(port);
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

// letter, setup (files the command needs, per user), command, body for uploads, success code
const MATRIX: Array<[string, (user: string) => Promise<void>, (user: string) => string, string | undefined, number]> = [
  ['e', async () => {}, () => 'CWD sub', undefined, 250],
  ['l', async () => {}, () => 'LIST', undefined, 226],
  ['r', async () => {}, () => 'RETR file.txt', undefined, 226],
  ['a', async (u) => writeFile(join(dir.path, `app-${u}.txt`), 'a'), (u) => `APPE app-${u}.txt`, 'more', 226],
  ['d', async (u) => writeFile(join(dir.path, `del-${u}.txt`), 'd'), (u) => `DELE del-${u}.txt`, undefined, 250],
  ['f', async (u) => writeFile(join(dir.path, `ren-${u}.txt`), 'f'), (u) => `RNFR ren-${u}.txt`, undefined, 350],
  ['m', async () => {}, (u) => `MKD made-${u}`, undefined, 257],
  ['w', async () => {}, (u) => `STOR up-${u}.txt`, 'up', 226],
  ['M', async () => {}, () => 'SITE CHMOD 644 file.txt', undefined, 200],
  ['T', async () => {}, () => 'MFMT 20200102030405 file.txt', undefined, 213],
];

describe('permission matrix', () => {
  it.each(MATRIX)("'%s': allowed with the letter, 550 without it", async (letter, setup, command, body, ok) => {
    for (const [user, expected] of [[`only-${letter}`, ok], [`but-${letter}`, 550]] as const) {
      await setup(user);
      const c = await as(user);
      expect(await code(c, command(user), body), `${user}: ${command(user)}`).toBe(expected);
      c.close();
    }
  });

  it("the refusal names the path and what is missing; nothing changed on disk", async () => {
    const c = await as('but-w');
    const r = await c.store('STOR nope.txt', 'x');
    expect(r.mark.code).toBe(550);
    expect(r.mark.text).toBe('/nope.txt: Permission denied (store not allowed)');
    await expect(stat(join(dir.path, 'nope.txt'))).rejects.toThrow();
    c.close();
  });

  it("'l' also covers NLST, MLSD, MLST, STAT path, SIZE and MDTM; 'd' covers RMD; 'f' covers RNTO; 'w' covers STOU", async () => {
    const c = await as('but-l');
    for (const cmd of ['NLST', 'MLSD', 'MLST file.txt', 'STAT /', 'SIZE file.txt', 'MDTM file.txt']) expect(await code(c, cmd), cmd).toBe(550);
    c.close();
    await mkdir(join(dir.path, 'rmd-me'));
    const nod = await as('but-d');
    expect(await code(nod, 'RMD rmd-me')).toBe(550);
    nod.close();
    const d = await as('only-d');
    expect(await code(d, 'RMD rmd-me')).toBe(250);
    d.close();
    const onlyF = await as('only-f');
    await writeFile(join(dir.path, 'mv.txt'), 'm');
    expect(await code(onlyF, 'RNFR mv.txt')).toBe(350);
    expect(await code(onlyF, 'RNTO moved.txt')).toBe(250);
    onlyF.close();
    const noW = await as('but-w');
    expect(await code(noW, 'STOU', 'x')).toBe(550);
    noW.close();
  });

  it("'r' also covers the digests: HASH and XCRC tell about the content", async () => {
    const noR = await as('but-r');
    expect(await code(noR, 'HASH file.txt')).toBe(550);
    expect(await code(noR, 'XCRC file.txt')).toBe(550);
    noR.close();
    const r = await as('only-r');
    expect(await code(r, 'HASH file.txt')).toBe(213);
    expect(await code(r, 'XCRC file.txt')).toBe(250);
    r.close();
  });

  it('write: true and write: false still mean elradfmwMT and elr', async () => {
    const rw = await as('legacy-rw');
    expect(await code(rw, 'STOR legacy.txt', 'x')).toBe(226);
    expect(await code(rw, 'DELE legacy.txt')).toBe(250);
    rw.close();
    const ro = await as('legacy-ro');
    expect(await code(ro, 'RETR file.txt')).toBe(226);
    expect(await code(ro, 'STOR legacy.txt', 'x')).toBe(550);
    expect(await code(ro, 'MKD x')).toBe(550);
    ro.close();
  });
});

describe('per-folder overrides', () => {
  it('the longest matching folder wins', async () => {
    const c = await as('ov');
    expect(await code(c, 'STOR /top.txt', 'x')).toBe(550); // base elr
    expect(await code(c, 'STOR /drop/in.txt', 'x')).toBe(226); // /drop: elrw
    expect(await readFile(join(dir.path, 'drop', 'in.txt'), 'utf8')).toBe('x');
    expect(await code(c, 'STOR /drop/locked/no.txt', 'x')).toBe(550); // /drop/locked: el
    expect(await code(c, 'RETR /drop/locked/z.txt')).toBe(550);
    expect(await code(c, 'RETR /drop/in.txt')).toBe(226);
    expect(await code(c, 'CWD /drop/locked')).toBe(250);
    expect(await code(c, 'STOR here.txt', 'x')).toBe(550); // relative to the cwd
    c.close();
  });

  it('MLSD perm facts follow the letters that apply to each entry', async () => {
    const c = await as('ov');
    await c.send('OPTS MLST type;perm;');
    const root = (await c.fetch('MLSD /')).data.toString();
    expect(root).toMatch(/^type=cdir;perm=el; \.$/m);
    expect(root).toMatch(/^type=dir;perm=elc; drop$/m);
    expect(root).toMatch(/^type=file;perm=r; file\.txt$/m);
    const drop = (await c.fetch('MLSD /drop')).data.toString();
    expect(drop).toMatch(/^type=cdir;perm=elc; \.$/m);
    expect(drop).toMatch(/^type=file;perm=rw; in\.txt$/m);
    expect(drop).toMatch(/^type=dir;perm=el; locked$/m);
    c.close();
  });
});

describe('anonymous', () => {
  it('is read-only, with an upload-only incoming folder', async () => {
    const c = await as('anonymous');
    expect(await code(c, 'RETR file.txt')).toBe(226);
    expect(await code(c, 'LIST')).toBe(226);
    expect(await code(c, 'STOR /outside.txt', 'x')).toBe(550);
    expect(await code(c, 'MKD /x')).toBe(550);
    expect(await code(c, 'DELE /file.txt')).toBe(550);
    expect(await code(c, 'STOR /incoming/drop.txt', 'dropped')).toBe(226);
    expect(await readFile(join(dir.path, 'incoming', 'drop.txt'), 'utf8')).toBe('dropped');
    // Nobody replaces another's upload (vsftpd): not by STOR, not by resuming it.
    expect((await c.store('STOR /incoming/drop.txt', 'vandal')).mark).toEqual({ code: 553, text: '/incoming/drop.txt: File exists; anonymous uploads cannot replace files', lines: expect.anything() });
    expect(await code(c, 'REST 3')).toBe(350);
    expect(await code(c, 'STOR /incoming/drop.txt', 'x')).toBe(553);
    expect(await readFile(join(dir.path, 'incoming', 'drop.txt'), 'utf8')).toBe('dropped');
    for (const cmd of ['LIST /incoming', 'NLST /incoming', 'MLSD /incoming', 'RETR /incoming/drop.txt', 'SIZE /incoming/drop.txt', 'DELE /incoming/drop.txt', 'RNFR /incoming/drop.txt', 'MKD /incoming/sub', 'APPE /incoming/drop.txt']) {
      expect(await code(c, cmd), cmd).toBe(550);
    }
    expect(await code(c, 'CWD /incoming')).toBe(250);
    expect(await code(c, 'STOR second.txt', 'x')).toBe(226);
    expect(await code(c, 'LIST')).toBe(550);
    c.close();
  });

  it('off by default', async () => {
    const s = new FileServer({ loginGuard: false });
    const { port: p } = await s.listen();
    const c = await RawFtp.connect(p);
    await c.send('USER anonymous');
    expect((await c.send('PASS x@y')).code).toBe(530);
    c.close();
    await s.close();
  });

  it('a bad uploadFolder or permission letter is refused at construction', () => {
    expect(() => new FileServer({ anonymous: { root: '/tmp', uploadFolder: 'incoming' } })).toThrow(/uploadFolder/);
    expect(() => new FileServer({ anonymous: { root: '/tmp', permissions: 'elrq' } })).toThrow(/unknown permission letter 'q'/);
  });
});
