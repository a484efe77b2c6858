// The one exit policy of ftp-serve, ftp-get and ftp-put: every failure is one line on stderr,
// `prog: message`, never a stack trace. ftp-get and ftp-put exit with curl's numbers where curl
// has one for the same failure (`man curl`, EXIT CODES), so a script can tell "retry later"
// (6, 7, 28, 56) from "fix the command" (2, 67, 78); the table below is the only list, printed
// by --help and copied in the README (test/unit/cli/exit.test.ts keeps them equal).
import { FtpError } from '../index.js';
import { UsageError } from './usage-error.js';

/** Success. */
export const EXIT_OK = 0;
/** The work failed, and no more precise status below applies. */
export const EXIT_FAILURE = 1;
/** A bad flag or value, or a setting that can never work; nothing was done. */
export const EXIT_USAGE = 2;
/** Stopped by Ctrl-C (128 + SIGINT), as shells report it. */
export const EXIT_INTERRUPTED = 130;

/** The statuses of ftp-get and ftp-put, by name. */
export const EXIT = {
  OK: EXIT_OK,
  FAILURE: EXIT_FAILURE,
  USAGE: EXIT_USAGE,
  COULD_NOT_RESOLVE: 6,
  COULD_NOT_CONNECT: 7,
  WEIRD_REPLY: 8,
  PARTIAL_FILE: 18,
  WRITE_ERROR: 23,
  UPLOAD_REFUSED: 25,
  READ_ERROR: 26,
  TIMEOUT: 28,
  TLS: 35,
  BAD_RESUME: 36,
  CONNECTION_LOST: 56,
  LOGIN_DENIED: 67,
  NOT_FOUND: 78,
  INTERRUPTED: EXIT_INTERRUPTED,
} as const;

/** What each status means, in the words --help and the README use. */
export const EXIT_TABLE: readonly { code: number; meaning: string }[] = [
  { code: EXIT.OK, meaning: 'success (also when the reader of stdout, such as `head`, closed it early)' },
  { code: EXIT.FAILURE, meaning: 'another failure: a refused command not listed below, a --verify mismatch' },
  { code: EXIT.USAGE, meaning: 'usage: a bad flag, value, URL or DEST; nothing was done' },
  { code: EXIT.COULD_NOT_RESOLVE, meaning: 'could not resolve the host name' },
  { code: EXIT.COULD_NOT_CONNECT, meaning: 'could not connect: refused, unreachable, or 421 (service not available)' },
  { code: EXIT.WEIRD_REPLY, meaning: 'the server broke the protocol (a malformed or oversized reply or listing)' },
  { code: EXIT.PARTIAL_FILE, meaning: 'the transfer ended short of the file\'s size' },
  { code: EXIT.WRITE_ERROR, meaning: 'local write error: DEST\'s folder missing or read-only, disk full, stdout failed' },
  { code: EXIT.UPLOAD_REFUSED, meaning: 'the server refused the upload (a 45x or 55x to STOR, APPE or MKD)' },
  { code: EXIT.READ_ERROR, meaning: 'local read error: a SOURCE missing or unreadable, stdin failed' },
  { code: EXIT.TIMEOUT, meaning: 'timeout: no reply within --timeout' },
  { code: EXIT.TLS, meaning: 'TLS failure: handshake, refused certificate, or AUTH TLS/PBSZ/PROT refused' },
  { code: EXIT.BAD_RESUME, meaning: 'cannot resume (-c): the local partial file is larger than the remote file; or --range starts past its end' },
  { code: EXIT.CONNECTION_LOST, meaning: 'the connection broke during the work (closed, reset, data connection failed)' },
  { code: EXIT.LOGIN_DENIED, meaning: 'login denied (530)' },
  { code: EXIT.NOT_FOUND, meaning: 'remote file not found (a 45x or 55x to SIZE, RETR or LIST)' },
  { code: EXIT.INTERRUPTED, meaning: 'interrupted (Ctrl-C); partial files are removed (kept with -c)' },
];

