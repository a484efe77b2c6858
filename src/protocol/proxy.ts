import { isIPv4, isIPv6 } from 'node:net';

/**
 * The PROXY protocol header a load balancer (HAProxy `send-proxy` / `send-proxy-v2`) puts in
 * front of a connection to tell the server who the client really is. Spec:
 * https://www.haproxy.org/download/2.6/doc/proxy-protocol.txt
 *
 *   v1 (text, at most 107 bytes, CRLF included):
 *     PROXY TCP4 203.0.113.7 10.0.0.2 51234 21\r\n
 *   v2 (binary):
 *     \r\n\r\n\0\r\nQUIT\n   12-byte signature
 *     0x21                   version 2, command PROXY (0x20: LOCAL, the balancer's own health check)
 *     0x11                   family INET + STREAM (0x21: INET6 + STREAM)
 *     len (2 bytes, BE)      bytes that follow: addresses, then TLVs (ignored)
 *     src addr, dst addr, src port, dst port
 *
 * Pure: bytes in, a header out. The server accepts TCP over IPv4 or IPv6 and v2's LOCAL; a
 * UNIX socket, UDP, `PROXY UNKNOWN` or an unspecified family is refused, since a session needs
 * a client address for its bans, limits and data-connection checks.
 */

export type ProxyHeader =
  | {
      version: 1 | 2;
      command: 'proxy';
      family: 'tcp4' | 'tcp6';
      source: { address: string; port: number };
      destination: { address: string; port: number };
    }
  | {
      /** v2 LOCAL: the balancer speaking for itself (a health check); the socket's addresses are real. */
      version: 2;
      command: 'local';
    };

export type ProxyParseResult =
  /** Not enough bytes yet: push more. */
  | { kind: 'incomplete' }
  /** A whole header: the first `length` bytes; what follows belongs to the protocol behind it. */
  | { kind: 'header'; header: ProxyHeader; length: number }
  /** Not a header we accept; close the connection. `reason` is for the log. */
  | { kind: 'invalid'; reason: string };

/** Longest v1 header, CRLF included (spec section 2.1). */
export const PROXY_V1_MAX_LENGTH = 107;
/** Most address and TLV bytes a v2 header may carry here (HAProxy sends 12 or 36 plus small TLVs). */
export const PROXY_V2_MAX_PAYLOAD = 1024;

const V1_PREFIX = Buffer.from('PROXY ', 'latin1');
const V2_SIGNATURE = Buffer.from('0d0a0d0a000d0a515549540a', 'hex');
const V2_FIXED = 16;

/**
 * Parses the header at the start of `input` (everything received so far). Call it again with
 * more bytes after 'incomplete': the result depends only on the bytes, never on how they were
 * split. A prefix that can no longer become a header is 'invalid' at once, so a peer that
 * sends anything else is turned away after its first bytes.
 */
export function parseProxyHeader(input: Buffer): ProxyParseResult {
  if (input.length === 0) return { kind: 'incomplete' };
  if (input[0] === V1_PREFIX[0]) return parseV1(input);
  if (input[0] === V2_SIGNATURE[0]) return parseV2(input);
  return invalid('not a PROXY protocol header');
}

function invalid(reason: string): ProxyParseResult {
  return { kind: 'invalid', reason };
}

/** True while `input` is still a prefix of `signature` (or starts with all of it). */
function matchesPrefix(input: Buffer, signature: Buffer): boolean {
  const n = Math.min(input.length, signature.length);
  return input.subarray(0, n).equals(signature.subarray(0, n));
}

