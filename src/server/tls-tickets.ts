// Session tickets that any node of a cluster can open (`tls.ticketKeys`, ftp-serve
// --tls-ticket-keys), without giving up the binding of PROT P data connections to their own
// control connection (tls-bindings.ts).
//
// Each control connection gets its own ticket key *name*; its keys (and its session ID context)
// are derived from the shared secret and that name. A ticket carries its key name in clear, so a
// node that reads a new control connection's ClientHello can derive the keys of the ticket it
// presents and resume it, whichever node issued it. A PROT P data connection only ever has its own
// control connection's keys: a ticket of another control connection cannot be opened there.
// A name is adopted only when the ticket's HMAC verifies under it: a client cannot pick the name
// of somebody else's connection (names are visible on the wire) to have tickets minted under it.
import { createHmac, hkdfSync, timingSafeEqual } from 'node:crypto';
import type { Socket } from 'node:net';

/** Node's `ticketKeys`: a 16-byte key name, a 16-byte HMAC key, a 16-byte AES key. */
export const TICKET_KEYS_BYTES = 48;
/** OpenSSL's ticket: key name (16), IV (16), encrypted session (16 or more), HMAC-SHA256 (32). */
const MIN_TICKET = 16 + 16 + 16 + 32;
/** A ClientHello is read up to here (one TLS record can be 16 KiB). */
const MAX_RECORD = 5 + 16 * 1024 + 256;

export interface DerivedTicketKeys {
  /** For SecureContext.setTicketKeys: the name, then the HMAC and AES keys. */
  keys: Buffer;
  /** For SecureContext.setSessionIdContext: OpenSSL resumes only sessions made under the same one. */
  sessionIdContext: string;
}

/** The keys and session ID context of ticket key name `name` (16 bytes) under `secret`. */
export function deriveTicketKeys(secret: Buffer, name: Buffer): DerivedTicketKeys {
  const derived = Buffer.from(hkdfSync('sha256', secret, name, 'ftpkit tls ticket keys v1', 48));
  return { keys: Buffer.concat([name, derived.subarray(0, 32)]), sessionIdContext: derived.subarray(32).toString('hex') };
}

/** The key name of `ticket` when it was made with keys derived from `secret` (its HMAC verifies); otherwise undefined. */
export function verifiedTicketName(secret: Buffer, ticket: Buffer): Buffer | undefined {
  if (ticket.length < MIN_TICKET) return undefined;
  const name = Buffer.from(ticket.subarray(0, 16));
  const hmacKey = deriveTicketKeys(secret, name).keys.subarray(16, 32);
  const mac = createHmac('sha256', hmacKey).update(ticket.subarray(0, ticket.length - 32)).digest();
  return timingSafeEqual(mac, ticket.subarray(ticket.length - 32)) ? name : undefined;
}

/**
 * The session ticket a ClientHello record presents: TLS 1.3's first pre_shared_key identity, or
 * TLS 1.2's session_ticket extension. Undefined when there is none or the record is not a
 * well-formed ClientHello (then the handshake is a full one, or fails, as it would anyway).
 */
export function ticketInClientHello(record: Buffer): Buffer | undefined {
  if (record.length < 5 + 4 || record[0] !== 0x16 || record[5] !== 0x01) return undefined;
  const end = Math.min(record.length, 5 + record.readUInt16BE(3));
  let p = 9 + 2 + 32; // handshake header, client_version, random
  const skip = (lengthBytes: 1 | 2): boolean => {
    if (p + lengthBytes > end) return false;
    p += lengthBytes + (lengthBytes === 1 ? record[p]! : record.readUInt16BE(p));
    return p <= end;
  };
  if (!skip(1) || !skip(2) || !skip(1)) return undefined; // session_id, cipher_suites, compression
  if (p + 2 > end) return undefined;
  const extensionsEnd = Math.min(end, p + 2 + record.readUInt16BE(p));
  p += 2;
  let ticket: Buffer | undefined;
  while (p + 4 <= extensionsEnd) {
    const type = record.readUInt16BE(p);
    const length = record.readUInt16BE(p + 2);
    const data = p + 4;
    if (data + length > extensionsEnd) return undefined;
    if (type === 0x0029 && length >= 4) {
      // pre_shared_key: identities<7..2^16-1>, each identity<1..2^16-1> and a 4-byte age.
      const identityLength = record.readUInt16BE(data + 2);
      if (data + 4 + identityLength <= data + length) return record.subarray(data + 4, data + 4 + identityLength);
    } else if (type === 0x0023 && length > 0) {
      ticket = record.subarray(data, data + length);
    }
    p = data + length;
  }
  return ticket;
}

/**
 * Reads the first TLS record from `socket` (a ClientHello, normally) and puts it back, so that a
 * TLSSocket made next reads it from the start. Settles with what was read (maybe nothing) once
 * the record is whole, or is not TLS, or the socket ends: the session's timeouts close a silent one.
 */
export function readClientHello(socket: Socket): Promise<Buffer> {
  return new Promise((resolve) => {
    const chunks: Buffer[] = [];
    let length = 0;
    let settled = false;
    const finish = (): void => {
      if (settled) return;
      settled = true;
      socket.off('data', onData);
      socket.off('end', finish);
      socket.off('close', finish);
      socket.pause();
      const read = chunks.length === 1 ? chunks[0]! : Buffer.concat(chunks, length);
      if (length > 0 && !socket.destroyed) socket.unshift(read);
      resolve(read);
    };
    const onData = (chunk: Buffer): void => {
      chunks.push(chunk);
      length += chunk.length;
      const first = chunks[0]!;
      if (first[0] !== 0x16) return finish();
      if (length < 5) return;
      const head = first.length >= 5 ? first : Buffer.concat(chunks, length);
      if (length >= 5 + head.readUInt16BE(3) || length >= MAX_RECORD) finish();
    };
    socket.on('data', onData);
    socket.once('end', finish);
    socket.once('close', finish);
  });
}
