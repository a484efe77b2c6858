// The built ftp-get / ftp-put (dist/bin) against every peer and ftpkit's FileServer.
// Run `npm run build` first (npm test does).
import { existsSync } from 'node:fs';
import { mkdir, readdir, readFile, stat, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { PEERS, REPO_ROOT, requirePeer } from '../helpers/peers.js';
import { startTarget, type Target, type TargetName } from '../helpers/targets.js';
import { makeTempDir, randomFile, sha256Buffer, sha256File, type TempDir } from '../helpers/tmp.js';
import { ftpUrl, runTool, type ToolResult } from '../helpers/tools.js';

const GET = join(REPO_ROOT, 'dist/bin/ftp-get.js');
const PUT = join(REPO_ROOT, 'dist/bin/ftp-put.js');

function bin(path: string, args: string[], opts: { cwd?: string; env?: NodeJS.ProcessEnv; input?: string | Buffer } = {}): Promise<ToolResult> {
  if (!existsSync(path)) throw new Error(`${path} is missing: run npm run build first`);
  return runTool(process.execPath, [path, ...args], { timeoutMs: 60_000, cwd: opts.cwd, input: opts.input, env: { ...process.env, NETRC: '/nonexistent', FTPKIT_PASSWORD: undefined, ...opts.env } });
}

describe('ftp-get / ftp-put basics', () => {
  it('print help and version', async () => {
    const pkg = JSON.parse(await readFile(join(REPO_ROOT, 'package.json'), 'utf8')) as { version: string };
    for (const b of [GET, PUT]) {
      const v = await bin(b, ['--version']);
      expect(v).toMatchObject({ code: 0, stdout: `${pkg.version}\n` });
      const h = await bin(b, ['--help']);
      expect(h.code).toBe(0);
      expect(h.stdout).toMatch(/^Usage: ftp-(get|put) /);
    }
  });

  it('exit 2 with one line on bad usage', async () => {
    const r = await bin(GET, ['--parallel', '0', 'ftp://127.0.0.1/x']);
    expect(r.code).toBe(2);
    expect(r.stderr).toBe("ftp-get: --parallel takes 1 to 32, got '0' (see --help)\n");
    const u = await bin(PUT, ['ftp://127.0.0.1/x']);
    expect(u).toMatchObject({ code: 2, stderr: 'ftp-put: expected SOURCE... URL (see --help)\n' });
    const bad = await bin(GET, ['http://example.com/x']);
    expect(bad).toMatchObject({ code: 2, stderr: 'ftp-get: not an ftp://, ftps:// or ftpes:// URL: http://example.com/x\n' });
  });
});

for (const name of [...PEERS, 'ftpkit'] as TargetName[]) {
  describe.skipIf(name !== 'ftpkit' && !requirePeer(name))(`ftp-get / ftp-put against ${name}`, () => {
    let peer: Target;
    let tmp: TempDir;
    let url: (path: string) => string;
    let bigHash: string;

    beforeAll(async () => {
      peer = await startTarget(name);
      tmp = await makeTempDir('ftpkit-bins-');
      url = (path) => ftpUrl(peer, path);
      await mkdir(join(peer.root, 'pub', 'sub'), { recursive: true });
      await writeFile(join(peer.root, 'pub', 'hello.txt'), 'hello\nworld\n');
      await randomFile(join(peer.root, 'pub', 'sub', 'one.bin'), 100_000);
      bigHash = await randomFile(join(peer.root, 'pub', 'big.bin'), 24 * 1024 * 1024 + 3);
      await peer.adopt();
    });
    afterAll(async () => {
      await peer?.stop();
      await tmp?.cleanup();
    });

    it('gets a file to a path, to a folder, to stdout; lists a folder URL', async () => {
      const r = await bin(GET, ['-q', url('/pub/hello.txt'), join(tmp.path, 'h.txt')]);
      expect(r).toMatchObject({ code: 0, stderr: '' });
      expect(await readFile(join(tmp.path, 'h.txt'), 'utf8')).toBe('hello\nworld\n');
      await mkdir(join(tmp.path, 'into'));
      expect((await bin(GET, [url('/pub/hello.txt'), join(tmp.path, 'into')])).code).toBe(0);
      expect(await readdir(join(tmp.path, 'into'))).toEqual(['hello.txt']);
      const out = await bin(GET, [url('/pub/hello.txt'), '-']);
      expect(out.stdout).toBe('hello\nworld\n');
      const list = await bin(GET, [url('/pub/')]);
      expect(list.code).toBe(0);
      expect(list.stdout).toMatch(/^- +12 .* hello\.txt$/m);
      expect(list.stdout).toMatch(/^d .* sub$/m);
      // default DEST is the base name in the current folder
      await mkdir(join(tmp.path, 'cwd'));
      expect((await bin(GET, [url('/pub/hello.txt')], { cwd: join(tmp.path, 'cwd') })).code).toBe(0);
      expect(await readdir(join(tmp.path, 'cwd'))).toEqual(['hello.txt']);
    });

    it('fails with one clear line, a curl exit status, and leaves nothing behind', async () => {
      const dest = join(tmp.path, 'missing.txt');
      const r = await bin(GET, [url('/pub/missing.txt'), dest]);
      expect(r.code).toBe(78);
      expect(r.stderr).toMatch(/^ftp-get: 55\d .*\/pub\/missing\.txt.*\n$/);
      expect(existsSync(dest) || existsSync(`${dest}.part`)).toBe(false);
      const wrong = await bin(GET, [ftpUrl({ ...peer, password: 'nope' }, '/pub/hello.txt'), join(tmp.path, 'w.txt')]);
      expect(wrong.code).toBe(67);
      expect(wrong.stderr).toMatch(/^ftp-get: 530 .+\n$/);
      // a folder named without its '/': the server's 550, and the hint
      const folder = await bin(GET, [url('/pub/sub'), join(tmp.path, 'sub')]);
      expect(folder.code).toBe(78);
      expect(folder.stderr).toMatch(/^ftp-get: 550 .+ \(a folder: add a trailing \/ to list it, or use -R to download it\)\n$/);
      expect(await readdir(tmp.path)).not.toContain('sub');
    });

    it('stops quietly with 0 when the reader closes stdout, and uploads stdin', async () => {
      const r = await runTool('bash', ['-c', `set -o pipefail; "${process.execPath}" "${GET}" "${url('/pub/big.bin')}" - | head -c 100 | wc -c`], { env: { ...process.env, NETRC: '/nonexistent' }, timeoutMs: 60_000 });
      expect(r).toMatchObject({ code: 0, stdout: '100\n', stderr: '' });
      const data = await readFile(join(peer.root, 'pub', 'sub', 'one.bin'));
      const put = await bin(PUT, ['-', url('/from-stdin.bin')], { input: data });
      expect(put).toMatchObject({ code: 0, stderr: '' });
      expect(await sha256File(join(peer.root, 'from-stdin.bin'))).toBe(sha256Buffer(data));
      // and the password from stdin when the URL names only the user
      const user = ftpUrl(peer, '/pub/hello.txt').replace(/:[^:@/]*@/, '@');
      expect(await bin(GET, [user, '-'], { input: `${peer.password}\n` })).toMatchObject({ code: 0, stdout: 'hello\nworld\n' });
    });

    it('gets a large file in parallel segments, equal by SHA-256', async () => {
      const dest = join(tmp.path, 'big-par.bin');
      const r = await bin(GET, ['--parallel', '4', url('/pub/big.bin'), dest]);
      expect(r).toMatchObject({ code: 0, stderr: '' });
      expect(await sha256File(dest)).toBe(bigHash);
    });

    it('resumes a partial download with -c', async () => {
      const dest = join(tmp.path, 'big-resume.bin');
      const full = await readFile(join(peer.root, 'pub', 'big.bin'));
      await writeFile(`${dest}.part`, full.subarray(0, 5_000_000));
      const r = await bin(GET, ['-c', '-v', url('/pub/big.bin'), dest]);
      expect(r.code).toBe(0);
      expect(r.stderr).toMatch(/> REST 5000000/);
      expect(r.stderr).toMatch(/> PASS \*\*\*\*/);
      expect(r.stderr).not.toContain(peer.password);
      expect(await sha256File(dest)).toBe(bigHash);
      expect(existsSync(`${dest}.part`)).toBe(false);
      // a partial file under the final name (say, from curl) is continued too
      const other = join(tmp.path, 'big-other.bin');
      await writeFile(other, full.subarray(0, 7_000_000));
      const again = await bin(GET, ['-c', '-v', url('/pub/big.bin'), other]);
      expect(again.code).toBe(0);
      expect(again.stderr).toMatch(/> REST 7000000/);
      expect(await sha256File(other)).toBe(bigHash);
      // and a complete one is left alone
      const done = await bin(GET, ['-c', '-v', url('/pub/big.bin'), other]);
      expect(done.code).toBe(0);
      expect(done.stderr).not.toMatch(/> RETR/);
    });

    it('gets a tree with -R (and in parallel), ending with a summary line', async () => {
      for (const extra of [[], ['--parallel', '3']]) {
        const dest = join(tmp.path, `tree${extra.length}`);
        const r = await bin(GET, ['-R', ...extra, url('/pub/'), dest]);
        expect(r).toMatchObject({ code: 0 });
        expect(r.stderr).toMatch(/^ftp-get: 3 files downloaded \(24\.\d MiB\), 0 failed\n$/);
        expect((await readdir(dest)).sort()).toEqual(['big.bin', 'hello.txt', 'sub']);
        expect((await stat(join(dest, 'sub', 'one.bin'))).size).toBe(100_000);
        expect(await sha256File(join(dest, 'big.bin'))).toBe(bigHash);
      }
    });

    it('puts files and trees, resumes with -c, in active and ASCII mode', async () => {
      const src = join(tmp.path, 'src');
      await mkdir(join(src, 'tree', 'deeper'), { recursive: true });
      const h1 = await randomFile(join(src, 'file.bin'), 3_000_000);
      const h2 = await randomFile(join(src, 'tree', 'deeper', 'x.bin'), 50_000);
      await writeFile(join(src, 'tree', 'y.txt'), 'y\n');
      expect(await bin(PUT, ['-q', join(src, 'file.bin'), url('/up/')])).toMatchObject({ code: 0, stderr: '' });
      expect(await sha256File(join(peer.root, 'up', 'file.bin'))).toBe(h1);
      expect(await bin(PUT, ['-R', '--parallel', '2', join(src, 'tree'), url('/up/')])).toMatchObject({ code: 0, stderr: 'ftp-put: 2 files uploaded (48.8 KiB), 0 failed\n' });
      expect(await sha256File(join(peer.root, 'up', 'tree', 'deeper', 'x.bin'))).toBe(h2);
      expect(await readFile(join(peer.root, 'up', 'tree', 'y.txt'), 'utf8')).toBe('y\n');
      // resume: cut the remote copy short, then -c appends the rest
      const full = await readFile(join(src, 'file.bin'));
      await writeFile(join(peer.root, 'up', 'file.bin'), full.subarray(0, 1_000_000));
      await peer.adopt();
      const resumed = await bin(PUT, ['-c', '-v', join(src, 'file.bin'), url('/up/file.bin')]);
      expect(resumed.code).toBe(0);
      expect(resumed.stderr).toMatch(/> APPE \/up\/file\.bin/);
      expect(await sha256File(join(peer.root, 'up', 'file.bin'))).toBe(h1);
      // active mode both ways
      expect(await bin(PUT, ['--active', join(src, 'tree', 'y.txt'), url('/up/active.txt')])).toMatchObject({ code: 0 });
      const back = await bin(GET, ['--active', '-v', url('/up/active.txt'), '-']);
      expect(back.stdout).toBe('y\n');
      expect(back.stderr).toMatch(/> (EPRT|PORT) /);
      // ASCII: what comes back is what went in
      expect(await bin(GET, ['--ascii', url('/pub/hello.txt'), join(tmp.path, 'a.txt')])).toMatchObject({ code: 0 });
      expect(await readFile(join(tmp.path, 'a.txt'), 'utf8')).toBe('hello\nworld\n');
    });

    it('takes credentials from -u and from a netrc file', async () => {
      const anon = `ftp://${peer.host}:${peer.port}/pub/hello.txt`;
      const r = await bin(GET, ['-u', `${peer.user}:${peer.password}`, anon, '-']);
      expect(r).toMatchObject({ code: 0, stdout: 'hello\nworld\n' });
      const netrc = join(tmp.path, 'netrc');
      await writeFile(netrc, `machine ${peer.host} login ${peer.user} password ${peer.password}\n`);
      expect(await bin(GET, ['--netrc-file', netrc, anon, '-'])).toMatchObject({ code: 0, stdout: 'hello\nworld\n' });
      expect(await bin(GET, [anon, '-'], { env: { NETRC: netrc } })).toMatchObject({ code: 0, stdout: 'hello\nworld\n' });
    });
  });
}
