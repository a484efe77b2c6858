import { BlockList, isIP, type Socket } from 'node:net';
import { FtpError, checkInteger } from '../errors.js';
import { normalizeIp, parseProxyHeader, PROXY_V1_MAX_LENGTH, type ProxyHeader } from '../protocol/index.js';

/** PROXY protocol (v1 and v2) on the control listener, from a load balancer you run. */
export interface ProxyProtocolOptions {
  /**
   * Addresses and CIDR blocks (IPv4 or IPv6: '10.0.0.5', '10.0.0.0/24', 'fd00::/64') of the
   * balancers. A connection from one of them must start with a PROXY header (v1 or v2), else
   * it is closed; a connection from anyone else is an ordinary client, and is closed if it
   * sends a PROXY header.
   */
  trusted: string[];
  /** How long a trusted balancer has to send the header, in ms. Default 3000. */
  timeout?: number;
}

export interface ResolvedProxyProtocol {
  trusted: BlockList;
  list: string[];
  timeout: number;
}

export function resolveProxyProtocol(option: ProxyProtocolOptions | undefined): ResolvedProxyProtocol | undefined {
  if (option === undefined) return undefined;
  if (typeof option !== 'object' || option === null || !Array.isArray(option.trusted) || option.trusted.length === 0) {
    throw new FtpError('FTPKIT_ERR_INVALID_ARGUMENT', 'proxyProtocol.trusted must list at least one address or CIDR block');
  }
  const trusted = new BlockList();
  for (const entry of option.trusted) {
    if (typeof entry !== 'string') throw badEntry(entry);
    const [address, bits, extra] = entry.split('/');
    const ip = normalizeIp(address ?? '');
    const family = isIP(ip);
    if (family === 0 || extra !== undefined) throw badEntry(entry);
    const type = family === 4 ? 'ipv4' : 'ipv6';
    if (bits === undefined) {
      trusted.addAddress(ip, type);
      continue;
    }
    if (!/^\d{1,3}$/.test(bits) || Number(bits) > (family === 4 ? 32 : 128)) throw badEntry(entry);
    trusted.addSubnet(ip, Number(bits), type);
  }
  return { trusted, list: [...option.trusted], timeout: checkInteger('proxyProtocol.timeout', option.timeout ?? 3000, 1, 60_000) };
}

function badEntry(entry: unknown): FtpError {
  return new FtpError('FTPKIT_ERR_INVALID_ARGUMENT', `proxyProtocol.trusted: ${JSON.stringify(entry)} is not an IPv4/IPv6 address or CIDR block`);
}

/** True when `address` (any spelling, IPv4-mapped included) is one of the trusted proxies. */
export function isTrustedProxy(proxy: ResolvedProxyProtocol, address: string): boolean {
  const ip = normalizeIp(address);
  const family = isIP(ip);
  return family !== 0 && proxy.trusted.check(ip, family === 4 ? 'ipv4' : 'ipv6');
}

export type HeaderOutcome = { ok: true; header: ProxyHeader } | { ok: false; reason: string };

/**
 * Reads the PROXY header at the start of `socket` (nothing is sent first: the 220 greeting
 * waits for it). Bytes after it are put back for the session. Resolves { ok: false } on
 * garbage, a header we refuse, the socket closing, or `timeout` ms without a whole header.
 */
export function readProxyHeader(socket: Socket, timeout: number): Promise<HeaderOutcome> {
  return new Promise((resolve) => {
    let received: Buffer = Buffer.alloc(0);
    const finish = (outcome: HeaderOutcome): void => {
      clearTimeout(timer);
      socket.off('data', onData);
      socket.off('close', onClose);
      socket.off('error', onClose);
      resolve(outcome);
    };
    const onData = (chunk: Buffer): void => {
      // Bounded: parseProxyHeader refuses past a v1 line's 107 bytes or a v2 header's length.
      received = received.length === 0 ? chunk : Buffer.concat([received, chunk]);
      const result = parseProxyHeader(received);
      if (result.kind === 'incomplete') return;
      socket.pause();
      if (result.kind === 'invalid') return finish({ ok: false, reason: result.reason });
      const rest = received.subarray(result.length);
      if (rest.length > 0) socket.unshift(rest);
      finish({ ok: true, header: result.header });
    };
    const onClose = (): void => finish({ ok: false, reason: 'closed before a PROXY header' });
    const timer = setTimeout(() => finish({ ok: false, reason: `no PROXY header within ${timeout} ms` }), timeout);
    socket.on('data', onData);
    socket.once('close', onClose);
    socket.once('error', onClose);
  });
}

const V1 = Buffer.from('PROXY ', 'latin1');
const V2 = Buffer.from('0d0a0d0a000d0a515549540a', 'hex');

/**
 * For connections from untrusted addresses when the PROXY protocol is on: a client that opens
 * with a PROXY header is claiming an address it may not claim. It is closed (and `onRefused`
 * told) on its first bytes. Watches only the first chunk.
 */
export function closeOnUntrustedHeader(socket: Socket, onRefused: () => void): void {
  socket.prependOnceListener('data', (chunk: Buffer) => {
    const head = chunk.subarray(0, Math.min(chunk.length, PROXY_V1_MAX_LENGTH));
    if (startsWith(head, V1) || startsWith(head, V2)) {
      onRefused();
      socket.destroy();
    }
  });
}

function startsWith(chunk: Buffer, signature: Buffer): boolean {
  return chunk.length >= signature.length && chunk.subarray(0, signature.length).equals(signature);
}