function parseV1(input: Buffer): ProxyParseResult {
  if (!matchesPrefix(input, V1_PREFIX)) return invalid('not a PROXY protocol header');
  const lf = input.indexOf(0x0a);
  if (lf < 0) {
    // Bounded before buffering more: a header that has not ended by 107 bytes never will.
    return input.length >= PROXY_V1_MAX_LENGTH ? invalid('v1 header longer than 107 bytes') : { kind: 'incomplete' };
  }
  const length = lf + 1;
  if (length > PROXY_V1_MAX_LENGTH) return invalid('v1 header longer than 107 bytes');
  if (input[lf - 1] !== 0x0d) return invalid('v1 header does not end with CRLF');
  const line = input.subarray(0, lf - 1).toString('latin1');
  const parts = line.split(' ');
  const proto = parts[1];
  if (proto === 'UNKNOWN') return invalid('v1 UNKNOWN protocol refused');
  if (proto !== 'TCP4' && proto !== 'TCP6') return invalid('v1 protocol is neither TCP4 nor TCP6');
  if (parts.length !== 6) return invalid('v1 header is not PROXY TCPx SRC DST SPORT DPORT');
  const [, , src, dst, sport, dport] = parts as [string, string, string, string, string, string];
  const isIp = proto === 'TCP4' ? isIPv4 : isIPv6;
  if (!isIp(src) || !isIp(dst)) return invalid(`v1 address is not ${proto === 'TCP4' ? 'IPv4' : 'IPv6'}`);
  const sourcePort = parsePort(sport);
  const destinationPort = parsePort(dport);
  if (sourcePort === undefined || destinationPort === undefined) return invalid('v1 port is not a number from 0 to 65535');
  return {
    kind: 'header',
    length,
    header: {
      version: 1,
      command: 'proxy',
      family: proto === 'TCP4' ? 'tcp4' : 'tcp6',
      source: { address: src.toLowerCase(), port: sourcePort },
      destination: { address: dst.toLowerCase(), port: destinationPort },
    },
  };
}

function parsePort(text: string): number | undefined {
  if (!/^(0|[1-9][0-9]{0,4})$/.test(text)) return undefined;
  const port = Number(text);
  return port <= 65535 ? port : undefined;
}

function parseV2(input: Buffer): ProxyParseResult {
  if (!matchesPrefix(input, V2_SIGNATURE)) return invalid('not a PROXY protocol header');
  if (input.length < V2_FIXED) return input.length > 12 ? checkVersion(input[12]!) ?? { kind: 'incomplete' } : { kind: 'incomplete' };
  const versionProblem = checkVersion(input[12]!);
  if (versionProblem) return versionProblem;
  const payload = input.readUInt16BE(14);
  if (payload > PROXY_V2_MAX_PAYLOAD) return invalid(`v2 header longer than ${PROXY_V2_MAX_PAYLOAD} bytes`);
  const command = input[12]! & 0x0f;
  const familyByte = input[13]!;
  // Refused from the fixed part alone: no need to wait for the addresses.
  if (command === 0x1) {
    if (familyByte >> 4 === 0x3) return invalid('v2 UNIX socket addresses refused');
    if (familyByte !== 0x11 && familyByte !== 0x21) return invalid(`v2 family 0x${familyByte.toString(16).padStart(2, '0')} refused (TCP over IPv4 or IPv6 only)`);
    const need = familyByte === 0x11 ? 12 : 36;
    if (payload < need) return invalid('v2 address block too short for its family');
  }
  const length = V2_FIXED + payload;
  if (input.length < length) return { kind: 'incomplete' };
  // LOCAL: the spec says to ignore the family and addresses whatever they are.
  if (command === 0x0) return { kind: 'header', length, header: { version: 2, command: 'local' } };
  const body = input.subarray(V2_FIXED, length);
  if (familyByte === 0x11) {
    return {
      kind: 'header',
      length,
      header: {
        version: 2,
        command: 'proxy',
        family: 'tcp4',
        source: { address: formatIPv4(body.subarray(0, 4)), port: body.readUInt16BE(8) },
        destination: { address: formatIPv4(body.subarray(4, 8)), port: body.readUInt16BE(10) },
      },
    };
  }
  return {
    kind: 'header',
    length,
    header: {
      version: 2,
      command: 'proxy',
      family: 'tcp6',
      source: { address: formatIPv6(body.subarray(0, 16)), port: body.readUInt16BE(32) },
      destination: { address: formatIPv6(body.subarray(16, 32)), port: body.readUInt16BE(34) },
    },
  };
}

