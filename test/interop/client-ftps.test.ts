// FTPS (RFC 4217) from the client side: FileClient and the built ftp-get / ftp-put against
// vsftpd (ssl_enable=YES), ProFTPD (mod_tls) and ftpkit's FileServer (explicit and implicit,
// pinned to TLS 1.2 and to TLS 1.3). All three servers refuse a PROT P data connection that
// does not resume the control connection's TLS session (vsftpd's require_ssl_reuse, mod_tls's
// default, ftpkit's tlsSessionReuse: 'required'), so every protected transfer that succeeds
// here also proves the client resumed it.
//
// Then the failures: a certificate that is self-signed (not trusted), expired or for another
// host must fail with FTPKIT_ERR_TLS and a clear message unless allowed (-k, ca, pin), and a
// handshake that stalls must time out with FTPKIT_ERR_TIMEOUT without leaking descriptors.
// The bad certificates are made at runtime with openssl (see makeCert).
import { spawnSync } from 'node:child_process';
import { X509Certificate } from 'node:crypto';
import { existsSync } from 'node:fs';
import { mkdir, readFile, writeFile } from 'node:fs/promises';
import net from 'node:net';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { FileClient, FtpError, type FileClientOptions } from '../../src/index.js';
import { TLS_VERSIONS, startFtpsServer, type FtpsFixture } from '../helpers/ftps-fixture.js';
import { REPO_ROOT, requirePeer, startPeer, type Peer } from '../helpers/peers.js';
import { countFds, makeTempDir, randomFile, sha256File, type TempDir } from '../helpers/tmp.js';
import { runTool, type ToolResult } from '../helpers/tools.js';
import { TEST_CERT, TEST_CERT_PATH } from '../helpers/tls.js';

const SIZE = 3 * 1024 * 1024 + 17;
const GET = join(REPO_ROOT, 'dist/bin/ftp-get.js');
const PUT = join(REPO_ROOT, 'dist/bin/ftp-put.js');
/** SHA-256 of the test certificate, as `openssl x509 -fingerprint -sha256` prints it. */
const TEST_FINGERPRINT = new X509Certificate(TEST_CERT).fingerprint256;

function bin(path: string, args: string[]): Promise<ToolResult> {
  if (!existsSync(path)) throw new Error(`${path} is missing: run npm run build first`);
  return runTool(process.execPath, [path, ...args], { timeoutMs: 60_000, env: { ...process.env, NETRC: '/nonexistent' } });
}

async function withClient<T>(opts: FileClientOptions, fn: (c: FileClient) => Promise<T>): Promise<T> {
  const client = new FileClient({ timeout: 10_000, ...opts });
  try {
    await client.connect();
    return await fn(client);
  } finally {
    await client.close();
  }
}

/** list, download and upload of a SIZE-byte file, checked by SHA-256; returns the TLS version used. */
async function roundTrip(opts: FileClientOptions, root: string, local: string, tag: string, adopt?: () => Promise<void>): Promise<string | undefined> {
  const src = join(root, `${tag}.bin`);
  const sha = await randomFile(src, SIZE);
  await adopt?.();
  return withClient(opts, async (c) => {
    expect((await c.list('/')).map((e) => e.name)).toContain(`${tag}.bin`);
    await c.download(`/${tag}.bin`, join(local, `${tag}.bin`));
    expect(await sha256File(join(local, `${tag}.bin`))).toBe(sha);
    await c.upload(join(local, `${tag}.bin`), `/${tag}-up.bin`);
    expect(await sha256File(join(root, `${tag}-up.bin`))).toBe(sha);
    expect(await c.size(`/${tag}-up.bin`)).toBe(SIZE);
    return c.tlsProtocol;
  });
}

