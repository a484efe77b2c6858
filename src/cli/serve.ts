// ftp-serve: serve a folder over FTP (or manage its users file), until a signal stops it.
//
//   SIGINT, SIGTERM   close gracefully: no new connections, running transfers may finish (up to
//                     10 s); a second signal stops at once (exit 130 after Ctrl-C)
//   SIGHUP            re-read the users file and the certificate
//   SIGUSR2           lift every ban (FileServer.unban)
//   SIGUSR1           reopen --log-file and --xferlog (logrotate's postrotate)
//
// With --workers N the first process is the primary of a node:cluster (cluster.ts): it takes
// the signals and passes them on; the workers run serveIn() below.
import cluster from 'node:cluster';
import type { AddressInfo } from 'node:net';
import { DEFAULT_USERS_FILE, FileServer, type FileServerOptions } from '../index.js';
import { parseFlags, printedHelpOrVersion } from './args.js';
import { runPrimary, runWorker, WORKER_ENV } from './cluster.js';
import { EXIT_FAILURE, EXIT_INTERRUPTED, EXIT_OK, runMain } from './exit.js';
import { SERVE_HELP, SERVE_OPTIONS, loadTls, planServer, settingError, type ServePlan, type ServeValues } from './serve-options.js';
import { USERS_HELP, runUsersCommand } from './users.js';
import { UsageError } from './usage-error.js';
import { startLogging } from './serve-logging.js';

export const PROG = 'ftp-serve';

/** The ftp-serve bin. */
export function main(argv: string[] = process.argv.slice(2)): void {
  runMain(PROG, () => serve(argv));
}

type Values = ServeValues;

async function serve(argv: string[]): Promise<void> {
  const { file, rest } = splitUsersFlag(argv);
  if (rest[0] === 'users') {
    if (rest.includes('-h') || rest.includes('--help')) process.stdout.write(USERS_HELP);
    else await runUsersCommand(rest.slice(1), file ?? DEFAULT_USERS_FILE, { stdin: process.stdin, stdout: process.stdout, stderr: process.stderr });
    return;
  }
  const { values, positionals } = parseFlags(argv, SERVE_OPTIONS);
  if (printedHelpOrVersion(values, SERVE_HELP)) return;
  if (cluster.isWorker && process.env[WORKER_ENV] === '1') return runWorker(() => planServer(values, positionals), values);
  const plan = await planServer(values, positionals);
  if (plan.workers > 1) return runPrimary(plan, values);
  const server = createServer(plan.options);
  // Before listening: a signal that arrives with no handler kills the process on the spot.
  handleSignals(server, plan, values);
  const address = await listen(server, values);
  process.stdout.write(`${startupLine(plan, values, address, server.implicitAddress())}\n`);
  for (const note of plan.notes) process.stdout.write(`${note}\n`);
  for (const note of await startLogging(server, plan.logging)) process.stdout.write(`${note}\n`);
}

/** A FileServer from the plan's options, its errors naming the flags. */
export function createServer(options: FileServerOptions): FileServer {
  let server: FileServer;
  try {
    server = new FileServer(options);
  } catch (err) {
    throw settingError(err);
  }
  // Which process served what (pino puts the pid on every line): --workers tests and operators.
  const log = options.logger;
  server.on('transfer-end', ({ sessionId, command, path, bytes, ok }) => log?.debug({ session: sessionId, command, path, bytes, ok }, 'transfer end'));
  return server;
}

export async function listen(server: FileServer, values: { host: string; port: string }): Promise<AddressInfo> {
  try {
    return await server.listen();
  } catch (err) {
    throw new Error(`cannot listen on ${values.host}:${values.port}: ${(err as NodeJS.ErrnoException).code ?? (err as Error).message}`);
  }
}

/** `ftp-serve: serving ROOT at ftp://HOST:PORT (ACCESS)`: the one line printed at startup. */
export function startupLine(plan: ServePlan, values: { 'require-tls': boolean }, address: AddressInfo, implicit: { port: number } | undefined): string {
  const host = address.family === 'IPv6' ? `[${address.address}]` : address.address;
  const urls = [`ftp://${host}:${address.port}`, ...(implicit ? [`ftps://${host}:${implicit.port}`] : [])].join(' and ');
  const security = plan.tls ? (values['require-tls'] ? ', TLS required' : ', TLS available') : '';
  const workers = plan.workers > 1 ? `, ${plan.workers} workers` : '';
  return `${PROG}: serving ${plan.root} at ${urls} (${plan.access}${security}${workers})`;
}

