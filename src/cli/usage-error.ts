/**
 * A mistake in the command line or in a setting it names (a flag, a value, a file that cannot
 * work). The exit policy (exit.ts) prints it as one line and exits 2. `seeHelp: false` for
 * mistakes --help cannot fix (an invalid users file, a missing folder).
 */
export class UsageError extends Error {
  override readonly name = 'UsageError';
  readonly seeHelp: boolean;

  constructor(message: string, options: { seeHelp?: boolean; cause?: unknown } = {}) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    this.seeHelp = options.seeHelp ?? true;
  }
}
