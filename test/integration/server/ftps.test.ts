import { randomBytes } from 'node:crypto';
import { readFile, writeFile } from 'node:fs/promises';
import { connect } from 'node:net';
import { connect as tlsConnect } from 'node:tls';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { FileServer } from '../../../src/index.js';
import { parseEpsvText } from '../../../src/protocol/index.js';
import { RawFtp } from '../../helpers/raw-ftp.js';
import { startTestServer, type TestServer } from '../../helpers/server.js';
import { TEST_CERT, TEST_KEY } from '../../helpers/tls.js';
import { sha256Buffer } from '../../helpers/tmp.js';

let t: TestServer | undefined;
afterEach(async () => {
  await t?.close();
  t = undefined;
});

const tls = { cert: TEST_CERT, key: TEST_KEY };

async function secureLogin(port: number, maxVersion: 'TLSv1.2' | 'TLSv1.3' = 'TLSv1.3'): Promise<RawFtp> {
  const c = await RawFtp.connect(port);
  c.tlsOptions = { rejectUnauthorized: false, maxVersion };
  expect((await c.send('AUTH TLS')).code).toBe(234);
  await c.upgrade();
  await c.login();
  expect((await c.send('PBSZ 0')).code).toBe(200);
  expect((await c.send('PROT P')).code).toBe(200);
  c.protectData = true;
  await c.send('TYPE I');
  return c;
}

describe.each(['TLSv1.2', 'TLSv1.3'] as const)('explicit FTPS over %s', (version) => {
  it('AUTH TLS, PBSZ, PROT P: protected RETR, STOR and LIST that resume the session', async () => {
    t = await startTestServer({ tls });
    const body = randomBytes(3 * 1024 * 1024);
    const c = await secureLogin(t.port, version);
    expect((c.socket as import('node:tls').TLSSocket).getProtocol()).toBe(version);
    expect((await c.store('STOR s.bin', body)).final.code).toBe(226);
    expect(sha256Buffer(await readFile(join(t.root, 's.bin')))).toBe(sha256Buffer(body));
    const down = await c.fetch('RETR s.bin');
    expect(down.final.code).toBe(226);
    expect(sha256Buffer(down.data)).toBe(sha256Buffer(body));
    expect((await c.fetch('LIST')).data.toString()).toContain('s.bin');
    c.close();
  });
});