/** Strips --users FILE anywhere in argv; returns the file and the rest. */
function splitUsersFlag(argv: string[]): { file: string | undefined; rest: string[] } {
  const rest: string[] = [];
  let file: string | undefined;
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i]!;
    if (arg === '--users') {
      if (i + 1 >= argv.length) throw new UsageError("option '--users' needs a FILE");
      file = argv[++i];
    } else if (arg.startsWith('--users=')) file = arg.slice('--users='.length);
    else rest.push(arg);
  }
  return { file, rest };
}

/** Counts the transfers running now (for the "waiting for N transfers" line). */
export function countTransfers(server: FileServer): () => number {
  let transfers = 0;
  server.on('transfer-start', () => transfers++);
  server.on('transfer-end', () => transfers--);
  return () => transfers;
}

/** `waiting for N transfers to finish (Ctrl-C again to stop now)`, or '' when none run. */
export function waitingLine(transfers: number, signal: 'SIGINT' | 'SIGTERM'): string {
  if (transfers <= 0) return '';
  const again = signal === 'SIGINT' ? 'Ctrl-C' : 'SIGTERM';
  return `${PROG}: waiting for ${transfers} transfer${transfers === 1 ? '' : 's'} to finish (${again} again to stop now)\n`;
}

/**
 * SIGHUP: re-reads the users file (an invalid one keeps the users in force) and the certificate
 * and --tls-ticket-keys (open sessions keep theirs).
 */
export function reload(server: FileServer, plan: ServePlan, values: Values): void {
  const { logger, store, usersFile } = plan;
  store?.reload().then(
    () => logger.info({ users: store.size, file: usersFile }, 'users file reloaded'),
    (err: Error) => logger.error({ file: usersFile, reason: err.message }, 'users file not reloaded, keeping the previous users'),
  );
  if (!plan.tls) return;
  loadTls(values)
    .then((fresh) => fresh && server.setTls({ cert: fresh.cert, key: fresh.key, ...(fresh.ticketKeys ? { ticketKeys: fresh.ticketKeys.keys } : {}) }))
    .catch((err: Error) => logger.error({ reason: err.message }, 'certificate not reloaded, keeping the previous one'));
}

/** SIGUSR1: reopens --log-file and --xferlog (logrotate moved them). */
export function reopenLogs(plan: ServePlan): void {
  try {
    plan.logging.reopen();
    plan.logger.info('log files reopened (SIGUSR1)');
  } catch (err) {
    process.stderr.write(`${PROG}: cannot reopen the log files: ${(err as Error).message}\n`);
  }
}

/** SIGUSR2: lifts every ban; after testing with wrong passwords, no restart needed. */
export function unbanAll(server: FileServer, plan: ServePlan): void {
  plan.logger.info({ lifted: server.unban() }, 'bans lifted (SIGUSR2)');
}

function handleSignals(server: FileServer, plan: ServePlan, values: Values): void {
  const transfers = countTransfers(server);
  let stopping = false;
  const stop = (signal: 'SIGINT' | 'SIGTERM'): void => {
    // The second signal: stop now. Open files and sockets close with the process; an atomic
    // upload leaves its hidden temporary, swept at the next start.
    if (stopping) process.exit(signal === 'SIGINT' ? EXIT_INTERRUPTED : 128 + 15);
    stopping = true;
    process.stderr.write(waitingLine(transfers(), signal));
    server.close().then(
      () => process.exit(EXIT_OK),
      () => process.exit(EXIT_FAILURE),
    );
  };
  process.on('SIGINT', () => stop('SIGINT'));
  process.on('SIGTERM', () => stop('SIGTERM'));
  process.on('SIGHUP', () => reload(server, plan, values));
  process.on('SIGUSR2', () => unbanAll(server, plan));
  // SIGUSR1 reopens the log files: logrotate moved them (postrotate: kill -USR1).
  process.on('SIGUSR1', () => reopenLogs(plan));
}
