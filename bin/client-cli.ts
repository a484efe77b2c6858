// The argv loop ftp-get and ftp-put share: parse, --help/--version, Ctrl-C, one-line errors.
import { setMaxListeners } from 'node:events';
import { parseArgs } from 'node:util';
import { COMMON_OPTIONS, UsageError, errorLine, readCommonFlags, type CommonFlags } from '../src/client/cli/index.js';
import { EXIT_USAGE, version } from './cli.js';

export type ClientCommand = (flags: CommonFlags, positionals: string[]) => Promise<void>;

/** Runs a client command and sets the exit status: 0, 1 (failure), 2 (usage), 130 (Ctrl-C). */
export function runClientCli(prog: string, help: string, command: ClientCommand): void {
  // exitCode, not exit(): stdout may still be flushing into a pipe.
  void main(prog, help, command).then((code) => {
    process.exitCode = code;
  });
}

async function main(prog: string, help: string, command: ClientCommand): Promise<number> {
  let parsed;
  try {
    parsed = parseArgs({ allowPositionals: true, options: COMMON_OPTIONS });
  } catch (err) {
    process.stderr.write(`${errorLine(prog, err)} (see --help)\n`);
    return EXIT_USAGE;
  }
  if (parsed.values.help) {
    process.stdout.write(help);
    return 0;
  }
  if (parsed.values.version) {
    process.stdout.write(`${version}\n`);
    return 0;
  }
  // Ctrl-C aborts the transfers (ABOR, partial files removed); a second one kills at once.
  const interrupt = new AbortController();
  setMaxListeners(0, interrupt.signal); // shared on purpose by every connection and transfer
  process.once('SIGINT', () => interrupt.abort());
  try {
    await command({ ...readCommonFlags(parsed.values), signal: interrupt.signal }, parsed.positionals);
    return 0;
  } catch (err) {
    if (interrupt.signal.aborted) {
      process.stderr.write(`${prog}: interrupted\n`);
      return 130;
    }
    process.stderr.write(`${errorLine(prog, err)}${err instanceof UsageError ? ' (see --help)' : ''}\n`);
    return err instanceof UsageError ? EXIT_USAGE : 1;
  }
}
