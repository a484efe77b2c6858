// ftp-serve's scale-out and storage flags, through the built bin: --workers, --redis,
// --proxy-protocol/--trusted-proxy, --compress-at-rest, --no-zero-copy.
import { spawn, spawnSync } from 'node:child_process';
import { createHash, randomBytes } from 'node:crypto';
import { mkdtemp, readFile, readdir, rm, writeFile } from 'node:fs/promises';
import { connect } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { formatProxyV2 } from '../../../src/protocol/proxy.js';
import { RawFtp } from '../../helpers/raw-ftp.js';
import { TEST_CERT_PATH, TEST_KEY_PATH } from '../../helpers/tls.js';
import { REPO_ROOT } from '../../helpers/peers.js';
import { hasDaemon, startRedis, type RedisProcess } from '../../helpers/scale.js';
import { killAllServe, startServe } from '../../helpers/serve-process.js';

const sha = (b: Buffer): string => createHash('sha256').update(b).digest('hex');

let root = '';
const clients: RawFtp[] = [];
beforeEach(async () => {
  root = await mkdtemp(join(tmpdir(), 'ftpkit-flags-'));
});
afterEach(async () => {
  for (const c of clients.splice(0)) c.close();
  killAllServe();
  await rm(root, { recursive: true, force: true });
});

function run(args: string[]): Promise<{ code: number | null; stdout: string; stderr: string }> {
  const child = spawn(process.execPath, ['dist/bin/ftp-serve.js', '--port', '0', ...args], { cwd: REPO_ROOT });
  let stdout = '';
  let stderr = '';
  child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
  child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
  return new Promise((resolve) => child.on('exit', (code) => resolve({ code, stdout, stderr })));
}

async function login(port: number): Promise<RawFtp> {
  const c = await RawFtp.connect(port);
  clients.push(c);
  await c.login();
  expect((await c.send('TYPE I')).code).toBe(200);
  return c;
}

describe('ftp-serve flags: bad values are one line naming the flag, exit 2', () => {
  const cases: Array<[string[], RegExp]> = [
    [['--workers', '0'], /^ftp-serve: --workers takes 1 to 256, got '0' \(see --help\)$/],
    [['--workers', 'two'], /^ftp-serve: --workers takes 1 to 256, got 'two' \(see --help\)$/],
    [['--workers', '1000'], /^ftp-serve: --workers takes 1 to 256, got '1000' \(see --help\)$/],
    [['--redis', 'localhost:6379'], /^ftp-serve: --redis takes a URL such as redis:\/\/127\.0\.0\.1:6379, got 'localhost:6379' \(see --help\)$/],
    [['--redis', 'http://127.0.0.1:6379'], /^ftp-serve: --redis takes a URL such as redis:\/\/127\.0\.0\.1:6379, got 'http:\/\/127\.0\.0\.1:6379' \(see --help\)$/],
    [['--trusted-proxy', '127.0.0.1'], /^ftp-serve: --trusted-proxy needs --proxy-protocol \(see --help\)$/],
    [['--proxy-protocol'], /^ftp-serve: --proxy-protocol needs at least one --trusted-proxy ADDR\|CIDR \(see --help\)$/],
    [['--proxy-protocol', '--trusted-proxy', '300.1.1.1'], /^ftp-serve: --trusted-proxy: "300\.1\.1\.1" is not an IPv4\/IPv6 address or CIDR block \(see --help\)$/],
    [['--proxy-protocol', '--trusted-proxy', '10.0.0.0/33'], /^ftp-serve: --trusted-proxy: "10\.0\.0\.0\/33" is not an IPv4\/IPv6 address or CIDR block \(see --help\)$/],
    [['--compress-at-rest=yes'], /^ftp-serve: Option '--compress-at-rest' does not take an argument/],
    [['--no-zero-copy=1'], /^ftp-serve: Option '--no-zero-copy' does not take an argument/],
    [['--tls-ticket-keys', '/nonexistent-ftpkit/keys'], /^ftp-serve: --require-tls, --implicit-port, --tls-session-reuse and --tls-ticket-keys need --tls or --tls-cert\/--tls-key \(see --help\)$/],
    [['--tls-cert', TEST_CERT_PATH, '--tls-key', TEST_KEY_PATH, '--tls-ticket-keys', '/nonexistent-ftpkit/keys'], /^ftp-serve: --tls-ticket-keys: cannot read \/nonexistent-ftpkit\/keys \(ENOENT\)$/],
    [['--tls-cert', TEST_CERT_PATH, '--tls-key', TEST_KEY_PATH, '--tls-ticket-keys', TEST_CERT_PATH], /^ftp-serve: --tls-ticket-keys: \S+ must hold 48 random bytes \(make it with: openssl rand 48 > \S+\), it has \d+$/],
  ];
  for (const [args, message] of cases) {
    it(args.join(' '), async () => {
      const r = await run([...args, root]);
      expect(r.code).toBe(2);
      expect(r.stdout).toBe('');
      expect(r.stderr.trimEnd().split('\n')).toHaveLength(1);
      expect(r.stderr.trimEnd()).toMatch(message);
      expect(r.stderr).not.toMatch(/proxyProtocol|redis\.url|compressAtRest|zeroCopy/);
    });
  }

  it('--workers 2 with a bad value still refuses once, from the primary, before any worker starts', async () => {
    const r = await run(['--workers', '2', '--proxy-protocol', '--trusted-proxy', 'nope', root]);
    expect(r.code).toBe(2);
    expect(r.stderr).toBe('ftp-serve: --trusted-proxy: "nope" is not an IPv4/IPv6 address or CIDR block (see --help)\n');
  });

  it('--workers 2 on a port in use: one line, exit 1', async () => {
    const s = await startServe(['--log-level', 'silent', root]);
    const r = await run(['--workers', '2', '--port', String(s.port), root]);
    expect(r.code).toBe(1);
    expect(r.stderr).toBe(`ftp-serve: cannot listen on 127.0.0.1:${s.port}: EADDRINUSE\n`);
  });
});

