import type { SecureVersion } from 'node:tls';
import { checkInteger, FtpError } from '../errors.js';
import { checkBoolean, checkOptions, describe } from './validate.js';

export interface FileClientOptions {
  host: string;
  /** Default 21. */
  port?: number;
  /** Default 'anonymous'. */
  user?: string;
  /** Default 'anonymous@' for the anonymous user, else ''. */
  password?: string;
  /** Milliseconds for connecting and for each reply wait (control channel). Default 30000. */
  timeout?: number;
  /** Milliseconds a data connection may stay silent. Default: same as `timeout`. */
  dataTimeout?: number;
  /** Use EPRT/PORT (the server connects to us) instead of EPSV/PASV. Default false. */
  active?: boolean;
  /**
   * Connect to the address named in a PASV reply even when it differs from the control host.
   * Off by default: such a reply is how a hostile server bounces us elsewhere (RFC 2577).
   */
  allowPasvHostChange?: boolean;
  /** Cap on one control reply, bytes. Default 65536. */
  maxReplyBytes?: number;
  /** Cap on one listing, bytes. Default 64 MiB. */
  maxListingBytes?: number;
  /** Milliseconds between progress events. Default 250. */
  progressInterval?: number;
  /** Send NOOP after this many idle milliseconds; 0 disables. Default 0. */
  keepAlive?: number;
  /** Milliseconds to wait for the server to settle after ABOR. Default 5000. */
  abortTimeout?: number;
  /**
   * FTPS (RFC 4217). 'explicit': AUTH TLS after the greeting, then PBSZ 0 + PROT P;
   * 'implicit': TLS from the first byte (port 990 by convention). Default false.
   */
  tls?: 'explicit' | 'implicit' | false;
  /** Trusted CA certificates (PEM) instead of the system ones. */
  ca?: string | Buffer | (string | Buffer)[];
  /** Verify the server's certificate (chain, expiry, host name). Default true; false is insecure. */
  rejectUnauthorized?: boolean;
  /**
   * Accept exactly the certificate with this SHA-256 fingerprint (hex, with or
   * without colons, any case) and no other, in place of CA and host checks.
   */
  fingerprint256?: string;
  /** SNI and the name checked against the certificate. Default: `host` when it is a name. */
  servername?: string;
  /** Default 'TLSv1.2'. */
  minVersion?: SecureVersion;
  /** Default: Node's (TLS 1.3). */
  maxVersion?: SecureVersion;
  /**
   * Compress transfers with MODE Z (zlib) when the server's FEAT lists it; otherwise transfer
   * plainly (`FileClient.compressed` says which was agreed). Default false.
   */
  compress?: boolean;
}

export interface TlsSettings {
  mode: 'explicit' | 'implicit';
  ca: string | Buffer | (string | Buffer)[] | undefined;
  rejectUnauthorized: boolean;
  /** Upper-case hex without colons, or undefined. */
  fingerprint256: string | undefined;
  servername: string | undefined;
  minVersion: SecureVersion;
  maxVersion: SecureVersion | undefined;
}

export interface ResolvedOptions {
  host: string;
  port: number;
  user: string;
  password: string;
  timeout: number;
  dataTimeout: number;
  active: boolean;
  allowPasvHostChange: boolean;
  maxReplyBytes: number;
  maxListingBytes: number;
  progressInterval: number;
  keepAlive: number;
  abortTimeout: number;
  /** Undefined for plain FTP. */
  tls: TlsSettings | undefined;
  compress: boolean;
}

const HOUR = 3_600_000;

/** Every FileClientOptions name; anything else is refused with the nearest of these named. */
export const FILE_CLIENT_OPTIONS = [
  'host', 'port', 'user', 'password', 'timeout', 'dataTimeout', 'active', 'allowPasvHostChange', 'maxReplyBytes',
  'maxListingBytes', 'progressInterval', 'keepAlive', 'abortTimeout', 'tls', 'ca', 'rejectUnauthorized',
  'fingerprint256', 'servername', 'minVersion', 'maxVersion', 'compress',
] as const satisfies readonly (keyof FileClientOptions)[];
// Compile-time: the list above names every option (a new option must be added there).
const everyOption: Exclude<keyof FileClientOptions, (typeof FILE_CLIENT_OPTIONS)[number]> extends never ? true : never = true;
void everyOption;

