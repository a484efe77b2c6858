// ftp-serve's flags and how they become FileServerOptions. Every setting that can never work is
// refused here, before anything listens, as one line naming the flag (exit 2).
import { constants, realpathSync } from 'node:fs';
import { access, readFile, realpath, stat } from 'node:fs/promises';
import { lookup } from 'node:dns/promises';
import { isIP } from 'node:net';
import { availableParallelism } from 'node:os';
import { isAbsolute, join, relative, resolve, sep } from 'node:path';
import type { Logger } from 'pino';
import {
  DEFAULT_USERS_FILE,
  FtpError,
  UserStore,
  createStaticAuthenticator,
  ensureDevCertificate,
  type AnonymousGrant,
  type Authenticate,
  type FileServerOptions,
  type StaticUser,
} from '../index.js';
import { STANDARD_OPTIONS, type ParsedFlags } from './args.js';
import { parseCount, parseDuration, parsePort } from './numbers.js';
import { UsageError } from './usage-error.js';
import { LOG_HELP, LOG_OPTIONS, planLogging, type LogPlan } from './serve-logging.js';

export const SERVE_OPTIONS = {
  host: { type: 'string', default: '127.0.0.1' },
  port: { type: 'string', default: '2121' },
  user: { type: 'string', multiple: true, default: [] as string[] },
  anonymous: { type: 'boolean', default: false },
  write: { type: 'boolean', default: false },
  users: { type: 'string' },
  'anonymous-upload': { type: 'string' },
  dotfiles: { type: 'boolean', default: false },
  'no-mode-z': { type: 'boolean', default: false },
  'max-connections': { type: 'string' },
  'max-per-address': { type: 'string' },
  'max-transfers': { type: 'string' },
  'ban-after': { type: 'string' },
  'ban-time': { type: 'string' },
  'pasv-ports': { type: 'string' },
  'pasv-address': { type: 'string' },
  ...LOG_OPTIONS,
  'tls-cert': { type: 'string' },
  'tls-key': { type: 'string' },
  tls: { type: 'boolean', default: false },
  'require-tls': { type: 'boolean', default: false },
  'implicit-port': { type: 'string' },
  'tls-session-reuse': { type: 'string' },
  'tls-ticket-keys': { type: 'string' },
  workers: { type: 'string' },
  redis: { type: 'string' },
  'proxy-protocol': { type: 'boolean', default: false },
  'trusted-proxy': { type: 'string', multiple: true, default: [] as string[] },
  'compress-at-rest': { type: 'boolean', default: false },
  'no-zero-copy': { type: 'boolean', default: false },
  ...STANDARD_OPTIONS,
} as const;

