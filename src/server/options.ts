import type { Logger } from 'pino';
import { FtpError, checkInteger } from '../errors.js';
import type { Storage } from '../storage/types.js';

/** What an authenticate hook grants a session: a folder or a Storage, and whether it may write. */
export interface AuthGrant {
  /** A host folder served through LocalStorage. */
  root?: string;
  /** Any Storage; wins over `root`. */
  storage?: Storage;
  /** May the session change files. Default false. */
  write?: boolean;
}

export interface AuthRequest {
  username: string;
  password: string;
  remoteAddress: string;
}

export type Authenticate = (request: AuthRequest) => Promise<AuthGrant | false> | AuthGrant | false;

export interface ServerTimeouts {
  /** From connect until a successful login. Default 30 s. */
  login?: number;
  /** Between commands when no transfer runs. Default 300 s. */
  idle?: number;
  /** Waiting for a data connection to open, and for a stalled data connection. Default 30 s. */
  data?: number;
}

export interface FileServerOptions {
  /** Address to listen on. Default '127.0.0.1'. */
  host?: string;
  /** Port to listen on; 0 picks a free one. Default 0. */
  port?: number;
  authenticate?: Authenticate;
  /** Anonymous access (USER anonymous or ftp, any password). Off by default. */
  anonymous?: AuthGrant | false;
  /** Passive ports are taken from this inclusive range; default: any free port. */
  pasvPortRange?: [number, number];
  /** Address advertised in PASV replies: fixed, or computed from the client's address (NAT). */
  pasvAddress?: string | ((clientAddress: string) => string);
  timeouts?: ServerTimeouts;
  /** How long close() lets running transfers finish before ending them. Default 10 s. */
  closeTimeout?: number;
  /** Max concurrent control connections. Default 10,000. */
  maxConnections?: number;
  /** Banner sent in the 220 greeting. */
  greeting?: string;
  /** A pino logger; a child per session is made from it. Default: silent. */
  logger?: Logger;
}

/** Options with every default applied and validated. */
export interface ResolvedServerOptions {
  host: string;
  port: number;
  authenticate: Authenticate | undefined;
  anonymous: AuthGrant | false;
  pasvPortRange: [number, number] | undefined;
  pasvAddress: string | ((clientAddress: string) => string) | undefined;
  timeouts: Required<ServerTimeouts>;
  closeTimeout: number;
  maxConnections: number;
  greeting: string;
}

export function resolveServerOptions(options: FileServerOptions): ResolvedServerOptions {
  const t = options.timeouts ?? {};
  const range = options.pasvPortRange;
  if (range !== undefined) {
    if (!Array.isArray(range) || range.length !== 2) {
      throw new FtpError('FTPKIT_ERR_INVALID_ARGUMENT', 'pasvPortRange must be [min, max]');
    }
    checkInteger('pasvPortRange[0]', range[0], 1024, 65535);
    checkInteger('pasvPortRange[1]', range[1], range[0], 65535);
  }
  if (options.authenticate !== undefined && typeof options.authenticate !== 'function') {
    throw new FtpError('FTPKIT_ERR_INVALID_ARGUMENT', 'authenticate must be a function');
  }
  const greeting = options.greeting ?? 'ftpkit ready';
  if (/[\r\n\0]/.test(greeting)) {
    throw new FtpError('FTPKIT_ERR_INVALID_ARGUMENT', 'greeting must not contain CR, LF or NUL');
  }
  return {
    host: options.host ?? '127.0.0.1',
    port: checkInteger('port', options.port ?? 0, 0, 65535),
    authenticate: options.authenticate,
    anonymous: options.anonymous ?? false,
    pasvPortRange: range,
    pasvAddress: options.pasvAddress,
    timeouts: {
      login: checkInteger('timeouts.login', t.login ?? 30_000, 1),
      idle: checkInteger('timeouts.idle', t.idle ?? 300_000, 1),
      data: checkInteger('timeouts.data', t.data ?? 30_000, 1),
    },
    closeTimeout: checkInteger('closeTimeout', options.closeTimeout ?? 10_000, 0),
    maxConnections: checkInteger('maxConnections', options.maxConnections ?? 10_000, 1),
    greeting,
  };
}
