// The argv loop ftp-get and ftp-put share: parse, --help/--version, Ctrl-C, a closed stdout,
// and the exit statuses of exit.ts.
import { setMaxListeners } from 'node:events';
import { parseFlags, printedHelpOrVersion } from './args.js';
import { COMMON_OPTIONS, readCommonFlags, type CommonFlags } from './client-flags.js';
import { clientExitCode, InterruptedError, QuietExit, runMain, type Direction } from './exit.js';

export type ClientCommand = (flags: CommonFlags, positionals: string[], values: Record<string, string | boolean | undefined>) => Promise<void>;

type Options = Record<string, { type: 'string' | 'boolean'; short?: string; default?: string | boolean }>;

/**
 * Set once the reader of stdout went away (EPIPE: `ftp-get URL - | head -c 100`). Like `cat`,
 * the bins then stop quietly and exit 0: the transfer is aborted (ABOR), nothing is printed.
 */
let stdoutClosed = false;

export function isStdoutClosed(): boolean {
  return stdoutClosed;
}

/**
 * Runs a client command: the exit status is 0, or the one exit.ts gives the failure
 * (2 usage, 6/7 cannot reach the server, 67 login denied, 78 not found, 130 Ctrl-C...).
 */
export function runClientCli(prog: string, help: string, direction: Direction, command: ClientCommand, argv: string[] = process.argv.slice(2), extraOptions: Options = {}): void {
  // Without a listener, EPIPE on stdout would be an uncaught 'error' (a stack trace).
  process.stdout.on('error', (err: NodeJS.ErrnoException) => {
    if (err.code === 'EPIPE') stdoutClosed = true;
  });
  runMain(prog, async () => {
    const { values, positionals } = parseFlags(argv, { ...COMMON_OPTIONS, ...extraOptions });
    if (printedHelpOrVersion(values, help)) return;
    const flags = readCommonFlags(values);
    if (values['deprecated-r'] === true) {
      // -r will be curl's --range in ftp-get; both bins say -R for a tree now.
      const later = direction === 'download' ? 'will mean --range (as in curl)' : 'will go away';
      process.stderr.write(`${prog}: warning: -r is now -R (--recursive); -r ${later} in a later release\n`);
    }
    // Ctrl-C aborts the transfers (ABOR, partial files removed); a second one kills at once.
    const interrupt = new AbortController();
    setMaxListeners(0, interrupt.signal); // shared on purpose by every connection and transfer
    process.once('SIGINT', () => interrupt.abort());
    try {
      await command({ ...flags, signal: interrupt.signal }, positionals, values as Record<string, string | boolean | undefined>);
    } catch (err) {
      if (stdoutClosed) throw new QuietExit();
      throw interrupt.signal.aborted ? new InterruptedError() : err;
    }
  }, (err) => clientExitCode(err, direction));
}
