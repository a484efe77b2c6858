// TLS across nodes (issue 19): with `tls.ticketKeys` shared, a control connection resumes on any
// node the TLS session another node gave it, and PROT P data connections stay bound to their own
// control connection (a ticket of another one gets 522 and no bytes), also when an attacker
// presents a forged ticket under the victim's key name.
import { randomBytes } from 'node:crypto';
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { FileServer } from '../../../src/index.js';
import { parseEpsvText } from '../../../src/protocol/index.js';
import { RawFtp } from '../../helpers/raw-ftp.js';
import { TEST_CERT, TEST_KEY } from '../../helpers/tls.js';
import { makeTempDir, sha256Buffer, type TempDir } from '../../helpers/tmp.js';
import { connect, type Socket } from 'node:net';
import { connect as tlsConnect, type ConnectionOptions } from 'node:tls';

type Version = 'TLSv1.2' | 'TLSv1.3';
const servers: FileServer[] = [];
let dir: TempDir | undefined;
afterEach(async () => {
  await Promise.all(servers.splice(0).map((s) => s.close()));
  await dir?.cleanup();
  dir = undefined;
});

/** A node sharing `root` (the shared folder) with the others; `ticketKeys` as given. */
async function node(root: string, ticketKeys?: Buffer): Promise<number> {
  const server = new FileServer({
    authenticate: ({ username, password }) => (username === 'alice' && password === 'secret' ? { root, write: true } : false),
    tls: { cert: TEST_CERT, key: TEST_KEY, ...(ticketKeys ? { ticketKeys } : {}) },
  });
  servers.push(server);
  return (await server.listen()).port;
}

/** AUTH TLS on `port`, offering `session`; logged in with PROT P unless `login` is false. */
async function control(port: number, version: Version, session?: Buffer, login = true): Promise<{ c: RawFtp; resumed: boolean }> {
  const c = await RawFtp.connect(port);
  c.tlsOptions = { rejectUnauthorized: false, minVersion: version, maxVersion: version };
  expect((await c.send('AUTH TLS')).code).toBe(234);
  await c.upgrade(session ? { session } : {});
  const resumed = c.tls!.isSessionReused();
  if (login) {
    await c.login();
    expect((await c.send('PBSZ 0')).code).toBe(200);
    expect((await c.send('PROT P')).code).toBe(200);
    c.protectData = true;
    expect((await c.send('TYPE I')).code).toBe(200);
  }
  return { c, resumed };
}

/** A data connection to `port` that offers `options.session` and records what it got. */
async function thief(port: number, options: ConnectionOptions): Promise<{ got: () => number; closed: Promise<void>; resumed: Promise<boolean> }> {
  const raw: Socket = connect({ host: '127.0.0.1', port });
  raw.on('error', () => {});
  await new Promise((r) => raw.once('connect', r));
  const secure = tlsConnect({ socket: raw, rejectUnauthorized: false, ...options });
  let bytes = 0;
  secure.on('data', (d: Buffer) => (bytes += d.length));
  secure.on('error', () => {});
  const closed = new Promise<void>((r) => secure.once('close', () => r()));
  const resumed = new Promise<boolean>((r) => {
    secure.once('secureConnect', () => r(secure.isSessionReused()));
    secure.once('close', () => r(false));
  });
  return { got: () => bytes, closed, resumed };
}

/**
 * The attacker races to the victim's passive port with its own session (`stolen`) while the
 * victim starts a RETR: the victim gets 522, the attacker no byte and no resumption.
 */
async function raceRefused(victim: RawFtp, stolen: Buffer, version: Version): Promise<void> {
  const dataPort = parseEpsvText((await victim.send('EPSV')).text)!;
  const t = await thief(dataPort, { session: stolen, minVersion: version, maxVersion: version });
  expect((await victim.send('RETR secret.bin')).code).toBe(150);
  expect((await victim.read()).code).toBe(522);
  await t.closed;
  expect(t.got()).toBe(0);
  expect(await t.resumed).toBe(false);
}

