// The built ftp-get / ftp-put against a hostile scripted server and ftpkit's own, through pipes
// and a real terminal: exit statuses, exact one-line messages, stdin (run `npm run build` first).
import { spawn } from 'node:child_process';
import { closeSync, existsSync, openSync } from 'node:fs';
import { readdir, readFile, stat, writeFile } from 'node:fs/promises';
import net from 'node:net';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { REPO_ROOT } from '../../helpers/peers.js';
import { startTestServer } from '../../helpers/server.js';
import { hasScript, runInTerminal } from '../../helpers/terminal.js';
import { TEST_CERT, TEST_KEY } from '../../helpers/tls.js';
import { makeTempDir, randomFile, sha256Buffer, sha256File, type TempDir } from '../../helpers/tmp.js';
import { runTool, type ToolResult } from '../../helpers/tools.js';
import { listingHandler, startFakeServer, startSending, type FakeServer, type FakeServerOptions } from './fake-server.js';

const GET = join(REPO_ROOT, 'dist/bin/ftp-get.js');
const PUT = join(REPO_ROOT, 'dist/bin/ftp-put.js');

function run(bin: string, args: string[], opts: { cwd?: string; input?: string | Buffer; env?: NodeJS.ProcessEnv } = {}): Promise<ToolResult> {
  if (!existsSync(bin)) throw new Error(`${bin} is missing: run npm run build first`);
  return runTool(process.execPath, [bin, ...args], { timeoutMs: 30_000, cwd: opts.cwd, input: opts.input, env: { ...process.env, NETRC: '/nonexistent', FTPKIT_PASSWORD: undefined, ...opts.env } });
}

function ftpGet(args: string[], cwd?: string): Promise<ToolResult> {
  return run(GET, args, { cwd });
}

/** A port nothing listens on (bound, then closed). */
async function closedPort(): Promise<number> {
  const probe = net.createServer();
  await new Promise<void>((r) => probe.listen(0, '127.0.0.1', r));
  const port = (probe.address() as net.AddressInfo).port;
  await new Promise<void>((r) => probe.close(() => r()));
  return port;
}

const cleanup: (() => Promise<void>)[] = [];
afterEach(async () => {
  for (const f of cleanup.splice(0)) await f();
});

async function fake(opts: FakeServerOptions): Promise<{ server: FakeServer; tmp: TempDir; url: (p: string) => string }> {
  const server = await startFakeServer(opts);
  const tmp = await makeTempDir();
  cleanup.push(() => server.close(), () => tmp.cleanup());
  return { server, tmp, url: (p) => `ftp://127.0.0.1:${server.port}${p}` };
}

/** A RETR that sends 100 kB of a 1 MB file, then drops both connections. */
const cutShort: FakeServerOptions = {
  handlers: {
    SIZE: (_a, s) => s.reply(213, '1000000'),
    RETR: async (_a, s) => {
      s.reply(150, 'sending');
      const data = await s.dataSocket();
      data.write(Buffer.alloc(100_000, 7), () => {
        data.destroy();
        s.control.destroy();
      });
    },
  },
};

