// Shared ticket keys (issue 19): the key derivation, the HMAC check of a real OpenSSL ticket, and
// the ClientHello parser that finds the ticket a client presents (TLS 1.3 PSK, TLS 1.2 extension).
import { randomBytes } from 'node:crypto';
import { createServer, type Server, type Socket } from 'node:net';
import { connect as tlsConnect, createSecureContext, TLSSocket } from 'node:tls';
import { afterEach, describe, expect, it } from 'vitest';
import { deriveTicketKeys, readClientHello, ticketInClientHello, verifiedTicketName } from '../../../src/server/tls-tickets.js';
import { TEST_CERT, TEST_KEY } from '../../helpers/tls.js';

const secret = randomBytes(48);
let server: Server | undefined;
afterEach(() => {
  server?.close();
  server = undefined;
});

/**
 * A TLS server whose contexts are keyed with `name` under `secret`; it records each ClientHello
 * (through readClientHello, as the FTP server does) and whether the handshake resumed.
 */
async function ticketServer(name: Buffer): Promise<{ port: number; hellos: Buffer[]; resumed: boolean[] }> {
  const hellos: Buffer[] = [];
  const resumed: boolean[] = [];
  const context = createSecureContext({ cert: TEST_CERT, key: TEST_KEY });
  const { keys, sessionIdContext } = deriveTicketKeys(secret, name);
  const native = context.context as { setTicketKeys(k: Buffer): void; setSessionIdContext(s: string): void };
  native.setTicketKeys(keys);
  native.setSessionIdContext(sessionIdContext);
  server = createServer((raw: Socket) => {
    raw.on('error', () => {});
    void readClientHello(raw).then((hello) => {
      hellos.push(hello);
      const secure = new TLSSocket(raw, { isServer: true, secureContext: context });
      secure.on('error', () => {});
      secure.once('secure', () => {
        resumed.push(secure.isSessionReused());
        secure.end('hello');
      });
    });
  });
  await new Promise<void>((r) => server!.listen(0, '127.0.0.1', r));
  return { port: (server.address() as { port: number }).port, hellos, resumed };
}

/** Connects, reads until the end, returns the session and the ticket the server gave. */
async function visit(port: number, version: 'TLSv1.2' | 'TLSv1.3', session?: Buffer): Promise<{ session: Buffer; ticket: Buffer; reused: boolean; data: string }> {
  const socket = tlsConnect({ host: '127.0.0.1', port, rejectUnauthorized: false, minVersion: version, maxVersion: version, ...(session ? { session } : {}) });
  let last: Buffer | undefined;
  let ticket: Buffer | undefined;
  socket.on('session', (s: Buffer) => {
    last = s;
    ticket = socket.getTLSTicket();
  });
  let data = '';
  let reused = false;
  socket.once('secureConnect', () => (reused = socket.isSessionReused()));
  socket.on('data', (d: Buffer) => (data += d.toString()));
  await new Promise<void>((resolve, reject) => {
    socket.once('end', resolve);
    socket.once('error', reject);
  });
  await new Promise((r) => setImmediate(r));
  return { session: last!, ticket: ticket!, reused, data };
}

describe.each(['TLSv1.3', 'TLSv1.2'] as const)('shared ticket keys over %s', (version) => {
  it("verifies a real ticket's HMAC under its name, finds it in the ClientHello, and resumes", async () => {
    const name = randomBytes(16);
    const s = await ticketServer(name);
    const first = await visit(s.port, version);
    expect(first.data).toBe('hello');
    expect(first.ticket.subarray(0, 16)).toEqual(name); // the name is the ticket's first 16 bytes
    expect(verifiedTicketName(secret, first.ticket)).toEqual(name);
    expect(verifiedTicketName(randomBytes(48), first.ticket)).toBeUndefined(); // another cluster's secret
    const tampered = Buffer.from(first.ticket);
    tampered[40]! ^= 1;
    expect(verifiedTicketName(secret, tampered)).toBeUndefined();

    const again = await visit(s.port, version, first.session);
    expect(again.reused).toBe(true);
    expect(s.resumed).toEqual([false, true]);
    // The ClientHello of the second visit carries exactly the ticket of the first.
    expect(ticketInClientHello(s.hellos[0]!)).toBeUndefined();
    expect(ticketInClientHello(s.hellos[1]!)).toEqual(first.ticket);
  });

  it('a server keyed with another name of the same secret does not resume the ticket', async () => {
    const s1 = await ticketServer(randomBytes(16));
    const first = await visit(s1.port, version);
    server!.close();
    const s2 = await ticketServer(randomBytes(16));
    expect((await visit(s2.port, version, first.session)).reused).toBe(false);
  });
});

describe('ticketInClientHello on bad input', () => {
  it('returns undefined, never throws, on anything that is not a whole ClientHello', () => {
    const bad = [
      Buffer.alloc(0),
      Buffer.from('USER alice\r\n'),
      Buffer.from([0x16, 3, 1, 0, 4, 1, 0, 0, 0]),
      Buffer.from([0x16, 3, 1, 0xff, 0xff, 1, 0, 0xff, 0xff, ...randomBytes(60)]),
      Buffer.from([0x15, 3, 3, 0, 2, 2, 40]),
    ];
    for (const b of bad) expect(ticketInClientHello(b)).toBeUndefined();
    for (let i = 0; i < 2000; i++) {
      const fuzz = randomBytes(20 + (i % 300));
      fuzz[0] = 0x16;
      fuzz[5] = 1;
      expect(() => ticketInClientHello(fuzz)).not.toThrow();
    }
  });
});