export const SERVE_HELP = `Usage: ftp-serve [options] [ROOT]
       ftp-serve [--users FILE] users add|passwd|del|list ...   (ftp-serve users --help)

Serve ROOT (default: the current folder) over FTP. By default: 127.0.0.1:2121, anonymous read-only.

Options:
  --host ADDR            address to listen on (default 127.0.0.1; :: or 0.0.0.0 for all)
  --port N               port (default 2121; 0 picks a free port)
  --user NAME:PASSWORD   a user who may read and write ROOT (repeatable); turns anonymous off
  --anonymous            allow anonymous login even when --user or --users is given
  --write                anonymous users may write too (needs anonymous on)
  --users FILE           users file (default ./${DEFAULT_USERS_FILE}, used when it exists); turns anonymous off
                         SIGHUP re-reads it: removed or disabled users are let go at their next command
  --anonymous-upload DIR an existing folder of ROOT (such as /incoming) where anonymous users
                         may store but not list or read
  --dotfiles             serve and list names starting with '.' (default: hidden)
  --no-mode-z            refuse MODE Z (compressed transfers; offered by default)
  --max-connections N    control connections at once (default 10000)
  --max-per-address N    control connections from one address (default 50; 0: unlimited)
  --max-transfers N      data transfers one user may run at once (default 0: unlimited)
  --ban-after N          failed logins from one address within 10 minutes that ban it
                         (default 10; 0: never ban)
  --ban-time SECONDS     how long a ban lasts (default 900; 0: never ban); kill -USR2 lifts all bans
  --pasv-ports MIN-MAX   passive data ports, 1024 to 65535 (default: any free port)
  --pasv-address ADDR    IPv4 address advertised in PASV replies (NAT); a host name is
                         resolved once, at startup
  --tls-cert FILE        certificate (PEM) for FTPS: enables AUTH TLS, and the implicit port if given
  --tls-key FILE         private key (PEM) of --tls-cert
  --tls                  FTPS with a self-signed development certificate (made once, kept in ~/.cache/ftpkit)
  --require-tls          refuse login and data connections without TLS
  --implicit-port N      also serve implicit FTPS (ftps://) on port N (0 = any free port)
  --tls-session-reuse required|optional
                         whether PROT P data connections must resume the control connection's
                         TLS session (default required; optional for Python's ftplib.FTP_TLS)
  --tls-ticket-keys FILE 48 secret bytes (openssl rand 48 > FILE) shared by the nodes: a client
                         resumes on any node the TLS session another gave it (SIGHUP re-reads)
  --workers N|auto       processes serving the port (default 1; auto: one per core); locks,
                         bans and session counts are shared through the first process
  --redis URL            share locks, bans and session counts with other ftp-serve nodes
                         through Redis (redis://HOST:PORT)
  --proxy-protocol       expect a PROXY protocol v1/v2 header from the --trusted-proxy addresses
  --trusted-proxy ADDR   a load balancer's address or CIDR block (repeatable; needs --proxy-protocol)
  --compress-at-rest     keep stored files gzip-compressed on disk (served uncompressed)
  --no-zero-copy         never send downloads with sendfile(2) (always the JavaScript path)
${LOG_HELP}  -v, --verbose          the same as --log-level debug
  -h, --help             show this help
  -V, --version          show the version

Signals: SIGINT/SIGTERM stop (running transfers may finish; a second one stops at once),
SIGHUP re-reads the users file and the certificate, SIGUSR1 reopens the log files,
SIGUSR2 lifts every ban (with --workers, send them to the first process: it passes them on
to every worker).
`;

export type ServeValues = ParsedFlags<typeof SERVE_OPTIONS>['values'];
type Values = ServeValues;


export interface LoadedTls {
  cert: Buffer;
  key: Buffer;
  certPath: string;
  keyPath: string;
  /** --tls-ticket-keys: the secret and its file. */
  ticketKeys?: { keys: Buffer; path: string };
  /** A line for stdout (the development certificate's fingerprint), or ''. */
  note: string;
}

/** What main needs besides the options: for the startup line, the signals and the logs. */
export interface ServePlan {
  options: FileServerOptions;
  logger: Logger;
  /** The log destinations, the xferlog and the metrics address (serve-logging.ts). */
  logging: LogPlan;
  root: string;
  usersFile: string | undefined;
  store: UserStore | undefined;
  tls: LoadedTls | undefined;
  /** The access part of the startup line: `1 user from ftp-users.json, anonymous read-only`. */
  access: string;
  /** Lines printed after the startup line. */
  notes: string[];
  /** Worker processes (--workers): 1 serves in this process. */
  workers: number;
}