describe('ftp-get against a hostile server', () => {
  it('never leaves a truncated file under the final name', async () => {
    const { tmp, url } = await fake(cutShort);
    const dest = join(tmp.path, 'file.bin');
    const r = await ftpGet([url('/file.bin'), dest]);
    expect(r.code).toBe(56); // the connection broke
    // The server drops both connections at once: whichever close the client sees first is named.
    expect(['ftp-get: the server closed the control connection\n', 'ftp-get: the data connection failed: the data connection closed early\n']).toContain(r.stderr);
    expect(await readdir(tmp.path)).toEqual([]);
  });

  it('keeps the partial file with -c, for the next run to resume', async () => {
    const { tmp, url } = await fake(cutShort);
    const dest = join(tmp.path, 'file.bin');
    const r = await ftpGet(['-c', url('/file.bin'), dest]);
    expect(r.code).toBe(56);
    expect(existsSync(dest)).toBe(false);
    const part = await stat(`${dest}.part`);
    expect(part.size).toBeGreaterThan(0);
    expect(part.size).toBeLessThanOrEqual(100_000);
  });

  it('skips hostile names in a recursive download and writes nothing outside DEST', async () => {
    const { tmp, url, server } = await fake({
      handlers: {
        LIST: listingHandler([
          '-rw-r--r-- 1 u g 2 Jan 01 00:00 ../escape',
          '-rw-r--r-- 1 u g 2 Jan 01 00:00 a/b',
          'drwxr-xr-x 1 u g 0 Jan 01 00:00 ..',
          '-rw-r--r-- 1 u g 2 Jan 01 00:00 fine.txt',
        ]),
        RETR: async (_a, s) => {
          s.reply(150, 'sending');
          const data = await s.dataSocket();
          data.end('ok');
          data.once('close', () => s.reply(226, 'done'));
        },
      },
    });
    const r = await ftpGet(['-R', url('/dir/'), join(tmp.path, 'dest')]);
    expect(r.code).toBe(0);
    expect(r.stderr.split('\n')).toEqual([
      'ftp-get: warning: skipped "/dir/../escape": not a plain file name',
      'ftp-get: warning: skipped "/dir/a/b": not a plain file name',
      'ftp-get: 1 file downloaded (2 B), 0 failed, 2 skipped',
      '',
    ]);
    expect(await readdir(tmp.path)).toEqual(['dest']);
    expect(await readdir(join(tmp.path, 'dest'))).toEqual(['fine.txt']);
    expect(server.commands.filter((c) => c.startsWith('RETR'))).toEqual(['RETR /dir/fine.txt']);
  });

  it('cleans up and exits 130 on Ctrl-C', async () => {
    const { tmp, url, server } = await fake({
      handlers: {
        SIZE: (_a, s) => s.reply(213, '1000000'),
        RETR: async (_a, s) => {
          s.reply(150, 'sending slowly');
          s.transferring = true;
          const data = await s.dataSocket();
          data.on('error', () => {});
          data.write(Buffer.alloc(1000));
        },
      },
    });
    const dest = join(tmp.path, 'slow.bin');
    const child = spawn(process.execPath, [GET, url('/slow.bin'), dest], { env: { ...process.env, NETRC: '/nonexistent' } });
    let stderr = '';
    child.stderr.on('data', (d: Buffer) => { stderr += d.toString(); });
    // interrupt once the transfer is under way
    for (let i = 0; i < 100 && !server.commands.includes('RETR /slow.bin'); i++) await new Promise((r) => setTimeout(r, 50));
    await new Promise((r) => setTimeout(r, 100));
    child.kill('SIGINT');
    const code = await new Promise<number | null>((r) => child.once('close', r));
    expect(code).toBe(130);
    expect(stderr).toBe('ftp-get: interrupted\n');
    expect(server.commands).toContain('ABOR');
    expect(await readdir(tmp.path)).toEqual([]);
  });

  it.skipIf(!existsSync('/dev/full'))('reports a full destination with one line', async () => {
    const { url } = await fake({
      handlers: {
        RETR: async (_a, s) => {
          const data = await startSending(s);
          data.end(Buffer.alloc(1_000_000), () => {
            if (s.transferring) s.reply(226, 'done');
            s.transferring = false;
          });
        },
      },
    });
    const full = openSync('/dev/full', 'w');
    try {
      const child = spawn(process.execPath, [GET, url('/f'), '-'], { stdio: ['ignore', full, 'pipe'], env: { ...process.env, NETRC: '/nonexistent' } });
      let stderr = '';
      child.stderr!.on('data', (d: Buffer) => { stderr += d.toString(); });
      const code = await new Promise<number | null>((r) => child.once('close', r));
      expect(code).toBe(23);
      expect(stderr).toBe('ftp-get: cannot write stdout: no space left on the device\n');
    } finally {
      closeSync(full);
    }
  });

  it('times out a silent server with one line', async () => {
    const { tmp, url } = await fake({ handlers: { SIZE: () => {} } });
    const t = Date.now();
    const r = await ftpGet(['--timeout', '0.5', url('/f'), join(tmp.path, 'f')]);
    expect(r.code).toBe(28);
    expect(r.stderr).toMatch(/^ftp-get: no reply from the server within 500 ms\n$/);
    expect(Date.now() - t).toBeLessThan(10_000);
  });

  it('reports an unreachable host and a missing local folder, naming what was typed', async () => {
    const port = await closedPort();
    const r = await ftpGet([`ftp://127.0.0.1:${port}/x`, '-']);
    expect(r).toMatchObject({ code: 7, stderr: `ftp-get: cannot connect to 127.0.0.1:${port}: connection refused\n` });

    const { tmp, url, server } = await fake({ handlers: { SIZE: (_a, s) => s.reply(213, '2') } });
    const dest = join(tmp.path, 'no', 'such', 'f');
    const m = await ftpGet([url('/f'), dest]);
    expect(m).toMatchObject({ code: 23, stderr: `ftp-get: cannot write ${dest}: no such folder\n` });
    expect(server.commands).toEqual([]); // checked before connecting
  });
});

