// Attacks on FTPS that a peer on the victim's own address can try (issue 12): taking a PROT P
// data connection with another TLS session, flooding the session cache, renegotiating, and
// what the implicit-FTPS port says when it refuses a connection.
import { constants, randomBytes } from 'node:crypto';
import { spawn } from 'node:child_process';
import { readFile, stat, writeFile } from 'node:fs/promises';
import { connect, type Socket } from 'node:net';
import { connect as tlsConnect, type ConnectionOptions, type TLSSocket } from 'node:tls';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
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
type Version = 'TLSv1.2' | 'TLSv1.3';

/** The 522 text: says how to let clients that never resume (Python's ftplib) in. */
const REUSE_REFUSAL = "Data connection must resume the control connection's TLS session";

/**
 * A TLS control connection. `ids` makes a TLS 1.2 client that resumes by session ID (no tickets),
 * the path that goes through the server's session-ID cache.
 */
async function tlsControl(port: number, version: Version, ids = false, login = true): Promise<RawFtp> {
  const c = await RawFtp.connect(port);
  c.tlsOptions = { rejectUnauthorized: false, minVersion: version, maxVersion: version, ...(ids ? { secureOptions: constants.SSL_OP_NO_TICKET } : {}) };
  expect((await c.send('AUTH TLS')).code).toBe(234);
  await c.upgrade();
  if (!login) return c;
  await c.login();
  expect((await c.send('PBSZ 0')).code).toBe(200);
  expect((await c.send('PROT P')).code).toBe(200);
  c.protectData = true;
  expect((await c.send('TYPE I')).code).toBe(200);
  return c;
}

/** Connects to `port` first and offers `session` (the attacker's own) on the TLS handshake. */
interface Racer {
  tls: TLSSocket;
  /** Everything the server sent it in the clear (after TLS). */
  got: () => Buffer;
  closed: Promise<void>;
  /** True once the handshake is done. */
  secured: Promise<boolean>;
  /** Whether the server resumed the session it offered (false without a finished handshake). */
  resumed: Promise<boolean>;
}

async function race(port: number, options: ConnectionOptions): Promise<Racer> {
  const raw: Socket = connect({ host: '127.0.0.1', port });
  raw.on('error', () => {});
  await new Promise((r) => raw.once('connect', r));
  const secure = tlsConnect({ socket: raw, rejectUnauthorized: false, ...options });
  const chunks: Buffer[] = [];
  secure.on('data', (d: Buffer) => chunks.push(d));
  secure.on('error', () => {});
  const closed = new Promise<void>((r) => secure.once('close', () => r()));
  let resumed = false;
  const secured = new Promise<boolean>((r) => {
    secure.once('secureConnect', () => {
      resumed = secure.isSessionReused();
      r(true);
    });
    secure.once('close', () => r(false));
  });
  return { tls: secure, got: () => Buffer.concat(chunks), closed, secured, resumed: secured.then(() => resumed) };
}

const attacks = [
  { version: 'TLSv1.3', ids: false, label: 'TLS 1.3 ticket' },
  { version: 'TLSv1.2', ids: false, label: 'TLS 1.2 ticket' },
  { version: 'TLSv1.2', ids: true, label: 'TLS 1.2 session ID' },
] as const;

