// Logging and auditing (issue 16): audit records, debug/trace lines, xferlog, counters, metrics,
// and ftp-serve's --log-file, --xferlog, --metrics, --log-format, SIGUSR1. Real consumers read
// what we write: Debian's webalizer (xferlog) and promtool (metrics). No password in any line.
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { createHash, randomBytes } from 'node:crypto';
import { mkdir, readFile, rename, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { Writable } from 'node:stream';
import { pino, type Logger } from 'pino';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import {
  FileServer,
  InMemoryLockManager,
  LocalStorage,
  LockConflictError,
  attachXferLog,
  metricsText,
  serveMetrics,
  type FileServerOptions,
  type ServerStats,
} from '../../../src/index.js';
import { RawFtp } from '../../helpers/raw-ftp.js';
import { TEST_CERT, TEST_KEY } from '../../helpers/tls.js';
import { makeTempDir, type TempDir } from '../../helpers/tmp.js';

const repo = new URL('../../../', import.meta.url).pathname;

/** Every password, ACCT and anonymous "email" this file sends: none may appear in any output. */
const SECRETS = {
  alice: 'Pw-alice-7f3k',
  wrong: 'Pw-wrong-9q2z',
  anonymous: 'anon-pass@example.org',
  acct: 'acct-9x8y',
  cli: 'Pw-cli-4h5j',
};
/** Every log line, xferlog line, event and process output this file produced. */
const produced: string[] = [];

/** A pino logger at trace whose records land in `records` (and in `produced`). */
function capture(records: Array<Record<string, unknown>>, level = 'trace'): Logger {
  return pino(
    { level },
    new Writable({
      write(chunk: Buffer, _e, cb) {
        const text = chunk.toString();
        produced.push(text);
        records.push(JSON.parse(text) as Record<string, unknown>);
        cb();
      },
    }),
  );
}

let home: TempDir;
beforeAll(async () => {
  home = await makeTempDir('ftpkit-logging-');
});
afterAll(async () => {
  await home.cleanup();
});

const servers: FileServer[] = [];
afterEach(async () => {
  await Promise.all(servers.splice(0).map((s) => s.close()));
});

async function start(options: FileServerOptions): Promise<{ server: FileServer; port: number }> {
  const server = new FileServer({
    authenticate: ({ username, password }) => {
      if (username === 'alice' && password === SECRETS.alice) return { root: home.path, write: true };
      if (username === 'bob' && password === SECRETS.alice) return { root: home.path, write: false };
      return false;
    },
    loginGuard: { delay: 0 },
    ...options,
  });
  servers.push(server);
  // Every event, as an embedder's pipeline would see it: none may carry a secret either.
  for (const name of ['connect', 'login', 'login-failed', 'ban', 'command', 'command-end', 'security', 'transfer-start', 'transfer-end', 'lock-conflict', 'disconnect'] as const) {
    server.on(name, (info: unknown) => void produced.push(JSON.stringify(info)));
  }
  const { port } = await server.listen();
  return { server, port };
}

/** Resolves once `records` has one matching `test`. */
async function until(records: Array<Record<string, unknown>>, test: (r: Record<string, unknown>) => boolean): Promise<void> {
  await expect.poll(() => records.some(test), { timeout: 10_000 }).toBe(true);
}

const audit = (records: Array<Record<string, unknown>>): Array<Record<string, unknown>> => records.filter((r) => typeof r.event === 'string');

/** An audit record without what changes from run to run. */
function stable(r: Record<string, unknown>): Record<string, unknown> {
  const { time: _t, pid: _p, hostname: _h, session, durationMs, rate, ...rest } = r;
  expect(session).toMatch(/^[0-9a-f]{12}$/);
  expect(typeof durationMs === 'number' || durationMs === undefined).toBe(true);
  if (rate !== undefined) expect(rate).toBeGreaterThan(0);
  return rest;
}

function delta(after: ServerStats, before: ServerStats): Record<string, unknown> {
  const diff = (a: Record<string, unknown>, b: Record<string, unknown>): Record<string, unknown> =>
    Object.fromEntries(Object.entries(a).map(([k, v]) => [k, typeof v === 'number' ? v - (b[k] as number) : diff(v as Record<string, unknown>, b[k] as Record<string, unknown>)]));
  return diff(after as unknown as Record<string, unknown>, before as unknown as Record<string, unknown>);
}

describe('the audit trail of a scripted session', () => {
  it('failed login, login, STOR, RETR, MKD, RNFR/RNTO, DELE, RMD, RETR of a missing file, QUIT: exactly these records, two xferlog lines, counters', async () => {
    const records: Array<Record<string, unknown>> = [];
    const xfer: string[] = [];
    const { server, port } = await start({ logger: capture(records) });
    attachXferLog(server, { write: (line: string) => void (xfer.push(line), produced.push(line)) });
    const before = server.stats();
    const body = randomBytes(1000);
    const sha = (b: Buffer): string => createHash('sha256').update(b).digest('hex');

    const c = await RawFtp.connect(port);
    expect((await c.send('USER alice')).code).toBe(331);
    expect((await c.send(`PASS ${SECRETS.wrong}`)).code).toBe(530);
    await c.login('alice', SECRETS.alice);
    expect((await c.send('TYPE I')).code).toBe(200);
    expect((await c.store('STOR up.txt', body)).final.code).toBe(226);
    const got = await c.fetch('RETR up.txt');
    expect(got.final.code).toBe(226);
    expect(sha(got.data)).toBe(sha(body));
    expect((await c.send('MKD dir')).code).toBe(257);
    expect((await c.send('RNFR up.txt')).code).toBe(350);
    expect((await c.send('RNTO dir/moved.txt')).code).toBe(250);
    expect((await c.send('DELE dir/moved.txt')).code).toBe(250);
    expect((await c.send('RMD dir')).code).toBe(250);
    expect((await c.fetch('RETR missing.txt')).final).toMatchObject({ code: 550, text: '/missing.txt: No such file or directory' });
    expect((await c.send('QUIT')).code).toBe(221);
    await until(records, (r) => r.event === 'disconnect');

    const base = { remote: '127.0.0.1', secure: false };
    const alice = { ...base, user: 'alice' };
    expect(audit(records).map(stable)).toEqual([
      { level: 30, event: 'connect', ...base, msg: 'connect' },
      { level: 40, event: 'login-failed', ...alice, reason: 'credentials', msg: 'login failed' },
      { level: 30, event: 'login', ...alice, anonymous: false, msg: 'login' },
      { level: 30, event: 'upload', ...alice, path: '/up.txt', code: 226, reply: 'Transfer complete', bytes: 1000, type: 'I', msg: 'upload' },
      { level: 30, event: 'download', ...alice, path: '/up.txt', code: 226, reply: 'Transfer complete', bytes: 1000, type: 'I', msg: 'download' },
      { level: 30, event: 'mkdir', ...alice, path: '/dir', code: 257, reply: '"/dir" created', msg: 'mkdir' },
      { level: 30, event: 'rename', ...alice, from: '/up.txt', to: '/dir/moved.txt', code: 250, reply: 'Rename successful', msg: 'rename' },
      { level: 30, event: 'delete', ...alice, path: '/dir/moved.txt', code: 250, reply: '/dir/moved.txt: File deleted', msg: 'delete' },
      { level: 30, event: 'rmdir', ...alice, path: '/dir', code: 250, reply: '/dir: Directory removed', msg: 'rmdir' },
      { level: 30, event: 'download', ...alice, path: '/missing.txt', code: 550, reply: '/missing.txt: No such file or directory', msg: 'download' },
      { level: 30, event: 'disconnect', ...alice, filesIn: 1, filesOut: 1, bytesIn: 1000, bytesOut: 1000, msg: 'disconnect' },
    ]);
    // Nothing else at info or above but the server's own 'listening'.
    expect(records.filter((r) => Number(r.level) >= 30 && r.event === undefined).map((r) => r.msg)).toEqual(['listening']);
    // Every record of the session carries its id; the transfers their duration and rate.
    const ids = new Set(audit(records).map((r) => r.session));
    expect(ids.size).toBe(1);
    for (const r of audit(records).filter((r) => r.bytes !== undefined)) expect(r).toMatchObject({ durationMs: expect.any(Number), rate: expect.any(Number) });

    // debug: every command and reply, PASS masked; trace: the data connections.
    const commands = records.filter((r) => r.msg === 'command').map((r) => `${String(r.verb)} ${String(r.arg)}`.trim());
    expect(commands).toEqual([
      'USER alice', 'PASS ***', 'USER alice', 'PASS ***', 'TYPE I', 'EPSV', 'STOR up.txt', 'EPSV', 'RETR up.txt', 'MKD dir',
      'RNFR up.txt', 'RNTO dir/moved.txt', 'DELE dir/moved.txt', 'RMD dir', 'EPSV', 'RETR missing.txt', 'QUIT',
    ]);
    expect(records.filter((r) => r.msg === 'reply').map((r) => r.code)).toEqual([
      220, 331, 530, 331, 230, 200, 229, 150, 226, 229, 150, 226, 257, 350, 250, 250, 250, 229, 550, 221,
    ]);
    expect(records.filter((r) => r.level === 10).map((r) => r.msg)).toEqual([
      'passive data listener open', 'passive data connection accepted',
      'passive data listener open', 'passive data connection accepted',
      'passive data listener open', 'passive data connection accepted',
    ]);

    // The xferlog: one line per file transfer, in vsftpd's xferlog_std_format.
    expect(xfer).toHaveLength(2);
    const line = /^[A-Z][a-z]{2} [A-Z][a-z]{2} [ \d]\d \d\d:\d\d:\d\d \d{4} (\d+) 127\.0\.0\.1 1000 \/up\.txt b _ ([io]) r alice ftp 0 \* c\n$/;
    expect(xfer.map((l) => line.exec(l)?.[2])).toEqual(['i', 'o']);
    expect(Number(line.exec(xfer[0]!)![1])).toBeGreaterThanOrEqual(1);

    // The counters moved by exactly this session.
    expect(delta(server.stats(), before)).toEqual({
      sessions: 0,
      connections: 1,
      logins: 1,
      failedLogins: 1,
      bans: 0,
      commands: 17,
      replies: { '2xx': 12, '3xx': 3, '4xx': 0, '5xx': 2 },
      transfersInFlight: 0,
      transfers: { ok: 2, failed: 0 },
      bytesIn: 1000,
      bytesOut: 1000,
      security: { 'port-refused': 0, 'foreign-data-peer': 0, traversal: 0, 'tls-required': 0 },
    });
  });
});

describe('refusals and security events are at warn', () => {
  it('permission, lock conflict, quota, PORT, traversal; anonymous and ACCT leave no secret', async () => {
    const records: Array<Record<string, unknown>> = [];
    const inner = new InMemoryLockManager();
    // busy.txt is always locked by another session's STOR.
    const locks = {
      acquire: (requests: Parameters<InMemoryLockManager['acquire']>[0], options: Parameters<InMemoryLockManager['acquire']>[1]) =>
        requests.some((r) => r.path.endsWith('/busy.txt'))
          ? Promise.reject(new LockConflictError(requests[0]!.path, [{ path: '/busy.txt', mode: 'exclusive', owner: 'other-session', purpose: 'STOR' }]))
          : inner.acquire(requests, options),
      held: () => inner.held(),
    };
    // A storage whose MKD hits the quota.
    class FullStorage extends LocalStorage {
      override mkdir(): Promise<void> {
        return Promise.reject(Object.assign(new Error('quota'), { code: 'EDQUOT' }));
      }
    }
    const { server, port } = await start({
      logger: capture(records),
      locks,
      anonymous: { storage: new FullStorage(home.path), write: true },
    });
    await writeFile(join(home.path, 'busy.txt'), 'x');
    const bob = await RawFtp.connect(port);
    await bob.login('bob', SECRETS.alice);
    expect((await bob.store('STOR nope.txt', 'x')).final).toMatchObject({ code: 550 });
    expect((await bob.send('PORT 10,1,2,3,200,10')).code).toBe(500);
    expect((await bob.send('RETR ../../../etc/passwd')).code).toBe(550);
    expect((await bob.send('CWD ..')).code).toBe(250); // a GUI client at the root: not an attack
    expect((await bob.send(`ACCT ${SECRETS.acct}`)).code).toBe(502);
    expect((await bob.send('DELE busy.txt')).code).toBe(550); // bob may not delete: refused before the lock
    await bob.send('QUIT');

    const anon = await RawFtp.connect(port);
    await anon.login('anonymous', SECRETS.anonymous);
    expect((await anon.send('DELE busy.txt')).code).toBe(450);
    expect((await anon.send('MKD full')).code).toBe(552);
    await anon.send('QUIT');
    await expect.poll(() => audit(records).filter((r) => r.event === 'disconnect').length, { timeout: 10_000 }).toBe(2);

    const warn = audit(records).filter((r) => r.level === 40).map(stable);
    expect(warn).toEqual([
      expect.objectContaining({ event: 'upload', user: 'bob', path: '/nope.txt', code: 550, refused: 'permission', reply: '/nope.txt: Permission denied (store not allowed)' }),
      expect.objectContaining({ event: 'security', user: 'bob', kind: 'port-refused', detail: "10.1.2.3 port 51210: not the client's address", msg: 'PORT/EPRT refused' }),
      expect.objectContaining({ event: 'security', user: 'bob', kind: 'traversal', detail: 'RETR ../../../etc/passwd', msg: 'path traversal attempt' }),
      expect.objectContaining({ event: 'delete', user: 'bob', path: '/busy.txt', code: 550, refused: 'permission' }),
      expect.objectContaining({
        event: 'delete',
        user: 'anonymous',
        path: '/busy.txt',
        code: 450,
        refused: 'busy',
        heldBy: [{ path: '/busy.txt', mode: 'exclusive', session: 'other-session', command: 'STOR' }],
      }),
      expect.objectContaining({ event: 'mkdir', user: 'anonymous', path: '/full', code: 552, refused: 'quota' }),
    ]);
    expect(audit(records).find((r) => r.event === 'login' && r.user === 'anonymous')).toMatchObject({ anonymous: true, level: 30 });
    expect(server.stats().security).toEqual({ 'port-refused': 1, 'foreign-data-peer': 0, traversal: 1, 'tls-required': 0 });
    expect(records.find((r) => r.msg === 'command' && r.verb === 'ACCT')).toMatchObject({ arg: '***' });
  });

  it('a ban and a TLS refusal', async () => {
    const records: Array<Record<string, unknown>> = [];
    const { server, port } = await start({ logger: capture(records), loginGuard: { delay: 0, banAfter: 2, maxTries: 5 } });
    const c = await RawFtp.connect(port);
    for (let i = 0; i < 2; i++) {
      await c.send('USER alice');
      await c.send(`PASS ${SECRETS.wrong}`);
    }
    await until(records, (r) => r.event === 'ban');
    expect(audit(records).find((r) => r.event === 'ban')).toMatchObject({ level: 40, user: 'alice', failures: 2, msg: 'address banned after repeated failed logins' });
    expect(server.stats()).toMatchObject({ failedLogins: 2, bans: 1 });

    const tlsRecords: Array<Record<string, unknown>> = [];
    const { port: tlsPort } = await start({ logger: capture(tlsRecords), tls: { cert: TEST_CERT, key: TEST_KEY }, requireTls: true });
    const clear = await RawFtp.connect(tlsPort);
    expect((await clear.send('USER alice')).code).toBe(530);
    await until(tlsRecords, (r) => r.event === 'security');
    expect(audit(tlsRecords).find((r) => r.event === 'security')).toMatchObject({ level: 40, kind: 'tls-required', detail: 'USER before AUTH TLS', secure: false });
    clear.socket.destroy();
  });
});

describe('metrics', () => {
  it('serveMetrics answers /metrics with the counters, 404 elsewhere; promtool accepts the text', async () => {
    const { server } = await start({});
    const metrics = await serveMetrics(server, { port: 0 });
    try {
      expect(metrics.url).toMatch(/^http:\/\/127\.0\.0\.1:\d+\/metrics$/);
      const res = await fetch(metrics.url);
      expect(res.status).toBe(200);
      expect(res.headers.get('content-type')).toBe('text/plain; version=0.0.4; charset=utf-8');
      const text = await res.text();
      expect(text).toBe(metricsText(server.stats()));
      expect(text).toContain('\nftpkit_sessions 0\n');
      expect((await fetch(metrics.url.replace('/metrics', '/'))).status).toBe(404);
      if (tool('promtool', ['--version'], 'prometheus')) {
        const check = spawnSync('promtool', ['check', 'metrics'], { input: text, encoding: 'utf8' });
        expect(`${check.stdout}${check.stderr}`).toBe('');
        expect(check.status).toBe(0);
      }
    } finally {
      await metrics.close();
    }
  });
});

/** True when `cmd` runs; a missing one skips locally and fails with CI=true. */
function tool(cmd: string, probe: string[], pkg: string): boolean {
  const ok = spawnSync(cmd, probe, { encoding: 'utf8', timeout: 10_000 }).error === undefined;
  if (!ok && process.env.CI === 'true') throw new Error(`${cmd} is required in CI but missing (apt-get install ${pkg})`);
  return ok;
}

// --- ftp-serve ----------------------------------------------------------------------------

const children: ChildProcess[] = [];
afterEach(() => {
  for (const c of children.splice(0)) c.kill('SIGKILL');
});

interface Served {
  child: ChildProcess;
  port: number;
  stdout: () => string;
  stderr: () => string;
}

/** ftp-serve on a free port; resolves once `lines` stdout lines are out. */
function serve(args: string[], lines = 1): Promise<Served> {
  const child = spawn(process.execPath, ['dist/bin/ftp-serve.js', '--port', '0', ...args], { cwd: repo, stdio: ['ignore', 'pipe', 'pipe'] });
  children.push(child);
  let out = '';
  let err = '';
  child.stderr!.on('data', (d: Buffer) => (err += d.toString()));
  return new Promise((resolve, reject) => {
    child.stdout!.on('data', (d: Buffer) => {
      out += d.toString();
      if (out.split('\n').length > lines) {
        const port = Number(/ftp:\/\/127\.0\.0\.1:(\d+)/.exec(out)?.[1]);
        resolve({ child, port, stdout: () => out, stderr: () => err });
      }
    });
    child.on('exit', (code) => reject(new Error(`ftp-serve exited ${code}: ${err}`)));
  });
}

function run(args: string[]): { status: number | null; stdout: string; stderr: string } {
  const r = spawnSync(process.execPath, ['dist/bin/ftp-serve.js', ...args], { cwd: repo, encoding: 'utf8', timeout: 20_000 });
  produced.push(r.stdout, r.stderr);
  return { status: r.status, stdout: r.stdout, stderr: r.stderr };
}

async function readLines(path: string): Promise<string[]> {
  return (await readFile(path, 'utf8')).split('\n').filter(Boolean);
}

describe('ftp-serve --log-file, --xferlog, --metrics', () => {
  it('writes JSON lines and the xferlog, reopens both on SIGUSR1 after a logrotate-style move; webalizer and promtool read them', async () => {
    const dir = await makeTempDir('ftpkit-serve-logs-');
    try {
      const root = join(dir.path, 'root');
      await mkdir(root);
      await writeFile(join(root, 'file one.txt'), randomBytes(3000));
      const logFile = join(dir.path, 'ftp.log');
      const xferFile = join(dir.path, 'xferlog');
      const s = await serve(['--user', `alice:${SECRETS.cli}`, '--log-format', 'json', '--log-file', logFile, '--xferlog', xferFile, '--metrics', '127.0.0.1:0', root], 2);
      const url = /^ftp-serve: metrics at (http:\/\/127\.0\.0\.1:\d+\/metrics)$/m.exec(s.stdout())?.[1];
      expect(url).toBeDefined();

      const download = async (): Promise<void> => {
        const c = await RawFtp.connect(s.port);
        await c.login('alice', SECRETS.cli);
        await c.send('TYPE I');
        expect((await c.fetch('RETR file one.txt')).final.code).toBe(226);
        await c.send('QUIT');
      };
      await download();
      await expect.poll(async () => (await readLines(xferFile)).length, { timeout: 10_000 }).toBe(1);

      // logrotate: move both files, then postrotate's kill -USR1.
      await rename(logFile, `${logFile}.1`);
      await rename(xferFile, `${xferFile}.1`);
      s.child.kill('SIGUSR1');
      await expect.poll(() => s.stderr().includes('log files reopened (SIGUSR1)'), { timeout: 10_000 }).toBe(true);
      await download();
      await expect.poll(async () => (await readLines(xferFile).catch(() => [])).length, { timeout: 10_000 }).toBe(1);
      await expect.poll(async () => (await readLines(logFile)).some((l) => l.includes('"event":"disconnect"')), { timeout: 10_000 }).toBe(true);

      const old = (await readLines(`${logFile}.1`)).map((l) => JSON.parse(l) as Record<string, unknown>);
      const fresh = (await readLines(logFile)).map((l) => JSON.parse(l) as Record<string, unknown>);
      produced.push(...(await readLines(`${logFile}.1`)), ...(await readLines(logFile)), s.stdout(), s.stderr());
      expect(old.filter((r) => r.event === 'download').map((r) => r.path)).toEqual(['/file one.txt']);
      expect(fresh[0]).toMatchObject({ msg: 'log files reopened (SIGUSR1)' });
      expect(fresh.filter((r) => r.event === 'download')).toEqual([expect.objectContaining({ path: '/file one.txt', bytes: 3000, code: 226, user: 'alice' })]);
      // The terminal (stderr) got the same JSON records.
      expect(s.stderr().split('\n').filter((l) => l.includes('"event":"download"'))).toHaveLength(2);

      const xfer = [...(await readLines(`${xferFile}.1`)), ...(await readLines(xferFile))];
      produced.push(...xfer);
      for (const l of xfer) expect(l).toMatch(/^\w{3} \w{3} [ \d]\d \d\d:\d\d:\d\d \d{4} \d+ 127\.0\.0\.1 3000 \/file_one\.txt b _ o r alice ftp 0 \* c$/);

      if (tool('webalizer', ['-V'], 'webalizer')) {
        const all = join(dir.path, 'xferlog.all');
        await writeFile(all, `${xfer.join('\n')}\n`);
        const out = join(dir.path, 'webalizer');
        await mkdir(out);
        const w = spawnSync('webalizer', ['-F', 'ftp', '-p', '-o', out, all], { encoding: 'utf8', timeout: 30_000 });
        expect(w.status, w.stderr).toBe(0);
        // "2 records in 1 seconds": no "(N ignored, N bad)".
        expect(`${w.stdout}${w.stderr}`).toMatch(/^2 records in /m);
        expect(`${w.stdout}${w.stderr}`).not.toMatch(/bad|ignored|Skipping/);
      }

      const metrics = await (await fetch(url!)).text();
      expect(metrics).toMatch(/^ftpkit_logins_total 2$/m);
      expect(metrics).toMatch(/^ftpkit_data_sent_bytes_total 6000$/m);
      if (tool('promtool', ['--version'], 'prometheus')) {
        const check = spawnSync('promtool', ['check', 'metrics'], { input: metrics, encoding: 'utf8' });
        expect(`${check.stdout}${check.stderr}`).toBe('');
        expect(check.status).toBe(0);
      }
    } finally {
      await dir.cleanup();
    }
  });

  it('prints a readable line per event on a terminal (no JSON)', async () => {
    if (!tool('script', ['--version'], 'bsdutils')) return;
    const cmd = `${process.execPath} ${join(repo, 'dist/bin/ftp-serve.js')} --port 0 --user alice:${SECRETS.cli} . & echo PID=$!; wait`;
    // A pty for stderr; NO_COLOR so the line is compared as text (colours are tested in pretty.test.ts).
    const child = spawn('script', ['-qfec', cmd, '/dev/null'], { cwd: home.path, stdio: ['ignore', 'pipe', 'pipe'], env: { ...process.env, NO_COLOR: '1' } });
    children.push(child);
    let out = '';
    child.stdout!.on('data', (d: Buffer) => (out += d.toString()));
    await expect.poll(() => /ftp:\/\/127\.0\.0\.1:\d+/.test(out) && /PID=\d+/.test(out), { timeout: 10_000 }).toBe(true);
    const pid = Number(/PID=(\d+)/.exec(out)![1]);
    try {
      const port = Number(/ftp:\/\/127\.0\.0\.1:(\d+)/.exec(out)![1]);
      const c = await RawFtp.connect(port);
      await c.send('USER alice');
      await c.send(`PASS ${SECRETS.wrong}`);
      await c.login('alice', SECRETS.cli);
      expect((await c.send('MKD pretty-test-dir')).code).toBe(257);
      expect((await c.send('RMD pretty-test-dir')).code).toBe(250);
      await c.send('QUIT');
      await expect.poll(() => out.includes('disconnect after'), { timeout: 10_000 }).toBe(true);
    } finally {
      process.kill(pid, 'SIGTERM');
    }
    await new Promise((r) => child.once('exit', r));
    produced.push(out);
    const lines = out.split(/\r?\n/).filter((l) => / (INFO|WARN) /.test(l));
    const time = '\\d{4}-\\d\\d-\\d\\d \\d\\d:\\d\\d:\\d\\d';
    expect(lines).toEqual([
      expect.stringMatching(new RegExp(`^${time} INFO  - listening address=127\\.0\\.0\\.1:\\d+$`)),
      expect.stringMatching(new RegExp(`^${time} INFO  127\\.0\\.0\\.1 connect$`)),
      expect.stringMatching(new RegExp(`^${time} WARN  alice@127\\.0\\.0\\.1 login failed: wrong user name or password$`)),
      expect.stringMatching(new RegExp(`^${time} INFO  alice@127\\.0\\.0\\.1 login$`)),
      expect.stringMatching(new RegExp(`^${time} INFO  alice@127\\.0\\.0\\.1 mkdir /pretty-test-dir \\(257\\)$`)),
      expect.stringMatching(new RegExp(`^${time} INFO  alice@127\\.0\\.0\\.1 rmdir /pretty-test-dir \\(250\\)$`)),
      expect.stringMatching(new RegExp(`^${time} INFO  alice@127\\.0\\.0\\.1 disconnect after [\\d.]+ (ms|s): 0 files in \\(0 B\\), 0 out \\(0 B\\)$`)),
      expect.stringMatching(new RegExp(`^${time} INFO  - closed$`)),
    ]);
    expect(out).not.toContain('{"');
  });

  it('refuses bad logging flags before listening (exit 2, naming the flag)', () => {
    expect(run(['--log-format', 'xml'])).toMatchObject({ status: 2, stderr: expect.stringContaining("--log-format takes pretty or json, got 'xml'") });
    expect(run(['--metrics', 'example.org:9100'])).toMatchObject({ status: 2, stderr: expect.stringContaining('--metrics takes [HOST:]PORT') });
    expect(run(['--metrics', '70000'])).toMatchObject({ status: 2, stderr: expect.stringContaining("--metrics takes a port from 0 to 65535, got '70000'") });
    expect(run(['--log-file', '/nonexistent-ftpkit/dir/log'])).toMatchObject({ status: 2, stderr: expect.stringContaining('--log-file: cannot open /nonexistent-ftpkit/dir/log (ENOENT)') });
    expect(run(['--xferlog', '/nonexistent-ftpkit/xferlog'])).toMatchObject({ status: 2, stderr: expect.stringContaining('--xferlog: cannot open') });
  });
});

describe('examples/audit-trail.mjs', () => {
  it('writes the audit trail and the xferlog of a session to its files', async () => {
    const dir = await makeTempDir('ftpkit-audit-example-');
    try {
      const trail = join(dir.path, 'audit.jsonl');
      const child = spawn(process.execPath, [join(repo, 'examples/audit-trail.mjs'), trail], { cwd: repo, stdio: ['ignore', 'pipe', 'pipe'] });
      children.push(child);
      let out = '';
      let err = '';
      child.stdout!.on('data', (d: Buffer) => (out += d.toString()));
      child.stderr!.on('data', (d: Buffer) => (err += d.toString()));
      await expect.poll(() => /ftp:\/\/127\.0\.0\.1:\d+/.test(out), { timeout: 10_000 }).toBe(true);
      const c = await RawFtp.connect(Number(/ftp:\/\/127\.0\.0\.1:(\d+)/.exec(out)![1]));
      await c.login('demo', 'demo');
      expect((await c.store('STOR note.txt', 'hello')).final.code).toBe(226);
      expect((await c.send('DELE note.txt')).code).toBe(250);
      await c.send('QUIT');
      await expect.poll(async () => (await readLines(trail).catch(() => [])).some((l) => l.includes('"event":"disconnect"')), { timeout: 10_000 }).toBe(true);
      const events = (await readLines(trail)).map((l) => (JSON.parse(l) as { event: string }).event);
      expect(events).toEqual(['connect', 'login', 'upload', 'delete', 'disconnect']);
      expect(await readLines(`${trail}.xferlog`)).toEqual([expect.stringMatching(/ 127\.0\.0\.1 5 \/note\.txt a _ i r demo ftp 0 \* c$/)]);
      child.kill('SIGINT');
      await new Promise((r) => child.once('exit', r));
      expect(err).toContain('demo deleted /note.txt');
      expect(JSON.parse(err.trim().split('\n').at(-1)!)).toMatchObject({ logins: 1, transfers: { ok: 1, failed: 0 }, bytesIn: 5 });
    } finally {
      await dir.cleanup();
    }
  });
});

// Last: this file's whole output, every level, every event, the xferlog, the bins' output.
describe('secrets', () => {
  it('no password, ACCT or anonymous email appears in anything this file produced', () => {
    expect(produced.length).toBeGreaterThan(100);
    const text = produced.join('\n');
    for (const secret of Object.values(SECRETS)) expect(text).not.toContain(secret);
    // The masked forms are there: the check looked at the right lines.
    expect(text).toContain('"verb":"PASS","arg":"***"');
    expect(text).toContain('"verb":"ACCT","arg":"***"');
  });
});
