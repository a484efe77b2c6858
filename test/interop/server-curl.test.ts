// curl against ftpkit's FileServer. curl's exit code names the failing step (78: RETR
// got 550, 21: a -Q command failed, 25: STOR refused, 67: login refused) and -v shows
// every command and reply, so both are asserted.
import { existsSync } from 'node:fs';
import { copyFile, mkdir, readFile, rm, stat, truncate, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { curl, hasTool, type ToolResult } from '../helpers/tools.js';
import { randomFile, sha256File } from '../helpers/tmp.js';
import { CRLF_TEXT, FANCY_NAME, LF_TEXT, makeBigFile, startFileServer, type ServerFixture, HAS_IPV6 } from '../helpers/server-fixture.js';

/** curl with -sS, connect/overall timeouts, and a process timeout. */
function run(args: string[], timeoutMs = 30_000): Promise<ToolResult> {
  return curl(['-sS', '--connect-timeout', '10', '--max-time', String(Math.floor(timeoutMs / 1000) - 2), ...args], { timeoutMs });
}

/** Commands and replies from curl -v: lines "> CMD" and "< 226 ...", prefixes kept. */
function dialogue(r: ToolResult): string[] {
  return r.stderr.split('\n').filter((l) => /^[<>] /.test(l)).map((l) => l.trimEnd());
}

describe.skipIf(!hasTool('curl'))('curl -> FileServer', () => {
  let fx: ServerFixture;
  let big: { path: string; sha256: string };

  beforeAll(async () => {
    fx = await startFileServer();
    big = await makeBigFile(fx.root, 'big-src.bin');
  });
  afterAll(async () => {
    await fx?.close();
  });

  it('lists a folder with LIST and NLST (-l)', async () => {
    await mkdir(join(fx.root, 'ls'));
    await writeFile(join(fx.root, 'ls', 'one.txt'), 'hello');
    await mkdir(join(fx.root, 'ls', 'sub'));
    const list = await run([fx.url('/ls/')]);
    expect(list.code).toBe(0);
    const lines = list.stdout.trimEnd().split(/\r?\n/);
    expect(lines).toHaveLength(2);
    expect(lines[0]).toMatch(/^-rw\S+ .+ 5 .+ one\.txt$/);
    expect(lines[1]).toMatch(/^d\S+ .+ sub$/);
    const nlst = await run(['-l', fx.url('/ls/')]);
    expect(nlst.code).toBe(0);
    expect(nlst.stdout.split(/\r?\n/).filter(Boolean).sort()).toEqual(['one.txt', 'sub']);
  });

  it('makes folders with -Q MKD and --ftp-create-dirs; MKD of an existing one fails with 550 (exit 21)', async () => {
    const r = await run(['-v', '-Q', 'MKD newdir', '-o', '/dev/null', fx.url('/')]);
    expect(r.code).toBe(0);
    expect(dialogue(r)).toContain('< 257 "/newdir" created');
    expect((await stat(join(fx.root, 'newdir'))).isDirectory()).toBe(true);
    const again = await run(['-Q', 'MKD newdir', '-o', '/dev/null', fx.url('/')]);
    expect(again.code).toBe(21);
    expect(again.stderr).toContain('550');
    await writeFile(join(fx.local, 'deep.txt'), 'deep');
    const deep = await run(['--ftp-create-dirs', '-T', join(fx.local, 'deep.txt'), fx.url('/a/b/c/deep.txt')]);
    expect(deep.code).toBe(0);
    expect(await readFile(join(fx.root, 'a', 'b', 'c', 'deep.txt'), 'utf8')).toBe('deep');
  });

  it('gets a 50 MB binary file intact (SHA-256)', async () => {
    const dest = join(fx.local, 'big-get.bin');
    const r = await run(['-o', dest, fx.url('/big-src.bin')], 60_000);
    expect(r.code).toBe(0);
    expect(await sha256File(dest)).toBe(big.sha256);
    await rm(dest);
  });

  it('puts a 50 MB binary file intact (SHA-256)', async () => {
    const r = await run(['-T', big.path, fx.url('/big-put.bin')], 60_000);
    expect(r.code).toBe(0);
    expect(await sha256File(join(fx.root, 'big-put.bin'))).toBe(big.sha256);
    await rm(join(fx.root, 'big-put.bin'));
  });

  it('renames with RNFR/RNTO (350, 250); a missing source fails with 550', async () => {
    await writeFile(join(fx.root, 'r1.txt'), 'rename me');
    const r = await run(['-v', '-Q', 'RNFR r1.txt', '-Q', 'RNTO r2.txt', '-o', '/dev/null', fx.url('/')]);
    expect(r.code).toBe(0);
    const d = dialogue(r);
    expect(d).toContain('< 350 Ready for RNTO');
    expect(d).toContain('< 250 Rename successful');
    expect(existsSync(join(fx.root, 'r1.txt'))).toBe(false);
    expect(await readFile(join(fx.root, 'r2.txt'), 'utf8')).toBe('rename me');
    const missing = await run(['-Q', 'RNFR nope.txt', '-Q', 'RNTO x.txt', '-o', '/dev/null', fx.url('/')]);
    expect(missing.code).toBe(21);
    expect(missing.stderr).toContain('550');
  });

  it('deletes with DELE (250), before and after a transfer; a missing file fails with 550', async () => {
    await writeFile(join(fx.root, 'del1.txt'), 'x');
    await writeFile(join(fx.root, 'del2.txt'), 'y');
    const r = await run(['-v', '-Q', 'DELE del1.txt', '-Q', '-DELE del2.txt', '-o', join(fx.local, 'del2.txt'), fx.url('/del2.txt')]);
    expect(r.code).toBe(0);
    expect(dialogue(r).filter((l) => l.startsWith('< 250 '))).toEqual(['< 250 /del1.txt: File deleted', '< 250 /del2.txt: File deleted']);
    expect(await readFile(join(fx.local, 'del2.txt'), 'utf8')).toBe('y');
    expect(existsSync(join(fx.root, 'del1.txt'))).toBe(false);
    expect(existsSync(join(fx.root, 'del2.txt'))).toBe(false);
    const again = await run(['-Q', 'DELE del1.txt', '-o', '/dev/null', fx.url('/')]);
    expect(again.code).toBe(21);
    expect(again.stderr).toContain('550');
  });

  it('exits 78 for a missing file (550) and 67 for a wrong password (530)', async () => {
    const missing = await run(['-v', '-o', join(fx.local, 'none'), fx.url('/missing.bin')]);
    expect(missing.code).toBe(78);
    expect(dialogue(missing)).toContain('< 550 /missing.bin: No such file or directory');
    const bad = await run([`ftp://alice:wrong@127.0.0.1:${fx.port}/`]);
    expect(bad.code).toBe(67);
    expect(bad.stderr).toContain('530');
  });

  it('resumes a download (-C -: REST then RETR)', async () => {
    const src = join(fx.root, 'resume-get.bin');
    const sha = await randomFile(src, 3 * 1024 * 1024 + 5);
    const part = join(fx.local, 'resume-get.bin');
    await copyFile(src, part);
    await truncate(part, 1_000_000);
    const r = await run(['-v', '-C', '-', '-o', part, fx.url('/resume-get.bin')]);
    expect(r.code).toBe(0);
    const d = dialogue(r);
    expect(d).toContain('> REST 1000000');
    expect(d).toContain('< 350 Restarting at 1000000. Send STOR or RETR');
    expect(d.some((l) => l.startsWith(`< 150 `) && l.includes(`(${3 * 1024 * 1024 + 5 - 1_000_000} bytes)`))).toBe(true);
    expect(await sha256File(part)).toBe(sha);
  });

  it('resumes an upload (-C - -T: SIZE then APPE)', async () => {
    const src = join(fx.local, 'resume-put.bin');
    const sha = await randomFile(src, 3 * 1024 * 1024 + 5);
    const remote = join(fx.root, 'resume-put.bin');
    await copyFile(src, remote);
    await truncate(remote, 1_500_000);
    const r = await run(['-v', '-C', '-', '-T', src, fx.url('/resume-put.bin')]);
    expect(r.code).toBe(0);
    const d = dialogue(r);
    expect(d).toContain('< 213 1500000');
    expect(d).toContain('> APPE resume-put.bin');
    expect(await sha256File(remote)).toBe(sha);
  });

  describe('data connection modes', () => {
    const modes: Array<{ name: string; args: string[]; command: RegExp }> = [
      { name: 'passive EPSV', args: [], command: /^> EPSV$/ },
      { name: 'passive PASV (--disable-epsv)', args: ['--disable-epsv'], command: /^> PASV$/ },
      { name: 'active EPRT (--ftp-port 127.0.0.1)', args: ['--ftp-port', '127.0.0.1'], command: /^> EPRT \|1\|127\.0\.0\.1\|\d+\|$/ },
      { name: 'active PORT (-P 127.0.0.1 --disable-eprt)', args: ['-P', '127.0.0.1', '--disable-eprt'], command: /^> PORT 127,0,0,1,\d+,\d+$/ },
    ];
    for (const [i, mode] of modes.entries()) {
      it(`puts, gets and lists in ${mode.name}`, async () => {
        const src = join(fx.local, `mode${i}.bin`);
        const sha = await randomFile(src, 1024 * 1024 + i);
        const put = await run(['-v', ...mode.args, '-T', src, fx.url(`/mode${i}.bin`)]);
        expect(put.code).toBe(0);
        expect(dialogue(put).some((l) => mode.command.test(l))).toBe(true);
        expect(dialogue(put)).toContain('< 226 Transfer complete');
        expect(await sha256File(join(fx.root, `mode${i}.bin`))).toBe(sha);
        const back = join(fx.local, `mode${i}-back.bin`);
        const get = await run(['-v', ...mode.args, '-o', back, fx.url(`/mode${i}.bin`)]);
        expect(get.code).toBe(0);
        expect(dialogue(get).some((l) => mode.command.test(l))).toBe(true);
        expect(await sha256File(back)).toBe(sha);
        const list = await run([...mode.args, '-l', fx.url('/')]);
        expect(list.code).toBe(0);
        expect(list.stdout.split(/\r?\n/)).toContain(`mode${i}.bin`);
      });
    }
  });

  it('TYPE A (-B): LF and CRLF (--crlf) uploads land as LF; the download is ASCII', async () => {
    const src = join(fx.local, 'lf.txt');
    await writeFile(src, LF_TEXT);
    const up = await run(['-v', '-B', '-T', src, fx.url('/ascii-lf.txt')]);
    expect(up.code).toBe(0);
    expect(dialogue(up)).toContain('> TYPE A');
    expect(dialogue(up)).toContain('< 150 Opening ASCII mode data connection for ascii-lf.txt');
    expect(await readFile(join(fx.root, 'ascii-lf.txt'), 'utf8')).toBe(LF_TEXT);
    const upCrlf = await run(['-B', '--crlf', '-T', src, fx.url('/ascii-crlf.txt')]);
    expect(upCrlf.code).toBe(0);
    expect(await readFile(join(fx.root, 'ascii-crlf.txt'), 'utf8')).toBe(LF_TEXT);
    // Binary keeps CRLF bytes untouched.
    const crlfSrc = join(fx.local, 'crlf.txt');
    await writeFile(crlfSrc, CRLF_TEXT);
    const bin = await run(['-T', crlfSrc, fx.url('/binary-crlf.txt')]);
    expect(bin.code).toBe(0);
    expect(await readFile(join(fx.root, 'binary-crlf.txt'), 'utf8')).toBe(CRLF_TEXT);
    // curl turns the CRLF of an ASCII download back into LF on Unix: the round trip is exact.
    const down = await run(['-v', '-B', '-o', join(fx.local, 'ascii-down.txt'), fx.url('/ascii-lf.txt')]);
    expect(down.code).toBe(0);
    expect(dialogue(down)).toContain('> TYPE A');
    expect(dialogue(down).some((l) => l.startsWith('< 150 Opening ASCII mode'))).toBe(true);
    expect(await readFile(join(fx.local, 'ascii-down.txt'), 'utf8')).toBe(LF_TEXT);
    const typeA = await run(['-o', join(fx.local, 'ascii-url.txt'), `${fx.url('/ascii-lf.txt')};type=a`]);
    expect(typeA.code).toBe(0);
    expect(await readFile(join(fx.local, 'ascii-url.txt'), 'utf8')).toBe(LF_TEXT);
  });

  it(`puts, lists, gets, renames and deletes ${FANCY_NAME}`, async () => {
    const src = join(fx.local, 'fancy-src.txt');
    await writeFile(src, 'contenido ñ');
    const put = await run(['-T', src, fx.url(`/${FANCY_NAME}`)]);
    expect(put.code).toBe(0);
    expect(await readFile(join(fx.root, FANCY_NAME), 'utf8')).toBe('contenido ñ');
    const nlst = await run(['-l', fx.url('/')]);
    expect(nlst.stdout.split(/\r?\n/)).toContain(FANCY_NAME);
    const get = await run(['-o', join(fx.local, 'fancy-back.txt'), fx.url(`/${FANCY_NAME}`)]);
    expect(get.code).toBe(0);
    expect(await readFile(join(fx.local, 'fancy-back.txt'), 'utf8')).toBe('contenido ñ');
    const renamed = `renamed ${FANCY_NAME}`;
    const ren = await run(['-Q', `RNFR ${FANCY_NAME}`, '-Q', `RNTO ${renamed}`, '-o', '/dev/null', fx.url('/')]);
    expect(ren.code).toBe(0);
    expect(await readFile(join(fx.root, renamed), 'utf8')).toBe('contenido ñ');
    const del = await run(['-Q', `DELE ${renamed}`, '-o', '/dev/null', fx.url('/')]);
    expect(del.code).toBe(0);
    expect(existsSync(join(fx.root, renamed))).toBe(false);
  });

  it('anonymous is read-only: a get works, an upload fails with 550 (exit 25), MKD with 550 (exit 21)', async () => {
    await writeFile(join(fx.root, 'public.txt'), 'public');
    const get = await run(['-o', join(fx.local, 'public.txt'), fx.url('/public.txt', 'anonymous')]);
    expect(get.code).toBe(0);
    expect(await readFile(join(fx.local, 'public.txt'), 'utf8')).toBe('public');
    await writeFile(join(fx.local, 'anon.txt'), 'nope');
    const put = await run(['-v', '-T', join(fx.local, 'anon.txt'), fx.url('/anon.txt', 'anonymous')]);
    expect(put.code).toBe(25);
    expect(dialogue(put)).toContain('< 550 /anon.txt: Permission denied (store not allowed)');
    expect(existsSync(join(fx.root, 'anon.txt'))).toBe(false);
    const mkd = await run(['-Q', 'MKD anon-dir', '-o', '/dev/null', fx.url('/', 'anonymous')]);
    expect(mkd.code).toBe(21);
    expect(mkd.stderr).toContain('550');
    const over = await run(['-T', join(fx.local, 'anon.txt'), fx.url('/public.txt', 'anonymous')]);
    expect(over.code).toBe(25);
    expect(await readFile(join(fx.root, 'public.txt'), 'utf8')).toBe('public');
  });
});

describe.skipIf(!hasTool('curl') || !HAS_IPV6)('curl -> FileServer over IPv6 (::1)', () => {
  let fx: ServerFixture;
  beforeAll(async () => {
    fx = await startFileServer({ host: '::1' });
  });
  afterAll(async () => {
    await fx?.close();
  });

  it('puts and gets through ftp://[::1]:PORT/ with EPSV, and actively with EPRT |2|', async () => {
    const src = join(fx.local, 'v6.bin');
    const sha = await randomFile(src, 1024 * 1024 + 1);
    const url = `ftp://alice:secret@[::1]:${fx.port}/v6.bin`;
    const put = await run(['-v', '-T', src, url]);
    expect(put.code).toBe(0);
    expect(dialogue(put)).toContain('> EPSV');
    expect(await sha256File(join(fx.root, 'v6.bin'))).toBe(sha);
    const get = await run(['-v', '-o', join(fx.local, 'v6-back.bin'), url]);
    expect(get.code).toBe(0);
    expect(await sha256File(join(fx.local, 'v6-back.bin'))).toBe(sha);
    const active = await run(['-v', '--ftp-port', '::1', '-o', join(fx.local, 'v6-active.bin'), url]);
    expect(active.code).toBe(0);
    expect(dialogue(active).some((l) => /^> EPRT \|2\|::1\|\d+\|$/.test(l))).toBe(true);
    expect(await sha256File(join(fx.local, 'v6-active.bin'))).toBe(sha);
  });
});
