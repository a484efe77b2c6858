import type { Logger } from 'pino';
import type { SecureContextOptions } from 'node:tls';
import { FtpError, checkInteger } from '../errors.js';
import { MODE_Z_DEFAULT_LEVEL } from '../data/mode-z.js';
import type { Storage } from '../storage/types.js';
import { CompressedStorage, resolveCompressedStorageOptions, type CompressedStorageOptions } from '../storage/compressed-storage.js';
import { LocalStorage } from '../storage/local-storage.js';
import { resolveLocalStorageOptions } from '../storage/hidden-entries.js';
import { resolveLoginGuardOptions, type LoginGuardOptions, type ResolvedLoginGuardOptions } from './abuse/login-guard.js';
import { ALL_PERMISSIONS, Permissions, READ_ONLY_PERMISSIONS, type PermissionOverrides } from './permissions.js';
import { InMemoryLockManager, type LockManager } from './locks/index.js';
import type { AbuseStore } from './abuse/store.js';
import { RedisConnection, type RedisOptions } from './redis/connection.js';
import { DEFAULT_IDLE_RELEASE_MS, DEFAULT_POOL_BYTES, type MemoryOptions } from '../data/block-pool.js';

function resolveMemory(memory: MemoryOptions | undefined): Required<MemoryOptions> {
  return {
    poolBytes: memory?.poolBytes === undefined ? DEFAULT_POOL_BYTES : checkInteger('memory.poolBytes', memory.poolBytes, 0),
    idleReleaseMs: memory?.idleReleaseMs === undefined ? DEFAULT_IDLE_RELEASE_MS : checkInteger('memory.idleReleaseMs', memory.idleReleaseMs, 0, 3_600_000),
  };
}
import { RedisLockManager } from './redis/lock-manager.js';
import { RedisAbuseStore } from './redis/abuse-store.js';
import { resolveProxyProtocol, type ProxyProtocolOptions, type ResolvedProxyProtocol } from './proxy-protocol.js';

/**
 * What an authenticate hook grants a session: a folder or a Storage, what it may do there, and
 * its limits. A users file (createUsersAuthenticator) returns the same shape, so a database or
 * LDAP hook gets every protection the users file gets.
 */
export interface AuthGrant {
  /** A host folder served through LocalStorage. */
  root?: string;
  /** Any Storage; wins over `root`. */
  storage?: Storage;
  /** Shorthand when `permissions` is absent: true is 'elradfmwMT', false (the default) 'elr'. */
  write?: boolean;
  /** Permission letters (see PERMISSION_LETTERS); wins over `write`. */
  permissions?: string;
  /** Letters per virtual folder, e.g. `{ '/incoming': 'ew' }`; the longest matching folder wins. */
  overrides?: PermissionOverrides;
  /** Sessions this user may hold at once; more get 421. Default unlimited. */
  maxSessions?: number;
  /** Upload bytes/s, shared by all of this user's transfers. Default unlimited. */
  uploadRate?: number;
  /** Download bytes/s, shared by all of this user's transfers. Default unlimited. */
  downloadRate?: number;
  /** Asked before each command; once false the session gets 421 and ends (a revoked user). */
  active?: () => boolean;
  /**
   * This user's TLS policy, over the server's `requireTls`: true refuses the login (530) unless
   * the control connection is TLS, and clear data connections; false lets this user's data
   * connections be clear on a server that requires TLS (USER before AUTH is still refused there,
   * since the user is not known yet).
   */
  requireTls?: boolean;
}

