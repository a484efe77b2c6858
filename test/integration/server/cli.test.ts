import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtemp, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { RawFtp } from '../../helpers/raw-ftp.js';
import { TEST_CERT_PATH, TEST_KEY_PATH } from '../../helpers/tls.js';
import { curl } from '../../helpers/tools.js';

const repo = new URL('../../../', import.meta.url).pathname;
const children: ChildProcess[] = [];
afterEach(() => {
  for (const c of children.splice(0)) c.kill('SIGKILL');
});

/** Starts a command and resolves with its first stdout line (or rejects on exit). */
function firstLine(cmd: string, args: string[]): Promise<{ line: string; child: ChildProcess }> {
  const child = spawn(cmd, args, { cwd: repo, stdio: ['ignore', 'pipe', 'pipe'] });
  children.push(child);
  return new Promise((resolve, reject) => {
    let out = '';
    let err = '';
    child.stdout!.on('data', (d: Buffer) => {
      out += d.toString();
      const nl = out.indexOf('\n');
      if (nl >= 0) resolve({ line: out.slice(0, nl), child });
    });
    child.stderr!.on('data', (d: Buffer) => (err += d.toString()));
    child.on('exit', (code) => reject(new Error(`exited ${code}: ${err}`)));
    setTimeout(() => reject(new Error('no output in 10 s')), 10_000);
  });
}

function run(args: string[]): Promise<{ code: number | null; stdout: string; stderr: string }> {
  const child = spawn(process.execPath, ['dist/bin/ftp-serve.js', ...args], { cwd: repo });
  children.push(child);
  let stdout = '';
  let stderr = '';
  child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
  child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
  return new Promise((resolve) => child.on('exit', (code) => resolve({ code, stdout, stderr })));
}

describe('ftp-serve', () => {
  it('serves a folder anonymously read-only and prints the bound URL', async () => {
    const root = await mkdtemp(join(tmpdir(), 'ftpkit-cli-'));
    await writeFile(join(root, 'hi.txt'), 'hi there');
    const { line, child } = await firstLine(process.execPath, ['dist/bin/ftp-serve.js', '--port', '0', '--log-level', 'silent', root]);
    const m = /^ftp-serve: serving .* at ftp:\/\/127\.0\.0\.1:(\d+) \(anonymous read-only\)$/.exec(line);
    expect(m).not.toBeNull();
    const c = await RawFtp.connect(Number(m![1]));
    await c.login('anonymous', 'x@y');
    await c.send('TYPE I');
    expect((await c.fetch('RETR hi.txt')).data.toString()).toBe('hi there');
    expect((await c.store('STOR up.txt', 'no')).mark.code).toBe(550);
    c.close();
    child.kill('SIGTERM');
    expect(await new Promise((r) => child.on('exit', r))).toBe(0);
  });

  it('--user turns anonymous off and grants writes', async () => {
    const root = await mkdtemp(join(tmpdir(), 'ftpkit-cli-'));
    const { line } = await firstLine(process.execPath, ['dist/bin/ftp-serve.js', '--port', '0', '--user', 'u:p w', '--log-level', 'silent', root]);
    expect(line).toMatch(/\(1 user read-write\)$/);
    const port = Number(/:(\d+) /.exec(line)![1]);
    const anon = await RawFtp.connect(port);
    await anon.send('USER anonymous');
    expect((await anon.send('PASS x')).code).toBe(530);
    anon.close();
    const c = await RawFtp.connect(port);
    await c.login('u', 'p w');
    expect((await c.store('STOR up.txt', 'yes')).final.code).toBe(226);
    c.close();
  });

  it.each([
    [['--port', 'abc'], /--port takes a port/],
    [['--port', '70000'], /--port takes a port/],
    [['--bogus'], /Unknown option '--bogus'/],
    [['--user', 'nocolon'], /--user takes NAME:PASSWORD/],
    [['--pasv-ports', '5-'], /--pasv-ports takes MIN-MAX/],
    [['--pasv-ports', '2000-1000'], /pasvPortRange/],
    [['--log-level', 'loud'], /--log-level takes one of/],
    [['/definitely/not/here'], /not a folder/],
  ])('bad input %j: one line, exit 2', async (args, message) => {
    const r = await run(args);
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(message);
    expect(r.stderr.trim().split('\n')).toHaveLength(1);
    expect(r.stderr.startsWith('ftp-serve: ')).toBe(true);
  });

  it('--help and --version', async () => {
    expect((await run(['--help'])).stdout).toContain('Usage: ftp-serve');
    expect((await run(['--version'])).stdout.trim()).toMatch(/^\d+\.\d+\.\d+/);
  });

  it('a port in use: one line, non-zero exit', async () => {
    const { line } = await firstLine(process.execPath, ['dist/bin/ftp-serve.js', '--port', '0', '--log-level', 'silent']);
    const port = /:(\d+) /.exec(line)![1]!;
    const r = await run(['--port', port]);
    expect(r.code).toBe(1);
    expect(r.stderr.trim()).toMatch(/^ftp-serve: cannot listen on 127\.0\.0\.1:\d+: EADDRINUSE$/);
  });
});

