// FTPS (RFC 4217) interop: ftpkit's FileServer against curl, lftp, Python's ftplib.FTP_TLS and
// basic-ftp, each run once with the server pinned to TLS 1.2 and once pinned to TLS 1.3
// (tls.minVersion = tls.maxVersion). Where the client can show the negotiated version it is
// asserted (curl -v "SSL connection using TLSv1.x", python's sock.version(), basic-ftp's
// socket.getProtocol()); lftp is pinned with ssl:priority to the one version the server speaks.
//
// By default the server requires every PROT P data connection to resume the control
// connection's TLS session (like vsftpd's require_ssl_reuse), so every successful protected
// transfer below also proves that the client resumed it:
//   curl, lftp     resume on their own (TLS 1.2 session IDs, TLS 1.3 tickets);
//   basic-ftp      passes `session` (the latest "session" event of the control or previous
//                  data socket, else getSession()) to tls.connect for each data connection,
//                  and for implicit TLS remembers the host so the session's identity matches;
//   ftplib.FTP_TLS does not: its data connections get 522 unless the server allows
//                  tlsSessionReuse: 'optional', or a subclass passes session=self.sock.session.
import { existsSync } from 'node:fs';
import { readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { Client, FTPError } from 'basic-ftp';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { TLS_VERSIONS, startFtpsServer, type FtpsFixture, type TlsVersion } from '../helpers/ftps-fixture.js';
import { randomFile, sha256File } from '../helpers/tmp.js';
import { curl, hasTool, pyftp, runTool, lftp, type FtpTarget, type ToolResult } from '../helpers/tools.js';

/** Size of the file each client moves both ways. */
const SIZE = 4 * 1024 * 1024;

/** curl with -sS, connect/overall timeouts and a process timeout. */
function runCurl(args: string[], timeoutMs = 20_000): Promise<ToolResult> {
  return curl(['-sS', '--connect-timeout', '5', '--max-time', String(Math.floor(timeoutMs / 1000) - 2), ...args], { timeoutMs });
}

/** Commands and replies from curl -v: lines "> CMD" and "< 226 ...". */
function dialogue(r: ToolResult): string[] {
  return r.stderr
    .split('\n')
    .filter((l) => /^[<>] /.test(l))
    .map((l) => l.trimEnd());
}

/** How many TLS handshakes curl -v reports, with the version of each. */
function curlHandshakes(r: ToolResult): string[] {
  return [...r.stderr.matchAll(/^\* SSL connection using (TLSv1\.\d)/gm)].map((m) => m[1]!);
}

const other = (v: TlsVersion): TlsVersion => (v === 'TLSv1.2' ? 'TLSv1.3' : 'TLSv1.2');

/** The commands the server heard while `fn` ran. */
async function heard<T>(fx: FtpsFixture, fn: () => Promise<T>): Promise<{ result: T; commands: string[] }> {
  const from = fx.commands.length;
  const result = await fn();
  return { result, commands: fx.commands.slice(from) };
}

/** A served file and a client-side file of SIZE random bytes, with their sha256. */
interface Files {
  remote: string;
  remoteSha: string;
  local: string;
  localSha: string;
}

async function makeFiles(fx: FtpsFixture): Promise<Files> {
  const remote = 'big.bin';
  const local = join(fx.local, 'src.bin');
  return { remote, remoteSha: await randomFile(join(fx.root, remote), SIZE), local, localSha: await randomFile(local, SIZE) };
}

describe.each(TLS_VERSIONS)('FTPS interop, server pinned to %s', (version) => {
  let fx: FtpsFixture;
  let files: Files;

  beforeAll(async () => {
    fx = await startFtpsServer({ version });
    files = await makeFiles(fx);
  });
  afterAll(async () => {
    await fx?.close();
  });

  describe.skipIf(!hasTool('curl'))('curl', () => {
    it('explicit (--ssl-reqd): RETR and STOR of 4 MB (sha256) and LIST, control and data over TLS, session resumed', async () => {
      const got = join(fx.local, 'curl-got.bin');
      const get = await runCurl(['-v', '--ssl-reqd', '-k', '-o', got, fx.url(`/${files.remote}`)]);
      expect(get.code, get.stderr).toBe(0);
      expect(await sha256File(got)).toBe(files.remoteSha);
      const d = dialogue(get);
      expect(d).toContain('> PBSZ 0');
      expect(d).toContain('> PROT P');
      expect(d).toContain('< 200 Protection level set to P');
      expect(d.at(-1)).toMatch(/^< 226 /);
      // one handshake for the control connection, one for the data connection, both pinned
      expect(curlHandshakes(get)).toEqual([version, version]);
      expect(get.stderr).toContain('SSL re-using session ID');

      const put = await runCurl(['-v', '--ssl-reqd', '-k', '-T', files.local, fx.url('/curl-up.bin')]);
      expect(put.code, put.stderr).toBe(0);
      expect(dialogue(put).at(-1)).toMatch(/^< 226 /);
      expect(await sha256File(join(fx.root, 'curl-up.bin'))).toBe(files.localSha);

      const list = await runCurl(['-v', '--ssl-reqd', '-k', fx.url('/')]);
      expect(list.code, list.stderr).toBe(0);
      expect(list.stdout).toMatch(new RegExp(`^-\\S+ .* ${SIZE} .* big\\.bin\\r?$`, 'm'));
      expect(list.stdout).toMatch(/ curl-up\.bin\r?$/m);
      expect(curlHandshakes(list)).toEqual([version, version]);
    });

    it('implicit (ftps:// on the implicit port): RETR, STOR (sha256) and LIST', async () => {
      const got = join(fx.local, 'curl-implicit-got.bin');
      const { result: get, commands } = await heard(fx, () => runCurl(['-v', '-k', '-o', got, fx.url(`/${files.remote}`, 'ftps')]));
      expect(get.code, get.stderr).toBe(0);
      expect(await sha256File(got)).toBe(files.remoteSha);
      expect(commands).not.toContain('AUTH TLS'); // TLS from the first byte
      expect(commands).not.toContain('AUTH SSL');
      expect(commands).toContain('PROT P');
      expect(curlHandshakes(get)).toEqual([version, version]);

      const put = await runCurl(['-k', '-T', files.local, fx.url('/curl-implicit-up.bin', 'ftps')]);
      expect(put.code, put.stderr).toBe(0);
      expect(await sha256File(join(fx.root, 'curl-implicit-up.bin'))).toBe(files.localSha);

      const list = await runCurl(['-k', '-l', fx.url('/', 'ftps')]);
      expect(list.code, list.stderr).toBe(0);
      expect(list.stdout.split(/\r?\n/)).toEqual(expect.arrayContaining(['big.bin', 'curl-implicit-up.bin']));
    });

    it('--ftp-ssl-control: TLS on the control connection only, PROT C accepted, data in clear', async () => {
      const got = join(fx.local, 'curl-ctl-got.bin');
      const get = await runCurl(['-v', '--ftp-ssl-control', '-k', '-o', got, fx.url(`/${files.remote}`)]);
      expect(get.code, get.stderr).toBe(0);
      expect(await sha256File(got)).toBe(files.remoteSha);
      const d = dialogue(get);
      expect(d).toContain('> PROT C');
      expect(d).toContain('< 200 Protection level set to C');
      expect(d.at(-1)).toMatch(/^< 226 /);
      expect(curlHandshakes(get)).toEqual([version]); // the control connection only

      const put = await runCurl(['--ftp-ssl-control', '-k', '-T', files.local, fx.url('/curl-ctl-up.bin')]);
      expect(put.code, put.stderr).toBe(0);
      expect(await sha256File(join(fx.root, 'curl-ctl-up.bin'))).toBe(files.localSha);
    });

    it(`a client limited to ${other(version)} cannot connect (the server is pinned to ${version})`, async () => {
      const limit = version === 'TLSv1.3' ? ['--tls-max', '1.2'] : ['--tlsv1.3'];
      const r = await runCurl(['-v', '--ssl-reqd', '-k', ...limit, fx.url(`/${files.remote}`)]);
      expect(r.code).toBe(35); // CURLE_SSL_CONNECT_ERROR
      expect(dialogue(r)).not.toContain('> USER alice');
    });
  });

  describe.skipIf(!hasTool('lftp'))('lftp', () => {
    // GnuTLS priority with only this version enabled: a successful run negotiated it.
    const priority = `NORMAL:-VERS-ALL:+VERS-TLS${version.slice(4)}`;
    const settings = {
      'ftp:ssl-allow': 'yes',
      'ftp:ssl-force': 'yes',
      'ftp:ssl-protect-data': 'yes',
      'ssl:verify-certificate': 'no',
      'ssl:priority': priority,
      // lftp uses MODE Z whenever FEAT offers it; the byte counts below are MODE S's (MODE Z
      // under FTPS is tested in mode-z.test.ts).
      'ftp:use-mode-z': 'no',
    };

    it('explicit (ftp:ssl-force, ftp:ssl-protect-data): get, put (sha256) and ls', async () => {
      const got = join(fx.local, 'lftp-got.bin');
      const { result: r, commands } = await heard(fx, () =>
        lftp(`get ${files.remote} -o ${got}; put ${files.local} -o lftp-up.bin; cls -1`, { ...fx.user, settings, timeoutMs: 20_000 }),
      );
      expect(r.code, r.stderr).toBe(0);
      expect(await sha256File(got)).toBe(files.remoteSha);
      expect(await sha256File(join(fx.root, 'lftp-up.bin'))).toBe(files.localSha);
      expect(r.stdout.split('\n')).toEqual(expect.arrayContaining(['big.bin', 'lftp-up.bin']));
      expect(commands.slice(0, 3)).toContain('AUTH TLS');
      expect(commands.indexOf('AUTH TLS')).toBeLessThan(commands.indexOf('USER alice'));
      expect(commands).toContain('PROT P');
      expect(commands).not.toContain('PROT C');
      expect(fx.transfers.filter((t) => t.path.endsWith('lftp-up.bin'))).toEqual([expect.objectContaining({ ok: true, bytes: SIZE })]);
    });

    it('implicit (open ftps://host:implicitPort): get, put (sha256) and ls', async () => {
      const got = join(fx.local, 'lftp-implicit-got.bin');
      const script = [
        'set net:max-retries 1',
        'set net:timeout 10',
        'set cmd:fail-exit yes',
        'set xfer:clobber on',
        ...Object.entries(settings).map(([k, v]) => `set ${k} ${v}`),
        `open -u alice,secret ftps://${fx.host}:${fx.implicitPort}`,
        `get ${files.remote} -o ${got}`,
        `put ${files.local} -o lftp-implicit-up.bin`,
        'cls -1',
      ].join('\n');
      const { result: r, commands } = await heard(fx, () => runTool('lftp', ['-c', script], { timeoutMs: 20_000 }));
      expect(r.code, r.stderr).toBe(0);
      expect(await sha256File(got)).toBe(files.remoteSha);
      expect(await sha256File(join(fx.root, 'lftp-implicit-up.bin'))).toBe(files.localSha);
      expect(r.stdout.split('\n')).toEqual(expect.arrayContaining(['big.bin', 'lftp-implicit-up.bin']));
      expect(commands).not.toContain('AUTH TLS');
      expect(commands).toContain('PROT P');
    });

    it(`lftp limited to ${other(version)} fails to connect`, async () => {
      const r = await lftp('cls -1', {
        ...fx.user,
        settings: { ...settings, 'ssl:priority': `NORMAL:-VERS-ALL:+VERS-TLS${other(version).slice(4)}`, 'net:max-retries': 1 },
        timeoutMs: 20_000,
      });
      expect(r.code).not.toBe(0);
      expect(r.stdout).not.toContain('big.bin');
    });
  });

  describe.skipIf(!hasTool('python3'))('python ftplib.FTP_TLS', () => {
    const prelude = (v: TlsVersion): string => `
import json, ssl
ver = ssl.TLSVersion.TLSv1_2 if ${JSON.stringify(v)} == 'TLSv1.2' else ssl.TLSVersion.TLSv1_3
ctx = ssl._create_unverified_context()
ctx.minimum_version = ver
ctx.maximum_version = ver
DATA = []  # (version, session_reused) of each protected data connection
class ReuseFTP_TLS(ftplib.FTP_TLS):
    """Resumes the control connection's TLS session on each data connection."""
    def ntransfercmd(self, cmd, rest=None):
        conn, size = ftplib.FTP.ntransfercmd(self, cmd, rest)
        if self._prot_p:
            conn = self.context.wrap_socket(conn, server_hostname=self.host, session=self.sock.session)
            DATA.append([conn.version(), conn.session_reused])
        return conn, size
def sha(b):
    return hashlib.sha256(b).hexdigest()
def outcome(fn, *a):
    """'ok', or the reply code of the refusal. A refused TLS 1.2 data connection can surface
    first as an SSL error (ftplib's unwrap() of a connection the server dropped); the refusal
    is then the next reply on the control connection."""
    try:
        fn(*a)
        return 'ok'
    except ftplib.error_perm as e:
        return str(e)[:3]
    except (ssl.SSLError, OSError) as e:
        try:
            f.voidresp()
            return 'ok?' + type(e).__name__
        except ftplib.all_errors as e2:
            return str(e2)[:3] + '/' + type(e).__name__
`;

    async function py(body: string, target: FtpTarget, v: TlsVersion = version): Promise<Record<string, any>> {
      const r = await pyftp(`${prelude(v)}${body}`, { target, timeoutMs: 20_000 });
      if (r.code !== 0) throw new Error(`python exited ${r.code}${r.timedOut ? ' (timeout)' : ''}: ${r.stderr}`);
      return JSON.parse(r.stdout.trim().split('\n').pop() ?? '{}') as Record<string, any>;
    }

    it('plain FTP_TLS with prot_p(): login works, but each data connection is refused with 522 (no session reuse)', async () => {
      await writeFile(join(fx.root, 'keep.txt'), 'untouched');
      const out = await py(
        `
f = ftplib.FTP_TLS(context=ctx)
f.connect(HOST, PORT, timeout=15)
f.login(USER, PASSWORD)
f.prot_p()
got = io.BytesIO()
retr = outcome(f.retrbinary, 'RETR big.bin', got.write)
stor = outcome(f.storbinary, 'STOR keep.txt', io.BytesIO(b'overwritten'))
lines = []
lst = outcome(f.retrlines, 'LIST', lines.append)
noop = f.voidcmd('NOOP')[:3]
print(json.dumps(dict(version=f.sock.version(), retr=retr, got=len(got.getvalue()), stor=stor, lst=lst, lines=len(lines), noop=noop)))
f.quit()
`,
        fx.user,
      );
      expect(out.version).toBe(version);
      for (const k of ['retr', 'stor', 'lst']) expect(String(out[k]).slice(0, 3), k).toBe('522');
      expect(out.got).toBe(0); // not one byte of the file crossed
      expect(out.lines).toBe(0);
      expect(out.noop).toBe('200'); // the session goes on
      expect(await readFile(join(fx.root, 'keep.txt'), 'utf8')).toBe('untouched');
      expect(fx.transfers.filter((t) => t.failure === 'tls').length).toBeGreaterThanOrEqual(3);
    });

    it('a subclass that passes session=self.sock.session: RETR, STOR (sha256) and LIST, each data connection resumed', async () => {
      const out = await py(
        `
f = ReuseFTP_TLS(context=ctx)
f.connect(HOST, PORT, timeout=15)
f.login(USER, PASSWORD)
f.prot_p()
got = io.BytesIO()
f.retrbinary('RETR big.bin', got.write)
with open(${JSON.stringify(files.local)}, 'rb') as src:
    f.storbinary('STOR py-up.bin', src)
names = f.nlst()
lines = []
f.retrlines('LIST', lines.append)
print(json.dumps(dict(version=f.sock.version(), sha=sha(got.getvalue()), names=names, lines=lines, data=DATA)))
f.quit()
`,
        fx.user,
      );
      expect(out.version).toBe(version);
      expect(out.sha).toBe(files.remoteSha);
      expect(await sha256File(join(fx.root, 'py-up.bin'))).toBe(files.localSha);
      expect(out.names).toEqual(expect.arrayContaining(['big.bin', 'py-up.bin']));
      expect(out.lines.some((l: string) => / py-up\.bin$/.test(l))).toBe(true);
      expect(out.data).toEqual([
        [version, true],
        [version, true],
        [version, true],
        [version, true],
      ]);
    });
  });

  describe('basic-ftp', () => {
    /** A logged-in client whose verbose log is collected. */
    async function open(secure: true | 'implicit'): Promise<{ client: Client; log: string[] }> {
      const client = new Client(15_000);
      const log: string[] = [];
      client.ftp.verbose = true;
      client.ftp.log = (m: string) => void log.push(m);
      const t = secure === 'implicit' ? fx.implicitUser : fx.user;
      await client.access({
        host: t.host,
        port: t.port,
        user: t.user,
        password: t.password,
        secure,
        secureOptions: { rejectUnauthorized: false, minVersion: version, maxVersion: version },
      });
      return { client, log };
    }

    for (const secure of [true, 'implicit'] as const) {
      it(`secure: ${JSON.stringify(secure)}: downloadTo, uploadFrom (sha256), list, twice over (resumed data connections)`, async () => {
        const tag = secure === true ? 'explicit' : 'implicit';
        const { result: log, commands } = await heard(fx, async () => {
          const { client, log } = await open(secure);
          try {
            const sock = client.ftp.socket as import('node:tls').TLSSocket;
            expect(sock.getProtocol()).toBe(version);
            // twice: TLS 1.3 data connections must keep resuming with later tickets
            for (const round of [1, 2]) {
              const got = join(fx.local, `basic-${tag}-${round}.bin`);
              await client.downloadTo(got, files.remote);
              expect(await sha256File(got)).toBe(files.remoteSha);
              await client.uploadFrom(files.local, `basic-${tag}-${round}.bin`);
              expect(await sha256File(join(fx.root, `basic-${tag}-${round}.bin`))).toBe(files.localSha);
              const names = (await client.list()).map((e) => e.name);
              expect(names).toEqual(expect.arrayContaining(['big.bin', `basic-${tag}-${round}.bin`]));
            }
          } finally {
            client.close();
          }
          return log;
        });
        expect(log.join('\n')).toContain(`(${version})`); // "Connected to ... (TLSv1.x)"
        expect(commands).toContain('PROT P');
        if (secure === 'implicit') expect(commands).not.toContain('AUTH TLS');
        else expect(commands[0]).toBe('AUTH TLS');
      });
    }

    it('a basic-ftp client that cannot resume (a fresh session per data connection) is refused with 522', async () => {
      const { client } = await open(true);
      try {
        // Drop what basic-ftp remembered and hide the control session: the data connection
        // then starts a new session, as a stranger racing to the passive port would.
        const ftp = client.ftp as unknown as { tlsSessionStore?: Buffer; socket: { getSession(): Buffer | undefined } };
        Object.defineProperty(ftp, 'tlsSessionStore', { get: () => undefined, set: () => {}, configurable: true });
        ftp.socket.getSession = () => undefined;
        const before = fx.transfers.length;
        let outcome: number | string = 'ok';
        try {
          await client.downloadTo(join(fx.local, 'basic-refused.bin'), files.remote);
        } catch (err) {
          outcome = err instanceof FTPError ? err.code : (err as Error).message;
        }
        // TLS 1.3: the client's handshake completes, then the server drops the connection and
        // basic-ftp reports the 522. TLS 1.2: the server drops it before its Finished reaches
        // the client, so basic-ftp fails on the data socket first.
        if (version === 'TLSv1.3') expect(outcome).toBe(522);
        else expect(outcome).toMatch(/^522$|disconnected before secure TLS connection was established/);
        // transfer-end follows the reply (the file is closed after it), so the client may see the reply first.
        await vi.waitFor(() => expect(fx.transfers.slice(before)).toEqual([expect.objectContaining({ command: 'RETR', ok: false, failure: 'tls' })]));
        expect(existsSync(join(fx.local, 'basic-refused.bin')) ? (await readFile(join(fx.local, 'basic-refused.bin'))).length : 0).toBe(0);
      } finally {
        client.close();
      }
    });
  });
});

describe.each(TLS_VERSIONS)("tlsSessionReuse: 'optional', %s", (version) => {
  let fx: FtpsFixture;
  let files: Files;
  beforeAll(async () => {
    fx = await startFtpsServer({ version, tlsSessionReuse: 'optional' });
    files = await makeFiles(fx);
  });
  afterAll(async () => {
    await fx?.close();
  });

  it.skipIf(!hasTool('python3'))('plain FTP_TLS with prot_p(): RETR, STOR (sha256) and LIST work', async () => {
    const r = await pyftp(
      `
import json, ssl
ctx = ssl._create_unverified_context()
f = ftplib.FTP_TLS(context=ctx)
f.connect(HOST, PORT, timeout=15)
f.login(USER, PASSWORD)
f.prot_p()
got = io.BytesIO()
f.retrbinary('RETR big.bin', got.write)
with open(${JSON.stringify(files.local)}, 'rb') as src:
    f.storbinary('STOR py-plain-up.bin', src)
lines = []
f.retrlines('LIST', lines.append)
print(json.dumps(dict(version=f.sock.version(), sha=hashlib.sha256(got.getvalue()).hexdigest(), lines=lines)))
f.quit()
`,
      { target: fx.user, timeoutMs: 20_000 },
    );
    expect(r.code, r.stderr).toBe(0);
    const out = JSON.parse(r.stdout.trim().split('\n').pop()!) as { version: string; sha: string; lines: string[] };
    expect(out.version).toBe(version);
    expect(out.sha).toBe(files.remoteSha);
    expect(await sha256File(join(fx.root, 'py-plain-up.bin'))).toBe(files.localSha);
    expect(out.lines.some((l) => / py-plain-up\.bin$/.test(l))).toBe(true);
    expect(fx.transfers.every((t) => t.ok)).toBe(true);
  });
});

describe.each(TLS_VERSIONS)('requireTls: true, %s', (version) => {
  let fx: FtpsFixture;
  let files: Files;
  beforeAll(async () => {
    // A short data timeout: a clear data connection under PROT P waits for a TLS hello until then.
    fx = await startFtpsServer({ version, requireTls: true, dataTimeout: 2_000 });
    files = await makeFiles(fx);
  });
  afterAll(async () => {
    await fx?.close();
  });

  describe.skipIf(!hasTool('curl'))('curl', () => {
    it('plain ftp:// login is refused: USER gets 530, curl exits 67, no PASS is ever sent or accepted', async () => {
      const { result: r, commands } = await heard(fx, () => runCurl(['-v', fx.url(`/${files.remote}`)]));
      expect(r.code).toBe(67);
      const d = dialogue(r);
      expect(d).toContain('> USER alice');
      expect(d).toContainEqual(expect.stringMatching(/^< 530 .*AUTH TLS/));
      expect(d.some((l) => l.startsWith('> PASS'))).toBe(false);
      expect(commands).toEqual(['USER alice']);
      expect(fx.logins).toEqual([]);
      expect(r.stdout).toBe('');
    });

    it('--ssl-reqd works: RETR and STOR (sha256)', async () => {
      const got = join(fx.local, 'req-got.bin');
      const get = await runCurl(['--ssl-reqd', '-k', '-o', got, fx.url(`/${files.remote}`)]);
      expect(get.code, get.stderr).toBe(0);
      expect(await sha256File(got)).toBe(files.remoteSha);
      const put = await runCurl(['--ssl-reqd', '-k', '-T', files.local, fx.url('/req-up.bin')]);
      expect(put.code, put.stderr).toBe(0);
      expect(await sha256File(join(fx.root, 'req-up.bin'))).toBe(files.localSha);
    });

    it('--ftp-ssl-control is refused: PROT C gets 534, nothing crosses in clear, curl exits non-zero', async () => {
      // curl ignores the 534 under --ftp-ssl-control and opens a clear data connection. Its
      // AUTH SSL left the session at PROT P, so the server waits for a TLS hello there until
      // timeouts.data, then answers 522; the file never crosses.
      const got = join(fx.local, 'req-ctl-got.bin');
      const before = fx.transfers.length;
      const r = await runCurl(['-v', '--ftp-ssl-control', '-k', '-o', got, fx.url(`/${files.remote}`)]);
      expect(r.code).not.toBe(0);
      const d = dialogue(r);
      expect(d).toContain('> PROT C');
      expect(d).toContainEqual(expect.stringMatching(/^< 534 /));
      expect(curlHandshakes(r)).toEqual([version]);
      expect(existsSync(got) ? (await readFile(got)).length : 0).toBe(0);
      // transfer-end follows the reply (the file is closed after it), so the client may see the reply first.
      await vi.waitFor(() => expect(fx.transfers.slice(before)).toEqual([expect.objectContaining({ command: 'RETR', ok: false, failure: 'tls' })]));
    });

    // A data connection the client closes before a full TLS record (an empty upload over a
    // clear data connection) is refused at once: the server watches for 'close' during the
    // handshake, not only 'error'.
    it('--ftp-ssl-control empty upload: refused (522) as soon as curl closes the data connection, not after timeouts.data', async () => {
      const empty = join(fx.local, 'empty.bin');
      await writeFile(empty, '');
      const started = Date.now();
      const r = await runCurl(['-v', '--ftp-ssl-control', '-k', '-T', empty, fx.url('/req-ctl-empty.bin')]);
      const elapsed = Date.now() - started;
      expect(r.code).not.toBe(0);
      expect(dialogue(r)).toContainEqual(expect.stringMatching(/^< 534 /));
      expect(r.stderr).toMatch(/got 522/);
      expect(existsSync(join(fx.root, 'req-ctl-empty.bin'))).toBe(false);
      expect(elapsed).toBeLessThan(1_500); // the data timeout is 2 s
    });
  });
});