describe.each(attacks)('a PROT P data connection that resumes another control connection: $label', ({ version, ids }) => {
  it('RETR: the attacker gets 0 bytes, the victim 522, then its own transfer intact', async () => {
    t = await startTestServer({ tls });
    const body = randomBytes(256 * 1024);
    await writeFile(join(t.root, 'secret.bin'), body);
    const victim = await tlsControl(t.port, version, ids);
    const attacker = await tlsControl(t.port, version, ids, false); // AUTH TLS only, no login
    const port = parseEpsvText((await victim.send('EPSV')).text)!;
    const thief = await race(port, { session: attacker.tls!.getSession(), minVersion: version, maxVersion: version, ...(ids ? { secureOptions: constants.SSL_OP_NO_TICKET } : {}) });
    expect((await victim.send('RETR secret.bin')).code).toBe(150);
    const refused = await victim.read();
    expect(refused.code).toBe(522);
    expect(refused.text).toContain(REUSE_REFUSAL);
    await thief.closed;
    expect(thief.got().length).toBe(0);
    expect(await thief.resumed).toBe(false); // the attacker's own session is not honoured here
    // The victim's own data connection resumes its session and gets the file.
    const down = await victim.fetch('RETR secret.bin');
    expect(down.final.code).toBe(226);
    expect(sha256Buffer(down.data)).toBe(sha256Buffer(body));
    victim.close();
    attacker.close();
  });

  it("STOR: the attacker's bytes never reach the file; the victim's upload is intact", async () => {
    t = await startTestServer({ tls });
    const evil = Buffer.from('attacker content\n');
    const body = randomBytes(256 * 1024);
    const victim = await tlsControl(t.port, version, ids);
    const attacker = await tlsControl(t.port, version, ids, false);
    const port = parseEpsvText((await victim.send('EPSV')).text)!;
    const thief = await race(port, { session: attacker.tls!.getSession(), minVersion: version, maxVersion: version, ...(ids ? { secureOptions: constants.SSL_OP_NO_TICKET } : {}) });
    void thief.secured.then((ok) => ok && thief.tls.end(evil));
    expect((await victim.send('STOR up.bin')).code).toBe(150);
    const refused = await victim.read();
    expect(refused.code).toBe(522);
    expect(refused.text).toContain(REUSE_REFUSAL);
    await thief.closed;
    await expect(stat(join(t.root, 'up.bin'))).rejects.toMatchObject({ code: 'ENOENT' });
    expect((await victim.store('STOR up.bin', body)).final.code).toBe(226);
    expect(sha256Buffer(await readFile(join(t.root, 'up.bin')))).toBe(sha256Buffer(body));
    victim.close();
    attacker.close();
  });

  it("a session kept after its control connection ended is no key to the next one's data", async () => {
    // The server reuses a finished session's TLS context for the next AUTH TLS (re-keyed): the
    // attacker quits first, so the victim gets the very context the attacker's session came from.
    t = await startTestServer({ tls });
    const body = randomBytes(64 * 1024);
    await writeFile(join(t.root, 'secret.bin'), body);
    const attacker = await tlsControl(t.port, version, ids, false);
    const kept = attacker.tls!.getSession();
    attacker.close();
    await until(() => t!.server.connections === 0);
    await new Promise((r) => setTimeout(r, 20)); // the binding is released after 'closed'
    const victim = await tlsControl(t.port, version, ids);
    const port = parseEpsvText((await victim.send('EPSV')).text)!;
    const thief = await race(port, { session: kept, minVersion: version, maxVersion: version, ...(ids ? { secureOptions: constants.SSL_OP_NO_TICKET } : {}) });
    expect((await victim.send('RETR secret.bin')).code).toBe(150);
    expect((await victim.read()).code).toBe(522);
    await thief.closed;
    expect(thief.got().length).toBe(0);
    expect(await thief.resumed).toBe(false);
    const down = await victim.fetch('RETR secret.bin');
    expect(down.final.code).toBe(226);
    expect(sha256Buffer(down.data)).toBe(sha256Buffer(body));
    victim.close();
  });
});

/**
 * Other clients' handshakes in the flood test. The old shared cache held 10,000 sessions, so it
 * took 10,400 to evict one (FTPKIT_TLS_FLOOD=10400 runs that, 1–2 min). There is no shared store
 * now; 200 is more than any bound left (128 pooled contexts, 8 sessions a binding), so a shared
 * cache of that size or smaller coming back would show here.
 */
const FLOOD = Number(process.env.FTPKIT_TLS_FLOOD ?? 200);

describe('a flood of other TLS handshakes', () => {
  it(`${FLOOD} pre-login AUTH TLS from the same address leave a logged-in client's PROT P transfers working`, async () => {
    t = await startTestServer({ tls, maxConnectionsPerAddress: 0, loginGuard: false });
    const body = randomBytes(64 * 1024);
    await writeFile(join(t.root, 'f.bin'), body);
    // Resumes by session ID: the path a shared server-side cache served (and a flood could evict).
    const victim = await tlsControl(t.port, 'TLSv1.2', true);
    expect(sha256Buffer((await victim.fetch('RETR f.bin')).data)).toBe(sha256Buffer(body));
    let done = 0;
    const worker = async (): Promise<void> => {
      while (done < FLOOD) {
        done++;
        const raw = connect({ host: '127.0.0.1', port: t!.port });
        raw.on('error', () => {});
        await new Promise((r) => raw.once('data', r)); // 220
        raw.write('AUTH TLS\r\n');
        await new Promise((r) => raw.once('data', r)); // 234
        const s = tlsConnect({ socket: raw, rejectUnauthorized: false, maxVersion: 'TLSv1.2', secureOptions: constants.SSL_OP_NO_TICKET });
        s.on('error', () => {});
        await new Promise((r) => s.once('secureConnect', r));
        s.destroy();
      }
    };
    await Promise.all(Array.from({ length: 8 }, worker));
    const down = await victim.fetch('RETR f.bin');
    expect(down.final.code).toBe(226);
    expect(sha256Buffer(down.data)).toBe(sha256Buffer(body));
    expect((await victim.store('STOR g.bin', body)).final.code).toBe(226);
    expect(sha256Buffer(await readFile(join(t.root, 'g.bin')))).toBe(sha256Buffer(body));
    victim.close();
  }, 600_000);
});