/** Anonymous access: read-only unless `permissions`/`write` say otherwise. */
export interface AnonymousGrant extends AuthGrant {
  /** A virtual folder where anonymous users may store files but not list or read them ("incoming"). */
  uploadFolder?: string;
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
  anonymous?: AnonymousGrant | false;
  /** Passive ports are taken from this inclusive range; default: any free port. */
  pasvPortRange?: [number, number];
  /** Address advertised in PASV replies: fixed, or computed from the client's address (NAT). */
  pasvAddress?: string | ((clientAddress: string) => string);
  timeouts?: ServerTimeouts;
  /** How long close() lets running transfers finish before ending them. Default 10 s. */
  closeTimeout?: number;
  /** Max concurrent control connections. Default 10,000. */
  maxConnections?: number;
  /**
   * Max control connections from one address; more get 421. Default 50: room for parallel
   * mirroring clients, while one address cannot take every slot. 0 is unlimited.
   */
  maxConnectionsPerAddress?: number;
  /** Commands per second per session; faster clients are slowed down. 0 is unlimited. Default 1000. */
  maxCommandsPerSecond?: number;
  /** Data transfers one user may run at once; more get 450. 0 is unlimited (the default). */
  maxTransfersPerUser?: number;
  /**
   * Folder listings (LIST, NLST, MLSD, STAT of a folder) running at once on the server; more
   * wait their turn, up to the data timeout, then get 450. 0 is unlimited. Default 8: each
   * holds its folder's names while it runs.
   */
  maxListings?: number;
  /** Listings one user (anonymous: one address) may run at once; more wait as above. 0 is unlimited. Default 2. */
  maxListingsPerUser?: number;
  /** Failed-login delays, bans and per-address login concurrency; `false` turns them off. */
  loginGuard?: LoginGuardOptions | false;
  /** Banner sent in the 220 greeting. */
  greeting?: string;
  /** A pino logger; a child per session is made from it. Default: silent. */
  logger?: Logger;
  /**
   * Write audit records (logins, file commands, refusals, security events: see
   * logging/audit.ts) to `logger`. Default true when a logger is given.
   */
  audit?: boolean;
  /** File locks shared by the sessions (see README "Locking"). Default: a new InMemoryLockManager. */
  locks?: LockManager;
  /** How long a command waits for a busy file before answering 450, in ms. Default 0 (at once). */
  lockWait?: number;
  /**
   * 'atomic' (default): uploads go to a hidden temporary in the target's folder, flushed to disk
   * and renamed over the target after the last byte. 'direct': written in place (vsftpd).
   */
  uploadMode?: 'atomic' | 'direct';
  /**
   * Atomic uploads: fsync the temporary before the rename (default true), so a power cut
   * leaves the old file or the whole new one. false skips it: faster on a real disk (the
   * kernel writes back later), at the risk of an empty or partial file after a crash of the
   * machine (not of the process). See README "Performance".
   */
  uploadFsync?: boolean;
  /** Limits of one HASH/XCRC/XMD5/XSHA* request: bytes hashed (default 16 GiB) and time (default 120 s). */
  hashLimits?: { maxBytes?: number; timeout?: number };
  /**
   * Certificate and key for FTPS (RFC 4217): enables AUTH TLS, PBSZ and PROT. minVersion defaults
   * to TLSv1.2. `ticketKeys` (48 bytes), when given, is the secret shared by the nodes of a cluster:
   * a control connection resumes a session another node issued; each connection's ticket keys
   * are derived from it, so PROT P data stays bound to its own control connection (README "TLS
   * across nodes").
   */
  tls?: SecureContextOptions;
  /** Refuse login before AUTH TLS (530) and clear-text data connections (PROT C: 534, transfers: 521). */
  requireTls?: boolean;
  /** Also listen for implicit FTPS (TLS from the first byte) on this port; 0 picks a free one. */
  implicitTlsPort?: number;
  /**
   * PROT P data connections must resume their own control connection's TLS session (default), so
   * whoever wins the race to a passive port cannot read or write the data. 'optional' also takes
   * data connections that do a full handshake, for clients that never resume (Python's ftplib);
   * a session of another control connection is never resumed either way.
   */
  tlsSessionReuse?: 'required' | 'optional';
  /**
   * Keep the files of `root` grants compressed on disk (CompressedStorage over their
   * LocalStorage; see README "Compression at rest"). `true`: level 6, 64 KiB blocks.
   * Grants that bring their own `storage` are used as they are. Default false.
   */
  compressAtRest?: boolean | CompressedStorageOptions;
  /**
   * The optional native addon moves the bytes of binary, unpaced transfers of local files over
   * clear data connections: downloads go out with sendfile(2) (no copy in user space), uploads
   * are read by the addon's own thread and each read written to the file at once (no hand-off
   * to libuv's pool). Default true; false always uses the JavaScript path. Without the addon
   * this changes nothing.
   */
  zeroCopy?: boolean;
  /**
   * The transfer buffers pooled by the process (data/block-pool.ts): `poolBytes` caps what all
   * pools may lend at once (default 448 MiB; 0 turns pooling off, transfers then use small
   * buffers of their own), `idleReleaseMs` drops idle pooled blocks after that long without a
   * transfer borrowing one (default 5000). The pools are the process's: the last server made wins.
   */
  memory?: MemoryOptions;
  /**
   * MODE Z (compressed transfers, see README "MODE Z"): offered in FEAT and accepted by default.
   * `level` is the compression level of a session that sends no OPTS MODE Z LEVEL (default 6),
   * `maxLevel` caps what OPTS MODE Z LEVEL may ask for (default 9). false refuses MODE Z (504).
   */
  modeZ?: boolean | { level?: number; maxLevel?: number };
  /**
   * Host files or folders that no session reaching them through a `root` grant may list, read,
   * write, create, rename, delete or chmod: they behave as missing (a users file or TLS key
   * inside a served folder). Compared by real path and by device and inode.
   */
  protectedPaths?: string[];
  /** 'hide' (default): in `root` grants, names starting with '.' are not listed and behave as missing. */
  dotfiles?: 'hide' | 'show';
  /**
   * Several nodes sharing state through Redis (see README "Scale-out"): `'redis://host:6379'`
   * or `{ url, keyPrefix, lease }`. Makes a RedisLockManager and a RedisAbuseStore on one
   * connection, unless `locks` / `abuseStore` are given. ioredis is loaded only then.
   */
  redis?: string | RedisOptions;
  /**
   * Failed logins, bans and per-user session counts shared with other servers (an
   * InMemoryAbuseStore for servers of one process, a RedisAbuseStore for several hosts).
   * Default: none, each server's loginGuard alone.
   */
  abuseStore?: AbuseStore;
  /** PROXY protocol v1/v2 on the control listener, accepted from trusted balancers only. */
  proxyProtocol?: ProxyProtocolOptions;
}