describe('ftp-serve FTPS', () => {
  it('--tls-cert/--tls-key with --implicit-port: both URLs printed, both work, SIGHUP reloads', async () => {
    const root = await mkdtemp(join(tmpdir(), 'ftpkit-cli-'));
    await writeFile(join(root, 'f.txt'), 'over tls');
    const { line, child } = await firstLine(process.execPath, [
      'dist/bin/ftp-serve.js', '--port', '0', '--implicit-port', '0', '--tls-cert', TEST_CERT_PATH, '--tls-key', TEST_KEY_PATH,
      '--require-tls', '--log-level', 'silent', root,
    ]);
    const m = /at ftp:\/\/127\.0\.0\.1:(\d+) and ftps:\/\/127\.0\.0\.1:(\d+) \(anonymous read-only, TLS required\)$/.exec(line);
    expect(m, line).not.toBeNull();
    const explicit = await curl(['-s', '--ssl-reqd', '-k', `ftp://anonymous:x@127.0.0.1:${m![1]}/f.txt`]);
    expect(explicit.stdout).toBe('over tls');
    const clear = await curl(['-s', `ftp://anonymous:x@127.0.0.1:${m![1]}/f.txt`]);
    expect(clear.code).not.toBe(0);
    child.kill('SIGHUP');
    await new Promise((r) => setTimeout(r, 200));
    const implicit = await curl(['-s', '-k', `ftps://anonymous:x@127.0.0.1:${m![2]}/f.txt`]);
    expect(implicit.stdout).toBe('over tls');
    child.kill('SIGTERM');
    expect(await new Promise((r) => child.on('exit', r))).toBe(0);
  });

  it('--tls makes a development certificate once, prints its fingerprint, and reuses it', async () => {
    const cache = await mkdtemp(join(tmpdir(), 'ftpkit-cache-'));
    const env = { ...process.env, XDG_CACHE_HOME: cache };
    const lines = async (): Promise<string> => {
      const child = spawn(process.execPath, ['dist/bin/ftp-serve.js', '--port', '0', '--tls', '--log-level', 'silent'], { cwd: repo, env });
      children.push(child);
      let out = '';
      await new Promise<void>((resolve) => child.stdout.on('data', (d: Buffer) => {
        out += d.toString();
        if (out.split('\n').length > 2) resolve();
      }));
      child.kill('SIGTERM');
      return out;
    };
    const first = await lines();
    expect(first).toMatch(/TLS available\)\n/);
    const fp = /SHA-256 ([0-9A-F:]{95})/.exec(first)![1];
    expect(await lines()).toContain(fp);
  });

  it.each([
    [['--tls-cert', 'x.pem'], /--tls-cert and --tls-key go together/],
    [['--require-tls'], /need --tls/],
    [['--implicit-port', '0'], /need --tls/],
    [['--tls-cert', '/nope/c.pem', '--tls-key', '/nope/k.pem'], /cannot read the certificate or key: ENOENT/],
    [['--tls-cert', new URL('../../../package.json', import.meta.url).pathname, '--tls-key', new URL('../../../package.json', import.meta.url).pathname], /tls:/],
  ])('bad TLS flags %j: one line, exit 2', async (args, message) => {
    const r = await run(args);
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(message);
    expect(r.stderr.trim().split('\n')).toHaveLength(1);
  });
});

describe('examples/embed-server.mjs', () => {
  it('starts and serves its in-memory file', async () => {
    const { line, child } = await firstLine(process.execPath, ['examples/embed-server.mjs']);
    const port = Number(/:(\d+) /.exec(line)![1]);
    const c = await RawFtp.connect(port);
    await c.login('anonymous', 'x');
    await c.send('TYPE I');
    expect((await c.fetch('RETR welcome.txt')).data.toString()).toBe('Hello from ftpkit\n');
    c.close();
    child.kill('SIGTERM');
    expect(await new Promise((r) => child.on('exit', r))).toBe(0);
  });
});
