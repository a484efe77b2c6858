// The one exit policy of ftp-serve, ftp-get and ftp-put: every failure is one line on stderr,
// `prog: message`, never a stack trace, and one of four exit statuses.
import { UsageError } from './usage-error.js';

/** Success. */
export const EXIT_OK = 0;
/** The work failed: a refused login, a missing file, a network error, a port in use. */
export const EXIT_FAILURE = 1;
/** A bad flag or value, or a setting that can never work; nothing was done. */
export const EXIT_USAGE = 2;
/** Stopped by Ctrl-C (128 + SIGINT), as shells report it. */
export const EXIT_INTERRUPTED = 130;

/** Ctrl-C stopped the work: printed as `prog: interrupted`, exit 130. */
export class InterruptedError extends Error {
  override readonly name = 'InterruptedError';
  constructor() {
    super('interrupted');
  }
}

/** `prog: message`, the first line only, from any error. */
export function errorLine(prog: string, err: unknown): string {
  const message = err instanceof Error ? err.message : String(err);
  return `${prog}: ${message.split('\n')[0]}`;
}

/** Prints `err` as one line on stderr and returns its exit status. */
export function reportError(prog: string, err: unknown): number {
  if (err instanceof InterruptedError) {
    process.stderr.write(`${prog}: interrupted\n`);
    return EXIT_INTERRUPTED;
  }
  const hint = err instanceof UsageError && err.seeHelp ? ' (see --help)' : '';
  process.stderr.write(`${errorLine(prog, err)}${hint}\n`);
  return err instanceof UsageError ? EXIT_USAGE : EXIT_FAILURE;
}

/**
 * Runs a bin's main and applies the policy. It sets `process.exitCode` rather than calling
 * exit(): stdout may still be flushing into a pipe. A main that leaves work running (a server)
 * keeps the process alive and ends it itself.
 */
export function runMain(prog: string, main: () => Promise<number | void>): void {
  main().then(
    (code) => {
      process.exitCode = code ?? EXIT_OK;
    },
    (err: unknown) => {
      process.exitCode = reportError(prog, err);
    },
  );
}
