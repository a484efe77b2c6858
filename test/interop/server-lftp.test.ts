// lftp against ftpkit's FileServer. `debug 5` makes lftp print every command ("---> ")
// and reply ("<--- ") on stderr; with cmd:fail-exit the first failing command ends lftp
// with exit 1 and prints the server's reply ("Access failed: 550 ...").
import { existsSync } from 'node:fs';
import { copyFile, mkdir, readFile, rm, stat, truncate, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { hasTool, lftp, type ToolResult } from '../helpers/tools.js';
import { randomFile, sha256File } from '../helpers/tmp.js';
import { CRLF_TEXT, FANCY_NAME, LF_TEXT, makeBigFile, startFileServer, type ServerFixture } from '../helpers/server-fixture.js';

/** An lftp word: double-quoted, with " and \ escaped. */
const q = (s: string): string => `"${s.replace(/(["\\])/g, '\\$1')}"`;

/** Commands and replies from lftp's debug output, prefixes kept ("---> STOR x", "<--- 226 ..."). */
function dialogue(r: ToolResult): string[] {
  return r.stderr
    .split('\n')
    .map((l) => l.trimEnd())
    .filter((l) => /^(--->|<---) \S/.test(l));
}

describe.skipIf(!hasTool('lftp'))('lftp -> FileServer', () => {
  let fx: ServerFixture;
  let big: { path: string; sha256: string };

  interface RunOpts {
    passive?: boolean;
    settings?: Record<string, string | number | boolean>;
    anonymous?: boolean;
    timeoutMs?: number;
  }
  function run(script: string, o: RunOpts = {}): Promise<ToolResult> {
    return lftp(`debug 5\n${script}`, {
      ...(o.anonymous ? fx.anon : fx.user),
      passive: o.passive ?? true,
      settings: o.settings ?? {},
      timeoutMs: o.timeoutMs ?? 30_000,
      cwd: fx.local,
    });
  }

  beforeAll(async () => {
    fx = await startFileServer();
    big = await makeBigFile(fx.root, 'big-src.bin');
  });
  afterAll(async () => {
    await fx?.close();
  });

  it('lists with ls (LIST), cls (MLSD) and nlist (NLST)', async () => {
    await mkdir(join(fx.root, 'ls'));
    await writeFile(join(fx.root, 'ls', 'one.txt'), 'hello');
    await mkdir(join(fx.root, 'ls', 'sub'));
    const ls = await run('ls /ls');
    expect(ls.code).toBe(0);
    expect(dialogue(ls)).toContain('---> LIST /ls');
    const lines = ls.stdout.trimEnd().split('\n');
    expect(lines).toHaveLength(2);
    expect(lines[0]).toMatch(/^-rw\S+ .+ 5 .+ one\.txt$/);
    expect(lines[1]).toMatch(/^d\S+ .+ sub$/);
    const cls = await run('cls -1 --sort=name /ls/');
    expect(cls.code).toBe(0);
    expect(dialogue(cls).some((l) => l.startsWith('---> MLSD'))).toBe(true);
    expect(cls.stdout.trimEnd().split('\n')).toEqual(['/ls/one.txt', '/ls/sub/']);
    const nlist = await run('nlist /ls');
    expect(nlist.code).toBe(0);
    expect(nlist.stdout.trimEnd().split('\n').sort()).toEqual(['/ls/one.txt', '/ls/sub']);
  });

  it('makes folders (mkdir, mkdir -p); an existing one fails with 550', async () => {
    const r = await run('mkdir newdir; mkdir -p deep/er/est');
    expect(r.code).toBe(0);
    expect(dialogue(r)).toContain('<--- 257 "/newdir" created');
    expect((await stat(join(fx.root, 'newdir'))).isDirectory()).toBe(true);
    expect((await stat(join(fx.root, 'deep', 'er', 'est'))).isDirectory()).toBe(true);
    const again = await run('mkdir newdir');
    expect(again.code).toBe(1);
    expect(again.stderr).toContain('mkdir: Access failed: 550 /newdir: File exists');
    const rmdir = await run('rmdir deep/er/est');
    expect(rmdir.code).toBe(0);
    expect(existsSync(join(fx.root, 'deep', 'er', 'est'))).toBe(false);
  });

  it('gets a 50 MB binary file intact (SHA-256)', async () => {
    const r = await run('get big-src.bin -o big-get.bin', { timeoutMs: 60_000 });
    expect(r.code).toBe(0);
    expect(dialogue(r)).toContain('<--- 226 Transfer complete');
    expect(await sha256File(join(fx.local, 'big-get.bin'))).toBe(big.sha256);
    await rm(join(fx.local, 'big-get.bin'));
  });

  it('puts a 50 MB binary file intact (SHA-256)', async () => {
    const r = await run(`put ${q(big.path)} -o big-put.bin`, { timeoutMs: 60_000 });
    expect(r.code).toBe(0);
    expect(await sha256File(join(fx.root, 'big-put.bin'))).toBe(big.sha256);
    await rm(join(fx.root, 'big-put.bin'));
  });

  it('renames (mv: 350, 250) and deletes (rm: 250); missing files fail with 550', async () => {
    await writeFile(join(fx.root, 'r1.txt'), 'rename me');
    const r = await run('mv r1.txt r2.txt; rm r2.txt');
    expect(r.code).toBe(0);
    const d = dialogue(r);
    expect(d).toContain('<--- 350 Ready for RNTO');
    expect(d).toContain('<--- 250 Rename successful');
    expect(d).toContain('<--- 250 /r2.txt: File deleted');
    expect(existsSync(join(fx.root, 'r1.txt'))).toBe(false);
    expect(existsSync(join(fx.root, 'r2.txt'))).toBe(false);
    const mv = await run('mv nope.txt x.txt');
    expect(mv.code).toBe(1);
    expect(mv.stderr).toContain('550');
    const del = await run('rm nope.txt');
    expect(del.code).toBe(1);
    expect(del.stderr).toContain('rm: Access failed: 550 /nope.txt: No such file or directory');
    const get = await run('get nope.txt -o nope.txt');
    expect(get.code).toBe(1);
    expect(get.stderr).toContain('Access failed: 550 /nope.txt: No such file or directory');
  });

  it('resumes a download (get -c: REST then RETR)', async () => {
    const src = join(fx.root, 'resume-get.bin');
    const sha = await randomFile(src, 3 * 1024 * 1024 + 5);
    const part = join(fx.local, 'resume-get.bin');
    await copyFile(src, part);
    await truncate(part, 1_000_000);
    const r = await run('get -c resume-get.bin -o resume-get.bin');
    expect(r.code).toBe(0);
    expect(dialogue(r)).toContain('---> REST 1000000');
    expect(dialogue(r)).toContain('<--- 350 Restarting at 1000000. Send STOR or RETR');
    expect(await sha256File(part)).toBe(sha);
  });

  it('resumes an upload (put -c and reput: SIZE, REST, STOR)', async () => {
    const remote = join(fx.root, 'resume-put.bin');
    for (const cmd of ['put -c', 'reput']) {
      const src = join(fx.local, 'resume-put.bin');
      const sha = await randomFile(src, 3 * 1024 * 1024 + 5);
      await copyFile(src, remote);
      await truncate(remote, 1_500_000);
      const r = await run(`${cmd} resume-put.bin -o resume-put.bin`);
      expect(r.code, cmd).toBe(0);
      const d = dialogue(r);
      expect(d, cmd).toContain('<--- 213 1500000');
      expect(d, cmd).toContain('---> REST 1500000');
      expect(d, cmd).toContain('---> STOR resume-put.bin');
      expect(await sha256File(remote), cmd).toBe(sha);
    }
  });

  describe('data connection modes', () => {
    const modes: Array<{ name: string; passive: boolean; settings: Record<string, string>; command: RegExp }> = [
      { name: 'passive PASV', passive: true, settings: {}, command: /^---> PASV$/ },
      { name: 'passive EPSV (ftp:prefer-epsv)', passive: true, settings: { 'ftp:prefer-epsv': 'yes' }, command: /^---> EPSV$/ },
      { name: 'active PORT (ftp:passive-mode off)', passive: false, settings: {}, command: /^---> PORT 127,0,0,1,\d+,\d+$/ },
    ];
    for (const [i, mode] of modes.entries()) {
      it(`puts, gets and lists in ${mode.name}`, async () => {
        const name = `mode${i}.bin`;
        const sha = await randomFile(join(fx.local, name), 1024 * 1024 + i);
        const r = await run(`put ${name} -o ${name}; get ${name} -o back-${name}; cls -1`, mode);
        expect(r.code).toBe(0);
        const d = dialogue(r);
        // One per transfer (put, get, cls); lftp may redo one after its own 10 s timeout on a loaded machine.
        const other = modes.filter((m) => m !== mode).map((m) => m.command);
        expect(d.filter((l) => mode.command.test(l)).length, d.join('\n')).toBeGreaterThanOrEqual(3);
        expect(d.filter((l) => other.some((c) => c.test(l))), d.join('\n')).toEqual([]);
        expect(d.filter((l) => l === '<--- 226 Transfer complete')).toHaveLength(2);
        expect(await sha256File(join(fx.root, name))).toBe(sha);
        expect(await sha256File(join(fx.local, `back-${name}`))).toBe(sha);
        expect(r.stdout.split('\n')).toContain(name);
      });
    }
  });

  it('ascii (put -a, get -a): LF text lands as LF over TYPE A and comes back as LF', async () => {
    await writeFile(join(fx.local, 'lf.txt'), LF_TEXT);
    const r = await run('put -a lf.txt -o ascii-lf.txt; get -a ascii-lf.txt -o ascii-back.txt');
    expect(r.code).toBe(0);
    const d = dialogue(r);
    // lftp does not send TYPE A: it knows ASCII is the default after login (RFC 959)
    expect(d).not.toContain('---> TYPE I');
    expect(d).toContain('<--- 150 Opening ASCII mode data connection for ascii-lf.txt');
    expect(d.some((l) => l.startsWith('<--- 150 Opening ASCII mode data connection for ascii-lf.txt ('))).toBe(true);
    expect(await readFile(join(fx.root, 'ascii-lf.txt'), 'utf8')).toBe(LF_TEXT);
    expect(await readFile(join(fx.local, 'ascii-back.txt'), 'utf8')).toBe(LF_TEXT);
    // Binary leaves CRLF alone both ways.
    await writeFile(join(fx.local, 'crlf.txt'), CRLF_TEXT);
    const bin = await run('put crlf.txt -o binary-crlf.txt; get binary-crlf.txt -o binary-back.txt');
    expect(bin.code).toBe(0);
    expect(await readFile(join(fx.root, 'binary-crlf.txt'), 'utf8')).toBe(CRLF_TEXT);
    expect(await readFile(join(fx.local, 'binary-back.txt'), 'utf8')).toBe(CRLF_TEXT);
  });

  it(`puts, lists, gets, renames and deletes ${FANCY_NAME}`, async () => {
    await writeFile(join(fx.local, 'fancy-src.txt'), 'contenido ñ');
    const renamed = `renamed ${FANCY_NAME}`;
    const r = await run(
      `put fancy-src.txt -o ${q(FANCY_NAME)}; cls -1; get ${q(FANCY_NAME)} -o fancy-back.txt; mv ${q(FANCY_NAME)} ${q(renamed)}`,
    );
    expect(r.code).toBe(0);
    expect(r.stdout.split('\n')).toContain(FANCY_NAME);
    expect(await readFile(join(fx.local, 'fancy-back.txt'), 'utf8')).toBe('contenido ñ');
    expect(existsSync(join(fx.root, FANCY_NAME))).toBe(false);
    expect(await readFile(join(fx.root, renamed), 'utf8')).toBe('contenido ñ');
    const del = await run(`rm ${q(renamed)}`);
    expect(del.code).toBe(0);
    expect(existsSync(join(fx.root, renamed))).toBe(false);
  });

  it('anonymous is read-only: get works; put, mkdir, rm and mv fail with 550', async () => {
    await writeFile(join(fx.root, 'public.txt'), 'public');
    await writeFile(join(fx.local, 'anon.txt'), 'nope');
    const get = await run('get public.txt -o public.txt', { anonymous: true });
    expect(get.code).toBe(0);
    expect(await readFile(join(fx.local, 'public.txt'), 'utf8')).toBe('public');
    for (const [cmd, message] of [
      ['put anon.txt', 'put: Access failed: 550 /anon.txt: Permission denied (store not allowed)'],
      ['mkdir anon-dir', 'mkdir: Access failed: 550 /anon-dir: Permission denied (make folder not allowed)'],
      ['rm public.txt', 'rm: Access failed: 550 /public.txt: Permission denied (delete not allowed)'],
      ['mv public.txt moved.txt', 'Access failed: 550 /public.txt: Permission denied (rename not allowed)'],
    ] as const) {
      const r = await run(cmd, { anonymous: true });
      expect(r.code, cmd).toBe(1);
      expect(r.stderr, cmd).toContain(message);
    }
    expect(existsSync(join(fx.root, 'anon.txt'))).toBe(false);
    expect(existsSync(join(fx.root, 'anon-dir'))).toBe(false);
    expect(existsSync(join(fx.root, 'moved.txt'))).toBe(false);
    expect(await readFile(join(fx.root, 'public.txt'), 'utf8')).toBe('public');
  });
});