function checkVersion(verCmd: number): ProxyParseResult | undefined {
  if (verCmd >> 4 !== 0x2) return invalid('v2 header has an unknown version');
  const command = verCmd & 0x0f;
  if (command !== 0x0 && command !== 0x1) return invalid('v2 header has an unknown command');
  return undefined;
}

function formatIPv4(b: Buffer): string {
  return `${b[0]}.${b[1]}.${b[2]}.${b[3]}`;
}

/** RFC 5952 text: lower case, no leading zeros, the longest run of two or more zero groups as `::`. */
export function formatIPv6(b: Buffer): string {
  const groups: number[] = [];
  for (let i = 0; i < 16; i += 2) groups.push(b.readUInt16BE(i));
  let bestStart = -1;
  let bestLen = 0;
  for (let i = 0; i < 8; ) {
    if (groups[i] !== 0) {
      i++;
      continue;
    }
    let j = i;
    while (j < 8 && groups[j] === 0) j++;
    if (j - i > bestLen) {
      bestStart = i;
      bestLen = j - i;
    }
    i = j;
  }
  // IPv4-mapped (::ffff:a.b.c.d): dotted, so normalizeIp turns it into the IPv4 address.
  if (bestStart === 0 && bestLen === 5 && groups[5] === 0xffff) return `::ffff:${formatIPv4(b.subarray(12, 16))}`;
  const hex = groups.map((g) => g.toString(16));
  if (bestLen < 2) return hex.join(':');
  return `${hex.slice(0, bestStart).join(':')}::${hex.slice(bestStart + bestLen).join(':')}`;
}

/** A v2 header for tests and tools: PROXY over TCP (family from the addresses) or LOCAL. */
export function formatProxyV2(
  header: { source: { address: string; port: number }; destination: { address: string; port: number } } | 'local',
): Buffer {
  if (header === 'local') return Buffer.concat([V2_SIGNATURE, Buffer.from([0x20, 0x00, 0x00, 0x00])]);
  const v4 = isIPv4(header.source.address);
  const body = Buffer.alloc(v4 ? 12 : 36);
  const addrLen = v4 ? 4 : 16;
  writeIp(body, 0, header.source.address, v4);
  writeIp(body, addrLen, header.destination.address, v4);
  body.writeUInt16BE(header.source.port, addrLen * 2);
  body.writeUInt16BE(header.destination.port, addrLen * 2 + 2);
  const fixed = Buffer.from([0x21, v4 ? 0x11 : 0x21, 0, 0]);
  fixed.writeUInt16BE(body.length, 2);
  return Buffer.concat([V2_SIGNATURE, fixed, body]);
}

function writeIp(target: Buffer, offset: number, ip: string, v4: boolean): void {
  if (v4) {
    if (!isIPv4(ip)) throw new TypeError(`not an IPv4 address: ${ip}`);
    ip.split('.').forEach((part, i) => (target[offset + i] = Number(part)));
    return;
  }
  if (!isIPv6(ip)) throw new TypeError(`not an IPv6 address: ${ip}`);
  let text = ip;
  const dotted = /(\d+\.\d+\.\d+\.\d+)$/.exec(text);
  if (dotted) {
    const [a, b, c, d] = dotted[1]!.split('.').map(Number) as [number, number, number, number];
    text = `${text.slice(0, dotted.index)}${((a << 8) | b).toString(16)}:${((c << 8) | d).toString(16)}`;
  }
  const [head, tail] = text.includes('::') ? text.split('::') : [text, undefined];
  const h = head ? head.split(':') : [];
  const t = tail ? tail.split(':') : [];
  const groups = tail === undefined ? h : [...h, ...Array<string>(8 - h.length - t.length).fill('0'), ...t];
  groups.forEach((g, i) => target.writeUInt16BE(parseInt(g, 16), offset + i * 2));
}