/** RETR sends `size` bytes (or until the client goes away), then 226. */
function sends(size: number): FakeServerOptions {
  return {
    handlers: {
      SIZE: (_a, s) => s.reply(213, String(size)),
      RETR: async (_a, s) => {
        const data = await startSending(s);
        data.end(Buffer.alloc(size, 7), () => {
          if (s.transferring) s.reply(226, 'done');
          s.transferring = false;
        });
      },
    },
  };
}

describe('ftp-get / ftp-put exit statuses (curl numbering) and one-line messages', () => {
  it('67 for a refused login, with the reply as the line', async () => {
    const { url } = await fake({ handlers: { PASS: (_a, s) => s.reply(530, 'Login incorrect.') } });
    expect(await ftpGet([url('/f'), '-'])).toMatchObject({ code: 67, stderr: 'ftp-get: 530 Login incorrect.\n', stdout: '' });
    expect(await run(PUT, ['-', url('/f')], { input: 'x', env: { FTPKIT_PASSWORD: 'pw' } })).toMatchObject({ code: 67, stderr: 'ftp-put: 530 Login incorrect.\n' });
  });

  it('78 for a missing remote file; 25 when the server refuses an upload', async () => {
    const { url, tmp } = await fake({
      handlers: {
        SIZE: (_a, s) => s.reply(550, 'No such file or directory.'),
        CWD: (_a, s) => s.reply(550, 'Not a folder.'),
        STOR: (_a, s) => s.reply(553, 'Could not create file.'),
      },
    });
    expect(await ftpGet([url('/missing.txt'), join(tmp.path, 'm')])).toMatchObject({ code: 78, stderr: 'ftp-get: 550 /missing.txt: No such file or directory.\n' });
    expect(await readdir(tmp.path)).toEqual([]);
    await writeFile(join(tmp.path, 'up.txt'), 'up');
    expect(await run(PUT, [join(tmp.path, 'up.txt'), url('/ro/up.txt')])).toMatchObject({ code: 25, stderr: 'ftp-put: 553 /ro/up.txt: Could not create file.\n' });
  });

  it('78 with a hint for a folder URL without its trailing slash', async () => {
    const { url, tmp, server } = await fake({ handlers: { SIZE: (_a, s) => s.reply(550, '/sub: Not a regular file') } });
    const r = await ftpGet([url('/sub'), join(tmp.path, 'x')]);
    expect(r).toMatchObject({ code: 78, stderr: 'ftp-get: 550 /sub: Not a regular file (a folder: add a trailing / to list it, or use -R to download it)\n' });
    expect(server.commands).toContain('CWD /sub');
  });

  it('7 for a refused port, 6 for a host that does not resolve', async () => {
    const port = await closedPort();
    expect(await run(PUT, ['-', `ftp://127.0.0.1:${port}/x`], { input: 'x' })).toMatchObject({ code: 7, stderr: `ftp-put: cannot connect to 127.0.0.1:${port}: connection refused\n` });
    const r = await ftpGet(['ftp://nonexistent.invalid/x', '-']);
    expect(r.code).toBe(6);
    // without a resolver at all, getaddrinfo says EAI_AGAIN instead of ENOTFOUND
    expect(r.stderr).toMatch(/^ftp-get: cannot resolve host nonexistent\.invalid( \(the name server did not answer\))?\n$/);
  });

  it('28 for a server that accepts but never greets', async () => {
    const silent = net.createServer((s) => s.on('error', () => {}));
    const sockets: net.Socket[] = [];
    silent.on('connection', (s) => sockets.push(s));
    await new Promise<void>((r) => silent.listen(0, '127.0.0.1', r));
    cleanup.push(async () => {
      for (const s of sockets) s.destroy();
      await new Promise<void>((r) => silent.close(() => r()));
    });
    const port = (silent.address() as net.AddressInfo).port;
    expect(await ftpGet(['--timeout', '0.5', `ftp://127.0.0.1:${port}/x`, '-'])).toMatchObject({ code: 28, stderr: 'ftp-get: no reply from the server within 500 ms\n' });
  });

  it('35 for a TLS failure: a self-signed certificate without -k', async () => {
    const srv = await startTestServer({ tls: { cert: TEST_CERT, key: TEST_KEY } });
    cleanup.push(() => srv.close());
    await writeFile(join(srv.root, 'f.txt'), 'tls');
    const r = await ftpGet([`ftpes://alice:secret@127.0.0.1:${srv.port}/f.txt`, '-']);
    expect(r).toMatchObject({ code: 35, stdout: '' });
    expect(r.stderr).toMatch(/^ftp-get: TLS: self[- ]signed certificate\n$/);
    // the same with -k works: the failure was the certificate
    expect(await ftpGet(['-k', `ftpes://alice:secret@127.0.0.1:${srv.port}/f.txt`, '-'])).toMatchObject({ code: 0, stdout: 'tls' });
  });

  it('2 for usage mistakes, each one line: a URL as DEST or SOURCE, a DEST with a folder URL, a wrong scheme', async () => {
    const { url, server } = await fake({});
    expect(await ftpGet([url('/a.txt'), 'ftp://alice:pw@other/renamed.txt'])).toMatchObject({
      code: 2, stderr: 'ftp-get: DEST must be a local path (or - for stdout), not a URL: ftp://alice:***@other/renamed.txt (see --help)\n',
    });
    expect(await ftpGet([url('/pub/'), 'out'])).toMatchObject({
      code: 2, stderr: `ftp-get: ${url('/pub/')} is a folder: its listing goes to stdout (drop DEST), or use -R to download it into out (see --help)\n`,
    });
    expect(await run(PUT, [url('/a'), url('/b')])).toMatchObject({ code: 2, stderr: `ftp-put: SOURCE must be a local path (or - for stdin), not a URL: ${url('/a')} (see --help)\n` });
    expect(await ftpGet(['http://example.com/x'])).toMatchObject({ code: 2, stderr: 'ftp-get: not an ftp://, ftps:// or ftpes:// URL: http://example.com/x\n' });
    expect(await ftpGet(['-R', url('/pub/'), '-'])).toMatchObject({ code: 2, stderr: 'ftp-get: -R writes a folder tree, not stdout: give DEST, a local folder (see --help)\n' });
    expect(server.commands).toEqual([]);
  });

  it('prints the table in --help', async () => {
    for (const bin of [GET, PUT]) {
      const h = await run(bin, ['--help']);
      expect(h.code).toBe(0);
      expect(h.stdout).toContain('Exit status:\n    0  success');
      expect(h.stdout).toMatch(/^ {3}67 {2}login denied \(530\)$/m);
      expect(h.stdout).toMatch(/^ {3}78 {2}remote file not found/m);
      expect(h.stdout).toMatch(/^ {2}-R, --recursive /m);
    }
  });

  it('-r still means -R, with a one-line deprecation note (even with -q)', async () => {
    const { tmp, url } = await fake({ handlers: { LIST: listingHandler([]) } });
    const r = await ftpGet(['-q', '-r', url('/dir/'), join(tmp.path, 'd')]);
    expect(r).toMatchObject({ code: 0, stderr: 'ftp-get: warning: -r is now -R (--recursive); -r will mean --range (as in curl) in a later release\n' });
    expect(await ftpGet(['-q', '-R', url('/dir/'), join(tmp.path, 'e')])).toMatchObject({ code: 0, stderr: '' });
    const put = await run(PUT, ['-q', '-r', tmp.path, url('/up/')]);
    expect(put.stderr.split('\n')[0]).toBe('ftp-put: warning: -r is now -R (--recursive); -r will go away in a later release');
  });
});

