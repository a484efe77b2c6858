// Shared by the bins: version, one-line errors, exit codes.
declare const FTPKIT_VERSION: string;

/** The package version, stamped in at build time. */
export const version: string = typeof FTPKIT_VERSION === 'string' ? FTPKIT_VERSION : '0.0.0-dev';

/** Exit status for a bad flag or value. */
export const EXIT_USAGE = 2;

/** Prints `prog: message` on stderr and exits: one line, never a stack trace. */
export function die(prog: string, message: string, code = 1): never {
  process.stderr.write(`${prog}: ${message.split('\n')[0]}\n`);
  process.exit(code);
}