/** Turns the flags into options, checking everything that can be checked before listening. */
export async function planServer(values: Values, positionals: string[]): Promise<ServePlan> {
  if (positionals.length > 1) throw new UsageError('only one ROOT folder may be given');
  const root = resolve(positionals[0] ?? '.');
  await checkRoot(root);

  const users: StaticUser[] = values.user.map((spec) => {
    const colon = spec.indexOf(':');
    if (colon <= 0) throw new UsageError(`--user takes NAME:PASSWORD, got '${spec}'`);
    return { username: spec.slice(0, colon), password: spec.slice(colon + 1) };
  });
  const logging = planLogging(values);
  const logger = logging.logger; // audit records on (FileServer's default with a logger)
  const options: FileServerOptions = { host: values.host, port: parsePort(values.port, '--port'), logger };
  const notes: string[] = [...logging.notes];

  const usersFile = values.users ?? ((await exists(DEFAULT_USERS_FILE)) ? DEFAULT_USERS_FILE : undefined);
  let store: UserStore | undefined;
  if (usersFile !== undefined) {
    try {
      store = await UserStore.open(usersFile);
    } catch (err) {
      throw new UsageError((err as Error).message, { seeHelp: false });
    }
  }
  const fixed = users.length > 0 ? createStaticAuthenticator(users, { root, write: true }) : undefined;
  const hooks = [store?.authenticate, fixed].filter((h): h is Authenticate => h !== undefined);
  // The users file first, then --user: the first hook that grants wins.
  if (hooks.length > 0) options.authenticate = hooks.length === 1 ? hooks[0] : async (req) => (await hooks[0]!(req)) || hooks[1]!(req);

  const anonymous = hooks.length === 0 || values.anonymous;
  const uploadFolder = values['anonymous-upload'];
  if (!anonymous && values.write) throw new UsageError('--write is for anonymous users, who are off with --user or --users: add --anonymous (--user users may write anyway)');
  if (!anonymous && uploadFolder !== undefined) throw new UsageError('--anonymous-upload needs anonymous access: add --anonymous');
  if (anonymous) {
    const grant: AnonymousGrant = { root, write: values.write };
    if (uploadFolder !== undefined) grant.uploadFolder = await checkUploadFolder(root, uploadFolder);
    options.anonymous = grant;
  }
  options.dotfiles = values.dotfiles ? 'show' : 'hide';
  if (values['no-mode-z']) options.modeZ = false;

  if (values['max-connections'] !== undefined) options.maxConnections = parseCount(values['max-connections'], '--max-connections', { min: 1 });
  if (values['max-per-address'] !== undefined) options.maxConnectionsPerAddress = parseCount(values['max-per-address'], '--max-per-address');
  if (values['max-transfers'] !== undefined) options.maxTransfersPerUser = parseCount(values['max-transfers'], '--max-transfers');
  options.loginGuard = banOptions(values);
  if (values['pasv-ports'] !== undefined) options.pasvPortRange = parsePortRange(values['pasv-ports']);
  if (values['pasv-address'] !== undefined) {
    const { address, note } = await pasvAddress(values['pasv-address']);
    options.pasvAddress = address;
    if (note) notes.push(note);
  }

  if (values.redis !== undefined) options.redis = redisUrl(values.redis);
  const trusted = values['trusted-proxy'];
  if (trusted.length > 0 && !values['proxy-protocol']) throw new UsageError('--trusted-proxy needs --proxy-protocol');
  if (values['proxy-protocol']) {
    if (trusted.length === 0) throw new UsageError('--proxy-protocol needs at least one --trusted-proxy ADDR|CIDR');
    options.proxyProtocol = { trusted };
  }
  if (values['compress-at-rest']) options.compressAtRest = true;
  if (values['no-zero-copy']) options.zeroCopy = false;
  const workers = values.workers === undefined ? 1 : parseWorkers(values.workers);
  // Each worker counts for itself: one endpoint would answer a different process per scrape.
  if (workers > 1 && logging.metrics) throw new UsageError('--metrics serves one process\'s counters: use it without --workers (or scrape each node)');

  const tls = await loadTls(values);
  if (tls) {
    options.tls = { cert: tls.cert, key: tls.key, ...(tls.ticketKeys ? { ticketKeys: tls.ticketKeys.keys } : {}) };
    if (values['require-tls']) options.requireTls = true;
    if (values['implicit-port'] !== undefined) options.implicitTlsPort = parsePort(values['implicit-port'], '--implicit-port');
    const reuse = values['tls-session-reuse'];
    if (reuse !== undefined) {
      if (reuse !== 'required' && reuse !== 'optional') throw new UsageError(`--tls-session-reuse takes required or optional, got '${reuse}'`);
      options.tlsSessionReuse = reuse;
    }
    if (tls.note) notes.push(tls.note);
  } else if (values['require-tls'] || values['implicit-port'] !== undefined || values['tls-session-reuse'] !== undefined || values['tls-ticket-keys'] !== undefined) {
    throw new UsageError('--require-tls, --implicit-port, --tls-session-reuse and --tls-ticket-keys need --tls or --tls-cert/--tls-key');
  }

  // Never served, whatever the permissions and wherever ROOT is: the users file (and the default
  // one, which `users add` may create in ROOT while the server runs) and the TLS key and cert.
  options.protectedPaths = protectedPaths([DEFAULT_USERS_FILE, usersFile, tls?.certPath, tls?.keyPath, tls?.ticketKeys?.path]);

  const upload = uploadFolder !== undefined ? `, uploads to ${uploadFolder}` : '';
  const access = [
    store ? `${store.size} user${store.size === 1 ? '' : 's'} from ${usersFile}` : '',
    users.length > 0 ? `${users.length} user${users.length > 1 ? 's' : ''} read-write` : '',
    anonymous ? `anonymous ${values.write ? 'read-write' : 'read-only'}${upload}` : '',
  ].filter(Boolean).join(', ');
  return { options, logger, logging, root, usersFile, store, tls, access, notes, workers };
}