describe('pipes and stdin', () => {
  it('exits 0 without a word when the reader closes stdout, and ABORts the transfer', async () => {
    const { server, url } = await fake({
      handlers: {
        SIZE: (_a, s) => s.reply(213, '100000000'),
        RETR: async (_a, s) => {
          const data = await startSending(s);
          const chunk = Buffer.alloc(64 * 1024, 7);
          const pump = (): void => {
            while (!data.destroyed && data.write(chunk));
            if (!data.destroyed) data.once('drain', pump);
          };
          pump();
        },
      },
    });
    // as `ftp-get URL - | head -c 100`: read 100 bytes, then close the pipe
    const child = spawn(process.execPath, [GET, url('/big.bin'), '-'], { stdio: ['ignore', 'pipe', 'pipe'], env: { ...process.env, NETRC: '/nonexistent' } });
    let stderr = '';
    child.stderr.on('data', (d: Buffer) => { stderr += d.toString(); });
    let got = 0;
    await new Promise<void>((resolve) => child.stdout.on('data', (d: Buffer) => {
      got += d.length;
      if (got >= 100) {
        child.stdout.destroy();
        resolve();
      }
    }));
    const code = await new Promise<number | null>((r) => child.once('close', r));
    expect(code).toBe(0);
    expect(stderr).toBe('');
    expect(server.commands).toContain('ABOR');
    expect(server.commands.at(-1)).toBe('QUIT');
  });

  it('also with a shell pipe into head', async () => {
    const { url } = await fake(sends(10_000_000));
    const r = await runTool('bash', ['-c', `set -o pipefail; "${process.execPath}" "${GET}" "${url('/f')}" - | head -c 100 | wc -c`], { env: { ...process.env, NETRC: '/nonexistent' } });
    expect(r).toMatchObject({ code: 0, stdout: '100\n', stderr: '' });
  });

  it('reads the password from stdin when stdin is not a terminal (first line, at most 1024 bytes)', async () => {
    const { server, url } = await fake(sends(3));
    const anon = url('/f').replace('ftp://', 'ftp://');
    const r = await run(GET, ['-u', 'alice', anon, '-'], { input: 'se cret\nnot this\n' });
    expect(r).toMatchObject({ code: 0, stderr: '' });
    expect(server.commands).toContain('USER alice');
    expect(server.commands).toContain('PASS se cret');
    const long = await run(GET, ['-u', 'alice', anon, '-'], { input: `${'x'.repeat(1025)}\n` });
    expect(long).toMatchObject({ code: 2, stderr: 'ftp-get: cannot read the password from stdin: password must be at most 1024 bytes\n' });
    // $FTPKIT_PASSWORD comes first, and stdin is left alone
    const env = await run(GET, ['-u', 'bob', anon, '-'], { input: 'ignored\n', env: { FTPKIT_PASSWORD: 'from-env' } });
    expect(env.code).toBe(0);
    expect(server.commands).toContain('PASS from-env');
    expect(server.commands).not.toContain('PASS ignored');
  });

  it('ftp-put - refuses to read a password from the stdin it uploads', async () => {
    const { server, url } = await fake({});
    const r = await run(PUT, ['-u', 'alice', '-', url('/x')], { input: 'data' });
    expect(r).toMatchObject({
      code: 2, stderr: 'ftp-put: no password for alice, and stdin is the upload: give it in the URL, -u alice:PASSWORD, ~/.netrc or $FTPKIT_PASSWORD (see --help)\n',
    });
    expect(server.commands).toEqual([]);
  });

  it('ftp-put - uploads stdin, equal by SHA-256; --size only feeds the bar, a different count warns', async () => {
    const srv = await startTestServer();
    cleanup.push(() => srv.close());
    const data = Buffer.alloc(3_000_017);
    for (let i = 0; i < data.length; i++) data[i] = (i * 7919) % 251;
    const r = await run(PUT, ['-', `ftp://alice:secret@127.0.0.1:${srv.port}/stdin.bin`], { input: data });
    expect(r).toMatchObject({ code: 0, stderr: '' });
    expect(await sha256File(join(srv.root, 'stdin.bin'))).toBe(sha256Buffer(data));
    const sized = await run(PUT, ['--size', '10', '-', `ftp://alice@127.0.0.1:${srv.port}/small.txt`], { input: 'hello', env: { FTPKIT_PASSWORD: 'secret' } });
    expect(sized).toMatchObject({ code: 0, stderr: 'ftp-put: warning: stdin gave 5 bytes (5 B), not the 10 of --size\n' });
    expect(await readFile(join(srv.root, 'small.txt'), 'utf8')).toBe('hello');
    for (const [args, message] of [
      [['-', `ftp://alice:secret@127.0.0.1:${srv.port}/`], `stdin has no name: end the URL with the file name, not '/' (ftp://alice:***@127.0.0.1:${srv.port}/)`],
      [['-c', '-', `ftp://alice:secret@127.0.0.1:${srv.port}/x`], '-c cannot resume from stdin: it cannot skip what the server already has'],
      [['-', '-', `ftp://alice:secret@127.0.0.1:${srv.port}/x`], "'-' (stdin) must be the only SOURCE"],
      [['--size', '5', join(srv.root, 'small.txt'), `ftp://alice:secret@127.0.0.1:${srv.port}/x`], "--size is for stdin ('-' as SOURCE); a file's size is known"],
    ] as const) {
      expect(await run(PUT, [...args], { input: 'x' })).toMatchObject({ code: 2, stderr: `ftp-put: ${message} (see --help)\n` });
    }
    expect(await run(PUT, ['/no/such/file', `ftp://alice:secret@127.0.0.1:${srv.port}/x`])).toMatchObject({ code: 26, stderr: 'ftp-put: cannot read /no/such/file: no such file\n' });
  });
});

