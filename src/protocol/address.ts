import { isIPv4, isIPv6 } from 'node:net';
import { FtpError } from '../errors.js';

export interface HostPort {
  host: string;
  port: number;
}

/** "::ffff:1.2.3.4" (an IPv4 peer seen on a dual-stack socket) -> "1.2.3.4". */
export function normalizeIp(ip: string): string {
  if (ip.length > 7 && ip.slice(0, 7).toLowerCase() === '::ffff:' && isIPv4(ip.slice(7))) return ip.slice(7);
  return ip;
}

function checkPort(port: number): void {
  if (!Number.isSafeInteger(port) || port < 1 || port > 65535) {
    throw new FtpError('FTPKIT_ERR_INVALID_ARGUMENT', `port must be an integer from 1 to 65535, got ${String(port)}`);
  }
}

/** "h1,h2,h3,h4,p1,p2" for PORT arguments and 227 replies (RFC 959 §4.1.2). */
export function encodeHostPort(host: string, port: number): string {
  const ip = normalizeIp(host);
  if (!isIPv4(ip)) throw new FtpError('FTPKIT_ERR_INVALID_ARGUMENT', `not an IPv4 address: ${host}`);
  checkPort(port);
  return `${ip.split('.').join(',')},${port >> 8},${port & 0xff}`;
}

/**
 * Strict inverse of encodeHostPort: exactly six decimal numbers 0..255
 * (at most three digits each), optional spaces around the whole string.
 * Port 0 is rejected: it can never be a real data port.
 */
export function decodeHostPort(s: string): HostPort | null {
  const fields = s.trim().split(',');
  if (fields.length !== 6) return null;
  const n: number[] = [];
  for (const f of fields) {
    const v = parseByte(f);
    if (v === -1) return null;
    n.push(v);
  }
  const port = n[4]! * 256 + n[5]!;
  if (port === 0) return null;
  return { host: `${n[0]}.${n[1]}.${n[2]}.${n[3]}`, port };
}

function parseByte(f: string): number {
  if (f.length === 0 || f.length > 3) return -1;
  let v = 0;
  for (let i = 0; i < f.length; i++) {
    const c = f.charCodeAt(i) - 0x30;
    if (c < 0 || c > 9) return -1;
    v = v * 10 + c;
  }
  return v <= 255 ? v : -1;
}

export function formatPasvText(host: string, port: number): string {
  return `Entering Passive Mode (${encodeHostPort(host, port)}).`;
}

/**
 * Finds the six numbers in a 227 reply text, with or without parentheses
 * (RFC 1123 §4.1.2.6 warns servers vary the surrounding text).
 * Bounded quantifiers only, so this is linear in the text length.
 */
export function parsePasvText(text: string): HostPort | null {
  const m = /(?<![\d,])(\d{1,3},\d{1,3},\d{1,3},\d{1,3},\d{1,3},\d{1,3})(?![\d,])/.exec(text);
  return m ? decodeHostPort(m[1]!) : null;
}

export function formatEpsvText(port: number): string {
  checkPort(port);
  return `Entering Extended Passive Mode (|||${port}|)`;
}

/** The port from a 229 reply text: "(<d><d><d>port<d>)" (RFC 2428 §3). */
export function parseEpsvText(text: string): number | null {
  let from = 0;
  for (;;) {
    const open = text.indexOf('(', from);
    if (open === -1) return null;
    from = open + 1;
    const d = text[open + 1];
    if (d === undefined || text[open + 2] !== d || text[open + 3] !== d || !isDelimiter(d)) continue;
    const close = text.indexOf(d, open + 4);
    if (close === -1 || text[close + 1] !== ')') continue;
    const port = parsePort(text.slice(open + 4, close));
    if (port !== null) return port;
  }
}

/** EPRT argument (RFC 2428 §2): "|1|127.0.0.1|2000|" or "|2|::1|2000|". */
export function formatEprtArg(host: string, port: number): string {
  const ip = normalizeIp(host);
  checkPort(port);
  if (isIPv4(ip)) return `|1|${ip}|${port}|`;
  if (isIPv6(ip)) return `|2|${ip}|${port}|`;
  throw new FtpError('FTPKIT_ERR_INVALID_ARGUMENT', `not an IP address: ${host}`);
}

/**
 * Strict EPRT parser: the first character is the delimiter (ASCII 33..126),
 * exactly three fields, family 1 with an IPv4 address or 2 with an IPv6 one,
 * port 1..65535 in plain decimal.
 */
export function parseEprtArg(arg: string): (HostPort & { family: 4 | 6 }) | null {
  const s = arg.trim();
  const d = s[0];
  if (d === undefined || !isDelimiter(d)) return null;
  const parts = s.split(d);
  // "", family, address, port, "" - anything else has missing or extra fields.
  if (parts.length !== 5 || parts[0] !== '' || parts[4] !== '') return null;
  const [, af, host, portText] = parts as [string, string, string, string, string];
  const port = parsePort(portText);
  if (port === null) return null;
  if (af === '1' && isIPv4(host)) return { host, port, family: 4 };
  if (af === '2' && isIPv6(host)) return { host, port, family: 6 };
  return null;
}

function isDelimiter(d: string): boolean {
  const c = d.charCodeAt(0);
  // RFC 2428 allows 33..126; digits would make the fields ambiguous.
  return c >= 33 && c <= 126 && !(c >= 0x30 && c <= 0x39);
}

function parsePort(s: string): number | null {
  if (s.length === 0 || s.length > 5) return null;
  let v = 0;
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i) - 0x30;
    if (c < 0 || c > 9) return null;
    v = v * 10 + c;
  }
  return v >= 1 && v <= 65535 ? v : null;
}