describe('TLS renegotiation', () => {
  it('a TLS 1.2 client that renegotiates before login is refused, every time (Node client)', async () => {
    t = await startTestServer({ tls });
    for (let i = 0; i < 3; i++) {
      const c = await tlsControl(t.port, 'TLSv1.2', false, false);
      const tlsSocket = c.tls!;
      const outcome = await new Promise<string>((resolve) => {
        tlsSocket.once('error', (err: NodeJS.ErrnoException) => resolve(`error ${err.code}`));
        tlsSocket.once('close', () => resolve('closed'));
        const started = tlsSocket.renegotiate({ rejectUnauthorized: false }, (err) => resolve(err ? `error ${(err as NodeJS.ErrnoException).code}` : 'renegotiated'));
        if (!started) resolve('not started');
      });
      expect(outcome).toBe('error ERR_SSL_NO_RENEGOTIATION');
      c.close();
    }
    // The server goes on serving everyone else.
    const other = await tlsControl(t.port, 'TLSv1.2');
    expect((await other.send('NOOP')).code).toBe(200);
    other.close();
  });

  it('a PROT P data connection that renegotiates is refused too; the session goes on', async () => {
    t = await startTestServer({ tls });
    const c = await tlsControl(t.port, 'TLSv1.2');
    const data = (await c.passive()) as TLSSocket;
    const secured = new Promise((r) => data.once('secureConnect', r));
    expect((await c.send('STOR r.bin')).code).toBe(150);
    await secured;
    data.write('before ');
    const outcome = await new Promise<string>((resolve) => {
      data.once('error', (err: NodeJS.ErrnoException) => resolve(`error ${err.code}`));
      data.renegotiate({ rejectUnauthorized: false }, (err) => resolve(err ? `error ${(err as NodeJS.ErrnoException).code}` : 'renegotiated'));
    });
    expect(outcome).toBe('error ERR_SSL_NO_RENEGOTIATION');
    data.destroy();
    expect([226, 426, 451]).toContain((await c.read()).code);
    expect((await c.send('NOOP')).code).toBe(200);
    c.close();
  });

  it('openssl s_client: R (renegotiate) gets "no renegotiation", the NOOP after it is never answered', async () => {
    t = await startTestServer({ tls });
    const r = await sClient(['-connect', `127.0.0.1:${t.port}`, '-starttls', 'ftp', '-tls1_2'], ['NOOP', 'R', 'NOOP']);
    expect(r.out).toMatch(/^200 NOOP ok/m); // the first NOOP
    expect(r.out).toContain('RENEGOTIATING');
    expect(r.out).toMatch(/no renegotiation/i);
    expect(r.out.split('RENEGOTIATING')[1]).not.toMatch(/^200 /m);
  });
});

describe('implicit FTPS refusals', () => {
  it('the 421 goes inside TLS: a clear-text reader sees no byte, a TLS client reads the 421', async () => {
    t = await startTestServer({ tls, implicitTlsPort: 0, maxConnections: 1, timeouts: { login: 1000 } });
    const port = t.server.implicitAddress()!.port;
    const holder = await RawFtp.connectTls(port); // takes the only slot
    await holder.login(); // and outlives the login timeout, which also bounds a refusal
    // A client that waits for a greeting in clear (no ClientHello) gets nothing, then a close.
    const plain = connect({ host: '127.0.0.1', port });
    plain.on('error', () => {});
    const clear: Buffer[] = [];
    plain.on('data', (d: Buffer) => clear.push(d));
    await new Promise((r) => plain.once('close', r));
    expect(Buffer.concat(clear).length).toBe(0);
    // A TLS client gets the reason.
    const refused = tlsConnect({ host: '127.0.0.1', port, rejectUnauthorized: false });
    refused.on('error', () => {});
    let text = '';
    refused.on('data', (d: Buffer) => (text += d.toString()));
    await new Promise((r) => refused.once('close', r));
    expect(text).toBe('421 Too many connections, try again later\r\n');
    // The explicit port still refuses in clear, as RFC 959 clients expect.
    const explicit = connect({ host: '127.0.0.1', port: t.port });
    let said = '';
    explicit.on('data', (d: Buffer) => (said += d.toString()));
    await new Promise((r) => explicit.once('close', r));
    expect(said).toBe('421 Too many connections, try again later\r\n');
    holder.close();
  });

  it('past 16 refusals in progress, more connections are closed without a handshake', async () => {
    t = await startTestServer({ tls, implicitTlsPort: 0, maxConnections: 1, timeouts: { login: 3000 } });
    const port = t.server.implicitAddress()!.port;
    const holder = await RawFtp.connectTls(port);
    await holder.login();
    const stalled: Socket[] = [];
    for (let i = 0; i < 16; i++) {
      const s = connect({ host: '127.0.0.1', port });
      s.on('error', () => {});
      await new Promise((r) => s.once('connect', r));
      stalled.push(s); // never sends a ClientHello: each holds a refusal slot until the deadline
    }
    await new Promise((r) => setTimeout(r, 100)); // accepted by the server
    const late = tlsConnect({ host: '127.0.0.1', port, rejectUnauthorized: false });
    const outcome = await new Promise<string>((resolve) => {
      late.once('secureConnect', () => resolve('handshake'));
      late.once('error', (err: NodeJS.ErrnoException) => resolve(`error ${err.code}`));
      late.once('close', () => resolve('closed'));
    });
    expect(outcome).toMatch(/^error (ECONNRESET|EPIPE)$|^closed$/);
    for (const s of stalled) s.destroy();
    // Once the server has seen those go, a refusal is explained again.
    let text = '';
    for (let attempt = 0; attempt < 50 && text === ''; attempt++) {
      await new Promise((r) => setTimeout(r, 100));
      const again = tlsConnect({ host: '127.0.0.1', port, rejectUnauthorized: false });
      again.on('error', () => {});
      again.on('data', (d: Buffer) => (text += d.toString()));
      await new Promise((r) => again.once('close', r));
    }
    expect(text).toBe('421 Too many connections, try again later\r\n');
    holder.close();
  });
});

