// The argv loop ftp-get and ftp-put share: parse, --help/--version, Ctrl-C, the exit policy.
import { setMaxListeners } from 'node:events';
import { parseFlags, printedHelpOrVersion } from './args.js';
import { COMMON_OPTIONS, readCommonFlags, type CommonFlags } from './client-flags.js';
import { InterruptedError, runMain } from './exit.js';

export type ClientCommand = (flags: CommonFlags, positionals: string[]) => Promise<void>;

/** Runs a client command and sets the exit status: 0, 1 (failure), 2 (usage), 130 (Ctrl-C). */
export function runClientCli(prog: string, help: string, command: ClientCommand, argv: string[] = process.argv.slice(2)): void {
  runMain(prog, async () => {
    const { values, positionals } = parseFlags(argv, COMMON_OPTIONS);
    if (printedHelpOrVersion(values, help)) return;
    // Ctrl-C aborts the transfers (ABOR, partial files removed); a second one kills at once.
    const interrupt = new AbortController();
    setMaxListeners(0, interrupt.signal); // shared on purpose by every connection and transfer
    process.once('SIGINT', () => interrupt.abort());
    try {
      await command({ ...readCommonFlags(values), signal: interrupt.signal }, positionals);
    } catch (err) {
      throw interrupt.signal.aborted ? new InterruptedError() : err;
    }
  });
}