describe.each(['TLSv1.3', 'TLSv1.2'] as const)('tls.ticketKeys shared by two nodes, %s', (version) => {
  it('a control connection resumes on node B the session node A gave; PROT P transfers on B work', async () => {
    dir = await makeTempDir('ftpkit-tickets-');
    const body = randomBytes(200 * 1024);
    await writeFile(join(dir.path, 'shared.bin'), body);
    const keys = randomBytes(48);
    const [a, b] = [await node(dir.path, keys), await node(dir.path, keys)];

    const first = await control(a, version);
    expect(first.resumed).toBe(false);
    const session = first.c.tls!.getSession()!;
    first.c.close();

    const second = await control(b, version, session);
    expect(second.resumed).toBe(true); // B opened A's ticket
    const down = await second.c.fetch('RETR shared.bin');
    expect(down.final.code).toBe(226);
    expect(sha256Buffer(down.data)).toBe(sha256Buffer(body));
    expect((await second.c.store('STOR up.bin', body)).final.code).toBe(226);
    const fromB = second.c.tls!.getSession()!;
    second.c.close();

    // The session B gave resumes on A in turn.
    const third = await control(a, version, fromB);
    expect(third.resumed).toBe(true);
    expect((await third.c.fetch('RETR up.bin')).final.code).toBe(226);
    third.c.close();
  });

  it('without shared keys, or with different ones, a node does not resume another node\'s session (transfers still work)', async () => {
    dir = await makeTempDir('ftpkit-tickets-');
    await writeFile(join(dir.path, 'f.bin'), randomBytes(1000));
    const a = await node(dir.path, randomBytes(48));
    const b = await node(dir.path, randomBytes(48));
    const c = await node(dir.path);
    const first = await control(a, version);
    const session = first.c.tls!.getSession()!;
    first.c.close();
    for (const port of [b, c]) {
      const other = await control(port, version, session);
      expect(other.resumed).toBe(false);
      expect((await other.c.fetch('RETR f.bin')).final.code).toBe(226);
      other.c.close();
    }
  });

  it("data stays bound: another control connection's ticket (same node or the other) gets 522 and no bytes", async () => {
    dir = await makeTempDir('ftpkit-tickets-');
    await writeFile(join(dir.path, 'secret.bin'), randomBytes(256 * 1024));
    const keys = randomBytes(48);
    const [a, b] = [await node(dir.path, keys), await node(dir.path, keys)];
    const victim = await control(a, version);
    for (const port of [a, b]) {
      const attacker = await control(port, version, undefined, false);
      await raceRefused(victim.c, attacker.c.tls!.getSession()!, version);
      attacker.c.close();
    }
    expect((await victim.c.fetch('RETR secret.bin')).final.code).toBe(226);
    victim.c.close();
  });

  it("a forged ticket under the victim's key name is not adopted: the attacker's next ticket opens nothing of the victim's", async () => {
    dir = await makeTempDir('ftpkit-tickets-');
    await writeFile(join(dir.path, 'secret.bin'), randomBytes(64 * 1024));
    const keys = randomBytes(48);
    const a = await node(dir.path, keys);
    const victim = await control(a, version);
    // Key names travel in clear: the attacker copies the victim's ticket and breaks its HMAC.
    const ticket = victim.c.tls!.getTLSTicket()!;
    const forgedSession = Buffer.from(victim.c.tls!.getSession()!);
    const at = forgedSession.indexOf(ticket);
    expect(at).toBeGreaterThan(0);
    forgedSession[at + ticket.length - 1]! ^= 0xff; // last byte of the HMAC
    const attacker = await control(a, version, forgedSession, false);
    expect(attacker.resumed).toBe(false);
    expect(attacker.c.tls!.getTLSTicket()!.subarray(0, 16)).not.toEqual(ticket.subarray(0, 16));
    await raceRefused(victim.c, attacker.c.tls!.getSession()!, version);
    attacker.c.close();
    victim.c.close();
  });
});

describe('tls.ticketKeys on the implicit FTPS port', () => {
  it('the greeting comes inside TLS, and a session from one node resumes on the other', async () => {
    dir = await makeTempDir('ftpkit-tickets-');
    await writeFile(join(dir.path, 'f.bin'), randomBytes(5000));
    const keys = randomBytes(48);
    const implicit = async (): Promise<number> => {
      const server = new FileServer({
        authenticate: ({ password }) => (password === 'secret' ? { root: dir!.path } : false),
        tls: { cert: TEST_CERT, key: TEST_KEY, ticketKeys: keys },
        implicitTlsPort: 0,
      });
      servers.push(server);
      await server.listen();
      return server.implicitAddress()!.port;
    };
    const [a, b] = [await implicit(), await implicit()];
    const first = await RawFtp.connectTls(a); // throws unless a 220 arrives inside TLS
    expect(first.tls!.isSessionReused()).toBe(false);
    const session = first.tls!.getSession()!;
    first.close();
    const second = await RawFtp.connectTls(b, { session });
    expect(second.tls!.isSessionReused()).toBe(true);
    await second.login();
    expect((await second.send('PBSZ 0')).code).toBe(200);
    expect((await second.send('PROT P')).code).toBe(200);
    second.protectData = true;
    expect((await second.fetch('RETR f.bin')).final.code).toBe(226);
    second.close();
  });
});

describe('tls.ticketKeys bad input', () => {
  it('anything but 48 bytes is refused naming the option', () => {
    for (const ticketKeys of [Buffer.alloc(0), randomBytes(47), randomBytes(80)]) {
      expect(() => new FileServer({ tls: { cert: TEST_CERT, key: TEST_KEY, ticketKeys } })).toThrow(/ticketKeys must be a Buffer of 48 bytes/);
    }
  });

  it('a control connection that sends garbage or nothing instead of a ClientHello is closed by the timeouts, nothing leaks', async () => {
    dir = await makeTempDir('ftpkit-tickets-');
    const server = new FileServer({
      authenticate: () => ({ root: dir!.path }),
      tls: { cert: TEST_CERT, key: TEST_KEY, ticketKeys: randomBytes(48) },
      timeouts: { login: 500, idle: 500 },
    });
    servers.push(server);
    const { port } = await server.listen();
    const garbage = await RawFtp.connect(port);
    expect((await garbage.send('AUTH TLS')).code).toBe(234);
    garbage.socket.write('USER alice\r\nPASS x\r\n');
    const silent = await RawFtp.connect(port);
    expect((await silent.send('AUTH TLS')).code).toBe(234);
    await expect.poll(() => garbage.closed && silent.closed, { timeout: 5000 }).toBe(true);
    await expect.poll(() => server.connections, { timeout: 5000 }).toBe(0);
  });
});