/** The table for --help. */
export const EXIT_HELP = `Exit status:\n${EXIT_TABLE.map(({ code, meaning }) => `  ${String(code).padStart(3)}  ${meaning.replace(/`/g, '')}\n`).join('')}`;

/** Ctrl-C stopped the work: printed as `prog: interrupted`, exit 130. */
export class InterruptedError extends Error {
  override readonly name = 'InterruptedError';
  constructor() {
    super('interrupted');
  }
}

/** A failure the bin has already put in words and given a status (a local path, a DEST that is a URL). */
export class CliError extends Error {
  override readonly name = 'CliError';
  readonly exitCode: number;

  constructor(message: string, exitCode: number, options: { cause?: unknown } = {}) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    this.exitCode = exitCode;
  }
}

/** Nothing to print: the work ended as it should although it did not finish (stdout closed by its reader). */
export class QuietExit extends Error {
  override readonly name = 'QuietExit';
  readonly exitCode: number;

  constructor(exitCode = EXIT_OK) {
    super('quiet exit');
    this.exitCode = exitCode;
  }
}

const RESOLVE_ERRNOS = new Set(['ENOTFOUND', 'EAI_AGAIN', 'EAI_NONAME', 'EAI_FAIL', 'EAI_NODATA']);
const CONNECT_ERRNOS = new Set(['ECONNREFUSED', 'EHOSTUNREACH', 'ENETUNREACH', 'EHOSTDOWN', 'ENETDOWN', 'EADDRNOTAVAIL']);
const LOST_ERRNOS = new Set(['ECONNRESET', 'ECONNABORTED', 'EPIPE']);

/** The first `code` that looks like an errno (`ENOENT`, `EAI_AGAIN`) in `err` and its causes. */
export function errnoOf(err: unknown): string | undefined {
  for (let e = err, depth = 0; e !== null && typeof e === 'object' && depth < 8; e = (e as { cause?: unknown }).cause, depth++) {
    const code = (e as { code?: unknown }).code;
    if (typeof code === 'string' && /^E[A-Z0-9_]+$/.test(code)) return code;
  }
  return undefined;
}

/** Which way ftp-get or ftp-put moves files: decides what a 550 or a local error means. */
export type Direction = 'download' | 'upload';

/** The exit status of ftp-get or ftp-put for `err` (see EXIT_TABLE). */
export function clientExitCode(err: unknown, direction: Direction): number {
  if (err instanceof InterruptedError) return EXIT.INTERRUPTED;
  if (err instanceof UsageError) return EXIT.USAGE;
  if (err instanceof CliError || err instanceof QuietExit) return err.exitCode;
  const errno = errnoOf(err);
  if (errno !== undefined) {
    if (RESOLVE_ERRNOS.has(errno)) return EXIT.COULD_NOT_RESOLVE;
    if (CONNECT_ERRNOS.has(errno)) return EXIT.COULD_NOT_CONNECT;
    if (errno === 'ETIMEDOUT') return EXIT.TIMEOUT;
  }
  if (!(err instanceof FtpError)) {
    if (errno !== undefined && LOST_ERRNOS.has(errno)) return EXIT.CONNECTION_LOST;
    // A file-system errno outside an FtpError: the bins' own reads and writes.
    if (errno !== undefined) return direction === 'download' ? EXIT.WRITE_ERROR : EXIT.READ_ERROR;
    return EXIT.FAILURE;
  }
  switch (err.code as string) {
    case 'FTPKIT_ERR_INVALID_ARGUMENT':
    case 'FTPKIT_ERR_UNSAFE_PATH':
      return EXIT.USAGE;
    case 'FTPKIT_ERR_TIMEOUT':
      return EXIT.TIMEOUT;
    case 'FTPKIT_ERR_TLS':
      return EXIT.TLS;
    case 'FTPKIT_ERR_PROTOCOL':
    case 'FTPKIT_ERR_REPLY_TOO_LARGE':
    case 'FTPKIT_ERR_LISTING_TOO_LARGE':
      return EXIT.WEIRD_REPLY;
    case 'FTPKIT_ERR_CONNECTION_CLOSED':
    case 'FTPKIT_ERR_DATA_CONNECTION':
      return EXIT.CONNECTION_LOST;
    case 'FTPKIT_ERR_ABORTED':
      return EXIT.INTERRUPTED;
    case 'FTPKIT_ERR_LOCAL_FILE':
      return direction === 'download' ? EXIT.WRITE_ERROR : EXIT.READ_ERROR;
    case 'FTPKIT_ERR_INCOMPLETE':
      // Some files of a tree failed: the first failure says what kind.
      return (err as Error).cause !== undefined ? clientExitCode((err as Error).cause, direction) : EXIT.FAILURE;
    case 'FTPKIT_ERR_REPLY':
      return replyExitCode(err.replyCode, direction);
    default:
      return EXIT.FAILURE;
  }
}

function replyExitCode(reply: number | undefined, direction: Direction): number {
  if (reply === undefined) return EXIT.FAILURE;
  if (reply === 530 || reply === 532) return EXIT.LOGIN_DENIED;
  if (reply === 421) return EXIT.COULD_NOT_CONNECT;
  if (reply === 425 || reply === 426) return EXIT.CONNECTION_LOST;
  if ((reply >= 450 && reply <= 452) || (reply >= 550 && reply <= 553)) return direction === 'download' ? EXIT.NOT_FOUND : EXIT.UPLOAD_REFUSED;
  return EXIT.FAILURE;
}

/** `prog: message`, the first line only, from any error. */
export function errorLine(prog: string, err: unknown): string {
  const message = err instanceof Error ? err.message : String(err);
  return `${prog}: ${message.split('\n')[0]}`;
}

/**
 * Prints `err` as one line on stderr and returns its exit status: `exitCode` decides it
 * (ftp-get and ftp-put pass clientExitCode), else usage 2, interrupted 130, anything else 1.
 */
export function reportError(prog: string, err: unknown, exitCode?: (err: unknown) => number): number {
  if (err instanceof QuietExit) return err.exitCode;
  if (err instanceof InterruptedError) {
    process.stderr.write(`${prog}: interrupted\n`);
    return EXIT_INTERRUPTED;
  }
  const hint = err instanceof UsageError && err.seeHelp ? ' (see --help)' : '';
  process.stderr.write(`${errorLine(prog, err)}${hint}\n`);
  if (exitCode) return exitCode(err);
  return err instanceof UsageError ? EXIT_USAGE : EXIT_FAILURE;
}

/**
 * Runs a bin's main and applies the policy. It sets `process.exitCode` rather than calling
 * exit(): stdout may still be flushing into a pipe. A main that leaves work running (a server)
 * keeps the process alive and ends it itself.
 */
export function runMain(prog: string, main: () => Promise<number | void>, exitCode?: (err: unknown) => number): void {
  main().then(
    (code) => {
      process.exitCode = code ?? EXIT_OK;
    },
    (err: unknown) => {
      process.exitCode = reportError(prog, err, exitCode);
    },
  );
}