describe('ftp-serve flags: what each one does', () => {
  it('--tls-ticket-keys: two nodes with the same file resume each other\'s TLS sessions; the file is never served', async () => {
    const keys = join(root, 'ticket.keys');
    for (const [form, content] of [['raw', randomBytes(48)], ['hex', Buffer.from(`${randomBytes(48).toString('hex')}\n`)], ['base64', Buffer.from(`${randomBytes(48).toString('base64')}\n`)]] as const) {
      await writeFile(keys, content, { mode: 0o600 });
      const args = ['--tls-cert', TEST_CERT_PATH, '--tls-key', TEST_KEY_PATH, '--tls-ticket-keys', keys, '--user', 'alice:secret', root];
      const [a, b] = [await startServe(args), await startServe(args)];
      const first = await RawFtp.connect(a.port);
      clients.push(first);
      expect((await first.send('AUTH TLS')).code).toBe(234);
      await first.upgrade();
      await first.login();
      // The key file sits in the served folder, and is refused as the users file is.
      expect((await first.send('SIZE ticket.keys')).code).toBe(550);
      const session = first.tls!.getSession()!;
      const second = await RawFtp.connect(b.port);
      clients.push(second);
      expect((await second.send('AUTH TLS')).code).toBe(234);
      await second.upgrade({ session });
      expect(second.tls!.isSessionReused(), form).toBe(true);
      await second.login();
      expect((await second.send('PBSZ 0')).code).toBe(200);
      expect((await second.send('PROT P')).code).toBe(200);
      second.protectData = true;
      expect((await second.fetch('LIST')).final.code).toBe(226);
      killAllServe();
    }
  });

  it('--workers auto starts one worker per core', async () => {
    const cores = (await import('node:os')).availableParallelism();
    const s = await startServe(['--workers', 'auto', root]);
    expect(s.stdout()).toMatch(cores > 1 ? new RegExp(`, ${cores} workers\\)\\n$`) : /\(anonymous read-only\)\n$/);
    expect(await s.workerPids(cores)).toHaveLength(cores);
  });

  it('--compress-at-rest keeps uploads gzip-compressed on disk and serves them as uploaded', async () => {
    const s = await startServe(['--compress-at-rest', '--user', 'alice:secret', root]);
    const c = await login(s.port);
    const body = Buffer.from('compressible line\n'.repeat(20_000));
    expect((await c.store('STOR text.log', body)).final.code).toBe(226);
    const onDisk = await readFile(join(root, 'text.log'));
    expect(onDisk.length).toBeLessThan(body.length / 10);
    const gunzip = spawnSync('gzip', ['-dc', join(root, 'text.log')], { maxBuffer: 64 * 1024 * 1024 });
    expect(gunzip.status).toBe(0);
    expect(sha(gunzip.stdout)).toBe(sha(body));
    const back = await c.fetch('RETR text.log');
    expect(back.final.code).toBe(226);
    expect(sha(back.data)).toBe(sha(body));
  });

  it('--proxy-protocol --trusted-proxy 127.0.0.1: the client address comes from the PROXY v2 header; no header, no session', async () => {
    const s = await startServe(['--proxy-protocol', '--trusted-proxy', '127.0.0.1', '--user', 'alice:secret', root]);
    const socket = connect({ port: s.port, host: '127.0.0.1' });
    await new Promise<void>((resolve, reject) => socket.once('connect', resolve).once('error', reject));
    socket.write(formatProxyV2({ source: { address: '203.0.113.7', port: 40000 }, destination: { address: '127.0.0.1', port: s.port } }));
    let text = '';
    socket.on('data', (d: Buffer) => (text += d.toString()));
    const send = async (line: string, code: string): Promise<void> => {
      const before = text.length;
      socket.write(`${line}\r\n`);
      await new Promise<void>((resolve) => {
        const check = (): void => {
          if (text.slice(before).includes('\r\n')) {
            socket.off('data', check);
            resolve();
          }
        };
        socket.on('data', check);
      });
      expect(text.slice(before)).toMatch(new RegExp(`^${code} `));
    };
    await new Promise<void>((resolve) => socket.once('data', () => resolve()));
    expect(text).toMatch(/^220 /);
    await send('USER alice', '331');
    await send('PASS secret', '230');
    const login = await s.waitLog((l) => l.msg === 'login');
    expect(login.remote).toBe('203.0.113.7');
    socket.destroy();

    // From the trusted address without a header: closed without a greeting.
    const bare = connect({ port: s.port, host: '127.0.0.1' });
    let got = '';
    bare.on('data', (d: Buffer) => (got += d.toString()));
    bare.on('error', () => {});
    bare.write('USER alice\r\n');
    await new Promise<void>((resolve) => bare.once('close', () => resolve()));
    expect(got).toBe('');
    await s.waitLog((l) => l.msg === 'connection from a trusted proxy without a valid PROXY header closed');
  });

  const strace = spawnSync('strace', ['-V']).status === 0;
  if (!strace && process.env.CI === 'true') throw new Error('strace is required in CI (apt-get install strace)');
  describe.runIf(strace)('--no-zero-copy (sendfile calls seen with strace)', () => {
    /** ftp-serve under strace, tracing sendfile; resolves the calls seen after one 4 MiB RETR. */
    async function sendfileCalls(extra: string[]): Promise<number> {
      const trace = join(root, 'trace');
      const body = randomBytes(4 * 1024 * 1024);
      await writeFile(join(root, 'big.bin'), body);
      const child = spawn('strace', ['-f', '-qq', '-e', 'trace=sendfile', '-o', trace, process.execPath, 'dist/bin/ftp-serve.js', '--port', '0', '--user', 'alice:secret', ...extra, root], {
        cwd: REPO_ROOT,
        stdio: ['ignore', 'pipe', 'ignore'],
        detached: true, // its own process group: strace (-o) ignores SIGINT, ftp-serve takes it
      });
      try {
        const port = await new Promise<number>((resolve, reject) => {
          let out = '';
          child.stdout.on('data', (d: Buffer) => {
            out += d.toString();
            const m = /:(\d+) /.exec(out);
            if (m) resolve(Number(m[1]));
          });
          child.once('exit', (code) => reject(new Error(`exited ${code}`)));
        });
        const c = await login(port);
        const r = await c.fetch('RETR big.bin');
        expect(r.final.code).toBe(226);
        expect(sha(r.data)).toBe(sha(body));
        c.close();
      } finally {
        const exited = new Promise((resolve) => child.once('exit', resolve));
        process.kill(-child.pid!, 'SIGINT');
        await exited;
      }
      const files = (await readdir(root)).filter((f) => f.startsWith('trace'));
      const text = (await Promise.all(files.map((f) => readFile(join(root, f), 'utf8')))).join('');
      return text.split('\n').filter((l) => /sendfile\(/.test(l)).length;
    }

    it('zero-copy by default: the download goes out with sendfile(2)', async () => {
      expect(await sendfileCalls([])).toBeGreaterThan(0);
    });

    it('--no-zero-copy: the same download, byte for byte, without a single sendfile(2)', async () => {
      expect(await sendfileCalls(['--no-zero-copy'])).toBe(0);
    });
  });

  describe.skipIf(!hasDaemon('redis-server'))('--redis', () => {
    let redis: RedisProcess | undefined;
    afterEach(async () => {
      await redis?.stop();
      redis = undefined;
    });

    it('--workers 2 --redis: locks live in Redis and hold across workers', async () => {
      redis = await startRedis();
      const s = await startServe(['--workers', '2', '--redis', redis.url, '--user', 'alice:secret', root]);
      const workers = await s.workerPids(2);
      const on = new Map<number, RawFtp>();
      for (let i = 0; i < 20 && on.size < 2; i++) {
        const c = await login(s.port);
        const path = `/probe-${i}`;
        expect((await c.store(`STOR ${path}`, 'p')).final.code).toBe(226);
        const pid = (await s.waitLog((l) => l.msg === 'transfer end' && l.path === path)).pid;
        if (!on.has(pid)) on.set(pid, c);
      }
      expect([...on.keys()].sort()).toEqual([...workers].sort());
      const [a, b] = workers.map((pid) => on.get(pid)!);
      await writeFile(join(root, 'held.bin'), 'previous');
      const { Redis } = await import('ioredis');
      const probe = new Redis(redis.url);
      try {
        const data = await a!.passive();
        expect((await a!.send('STOR held.bin')).code).toBe(150);
        await new Promise<void>((resolve) => data.write('x'.repeat(1000), () => resolve()));
        expect((await probe.keys('ftpkit:*')).length).toBeGreaterThan(0);
        expect(await b!.send('DELE held.bin')).toMatchObject({ code: 450, text: '/held.bin: file busy' });
        data.end('y');
        expect((await a!.read(30_000)).code).toBe(226);
        expect((await b!.send('DELE held.bin')).code).toBe(250);
      } finally {
        probe.disconnect();
      }
    }, 60_000);
  });
});