describe('FTPS policies and bad input', () => {
  it('FEAT lists AUTH TLS, PBSZ and PROT only when TLS is configured', async () => {
    t = await startTestServer({ tls });
    const c = await RawFtp.connect(t.port);
    const feat = await c.send('FEAT');
    for (const f of [' AUTH TLS', ' PBSZ', ' PROT']) expect(feat.lines).toContain(f);
    c.close();
    await t.close();
    t = await startTestServer();
    const plain = await RawFtp.connect(t.port);
    expect((await plain.send('FEAT')).lines).not.toContain(' AUTH TLS');
    expect((await plain.send('AUTH TLS')).code).toBe(502);
    plain.close();
  });

  it('PBSZ/PROT before AUTH, PROT before PBSZ, AUTH twice, unknown mechanisms and levels', async () => {
    t = await startTestServer({ tls });
    const c = await RawFtp.connect(t.port);
    expect((await c.send('PBSZ 0')).code).toBe(503);
    expect((await c.send('PROT P')).code).toBe(503);
    expect((await c.send('AUTH KERBEROS')).code).toBe(504);
    expect((await c.send('AUTH TLS')).code).toBe(234);
    await c.upgrade();
    expect((await c.send('PROT P')).code).toBe(503);
    expect((await c.send('AUTH TLS')).code).toBe(503);
    expect((await c.send('PBSZ x')).code).toBe(501);
    expect((await c.send('PBSZ 0')).code).toBe(200);
    expect((await c.send('PROT S')).code).toBe(536);
    expect((await c.send('PROT Q')).code).toBe(504);
    expect((await c.send('PROT C')).code).toBe(200);
    await c.login();
    c.close();
  });

  it('requireTls: USER before AUTH is 530, PROT C is 534, a clear transfer is 521', async () => {
    t = await startTestServer({ tls, requireTls: true });
    const c = await RawFtp.connect(t.port);
    const user = await c.send('USER alice');
    expect(user.code).toBe(530);
    expect(user.text).toContain('AUTH TLS');
    expect((await c.send('AUTH TLS')).code).toBe(234);
    await c.upgrade();
    await c.login();
    expect((await c.send('PBSZ 0')).code).toBe(200);
    expect((await c.send('PROT C')).code).toBe(534);
    await writeFile(join(t.root, 'x'), 'x');
    expect((await c.send('EPSV')).code).toBe(229);
    expect((await c.send('RETR x')).code).toBe(521);
    c.close();
  });

  it('commands pipelined in clear text after AUTH TLS are dropped, not run', async () => {
    t = await startTestServer({ tls });
    const c = await RawFtp.connect(t.port);
    c.write('AUTH TLS\r\nUSER alice\r\nPASS secret\r\nMKD injected\r\n');
    expect((await c.read()).code).toBe(234);
    await c.upgrade();
    expect((await c.send('PWD')).code).toBe(530);
    c.close();
  });

  it('a data connection that does not resume the session is refused with 522', async () => {
    t = await startTestServer({ tls });
    await writeFile(join(t.root, 'secret'), 'top secret');
    const c = await secureLogin(t.port);
    const epsv = await c.send('EPSV');
    const port = parseEpsvText(epsv.text)!;
    const raw = connect({ host: '127.0.0.1', port });
    await new Promise((r) => raw.once('connect', r));
    const thief = tlsConnect({ socket: raw, rejectUnauthorized: false }); // a fresh session
    const got: Buffer[] = [];
    thief.on('data', (d: Buffer) => got.push(d));
    thief.on('error', () => {});
    expect((await c.send('RETR secret')).code).toBe(150);
    const r = await c.read();
    expect(r.code).toBe(522);
    expect(r.text).toBe(
      "Data connection must resume the control connection's TLS session (server option tlsSessionReuse: 'optional' / ftp-serve --tls-session-reuse optional allows clients that do not)",
    );
    expect(Buffer.concat(got).length).toBe(0);
    c.close();
  });

  it("tlsSessionReuse: 'optional' lets such a client through", async () => {
    t = await startTestServer({ tls, tlsSessionReuse: 'optional' });
    await writeFile(join(t.root, 'f'), 'data');
    const c = await secureLogin(t.port);
    const port = parseEpsvText((await c.send('EPSV')).text)!;
    const raw = connect({ host: '127.0.0.1', port });
    await new Promise((r) => raw.once('connect', r));
    const fresh = tlsConnect({ socket: raw, rejectUnauthorized: false });
    let text = '';
    fresh.on('data', (d: Buffer) => (text += d.toString()));
    const closed = new Promise((r) => fresh.on('close', r));
    expect((await c.send('RETR f')).code).toBe(150);
    expect((await c.read()).code).toBe(226);
    await closed;
    expect(text).toBe('data');
    c.close();
  });

  it('a plain (non-TLS) data connection under PROT P fails cleanly; the session goes on', async () => {
    t = await startTestServer({ tls, timeouts: { data: 1000 } });
    await writeFile(join(t.root, 'f'), 'data');
    const c = await secureLogin(t.port);
    c.protectData = false; // the client "forgets" TLS on the data connection
    const r = await c.fetch('RETR f');
    expect(r.mark.code).toBe(150);
    expect(r.final.code).toBe(522);
    expect((await c.send('NOOP')).code).toBe(200);
    c.close();
  });

  it('a TLS client hello on a clear (PROT C) data connection is just bytes: no crash', async () => {
    t = await startTestServer({ tls });
    const c = await RawFtp.connect(t.port);
    await c.login();
    await c.send('TYPE I');
    const port = parseEpsvText((await c.send('EPSV')).text)!;
    const raw = connect({ host: '127.0.0.1', port });
    await new Promise((r) => raw.once('connect', r));
    const hello = tlsConnect({ socket: raw, rejectUnauthorized: false });
    hello.on('error', () => {});
    expect((await c.send('STOR hello.bin')).code).toBe(150);
    await new Promise((r) => setTimeout(r, 200));
    hello.destroy();
    expect([226, 426]).toContain((await c.read()).code);
    expect((await c.send('NOOP')).code).toBe(200);
    c.close();
  });
});