/** Validates at construction so a bad option fails loudly, naming itself (undici style). */
export function resolveOptions(o: FileClientOptions): ResolvedOptions {
  if (o === null || typeof o !== 'object') {
    throw new FtpError('FTPKIT_ERR_INVALID_ARGUMENT', 'options must be an object');
  }
  checkOptions(o, FILE_CLIENT_OPTIONS, 'FileClient');
  if (typeof o.host !== 'string' || o.host === '') {
    throw new FtpError('FTPKIT_ERR_INVALID_ARGUMENT', 'host must be a non-empty string');
  }
  for (const name of ['user', 'password', 'servername'] as const) {
    if (o[name] !== undefined && typeof o[name] !== 'string') throw new FtpError('FTPKIT_ERR_INVALID_ARGUMENT', `${name} must be a string, got ${describe(o[name])}`);
  }
  checkBoolean(o.active, 'active');
  checkBoolean(o.allowPasvHostChange, 'allowPasvHostChange');
  checkBoolean(o.compress, 'compress');
  if (o.tls === undefined || o.tls === false) {
    // Certificate options without TLS would be silently unused: say so.
    const stray = (['ca', 'rejectUnauthorized', 'fingerprint256', 'servername', 'minVersion', 'maxVersion'] as const).find((k) => o[k] !== undefined);
    if (stray !== undefined) throw new FtpError('FTPKIT_ERR_INVALID_ARGUMENT', `${stray} applies to FTPS only: set tls to 'explicit' or 'implicit'`);
  }
  const user = o.user ?? 'anonymous';
  const anonymous = user === 'anonymous' || user === 'ftp';
  const timeout = checkInteger('timeout', o.timeout ?? 30_000, 1, 24 * HOUR);
  return {
    host: o.host,
    // RFC 4217 section 2: implicit FTPS listens on 990 by convention.
    port: checkInteger('port', o.port ?? (o.tls === 'implicit' ? 990 : 21), 1, 65535),
    user,
    password: o.password ?? (anonymous ? 'anonymous@' : ''),
    timeout,
    dataTimeout: checkInteger('dataTimeout', o.dataTimeout ?? timeout, 1, 24 * HOUR),
    active: o.active ?? false,
    allowPasvHostChange: o.allowPasvHostChange ?? false,
    maxReplyBytes: checkInteger('maxReplyBytes', o.maxReplyBytes ?? 65_536, 512),
    maxListingBytes: checkInteger('maxListingBytes', o.maxListingBytes ?? 64 * 1024 * 1024, 1024),
    progressInterval: checkInteger('progressInterval', o.progressInterval ?? 250, 0, HOUR),
    keepAlive: checkInteger('keepAlive', o.keepAlive ?? 0, 0, 24 * HOUR),
    abortTimeout: checkInteger('abortTimeout', o.abortTimeout ?? 5_000, 1, HOUR),
    tls: resolveTls(o),
    compress: o.compress ?? false,
  };
}

const VERSIONS: readonly SecureVersion[] = ['TLSv1', 'TLSv1.1', 'TLSv1.2', 'TLSv1.3'];

function resolveTls(o: FileClientOptions): TlsSettings | undefined {
  const mode = o.tls ?? false;
  if (mode !== false && mode !== 'explicit' && mode !== 'implicit') {
    throw new FtpError('FTPKIT_ERR_INVALID_ARGUMENT', `tls must be 'explicit', 'implicit' or false, got ${String(mode as unknown)}`);
  }
  if (mode === false) return undefined;
  let fingerprint256: string | undefined;
  if (o.fingerprint256 !== undefined) {
    fingerprint256 = normalizeFingerprint(o.fingerprint256) ?? undefined;
    if (fingerprint256 === undefined) {
      throw new FtpError('FTPKIT_ERR_INVALID_ARGUMENT', 'fingerprint256 must be 64 hex digits (colons allowed)');
    }
  }
  for (const [name, v] of [['minVersion', o.minVersion], ['maxVersion', o.maxVersion]] as const) {
    if (v !== undefined && !VERSIONS.includes(v)) {
      throw new FtpError('FTPKIT_ERR_INVALID_ARGUMENT', `${name} must be one of ${VERSIONS.join(', ')}, got ${String(v)}`);
    }
  }
  if (o.rejectUnauthorized !== undefined && typeof o.rejectUnauthorized !== 'boolean') {
    throw new FtpError('FTPKIT_ERR_INVALID_ARGUMENT', 'rejectUnauthorized must be a boolean');
  }
  return {
    mode,
    ca: o.ca,
    rejectUnauthorized: o.rejectUnauthorized ?? true,
    fingerprint256,
    servername: o.servername,
    minVersion: o.minVersion ?? 'TLSv1.2',
    maxVersion: o.maxVersion,
  };
}

/** `AB:CD:...` or `abcd...` -> `ABCD...`; null unless exactly 32 bytes of hex. */
export function normalizeFingerprint(value: string): string | null {
  if (typeof value !== 'string') return null;
  const hex = value.replace(/^sha256[:=]/i, '').replace(/:/g, '').toUpperCase();
  return /^[0-9A-F]{64}$/.test(hex) ? hex : null;
}