describe.skipIf(!hasScript())('through a terminal (script(1) pty, 50 columns)', () => {
  const LONG = 'a-rather-long-file-name-that-will-not-fit-in-fifty-columns.bin';

  it('draws the bar on stderr when the data goes to stdout, fitted to the width, the name shortened in the middle', async () => {
    const srv = await startTestServer();
    cleanup.push(() => srv.close());
    await randomFile(join(srv.root, LONG), 2_000_000);
    const t = await runInTerminal(`NETRC=/nonexistent "${process.execPath}" "${GET}" "ftp://alice:secret@127.0.0.1:${srv.port}/${LONG}" - > /dev/null`, { cols: 50 });
    expect(t.code).toBe(0);
    expect(t.widest).toBeLessThanOrEqual(49);
    expect(t.screen).toHaveLength(1);
    // 49 columns: the name gives way first, then the bar (the percentage says it), rate and ETA stay
    expect(t.screen[0]).toMatch(/^a-rat\S*…\S*\.bin 100% 1\.9 MiB \S+ \S+\/s ETA \d\d:\d\d$/);
    expect(t.raw).not.toContain('{'); // no log lines, no JSON
  });

  it('shows files done of the total for -R and ends with a summary line', async () => {
    const srv = await startTestServer();
    cleanup.push(() => srv.close());
    const tmp = await makeTempDir();
    cleanup.push(() => tmp.cleanup());
    await writeFile(join(srv.root, 'one.txt'), 'one');
    await writeFile(join(srv.root, 'two.txt'), 'two!');
    const t = await runInTerminal(`NETRC=/nonexistent "${process.execPath}" "${GET}" -R "ftp://alice:secret@127.0.0.1:${srv.port}/" "${join(tmp.path, 'tree')}"`, { cols: 50 });
    expect(t.code).toBe(0);
    expect(t.widest).toBeLessThanOrEqual(49);
    expect(t.screen).toHaveLength(2);
    expect(t.screen[0]).toMatch(/^\[2\/2\] \S+ .*100% 7 B /);
    expect(t.screen[1]).toBe('ftp-get: 2 files downloaded (7 B), 0 failed');
    expect(await readFile(join(tmp.path, 'tree', 'two.txt'), 'utf8')).toBe('two!');
  });

  it('draws a percentage for ftp-put - with --size, and none of it with -q', async () => {
    const srv = await startTestServer();
    cleanup.push(() => srv.close());
    const line = (extra: string): string => `head -c 1000000 /dev/zero | NETRC=/nonexistent "${process.execPath}" "${PUT}" ${extra} - "ftp://alice:secret@127.0.0.1:${srv.port}/zeros.bin"`;
    const t = await runInTerminal(line('--size 1000000'), { cols: 50 });
    expect(t.code).toBe(0);
    expect(t.screen).toHaveLength(1);
    expect(t.screen[0]).toMatch(/^zeros\.bin 100% 976\.6 KiB \S+ \S+\/s ETA 00:00$/);
    expect((await stat(join(srv.root, 'zeros.bin'))).size).toBe(1_000_000);
    const quiet = await runInTerminal(line('-q --size 1000000'), { cols: 50 });
    expect(quiet).toMatchObject({ code: 0, screen: [] });
  });
});