/** Options with every default applied and validated. */
export interface ResolvedServerOptions {
  host: string;
  port: number;
  authenticate: Authenticate | undefined;
  anonymous: AnonymousGrant | false;
  pasvPortRange: [number, number] | undefined;
  pasvAddress: string | ((clientAddress: string) => string) | undefined;
  timeouts: Required<ServerTimeouts>;
  closeTimeout: number;
  maxConnections: number;
  maxConnectionsPerAddress: number;
  maxCommandsPerSecond: number;
  maxTransfersPerUser: number;
  maxListings: number;
  maxListingsPerUser: number;
  loginGuard: ResolvedLoginGuardOptions | false;
  greeting: string;
  locks: LockManager;
  lockWait: number;
  uploadMode: 'atomic' | 'direct';
  hashLimits: { maxBytes: number; timeout: number };
  tls: SecureContextOptions | undefined;
  requireTls: boolean;
  implicitTlsPort: number | undefined;
  compressAtRest: Required<CompressedStorageOptions> | undefined;
  zeroCopy: boolean;
  uploadFsync: boolean;
  memory: Required<MemoryOptions>;
  /** undefined: MODE Z is refused. */
  modeZ: { level: number; maxLevel: number } | undefined;
  tlsSessionReuse: 'required' | 'optional';
  /** Absolute host paths. */
  protectedPaths: string[];
  dotfiles: 'hide' | 'show';
  /** The Redis connection the server made from `redis` (it starts and closes it), if any. */
  redis: RedisConnection | undefined;
  abuseStore: AbuseStore | undefined;
  proxyProtocol: ResolvedProxyProtocol | undefined;
}

