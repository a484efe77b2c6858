#!/usr/bin/env node
// ftp-serve: serve a folder over FTP. Parses flags, starts a FileServer, prints where it listens.
import { existsSync, readFileSync, statSync } from 'node:fs';
import { resolve } from 'node:path';
import { parseArgs } from 'node:util';
import { pino } from 'pino';
import {
  FileServer,
  createStaticAuthenticator,
  ensureDevCertificate,
  type FileServerOptions,
  type StaticUser,
  DEFAULT_USERS_FILE,
  UserStore,
  type Authenticate,
} from '../src/index.js';
import { USERS_HELP, UsageError, runUsersCommand } from '../src/server/users/cli.js';
import { EXIT_USAGE, die, version } from './cli.js';

const PROG = 'ftp-serve';
const HELP = `Usage: ftp-serve [options] [ROOT]
       ftp-serve [--users FILE] users add|passwd|del|list ...   (ftp-serve users --help)

Serve ROOT (default: the current folder) over FTP. By default: 127.0.0.1:2121, anonymous read-only.

Options:
  --host ADDR            address to listen on (default 127.0.0.1; :: or 0.0.0.0 for all)
  --port N               port (default 2121; 0 picks a free port)
  --user NAME:PASSWORD   a user who may read and write ROOT (repeatable); turns anonymous off
  --anonymous            allow anonymous login even when --user is given
  --write                anonymous users may write too
  --users FILE           users file (default ./${DEFAULT_USERS_FILE}, used when it exists); turns anonymous off
                         SIGHUP re-reads it: removed or disabled users are let go at their next command
  --anonymous-upload DIR a virtual folder where anonymous users may store but not list or read
  --max-connections N    control connections at once (default 10000)
  --max-per-address N    control connections from one address (default 0: unlimited)
  --max-transfers N      data transfers one user may run at once (default 0: unlimited)
  --ban-after N          failed logins from one address within 10 minutes that ban it (default 10)
  --ban-time SECONDS     how long a ban lasts (default 900)
  --pasv-ports MIN-MAX   passive data ports (default: any free port)
  --pasv-address ADDR    IPv4 address advertised in PASV replies (NAT)
  --tls-cert FILE        certificate (PEM) for FTPS: enables AUTH TLS, and the implicit port if given
  --tls-key FILE         private key (PEM) of --tls-cert
  --tls                  FTPS with a self-signed development certificate (made once, kept in ~/.cache/ftpkit)
  --require-tls          refuse login and data connections without TLS
  --implicit-port N      also serve implicit FTPS (ftps://) on port N (0 = any free port)
  --log-level LEVEL      fatal, error, warn, info, debug, trace or silent (default info; logs go to stderr)
  -h, --help             show this help
  -v, --version          show the version
`;

function usage(message: string): never {
  return die(PROG, `${message} (see --help)`, EXIT_USAGE);
}

function parsePort(text: string, flag: string): number {
  if (!/^\d{1,5}$/.test(text) || Number(text) > 65535) usage(`${flag} takes a port from 0 to 65535, got '${text}'`);
  return Number(text);
}

/** The certificate: from --tls-cert/--tls-key, or the development one for --tls. */
async function loadTls(values: { 'tls-cert'?: string; 'tls-key'?: string; tls: boolean }): Promise<{ cert: Buffer; key: Buffer; note: string } | undefined> {
  const certFile = values['tls-cert'];
  const keyFile = values['tls-key'];
  if ((certFile === undefined) !== (keyFile === undefined)) usage('--tls-cert and --tls-key go together');
  if (certFile !== undefined && keyFile !== undefined) {
    try {
      return { cert: readFileSync(certFile), key: readFileSync(keyFile), note: '' };
    } catch (err) {
      die(PROG, `cannot read the certificate or key: ${(err as NodeJS.ErrnoException).code ?? (err as Error).message}`, EXIT_USAGE);
    }
  }
  if (!values.tls) return undefined;
  const dev = await ensureDevCertificate();
  return { cert: dev.cert, key: dev.key, note: `self-signed certificate ${dev.certPath}, SHA-256 ${dev.fingerprint256}` };
}

/** Strips --users FILE anywhere in argv; returns the file and the rest. */
function splitUsersFlag(argv: string[]): { file: string | undefined; rest: string[] } {
  const rest: string[] = [];
  let file: string | undefined;
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i]!;
    if (arg === '--users') {
      if (i + 1 >= argv.length) usage("option '--users' needs a FILE");
      file = argv[++i];
    } else if (arg.startsWith('--users=')) file = arg.slice('--users='.length);
    else rest.push(arg);
  }
  return { file, rest };
}