/** Worker processes at most: more than this is a typo, not a machine. */
const MAX_WORKERS = 256;

/** --workers N or auto (one per core the process may use). */
function parseWorkers(text: string): number {
  if (text === 'auto') return availableParallelism();
  return parseCount(text, '--workers', { min: 1, max: MAX_WORKERS });
}

/** --redis: a redis:// or rediss:// URL with a host (checked again by the library). */
function redisUrl(text: string): string {
  let url: URL | undefined;
  try {
    url = new URL(text);
  } catch {
    url = undefined;
  }
  if (!url || (url.protocol !== 'redis:' && url.protocol !== 'rediss:') || url.hostname === '') {
    throw new UsageError(`--redis takes a URL such as redis://127.0.0.1:6379, got '${text}'`);
  }
  return text;
}

async function exists(path: string): Promise<boolean> {
  return stat(path).then(() => true, () => false);
}

/** ROOT must be a folder this process can list and enter. */
async function checkRoot(root: string): Promise<void> {
  let isDir: boolean;
  try {
    isDir = (await stat(root)).isDirectory();
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    throw new UsageError(code === 'ENOENT' ? `${root}: no such folder` : `${root}: cannot read (${code ?? 'error'})`, { seeHelp: false });
  }
  if (!isDir) throw new UsageError(`${root}: not a folder`, { seeHelp: false });
  try {
    await access(root, constants.R_OK | constants.X_OK);
  } catch (err) {
    throw new UsageError(`${root}: cannot read (${(err as NodeJS.ErrnoException).code ?? 'error'})`, { seeHelp: false });
  }
}

