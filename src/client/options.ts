import { checkInteger, FtpError } from '../errors.js';

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
}

const HOUR = 3_600_000;

/** Validates at construction so a bad option fails loudly, naming itself (undici style). */
export function resolveOptions(o: FileClientOptions): ResolvedOptions {
  if (o === null || typeof o !== 'object') {
    throw new FtpError('FTPKIT_ERR_INVALID_ARGUMENT', 'options must be an object');
  }
  if (typeof o.host !== 'string' || o.host === '') {
    throw new FtpError('FTPKIT_ERR_INVALID_ARGUMENT', 'host must be a non-empty string');
  }
  const user = o.user ?? 'anonymous';
  const anonymous = user === 'anonymous' || user === 'ftp';
  const timeout = checkInteger('timeout', o.timeout ?? 30_000, 1, 24 * HOUR);
  return {
    host: o.host,
    port: checkInteger('port', o.port ?? 21, 1, 65535),
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
  };
}
