// tnftp (Debian's `ftp`) against ftpkit's FileServer, driven through stdin. tnftp exits 0
// even when a command fails, so the assertions read the replies it prints (-v), the
// "---> CMD" lines of `debug on`, and its "N bytes sent/received" counts.
import { existsSync } from 'node:fs';
import { copyFile, mkdir, readFile, rm, stat, truncate, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { hasTool, tnftp, type ToolResult } from '../helpers/tools.js';
import { randomFile, sha256File } from '../helpers/tmp.js';
import { CRLF_TEXT, FANCY_NAME, LF_TEXT, makeBigFile, startFileServer, type ServerFixture } from '../helpers/server-fixture.js';

/** A tnftp word: spaces, quotes and backslashes escaped with a backslash. */
const w = (s: string): string => s.replace(/([\\ "'])/g, '\\$1');

const lines = (r: ToolResult): string[] => r.stdout.split('\n').map((l) => l.trimEnd());

describe.skipIf(!hasTool('tnftp'))('tnftp -> FileServer', () => {
  let fx: ServerFixture;
  let big: { path: string; sha256: string };

  function run(commands: string[], o: { passive?: boolean; anonymous?: boolean; timeoutMs?: number } = {}): Promise<ToolResult> {
    return tnftp(commands, {
      ...(o.anonymous ? fx.anon : fx.user),
      passive: o.passive ?? true,
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

  it('logs in and lists with ls (LIST) and nlist (NLST)', async () => {
    await mkdir(join(fx.root, 'ls'));
    await writeFile(join(fx.root, 'ls', 'one.txt'), 'hello');
    await mkdir(join(fx.root, 'ls', 'sub'));
    const r = await run(['ls /ls', 'nlist /ls']);
    expect(r.code).toBe(0);
    const out = lines(r);
    expect(out).toContain('230 User logged in');
    expect(out).toContain('Remote system type is UNIX.');
    expect(out.filter((l) => l === '226 Directory send OK')).toHaveLength(2);
    expect(out.some((l) => /^-rw\S+ .+ 5 .+ one\.txt$/.test(l))).toBe(true);
    expect(out.some((l) => /^d\S+ .+ sub$/.test(l))).toBe(true);
    expect(out).toContain('/ls/one.txt');
    expect(out).toContain('/ls/sub');
  });

  it('makes and removes folders; an existing one answers 550', async () => {
    const r = await run(['mkdir newdir', 'mkdir newdir', 'mkdir gone', 'rmdir gone']);
    const out = lines(r);
    expect(out).toContain('257 "/newdir" created');
    expect(out).toContain('550 /newdir: File exists');
    expect(out).toContain('250 /gone: Directory removed');
    expect((await stat(join(fx.root, 'newdir'))).isDirectory()).toBe(true);
    expect(existsSync(join(fx.root, 'gone'))).toBe(false);
  });

  it('gets a 50 MB binary file intact (SHA-256)', async () => {
    const r = await run(['binary', 'get big-src.bin big-get.bin'], { timeoutMs: 60_000 });
    const out = lines(r);
    expect(out).toContain('226 Transfer complete');
    expect(out.some((l) => l.startsWith(`${50 * 1024 * 1024} bytes received`))).toBe(true);
    expect(await sha256File(join(fx.local, 'big-get.bin'))).toBe(big.sha256);
    await rm(join(fx.local, 'big-get.bin'));
  });

  it('puts a 50 MB binary file intact (SHA-256)', async () => {
    const r = await run(['binary', `put ${w(big.path)} big-put.bin`], { timeoutMs: 60_000 });
    const out = lines(r);
    expect(out).toContain('226 Transfer complete');
    expect(await sha256File(join(fx.root, 'big-put.bin'))).toBe(big.sha256);
    await rm(join(fx.root, 'big-put.bin'));
  });

  it('renames (350, 250) and deletes (250); missing files answer 550', async () => {
    await writeFile(join(fx.root, 'r1.txt'), 'rename me');
    const r = await run(['rename r1.txt r2.txt', 'delete r2.txt', 'delete r2.txt', 'rename nope.txt x.txt', 'get nope.txt nope.txt']);
    const out = lines(r);
    expect(out).toContain('350 Ready for RNTO');
    expect(out).toContain('250 Rename successful');
    expect(out).toContain('250 /r2.txt: File deleted');
    expect(out.filter((l) => l === '550 /r2.txt: No such file or directory')).toHaveLength(1);
    expect(out).toContain('550 /nope.txt: No such file or directory');
    expect(existsSync(join(fx.root, 'r1.txt'))).toBe(false);
    expect(existsSync(join(fx.root, 'r2.txt'))).toBe(false);
    expect(existsSync(join(fx.local, 'nope.txt'))).toBe(false);
  });

  it('resumes a download (reget: REST then RETR)', async () => {
    const src = join(fx.root, 'resume-get.bin');
    const size = 3 * 1024 * 1024 + 5;
    const sha = await randomFile(src, size);
    const part = join(fx.local, 'resume-get.bin');
    await copyFile(src, part);
    await truncate(part, 1_000_000);
    const r = await run(['binary', 'reget resume-get.bin resume-get.bin']);
    const out = lines(r);
    expect(out).toContain('350 Restarting at 1000000. Send STOR or RETR');
    expect(out).toContain(`150 Opening BINARY mode data connection for resume-get.bin (${size - 1_000_000} bytes)`);
    expect(await sha256File(part)).toBe(sha);
  });

  it('resumes an upload (restart N, put: REST then STOR)', async () => {
    const src = join(fx.local, 'resume-put.bin');
    const size = 3 * 1024 * 1024 + 5;
    const sha = await randomFile(src, size);
    const remote = join(fx.root, 'resume-put.bin');
    await copyFile(src, remote);
    await truncate(remote, 1_500_000);
    const r = await run(['binary', 'restart 1500000', 'put resume-put.bin resume-put.bin']);
    const out = lines(r);
    expect(out).toContain('350 Restarting at 1500000. Send STOR or RETR');
    expect(out.some((l) => l.startsWith(`${size - 1_500_000} bytes sent`))).toBe(true);
    expect(await sha256File(remote)).toBe(sha);
  });

  describe('data connection modes', () => {
    const modes: Array<{ name: string; passive: boolean; setup: string[]; command: RegExp }> = [
      { name: 'passive EPSV (-p)', passive: true, setup: [], command: /^---> EPSV$/ },
      { name: 'passive PASV (epsv4 off)', passive: true, setup: ['epsv4 off'], command: /^---> PASV$/ },
      { name: 'active EPRT (passive off)', passive: true, setup: ['passive off'], command: /^---> EPRT \|1\|127\.0\.0\.1\|\d+\|$/ },
      { name: 'active PORT (-A, epsv4 off)', passive: false, setup: ['epsv4 off'], command: /^---> PORT 127,0,0,1,\d+,\d+$/ },
    ];
    for (const [i, mode] of modes.entries()) {
      it(`puts, gets and lists in ${mode.name}`, async () => {
        const name = `mode${i}.bin`;
        const sha = await randomFile(join(fx.local, name), 1024 * 1024 + i);
        const r = await run(['binary', ...mode.setup, 'debug on', `put ${name} ${name}`, `get ${name} back-${name}`, 'nlist'], mode);
        const out = lines(r);
        expect(out.filter((l) => mode.command.test(l))).toHaveLength(3);
        expect(out.filter((l) => l === '226 Transfer complete')).toHaveLength(2);
        expect(out).toContain('226 Directory send OK');
        expect(out).toContain(name);
        expect(await sha256File(join(fx.root, name))).toBe(sha);
        expect(await sha256File(join(fx.local, `back-${name}`))).toBe(sha);
      });
    }
  });

  it('ascii: LF text goes out as CRLF and lands as LF; comes back as CRLF on the wire and LF on disk', async () => {
    await writeFile(join(fx.local, 'lf.txt'), LF_TEXT);
    const r = await run(['ascii', 'put lf.txt ascii-lf.txt', 'get ascii-lf.txt ascii-back.txt']);
    const out = lines(r);
    expect(out).toContain('200 Switching to ASCII mode');
    expect(out).toContain('150 Opening ASCII mode data connection for ascii-lf.txt');
    // tnftp counts wire bytes: CRLF line ends both ways.
    const wire = Buffer.byteLength(CRLF_TEXT);
    expect(out.some((l) => l.startsWith(`${wire} bytes sent`))).toBe(true);
    expect(out.some((l) => l.startsWith(`${wire} bytes received`))).toBe(true);
    expect(await readFile(join(fx.root, 'ascii-lf.txt'), 'utf8')).toBe(LF_TEXT);
    expect(await readFile(join(fx.local, 'ascii-back.txt'), 'utf8')).toBe(LF_TEXT);
    // binary leaves CRLF alone
    await writeFile(join(fx.local, 'crlf.txt'), CRLF_TEXT);
    const bin = await run(['binary', 'put crlf.txt binary-crlf.txt', 'get binary-crlf.txt binary-back.txt']);
    expect(lines(bin)).toContain('200 Switching to Binary mode');
    expect(await readFile(join(fx.root, 'binary-crlf.txt'), 'utf8')).toBe(CRLF_TEXT);
    expect(await readFile(join(fx.local, 'binary-back.txt'), 'utf8')).toBe(CRLF_TEXT);
  });

  it(`puts, lists, gets, renames and deletes ${FANCY_NAME}`, async () => {
    await writeFile(join(fx.local, 'fancy-src.txt'), 'contenido ñ');
    const renamed = `renamed ${FANCY_NAME}`;
    const r = await run([
      'binary',
      `put fancy-src.txt ${w(FANCY_NAME)}`,
      'nlist',
      `get ${w(FANCY_NAME)} fancy-back.txt`,
      `rename ${w(FANCY_NAME)} ${w(renamed)}`,
    ]);
    const out = lines(r);
    expect(out).toContain(`150 Opening BINARY mode data connection for ${FANCY_NAME}`);
    expect(out).toContain(FANCY_NAME);
    expect(out).toContain('250 Rename successful');
    expect(await readFile(join(fx.local, 'fancy-back.txt'), 'utf8')).toBe('contenido ñ');
    expect(await readFile(join(fx.root, renamed), 'utf8')).toBe('contenido ñ');
    const del = await run([`delete ${w(renamed)}`]);
    expect(lines(del)).toContain(`250 /${renamed}: File deleted`);
    expect(existsSync(join(fx.root, renamed))).toBe(false);
  });

  it('anonymous is read-only: get works; put, mkdir, delete and rename answer 550', async () => {
    await writeFile(join(fx.root, 'public.txt'), 'public');
    await writeFile(join(fx.local, 'anon.txt'), 'nope');
    const r = await run(
      ['binary', 'get public.txt public.txt', 'put anon.txt anon.txt', 'mkdir anon-dir', 'delete public.txt', 'rename public.txt moved.txt'],
      { anonymous: true },
    );
    const out = lines(r);
    expect(out).toContain('230 User logged in');
    expect(out.filter((l) => /^550 \/[\w.-]+: Permission denied \((store|make folder|delete|rename) not allowed\)$/.test(l))).toHaveLength(4);
    expect(await readFile(join(fx.local, 'public.txt'), 'utf8')).toBe('public');
    expect(existsSync(join(fx.root, 'anon.txt'))).toBe(false);
    expect(existsSync(join(fx.root, 'anon-dir'))).toBe(false);
    expect(existsSync(join(fx.root, 'moved.txt'))).toBe(false);
    expect(await readFile(join(fx.root, 'public.txt'), 'utf8')).toBe('public');
  });

  // tnftp aborts with send(IAC IP IAC, MSG_OOB) then "\xF2ABOR\r\n": without SO_OOBINLINE
  // the urgent IAC is taken out of the stream and a lone DM precedes the verb. Here the
  // abort follows a `restart` + `get` whose local file cannot be opened.
  it('recognises tnftp ABOR (IAC IP, urgent IAC, DM ABOR)', async () => {
    await writeFile(join(fx.root, 'abort.txt'), 'abort me');
    const r = await run(['binary', 'restart 2', 'get abort.txt no-such-local.txt', 'pwd']);
    const out = lines(r);
    expect(out).toContain('Remote directory: /');
    expect(out.some((l) => /not understood/.test(l))).toBe(false);
    expect(out.some((l) => /^22[56] /.test(l) && /ABOR|abort/i.test(l))).toBe(true);
  });
});