/** `--anonymous-upload DIR`: a virtual folder such as /incoming that exists in ROOT. */
async function checkUploadFolder(root: string, folder: string): Promise<string> {
  const parts = folder.split('/');
  if (!folder.startsWith('/') || folder === '/' || parts.includes('..') || parts.includes('.') || /[\0\r\n\\]/.test(folder)) {
    throw new UsageError(`--anonymous-upload takes a folder of ROOT such as /incoming, got '${folder}'`);
  }
  const virtual = folder.replace(/\/+$/, '').replace(/\/{2,}/g, '/');
  const host = join(root, virtual);
  let real: string;
  try {
    real = await realpath(host);
    if (!(await stat(real)).isDirectory()) throw new Error('not a folder');
  } catch {
    throw new UsageError(`--anonymous-upload: ${virtual} is not a folder of ${root}`, { seeHelp: false });
  }
  const rel = relative(await realpath(root), real);
  if (rel === '' || rel === '..' || rel.startsWith(`..${sep}`) || isAbsolute(rel)) {
    throw new UsageError(`--anonymous-upload: ${virtual} leads outside ${root}`, { seeHelp: false });
  }
  return virtual;
}

/**
 * --ban-after / --ban-time. 0 in either means never ban: the CLI asks the library for bans
 * that last 0 ms, which it never records (failed logins are still delayed and a connection is
 * still closed after 3 of them).
 */
function banOptions(values: Values): FileServerOptions['loginGuard'] {
  const banAfter = values['ban-after'] === undefined ? undefined : parseCount(values['ban-after'], '--ban-after');
  const banTime = values['ban-time'] === undefined ? undefined : parseDuration(values['ban-time'], '--ban-time');
  if (banAfter === 0) return { banDuration: 0 };
  return { ...(banAfter !== undefined ? { banAfter } : {}), ...(banTime !== undefined ? { banDuration: banTime } : {}) };
}

function parsePortRange(text: string): [number, number] {
  const m = /^(\d{1,5})-(\d{1,5})$/.exec(text);
  if (!m) throw new UsageError(`--pasv-ports takes MIN-MAX, got '${text}'`);
  const [min, max] = [Number(m[1]), Number(m[2])];
  if (min < 1024 || max > 65535) throw new UsageError(`--pasv-ports takes ports from 1024 to 65535, got '${text}'`);
  if (min > max) throw new UsageError(`--pasv-ports takes MIN-MAX with MIN at most MAX, got '${text}'`);
  return [min, max];
}