/** Runs `openssl s_client`, typing `lines` one by one (a line "R" asks for renegotiation). */
async function sClient(args: string[], lines: string[]): Promise<{ out: string; code: number | null }> {
  const child = spawn('openssl', ['s_client', ...args], { stdio: ['pipe', 'pipe', 'pipe'] });
  let out = '';
  child.stdout.on('data', (d: Buffer) => (out += d.toString()));
  child.stderr.on('data', (d: Buffer) => (out += d.toString()));
  // openssl is required (it also makes ftp-serve --tls certificates): missing, the test fails.
  child.once('error', (err) => (out += `cannot run openssl: ${err.message}`));
  const exited = new Promise<number | null>((r) => child.once('close', (code) => r(code)));
  const killer = setTimeout(() => child.kill('SIGKILL'), 15_000);
  await until(() => out.includes('Verify return code') || child.exitCode !== null, 10_000).catch(() => {}); // handshake done
  for (const line of lines) {
    if (child.exitCode !== null) break;
    child.stdin.write(`${line}\n`);
    await new Promise((r) => setTimeout(r, 300));
  }
  child.stdin.end();
  const code = await exited;
  clearTimeout(killer);
  return { out, code };
}

describe("tlsSessionReuse: 'optional'", () => {
  it.each(attacks)("another control connection's session is never resumed ($label): the racer gets a full handshake", async ({ version, ids }) => {
    t = await startTestServer({ tls, tlsSessionReuse: 'optional' });
    await writeFile(join(t.root, 'f'), 'data');
    const victim = await tlsControl(t.port, version, ids);
    const other = await tlsControl(t.port, version, ids, false);
    const port = parseEpsvText((await victim.send('EPSV')).text)!;
    const racer = await race(port, { session: other.tls!.getSession(), minVersion: version, maxVersion: version, ...(ids ? { secureOptions: constants.SSL_OP_NO_TICKET } : {}) });
    expect((await victim.send('RETR f')).code).toBe(150);
    // 'optional' takes a data connection that does a full handshake (documented: like plain
    // FTP, the race winner gets the transfer); what it never does is resume a foreign session.
    expect((await victim.read()).code).toBe(226);
    expect(await racer.resumed).toBe(false);
    await racer.closed;
    // The client's own data connections still resume.
    const own = await victim.passive();
    const resumed = new Promise<boolean>((r) => (own as TLSSocket).once('secureConnect', () => r((own as TLSSocket).isSessionReused())));
    const chunks: Buffer[] = [];
    own.on('data', (d: Buffer) => chunks.push(d));
    expect((await victim.send('RETR f')).code).toBe(150);
    expect((await victim.read()).code).toBe(226);
    expect(await resumed).toBe(true);
    victim.close();
    other.close();
  });
});

async function until(check: () => boolean, ms = 5000): Promise<void> {
  const end = Date.now() + ms;
  while (!check()) {
    if (Date.now() > end) throw new Error('condition not met in time');
    await new Promise((r) => setTimeout(r, 10));
  }
}
