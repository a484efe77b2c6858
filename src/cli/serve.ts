// ftp-serve: serve a folder over FTP (or manage its users file), until a signal stops it.
//
//   SIGINT, SIGTERM   close gracefully: no new connections, running transfers may finish (up to
//                     10 s); a second signal stops at once (exit 130 after Ctrl-C)
//   SIGHUP            re-read the users file and the certificate
//   SIGUSR2           lift every ban (FileServer.unban)
//   SIGUSR1           reopen --log-file and --xferlog (logrotate's postrotate)
import { DEFAULT_USERS_FILE, FileServer } from '../index.js';
import { parseFlags, printedHelpOrVersion } from './args.js';
import { EXIT_FAILURE, EXIT_INTERRUPTED, EXIT_OK, runMain } from './exit.js';
import { SERVE_HELP, SERVE_OPTIONS, loadTls, planServer, settingError, type ServePlan } from './serve-options.js';
import { USERS_HELP, runUsersCommand } from './users.js';
import { UsageError } from './usage-error.js';
import { startLogging } from './serve-logging.js';

const PROG = 'ftp-serve';

/** The ftp-serve bin. */
export function main(argv: string[] = process.argv.slice(2)): void {
  runMain(PROG, () => serve(argv));
}

async function serve(argv: string[]): Promise<void> {
  const { file, rest } = splitUsersFlag(argv);
  if (rest[0] === 'users') {
    if (rest.includes('-h') || rest.includes('--help')) process.stdout.write(USERS_HELP);
    else await runUsersCommand(rest.slice(1), file ?? DEFAULT_USERS_FILE, { stdin: process.stdin, stdout: process.stdout, stderr: process.stderr });
    return;
  }
  const { values, positionals } = parseFlags(argv, SERVE_OPTIONS);
  if (printedHelpOrVersion(values, SERVE_HELP)) return;
  const plan = await planServer(values, positionals);
  let server: FileServer;
  try {
    server = new FileServer(plan.options);
  } catch (err) {
    throw settingError(err);
  }
  // Before listening: a signal that arrives with no handler kills the process on the spot.
  handleSignals(server, plan, values);
  let address;
  try {
    address = await server.listen();
  } catch (err) {
    throw new Error(`cannot listen on ${values.host}:${values.port}: ${(err as NodeJS.ErrnoException).code ?? (err as Error).message}`);
  }
  const host = address.family === 'IPv6' ? `[${address.address}]` : address.address;
  const implicit = server.implicitAddress();
  const urls = [`ftp://${host}:${address.port}`, ...(implicit ? [`ftps://${host}:${implicit.port}`] : [])].join(' and ');
  const security = plan.tls ? (values['require-tls'] ? ', TLS required' : ', TLS available') : '';
  process.stdout.write(`${PROG}: serving ${plan.root} at ${urls} (${plan.access}${security})\n`);
  for (const note of plan.notes) process.stdout.write(`${note}\n`);
  for (const note of await startLogging(server, plan.logging)) process.stdout.write(`${note}\n`);
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

/** FileServer.unban(address?) lifts bans and says how many; older builds lack it. */
type Unbanning = FileServer & { unban(address?: string): number };

function canUnban(server: FileServer): server is Unbanning {
  return typeof (server as unknown as Partial<Unbanning>).unban === 'function';
}

function handleSignals(server: FileServer, plan: ServePlan, values: Parameters<typeof loadTls>[0]): void {
  const { logger, store, usersFile } = plan;
  let transfers = 0;
  server.on('transfer-start', () => transfers++);
  server.on('transfer-end', () => transfers--);

  let stopping = false;
  const stop = (signal: 'SIGINT' | 'SIGTERM'): void => {
    // The second signal: stop now. Open files and sockets close with the process; an atomic
    // upload leaves its hidden temporary, swept at the next start.
    if (stopping) process.exit(signal === 'SIGINT' ? EXIT_INTERRUPTED : 128 + 15);
    stopping = true;
    if (transfers > 0) {
      const again = signal === 'SIGINT' ? 'Ctrl-C' : 'SIGTERM';
      process.stderr.write(`${PROG}: waiting for ${transfers} transfer${transfers === 1 ? '' : 's'} to finish (${again} again to stop now)\n`);
    }
    server.close().then(
      () => process.exit(EXIT_OK),
      () => process.exit(EXIT_FAILURE),
    );
  };
  process.on('SIGINT', () => stop('SIGINT'));
  process.on('SIGTERM', () => stop('SIGTERM'));

  // SIGHUP re-reads the users file (an invalid one keeps the users in force) and the certificate
  // (open sessions keep theirs).
  process.on('SIGHUP', () => {
    store?.reload().then(
      () => logger.info({ users: store.size, file: usersFile }, 'users file reloaded'),
      (err: Error) => logger.error({ file: usersFile, reason: err.message }, 'users file not reloaded, keeping the previous users'),
    );
    if (!plan.tls) return;
    loadTls(values)
      .then((fresh) => fresh && server.setTls({ cert: fresh.cert, key: fresh.key }))
      .catch((err: Error) => logger.error({ reason: err.message }, 'certificate not reloaded, keeping the previous one'));
  });

  // SIGUSR1 reopens the log files: logrotate moved them (postrotate: kill -USR1).
  process.on('SIGUSR1', () => {
    try {
      plan.logging.reopen();
      logger.info('log files reopened (SIGUSR1)');
    } catch (err) {
      process.stderr.write(`${PROG}: cannot reopen the log files: ${(err as Error).message}\n`);
    }
  });

  // SIGUSR2 lifts every ban: after testing with wrong passwords, no restart needed.
  process.on('SIGUSR2', () => {
    if (!canUnban(server)) {
      logger.error('bans not lifted: this build of ftpkit has no FileServer.unban()');
      return;
    }
    logger.info({ lifted: server.unban() }, 'bans lifted (SIGUSR2)');
  });
}