describe('implicit FTPS', () => {
  it('serves TLS from the first byte on the implicit port', async () => {
    t = await startTestServer({ tls, implicitTlsPort: 0 });
    await writeFile(join(t.root, 'f'), 'implicit data');
    const port = t.server.implicitAddress()!.port;
    const c = await RawFtp.connectTls(port);
    await c.login();
    await c.send('PBSZ 0');
    await c.send('PROT P');
    c.protectData = true;
    await c.send('TYPE I');
    expect((await c.fetch('RETR f')).data.toString()).toBe('implicit data');
    expect((await c.send('AUTH TLS')).code).toBe(503);
    c.close();
  });

  it('plain text sent to the implicit port and a stalled handshake: dropped, the server goes on', async () => {
    t = await startTestServer({ tls, implicitTlsPort: 0, timeouts: { login: 500 } });
    const port = t.server.implicitAddress()!.port;
    const plain = connect({ host: '127.0.0.1', port });
    plain.on('error', () => {});
    plain.write('USER alice\r\n');
    await new Promise((r) => plain.on('close', r));
    const stalled = connect({ host: '127.0.0.1', port });
    stalled.on('error', () => {});
    await new Promise((r) => stalled.on('close', r)); // closed by the login timeout
    const c = await RawFtp.connectTls(port);
    await c.login();
    c.close();
  });

  it('requires tls for implicitTlsPort and requireTls; a bad certificate throws at construction', () => {
    expect(() => new FileServer({ implicitTlsPort: 0 })).toThrow(/need tls/);
    expect(() => new FileServer({ requireTls: true })).toThrow(/need tls/);
    expect(() => new FileServer({ tls: { cert: 'nonsense', key: 'nonsense' } })).toThrow(/tls:/);
  });

  it('setTls swaps the certificate without dropping open sessions', async () => {
    t = await startTestServer({ tls });
    await writeFile(join(t.root, 'f'), 'still here');
    const c = await secureLogin(t.port);
    t.server.setTls({ cert: TEST_CERT, key: TEST_KEY });
    expect((await c.fetch('RETR f')).data.toString()).toBe('still here');
    const d = await secureLogin(t.port);
    expect((await d.fetch('RETR f')).data.toString()).toBe('still here');
    c.close();
    d.close();
  });
});

describe('per-user TLS policy', () => {
  async function serverWith(requireTls: boolean): Promise<TestServer> {
    const server = await startTestServer({
      tls,
      requireTls,
      authenticate: ({ username, password }) => {
        if (password !== 'secret') return false;
        if (username === 'carol') return { root: t!.root, write: true, requireTls: true };
        if (username === 'dave') return { root: t!.root, write: true, requireTls: false };
        return false;
      },
    });
    return server;
  }

  it('requireTls: true on a user refuses a clear login and clear data, on a server that allows clear', async () => {
    t = await serverWith(false);
    await writeFile(join(t.root, 'f'), 'x');
    const clear = await RawFtp.connect(t.port);
    await clear.send('USER carol');
    const refused = await clear.send('PASS secret');
    expect(refused.code).toBe(530);
    expect(refused.text).toContain('requires TLS');
    clear.close();
    const c = await RawFtp.connect(t.port);
    expect((await c.send('AUTH TLS')).code).toBe(234);
    await c.upgrade();
    await c.login('carol');
    expect((await c.send('PBSZ 0')).code).toBe(200);
    expect((await c.send('PROT C')).code).toBe(534);
    expect((await c.send('EPSV')).code).toBe(229);
    expect((await c.send('RETR f')).code).toBe(521);
    c.close();
  });

  it('requireTls: false on a user allows clear data on a server that requires TLS (login still over TLS)', async () => {
    t = await serverWith(true);
    await writeFile(join(t.root, 'f'), 'clear data');
    const c = await RawFtp.connect(t.port);
    expect((await c.send('USER dave')).code).toBe(530); // the user is unknown before login: TLS first
    expect((await c.send('AUTH TLS')).code).toBe(234);
    await c.upgrade();
    await c.login('dave');
    expect((await c.send('PBSZ 0')).code).toBe(200);
    expect((await c.send('PROT C')).code).toBe(200);
    await c.send('TYPE I');
    expect((await c.fetch('RETR f')).data.toString()).toBe('clear data');
    c.close();
  });
});