function resolveAnonymous(anonymous: AnonymousGrant | false | undefined): AnonymousGrant | false {
  if (!anonymous) return false;
  const folder = anonymous.uploadFolder;
  grantPermissions(anonymous); // bad letters throw here, at construction
  if (folder === undefined) return anonymous;
  if (typeof folder !== 'string' || !folder.startsWith('/') || folder === '/' || /[\0\r\n]/.test(folder)) {
    throw new FtpError('FTPKIT_ERR_INVALID_ARGUMENT', 'anonymous.uploadFolder must be an absolute virtual folder other than /');
  }
  // Store only: cd into it and STOR, but no LIST, RETR, overwrite-by-rename or delete.
  return { ...anonymous, overrides: { ...anonymous.overrides, [folder]: 'ew' } };
}

/** Checks a grant from authenticate (or `anonymous`) and builds its Permissions; throws on bad letters. */
export function grantPermissions(grant: AuthGrant): Permissions {
  const letters = grant.permissions ?? (grant.write === true ? ALL_PERMISSIONS : READ_ONLY_PERMISSIONS);
  return new Permissions(letters, grant.overrides);
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
  if ((options.requireTls || options.implicitTlsPort !== undefined) && !options.tls) {
    throw new FtpError('FTPKIT_ERR_INVALID_ARGUMENT', 'requireTls and implicitTlsPort need tls: { cert, key }');
  }
  if (options.tlsSessionReuse !== undefined && options.tlsSessionReuse !== 'required' && options.tlsSessionReuse !== 'optional') {
    throw new FtpError('FTPKIT_ERR_INVALID_ARGUMENT', "tlsSessionReuse must be 'required' or 'optional'");
  }
  const uploadMode = options.uploadMode ?? 'atomic';
  if (uploadMode !== 'atomic' && uploadMode !== 'direct') {
    throw new FtpError('FTPKIT_ERR_INVALID_ARGUMENT', "uploadMode must be 'atomic' or 'direct'");
  }
  const redis = options.redis === undefined ? undefined : new RedisConnection(options.redis);
  const locks = options.locks ?? (redis ? new RedisLockManager(redis) : new InMemoryLockManager());
  const abuseStore = options.abuseStore ?? (redis ? new RedisAbuseStore(redis) : undefined);
  if (abuseStore !== undefined && (typeof abuseStore !== 'object' || typeof abuseStore.recordFailure !== 'function' || typeof abuseStore.joinSession !== 'function')) {
    throw new FtpError('FTPKIT_ERR_INVALID_ARGUMENT', 'abuseStore must implement AbuseStore (recordFailure, bannedFor, unban, joinSession, leaveSession)');
  }
  if (typeof locks !== 'object' || locks === null || typeof locks.acquire !== 'function' || typeof locks.held !== 'function') {
    throw new FtpError('FTPKIT_ERR_INVALID_ARGUMENT', 'locks must implement LockManager (acquire, held)');
  }
  const greeting = options.greeting ?? 'ftpkit ready';
  if (/[\r\n\0]/.test(greeting)) {
    throw new FtpError('FTPKIT_ERR_INVALID_ARGUMENT', 'greeting must not contain CR, LF or NUL');
  }
  return {
    host: options.host ?? '127.0.0.1',
    port: checkInteger('port', options.port ?? 0, 0, 65535),
    authenticate: options.authenticate,
    anonymous: resolveAnonymous(options.anonymous),
    pasvPortRange: range,
    pasvAddress: options.pasvAddress,
    timeouts: {
      login: checkInteger('timeouts.login', t.login ?? 30_000, 1),
      idle: checkInteger('timeouts.idle', t.idle ?? 300_000, 1),
      data: checkInteger('timeouts.data', t.data ?? 30_000, 1),
    },
    closeTimeout: checkInteger('closeTimeout', options.closeTimeout ?? 10_000, 0),
    maxConnections: checkInteger('maxConnections', options.maxConnections ?? 10_000, 1),
    maxConnectionsPerAddress: checkInteger('maxConnectionsPerAddress', options.maxConnectionsPerAddress ?? 50, 0),
    maxCommandsPerSecond: checkInteger('maxCommandsPerSecond', options.maxCommandsPerSecond ?? 1000, 0),
    maxTransfersPerUser: checkInteger('maxTransfersPerUser', options.maxTransfersPerUser ?? 0, 0),
    maxListings: checkInteger('maxListings', options.maxListings ?? 8, 0),
    maxListingsPerUser: checkInteger('maxListingsPerUser', options.maxListingsPerUser ?? 2, 0),
    loginGuard: options.loginGuard === false ? false : resolveLoginGuardOptions(options.loginGuard),
    greeting,
    locks,
    lockWait: checkInteger('lockWait', options.lockWait ?? 0, 0),
    uploadMode,
    hashLimits: {
      maxBytes: checkInteger('hashLimits.maxBytes', options.hashLimits?.maxBytes ?? 16 * 1024 ** 3, 0),
      timeout: checkInteger('hashLimits.timeout', options.hashLimits?.timeout ?? 120_000, 1),
    },
    tls: options.tls,
    requireTls: options.requireTls === true,
    implicitTlsPort: options.implicitTlsPort === undefined ? undefined : checkInteger('implicitTlsPort', options.implicitTlsPort, 0, 65535),
    tlsSessionReuse: options.tlsSessionReuse ?? 'required',
    compressAtRest: resolveCompressAtRest(options.compressAtRest),
    zeroCopy: options.zeroCopy !== false,
    uploadFsync: options.uploadFsync !== false,
    memory: resolveMemory(options.memory),
    modeZ: resolveModeZ(options.modeZ),
    ...resolveLocalStorageOptions({ protectedPaths: options.protectedPaths, dotfiles: options.dotfiles }),
    redis,
    abuseStore,
    proxyProtocol: resolveProxyProtocol(options.proxyProtocol),
  };
}