/** `ftp-serve [--users FILE] users ...`: manage the users file, then exit. */
async function usersSubcommand(): Promise<boolean> {
  const { file, rest } = splitUsersFlag(process.argv.slice(2));
  if (rest[0] !== 'users') return false;
  if (rest.includes('-h') || rest.includes('--help')) {
    process.stdout.write(USERS_HELP);
    return true;
  }
  try {
    await runUsersCommand(rest.slice(1), file ?? DEFAULT_USERS_FILE, { stdin: process.stdin, stdout: process.stdout, stderr: process.stderr });
  } catch (err) {
    if (err instanceof UsageError) usage(err.message);
    // A bad name, letter, home or users file: one line naming the field, exit 2.
    die(PROG, (err as Error).message, (err as { code?: string }).code === 'FTPKIT_ERR_INVALID_ARGUMENT' ? EXIT_USAGE : 1);
  }
  return true;
}

function count(text: string | undefined, flag: string): number | undefined {
  if (text === undefined) return undefined;
  if (!/^\d{1,9}$/.test(text)) usage(`${flag} takes a whole number, got '${text}'`);
  return Number(text);
}

async function main(): Promise<void> {
  if (await usersSubcommand()) return;
  let parsed;
  try {
    parsed = parseArgs({
      allowPositionals: true,
      options: {
        host: { type: 'string', default: '127.0.0.1' },
        port: { type: 'string', default: '2121' },
        user: { type: 'string', multiple: true, default: [] },
        anonymous: { type: 'boolean', default: false },
        write: { type: 'boolean', default: false },
        users: { type: 'string' },
        'anonymous-upload': { type: 'string' },
        'max-connections': { type: 'string' },
        'max-per-address': { type: 'string' },
        'max-transfers': { type: 'string' },
        'ban-after': { type: 'string' },
        'ban-time': { type: 'string' },
        'pasv-ports': { type: 'string' },
        'pasv-address': { type: 'string' },
        'log-level': { type: 'string', default: 'info' },
        'tls-cert': { type: 'string' },
        'tls-key': { type: 'string' },
        tls: { type: 'boolean', default: false },
        'require-tls': { type: 'boolean', default: false },
        'implicit-port': { type: 'string' },
        help: { type: 'boolean', short: 'h', default: false },
        version: { type: 'boolean', short: 'v', default: false },
      },
    });
  } catch (err) {
    usage((err as Error).message);
  }
  const { values, positionals } = parsed;
  if (values.help) {
    process.stdout.write(HELP);
    return;
  }
  if (values.version) {
    process.stdout.write(`${version}\n`);
    return;
  }
  if (positionals.length > 1) usage('only one ROOT folder may be given');
  const root = resolve(positionals[0] ?? '.');
  let isDir = false;
  try {
    isDir = statSync(root).isDirectory();
  } catch {
    // reported below
  }
  if (!isDir) die(PROG, `${root}: not a folder`, EXIT_USAGE);

  const users: StaticUser[] = values.user.map((spec) => {
    const colon = spec.indexOf(':');
    if (colon <= 0) usage(`--user takes NAME:PASSWORD, got '${spec}'`);
    return { username: spec.slice(0, colon), password: spec.slice(colon + 1) };
  });
  const levels = ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'];
  if (!levels.includes(values['log-level'])) usage(`--log-level takes one of ${levels.join(', ')}`);

  const logger = pino({ level: values['log-level'] }, pino.destination(2));
  const options: FileServerOptions = {
    host: values.host,
    port: parsePort(values.port, '--port'),
    logger,
  };
  const usersFile = values.users ?? (existsSync(DEFAULT_USERS_FILE) ? DEFAULT_USERS_FILE : undefined);
  let store: UserStore | undefined;
  if (usersFile !== undefined) {
    try {
      store = await UserStore.open(usersFile);
    } catch (err) {
      die(PROG, (err as Error).message, EXIT_USAGE);
    }
  }
  const fixed = users.length > 0 ? createStaticAuthenticator(users, { root, write: true }) : undefined;
  const fromFile = store?.authenticate;
  const hooks = [fromFile, fixed].filter((h): h is Authenticate => h !== undefined);
  if (hooks.length === 1) options.authenticate = hooks[0];
  else if (hooks.length === 2) options.authenticate = async (req) => (await fromFile!(req)) || fixed!(req);
  const anonymous = hooks.length === 0 || values.anonymous;
  if (!anonymous && values['anonymous-upload'] !== undefined) usage('--anonymous-upload needs anonymous access: add --anonymous');
  if (anonymous) {
    options.anonymous = { root, write: values.write };
    if (values['anonymous-upload'] !== undefined) options.anonymous.uploadFolder = values['anonymous-upload'];
  }
  const maxConnections = count(values['max-connections'], '--max-connections');
  if (maxConnections !== undefined) options.maxConnections = maxConnections;
  const perAddress = count(values['max-per-address'], '--max-per-address');
  if (perAddress !== undefined) options.maxConnectionsPerAddress = perAddress;
  const transfers = count(values['max-transfers'], '--max-transfers');
  if (transfers !== undefined) options.maxTransfersPerUser = transfers;
  const banAfter = count(values['ban-after'], '--ban-after');
  const banTime = count(values['ban-time'], '--ban-time');
  options.loginGuard = { ...(banAfter !== undefined ? { banAfter } : {}), ...(banTime !== undefined ? { banDuration: banTime * 1000 } : {}) };
  if (values['pasv-ports'] !== undefined) {
    const m = /^(\d{1,5})-(\d{1,5})$/.exec(values['pasv-ports']);
    if (!m) usage(`--pasv-ports takes MIN-MAX, got '${values['pasv-ports']}'`);
    options.pasvPortRange = [parsePort(m[1]!, '--pasv-ports'), parsePort(m[2]!, '--pasv-ports')];
  }
  if (values['pasv-address'] !== undefined) options.pasvAddress = values['pasv-address'];
  const tls = await loadTls(values);
  if (tls) {
    options.tls = { cert: tls.cert, key: tls.key };
    if (values['require-tls']) options.requireTls = true;
    if (values['implicit-port'] !== undefined) options.implicitTlsPort = parsePort(values['implicit-port'], '--implicit-port');
  } else if (values['require-tls'] || values['implicit-port'] !== undefined) {
    usage('--require-tls and --implicit-port need --tls or --tls-cert/--tls-key');
  }

  let server: FileServer;
  try {
    server = new FileServer(options);
  } catch (err) {
    usage((err as Error).message);
  }
  server.listen().then(
    (address) => {
      const host = address.family === 'IPv6' ? `[${address.address}]` : address.address;
      const upload = values['anonymous-upload'] ? `, uploads to ${values['anonymous-upload']}` : '';
      const access = [
        store ? `${store.size} user${store.size === 1 ? '' : 's'} from ${usersFile}` : '',
        users.length > 0 ? `${users.length} user${users.length > 1 ? 's' : ''} read-write` : '',
        anonymous ? `anonymous ${values.write ? 'read-write' : 'read-only'}${upload}` : '',
      ].filter(Boolean);
      const implicit = server.implicitAddress();
      const urls = [`ftp://${host}:${address.port}`, ...(implicit ? [`ftps://${host}:${implicit.port}`] : [])].join(' and ');
      const security = tls ? (values['require-tls'] ? ', TLS required' : ', TLS available') : '';
      process.stdout.write(`ftp-serve: serving ${root} at ${urls} (${access.join(', ')}${security})\n`);
      if (tls?.note) process.stdout.write(`ftp-serve: ${tls.note}\n`);
    },
    (err: NodeJS.ErrnoException) => die(PROG, `cannot listen on ${values.host}:${values.port}: ${err.code ?? err.message}`),
  );

  let stopping = false;
  const stop = (): void => {
    if (stopping) process.exit(1); // a second signal: stop now
    stopping = true;
    server.close().then(
      () => process.exit(0),
      () => process.exit(1),
    );
  };
  process.on('SIGINT', stop);
  process.on('SIGTERM', stop);
  // SIGHUP re-reads the users file; an invalid file keeps the users in force.
  process.on('SIGHUP', () => {
    store?.reload().then(
      () => logger.info({ users: store!.size, file: usersFile }, 'users file reloaded'),
      (err: Error) => logger.error({ file: usersFile, reason: err.message }, 'users file not reloaded, keeping the previous users'),
    );
  });
  // SIGHUP re-reads the certificate; open sessions keep going.
  process.on('SIGHUP', () => {
    if (!tls) return;
    loadTls(values).then(
      (fresh) => fresh && server.setTls({ cert: fresh.cert, key: fresh.key }),
      (err: Error) => process.stderr.write(`ftp-serve: certificate not reloaded: ${err.message}\n`),
    ).catch((err: Error) => process.stderr.write(`ftp-serve: certificate not reloaded: ${err.message}\n`));
  });
}

main().catch((err: Error) => die(PROG, err.message));