describe('FileClient FTPS against ftpkit FileServer', () => {
  for (const version of TLS_VERSIONS) {
    describe(version, () => {
      let fx: FtpsFixture;
      beforeAll(async () => {
        fx = await startFtpsServer({ version, requireTls: true });
      });
      afterAll(() => fx?.close());

      for (const mode of ['explicit', 'implicit'] as const) {
        for (const active of [false, true]) {
          it(`${mode}${active ? ', active mode' : ''}: list, get, put by sha256`, async () => {
            const port = mode === 'explicit' ? fx.port : fx.implicitPort;
            const tag = `${mode}-${active ? 'a' : 'p'}`;
            const got = await roundTrip({ host: fx.host, port, user: 'alice', password: 'secret', tls: mode, ca: TEST_CERT, active }, fx.root, fx.local, tag);
            expect(got).toBe(version);
            const seen = fx.commands.join('\n');
            if (mode === 'explicit') expect(seen).toContain('AUTH TLS');
            expect(seen).toContain('PBSZ 0');
            expect(seen).toContain('PROT P');
            // Every transfer was protected and resumed the session (the server requires it).
            expect(fx.transfers.filter((t) => !t.ok)).toEqual([]);
          });
        }
      }

      it('pins the certificate by SHA-256 fingerprint: right one works (no CA), wrong one fails', async () => {
        const base = { host: fx.host, port: fx.port, user: 'alice', password: 'secret', tls: 'explicit' as const };
        for (const pin of [TEST_FINGERPRINT, TEST_FINGERPRINT.replace(/:/g, '').toLowerCase()]) {
          await withClient({ ...base, fingerprint256: pin }, async (c) => {
            expect(await c.list('/')).toBeInstanceOf(Array);
          });
        }
        const wrong = 'AB'.repeat(32);
        const err = await withClient({ ...base, fingerprint256: wrong }, async () => undefined).catch((e: unknown) => e);
        expect(err).toBeInstanceOf(FtpError);
        expect(err).toMatchObject({ code: 'FTPKIT_ERR_TLS', message: expect.stringMatching(/^TLS: the server's certificate \(SHA-256 [0-9A-F:]+\) does not match the pinned fingerprint$/) });
      });

      it('refuses the self-signed certificate without ca, accepts it with rejectUnauthorized: false', async () => {
        const base = { host: fx.host, port: fx.implicitPort, user: 'alice', password: 'secret', tls: 'implicit' as const };
        const err = await withClient(base, async () => undefined).catch((e: unknown) => e);
        expect(err).toMatchObject({ code: 'FTPKIT_ERR_TLS', message: 'TLS: self-signed certificate' });
        await withClient({ ...base, rejectUnauthorized: false }, async (c) => {
          expect(c.tlsProtocol).toBe(version);
          expect(await c.pwd()).toBe('/');
        });
      });
    });
  }
});

const TLS_PEERS = ['vsftpd', 'proftpd'] as const;
for (const name of TLS_PEERS) {
  describe.skipIf(!requirePeer(name))(`FileClient FTPS against ${name}`, () => {
    let peer: Peer;
    let local: TempDir;
    beforeAll(async () => {
      peer = await startPeer(name, { tls: true });
      local = await makeTempDir('ftpkit-ftps-client-');
    }, 30_000);
    afterAll(async () => {
      await peer?.stop();
      await local?.cleanup();
    });

    for (const maxVersion of TLS_VERSIONS) {
      for (const active of [false, true]) {
        it(`${maxVersion}${active ? ', active mode' : ''}: list, get, put by sha256 (session reuse required)`, async () => {
          const tag = `${maxVersion}-${active ? 'a' : 'p'}`;
          const opts: FileClientOptions = { host: peer.host, port: peer.port, user: peer.user, password: peer.password, tls: 'explicit', ca: TEST_CERT, maxVersion, active };
          const got = await roundTrip(opts, peer.root, local.path, tag, () => peer.adopt());
          expect(got).toBe(maxVersion);
        });
      }
    }

    it('refuses plain FTP logins (the server requires TLS)', async () => {
      const err = await withClient({ host: peer.host, port: peer.port, user: peer.user, password: peer.password }, async () => undefined).catch((e: unknown) => e);
      expect(err).toMatchObject({ code: 'FTPKIT_ERR_REPLY' });
    });

    it('ftp-get and ftp-put: ftpes:// and --tls with ftp://, --ca and --fingerprint', async () => {
      const sha = await randomFile(join(peer.root, 'bin.bin'), SIZE);
      await peer.adopt();
      const auth = `${peer.user}:${peer.password}@${peer.host}:${peer.port}`;
      const dest = join(local.path, 'bin-get.bin');
      const g = await bin(GET, ['-q', '--ca', TEST_CERT_PATH, `ftpes://${auth}/bin.bin`, dest]);
      expect(g).toMatchObject({ code: 0, stderr: '' });
      expect(await sha256File(dest)).toBe(sha);
      const p = await bin(PUT, ['-q', '--tls', '--fingerprint', TEST_FINGERPRINT, dest, `ftp://${auth}/bin-put.bin`]);
      expect(p).toMatchObject({ code: 0, stderr: '' });
      expect(await sha256File(join(peer.root, 'bin-put.bin'))).toBe(sha);
      const l = await bin(GET, ['-k', `ftpes://${auth}/`]);
      expect(l.code).toBe(0);
      expect(l.stdout).toContain('bin-put.bin');
    });
  });
}

describe('ftp-get / ftp-put over FTPS against ftpkit', () => {
  let fx: FtpsFixture;
  beforeAll(async () => {
    fx = await startFtpsServer({ version: 'TLSv1.3', requireTls: true });
  });
  afterAll(() => fx?.close());

  it('ftps:// is implicit, ftpes:// explicit; get and put by sha256', async () => {
    const sha = await randomFile(join(fx.root, 'f.bin'), SIZE);
    const implicitUrl = fx.url('/f.bin', 'ftps');
    expect(implicitUrl.startsWith('ftps://')).toBe(true);
    const dest = join(fx.local, 'f.bin');
    expect(await bin(GET, ['-q', '--ca', TEST_CERT_PATH, implicitUrl, dest])).toMatchObject({ code: 0, stderr: '' });
    expect(await sha256File(dest)).toBe(sha);
    const explicitUrl = fx.url('/g.bin').replace(/^ftp:/, 'ftpes:');
    expect(await bin(PUT, ['-q', '--ca', TEST_CERT_PATH, dest, explicitUrl])).toMatchObject({ code: 0, stderr: '' });
    expect(await sha256File(join(fx.root, 'g.bin'))).toBe(sha);
    expect(fx.commands).toContain('AUTH TLS');
  });

  it('a self-signed certificate fails clearly without -k, works with -k', async () => {
    await writeFile(join(fx.root, 's.txt'), 'secure\n');
    const url = fx.url('/s.txt', 'ftps');
    const bad = await bin(GET, [url, '-']);
    expect(bad).toMatchObject({ code: 35, stdout: '', stderr: 'ftp-get: TLS: self-signed certificate\n' });
    const ok = await bin(GET, ['-k', url, '-']);
    expect(ok).toMatchObject({ code: 0, stdout: 'secure\n' });
    const pinned = await bin(GET, ['--fingerprint', 'ab'.repeat(32), url, '-']);
    expect(pinned.code).toBe(35);
    expect(pinned.stderr).toMatch(/^ftp-get: TLS: the server's certificate \(SHA-256 [0-9A-F:]+\) does not match the pinned fingerprint\n$/);
  });

  it('TLS flags need FTPS; a bad fingerprint is a usage error', async () => {
    expect(await bin(GET, ['-k', 'ftp://127.0.0.1:1/x', '-'])).toMatchObject({ code: 2, stderr: 'ftp-get: -k, --ca and --fingerprint need FTPS: an ftps:// or ftpes:// URL, or --tls (see --help)\n' });
    const r = await bin(PUT, ['--fingerprint', 'xyz', '/etc/hostname', 'ftps://127.0.0.1:1/x']);
    expect(r).toMatchObject({ code: 2 });
    expect(r.stderr).toMatch(/^ftp-put: --fingerprint takes a SHA-256 fingerprint/);
  });
});

// ---------------------------------------------------------------- bad certificates

/**
 * A self-signed EC certificate for `san`, valid from `start` to `end`
 * (YYYYMMDDHHMMSSZ). OpenSSL 3.0's `req -x509` and `x509 -req` refuse a
 * non-positive -days (and -not_before/-not_after arrived only in 3.4), so an
 * expired certificate comes from `openssl ca -selfsign -startdate -enddate`,
 * which needs a throwaway CA database.
 */
async function makeCert(dir: string, name: string, san: string, start: string, end: string): Promise<{ cert: Buffer; key: Buffer }> {
  const d = join(dir, name);
  await mkdir(d);
  const conf = [
    '[ca]', 'default_ca = d',
    '[d]', 'database = index.txt', 'new_certs_dir = .', 'serial = serial', 'default_md = sha256', 'policy = p', 'x509_extensions = ext',
    '[p]', 'commonName = supplied',
    '[ext]', `subjectAltName = ${san}`, 'basicConstraints = critical,CA:TRUE',
    '',
  ].join('\n');
  await writeFile(join(d, 'ca.cnf'), conf);
  await writeFile(join(d, 'index.txt'), '');
  await writeFile(join(d, 'serial'), '01\n');
  const steps: string[][] = [
    ['genpkey', '-algorithm', 'EC', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-out', 'key.pem'],
    ['req', '-new', '-key', 'key.pem', '-subj', '/CN=ftpkit-test', '-out', 'req.csr'],
    ['ca', '-config', 'ca.cnf', '-selfsign', '-keyfile', 'key.pem', '-in', 'req.csr', '-out', 'cert.pem', '-startdate', start, '-enddate', end, '-batch', '-notext'],
  ];
  for (const args of steps) {
    const r = spawnSync('openssl', args, { cwd: d, encoding: 'utf8', timeout: 15_000 });
    if (r.status !== 0) throw new Error(`openssl ${args[0]} failed: ${r.stderr}`);
  }
  return { cert: await readFile(join(d, 'cert.pem')), key: await readFile(join(d, 'key.pem')) };
}

describe('FTPS failures at the client', () => {
  let fx: FtpsFixture;
  let tmp: TempDir;
  beforeAll(async () => {
    fx = await startFtpsServer({ version: 'TLSv1.3' });
    tmp = await makeTempDir('ftpkit-badcert-');
  });
  afterAll(async () => {
    await fx?.close();
    await tmp?.cleanup();
  });

  it('an expired certificate fails with FTPKIT_ERR_TLS (even when trusted), and works only when allowed', async () => {
    const expired = await makeCert(tmp.path, 'expired', 'DNS:localhost,IP:127.0.0.1', '20200101000000Z', '20200102000000Z');
    fx.server.setTls({ cert: expired.cert, key: expired.key });
    try {
      const opts: FileClientOptions = { host: fx.host, port: fx.port, user: 'alice', password: 'secret', tls: 'explicit', ca: expired.cert };
      const err = await withClient(opts, async () => undefined).catch((e: unknown) => e);
      expect(err).toMatchObject({ code: 'FTPKIT_ERR_TLS', message: 'TLS: certificate has expired' });
      const r = await bin(GET, ['--ca', join(tmp.path, 'expired/cert.pem'), fx.url('/', 'ftps')]);
      expect(r).toMatchObject({ code: 35, stderr: 'ftp-get: TLS: certificate has expired\n' });
      await withClient({ ...opts, rejectUnauthorized: false }, async (c) => expect(await c.pwd()).toBe('/'));
      await withClient({ ...opts, ca: undefined, fingerprint256: new X509Certificate(expired.cert).fingerprint256 }, async (c) => expect(await c.pwd()).toBe('/'));
    } finally {
      fx.server.setTls({ cert: TEST_CERT, key: (await import('../helpers/tls.js')).TEST_KEY });
    }
  });

  it('a certificate for another host fails with FTPKIT_ERR_TLS (even when trusted)', async () => {
    const other = await makeCert(tmp.path, 'other', 'DNS:other.example', '20200101000000Z', '21000101000000Z');
    fx.server.setTls({ cert: other.cert, key: other.key });
    try {
      const opts: FileClientOptions = { host: fx.host, port: fx.implicitPort, user: 'alice', password: 'secret', tls: 'implicit', ca: other.cert };
      const err = await withClient(opts, async () => undefined).catch((e: unknown) => e);
      expect(err).toMatchObject({ code: 'FTPKIT_ERR_TLS', message: expect.stringMatching(/^TLS: Hostname\/IP does not match certificate's altnames: IP: 127\.0\.0\.1 is not in the cert's list/) });
      const r = await bin(GET, ['--ca', join(tmp.path, 'other/cert.pem'), fx.url('/', 'ftps')]);
      expect(r.code).toBe(35);
      expect(r.stderr).toMatch(/^ftp-get: TLS: Hostname\/IP does not match certificate's altnames/);
      // The name it was made for is accepted (SNI and the check use servername).
      await withClient({ ...opts, servername: 'other.example' }, async (c) => expect(await c.pwd()).toBe('/'));
    } finally {
      fx.server.setTls({ cert: TEST_CERT, key: (await import('../helpers/tls.js')).TEST_KEY });
    }
  });

  /** A TCP server that accepts and then does what `onConnection` says (or nothing at all). */
  async function stallServer(onConnection: (s: net.Socket) => void = () => {}): Promise<{ port: number; close(): Promise<void> }> {
    const sockets = new Set<net.Socket>();
    const server = net.createServer((s) => {
      sockets.add(s);
      s.on('error', () => {});
      s.on('close', () => sockets.delete(s));
      onConnection(s);
    });
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    return {
      port: (server.address() as net.AddressInfo).port,
      close: async () => {
        for (const s of sockets) s.destroy();
        await new Promise((r) => server.close(r));
      },
    };
  }

  async function expectFdsBack(before: number): Promise<void> {
    for (let i = 0; i < 100 && countFds() > before; i++) await new Promise((r) => setTimeout(r, 20));
    expect(countFds()).toBeLessThanOrEqual(before);
  }

  it('a server that accepts and says nothing: the implicit handshake times out, no fd leaked', async () => {
    const stall = await stallServer();
    const before = countFds();
    const t0 = Date.now();
    const client = new FileClient({ host: '127.0.0.1', port: stall.port, tls: 'implicit', timeout: 400 });
    const err = await client.connect().catch((e: unknown) => e);
    expect(err).toMatchObject({ code: 'FTPKIT_ERR_TIMEOUT', message: 'TLS handshake on the control connection took longer than 400 ms' });
    expect(Date.now() - t0).toBeLessThan(3000);
    expect(client.connected).toBe(false);
    await stall.close();
    await expectFdsBack(before);
  });

  it('a server that answers 234 to AUTH TLS and then stalls: times out, no fd leaked', async () => {
    const stall = await stallServer((s) => {
      s.write('220 hello\r\n');
      s.on('data', (d: Buffer) => {
        if (d.toString().startsWith('AUTH TLS')) s.write('234 go ahead\r\n');
      });
    });
    const before = countFds();
    const client = new FileClient({ host: '127.0.0.1', port: stall.port, tls: 'explicit', timeout: 400 });
    const err = await client.connect().catch((e: unknown) => e);
    expect(err).toMatchObject({ code: 'FTPKIT_ERR_TIMEOUT', message: 'TLS handshake on the control connection took longer than 400 ms' });
    await stall.close();
    await expectFdsBack(before);
  });

  it('an abort during the handshake rejects with FTPKIT_ERR_ABORTED at once, no fd leaked', async () => {
    const stall = await stallServer();
    const before = countFds();
    const client = new FileClient({ host: '127.0.0.1', port: stall.port, tls: 'implicit', timeout: 10_000 });
    const ac = new AbortController();
    setTimeout(() => ac.abort(), 100);
    const t0 = Date.now();
    const err = await client.connect({ signal: ac.signal }).catch((e: unknown) => e);
    expect(err).toMatchObject({ code: 'FTPKIT_ERR_ABORTED' });
    expect(Date.now() - t0).toBeLessThan(2000);
    await stall.close();
    await expectFdsBack(before);
  });

  it('a server that refuses AUTH TLS fails with FTPKIT_ERR_TLS before any password is sent', async () => {
    const heard: string[] = [];
    const stall = await stallServer((s) => {
      s.write('220 hello\r\n');
      s.on('data', (d: Buffer) => {
        heard.push(d.toString());
        s.write('500 unknown command\r\n');
      });
    });
    const client = new FileClient({ host: '127.0.0.1', port: stall.port, user: 'u', password: 'p', tls: 'explicit', timeout: 2000 });
    const err = await client.connect().catch((e: unknown) => e);
    expect(err).toMatchObject({ code: 'FTPKIT_ERR_TLS', replyCode: 500, message: 'TLS: the server refused AUTH TLS: 500 unknown command' });
    expect(heard.join('')).toBe('AUTH TLS\r\n');
    await stall.close();
  });

  it('validates the TLS options at construction', () => {
    expect(() => new FileClient({ host: 'h', tls: 'yes' as never })).toThrow(expect.objectContaining({ code: 'FTPKIT_ERR_INVALID_ARGUMENT' }));
    expect(() => new FileClient({ host: 'h', tls: 'explicit', fingerprint256: 'abc' })).toThrow(expect.objectContaining({ code: 'FTPKIT_ERR_INVALID_ARGUMENT' }));
    expect(new FileClient({ host: 'h', tls: 'implicit' }).options.port).toBe(990);
    expect(new FileClient({ host: 'h', tls: 'explicit' }).options.port).toBe(21);
  });
});