function resolveModeZ(option: FileServerOptions['modeZ']): ResolvedServerOptions['modeZ'] {
  if (option === false) return undefined;
  if (option === undefined || option === true) return { level: MODE_Z_DEFAULT_LEVEL, maxLevel: 9 };
  if (typeof option !== 'object' || option === null) {
    throw new FtpError('FTPKIT_ERR_INVALID_ARGUMENT', 'modeZ must be a boolean or { level, maxLevel }');
  }
  const maxLevel = checkInteger('modeZ.maxLevel', option.maxLevel ?? 9, 0, 9);
  const level = checkInteger('modeZ.level', option.level ?? Math.min(MODE_Z_DEFAULT_LEVEL, maxLevel), 0, maxLevel);
  return { level, maxLevel };
}

function resolveCompressAtRest(option: FileServerOptions['compressAtRest']): Required<CompressedStorageOptions> | undefined {
  if (option === undefined || option === false) return undefined;
  if (option !== true && (typeof option !== 'object' || option === null)) {
    throw new FtpError('FTPKIT_ERR_INVALID_ARGUMENT', 'compressAtRest must be a boolean or { level, blockSize }');
  }
  return resolveCompressedStorageOptions(option === true ? {} : option);
}

// One storage per root and server: the server sweeps each storage's crash leftovers once.
const rootStorages = new WeakMap<ResolvedServerOptions, Map<string, Storage>>();

/** The storage of a `root` grant: a LocalStorage, wrapped in a CompressedStorage with compressAtRest. */
export function storageForRoot(options: ResolvedServerOptions, root: string): Storage {
  const compress = options.compressAtRest;
  const local = new LocalStorage(root, { protectedPaths: options.protectedPaths, dotfiles: options.dotfiles });
  if (!compress) return local;
  let byRoot = rootStorages.get(options);
  if (!byRoot) rootStorages.set(options, (byRoot = new Map()));
  let storage = byRoot.get(root);
  if (!storage) byRoot.set(root, (storage = new CompressedStorage(local, compress)));
  return storage;
}