const HOST_NAME = /^(?=.{1,253}$)[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?(?:\.[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?)*\.?$/;

/**
 * --pasv-address: an IPv4 address, or a host name resolved once, here (as vsftpd's
 * pasv_addr_resolve and pure-ftpd's -P): PASV replies carry an IPv4 address, and a name that
 * does not resolve now would fail every PASV later.
 */
async function pasvAddress(text: string): Promise<{ address: string; note: string }> {
  if (isIP(text) === 4) return { address: text, note: '' };
  if (isIP(text) === 6 || !HOST_NAME.test(text)) {
    throw new UsageError(`--pasv-address takes an IPv4 address or a host name (PASV replies carry IPv4 only), got '${text}'`);
  }
  let timer: NodeJS.Timeout | undefined;
  try {
    const timeout = new Promise<never>((_, reject) => {
      timer = setTimeout(() => reject(Object.assign(new Error('timeout'), { code: 'ETIMEOUT' })), 10_000);
    });
    const { address } = await Promise.race([lookup(text, { family: 4 }), timeout]);
    return { address, note: `ftp-serve: --pasv-address ${text} resolved to ${address} (once, at startup)` };
  } catch (err) {
    throw new UsageError(`--pasv-address: cannot resolve ${text} to an IPv4 address (${(err as NodeJS.ErrnoException).code ?? 'error'})`, { seeHelp: false });
  } finally {
    clearTimeout(timer);
  }
}

/** The certificate: from --tls-cert/--tls-key, or the development one for --tls. */
export async function loadTls(values: Pick<Values, 'tls-cert' | 'tls-key' | 'tls' | 'tls-ticket-keys'>): Promise<LoadedTls | undefined> {
  const certFile = values['tls-cert'];
  const keyFile = values['tls-key'];
  if ((certFile === undefined) !== (keyFile === undefined)) throw new UsageError('--tls-cert and --tls-key go together');
  if (certFile === undefined && !values.tls) return undefined;
  const ticketFile = values['tls-ticket-keys'];
  const ticketKeys = ticketFile === undefined ? undefined : { keys: await loadTicketKeys(ticketFile), path: ticketFile };
  if (certFile !== undefined && keyFile !== undefined) {
    try {
      return { cert: await readFile(certFile), key: await readFile(keyFile), certPath: certFile, keyPath: keyFile, ticketKeys, note: '' };
    } catch (err) {
      throw new UsageError(`cannot read the certificate or key: ${(err as NodeJS.ErrnoException).code ?? (err as Error).message}`, { seeHelp: false });
    }
  }
  const dev = await ensureDevCertificate();
  return { cert: dev.cert, key: dev.key, certPath: dev.certPath, keyPath: dev.keyPath, ticketKeys, note: `ftp-serve: self-signed certificate ${dev.certPath}, SHA-256 ${dev.fingerprint256}` };
}

/**
 * --tls-ticket-keys FILE: 48 bytes, as `openssl rand 48` writes them, or as 96 hex digits or
 * base64 text (`openssl rand -hex 48`, `openssl rand -base64 48`).
 */
async function loadTicketKeys(file: string): Promise<Buffer> {
  let content: Buffer;
  try {
    content = await readFile(file);
  } catch (err) {
    throw new UsageError(`--tls-ticket-keys: cannot read ${file} (${(err as NodeJS.ErrnoException).code ?? (err as Error).message})`, { seeHelp: false });
  }
  if (content.length === 48) return content;
  const text = content.toString('latin1').trim();
  if (/^[0-9a-f]{96}$/i.test(text)) return Buffer.from(text, 'hex');
  if (/^[A-Za-z0-9+/]{64}$/.test(text)) return Buffer.from(text, 'base64');
  throw new UsageError(`--tls-ticket-keys: ${file} must hold 48 random bytes (make it with: openssl rand 48 > ${file}), it has ${content.length}`, { seeHelp: false });
}

/** Absolute paths, and where symlinks lead, of the files given; duplicates dropped. */
function protectedPaths(files: Array<string | undefined>): string[] {
  const paths = new Set<string>();
  for (const file of files) {
    if (file === undefined) continue;
    paths.add(resolve(file));
    try {
      paths.add(realpathSync(file));
    } catch {
      // not there (yet): the absolute path is enough
    }
  }
  return [...paths];
}

/**
 * The library checks its options again and names them as an embedder writes them; a message
 * that gets past the checks above still names the flag.
 */
const FLAG_FOR_OPTION: Array<[RegExp, string]> = [
  [/^pasvPortRange(\[\d\])?/, '--pasv-ports'],
  [/^loginGuard\.banAfter/, '--ban-after'],
  [/^loginGuard\.banDuration/, '--ban-time'],
  [/^maxConnectionsPerAddress/, '--max-per-address'],
  [/^maxConnections/, '--max-connections'],
  [/^maxTransfersPerUser/, '--max-transfers'],
  [/^anonymous\.uploadFolder/, '--anonymous-upload'],
  [/^implicitTlsPort/, '--implicit-port'],
  [/^tlsSessionReuse/, '--tls-session-reuse'],
  [/^requireTls and implicitTlsPort/, '--require-tls and --implicit-port'],
  [/^port\b/, '--port'],
  [/^proxyProtocol\.trusted/, '--trusted-proxy'],
  [/^redis(\.url)?/, '--redis'],
  [/^tls:/, '--tls-cert/--tls-key:'],
];

/** A FileServer constructor error as a usage error naming the flag. */
export function settingError(err: unknown): unknown {
  if (!(err instanceof FtpError) || err.code !== 'FTPKIT_ERR_INVALID_ARGUMENT') return err;
  let message = err.message;
  for (const [pattern, flag] of FLAG_FOR_OPTION) message = message.replace(pattern, flag);
  return new UsageError(message, { cause: err });
}
