#!/usr/bin/env node
// ftp-get: download a file, list a folder, or download a tree over FTP. Argv handling only.
import { setMaxListeners } from 'node:events';
import { parseArgs } from 'node:util';
import { COMMON_HELP, COMMON_OPTIONS, UsageError, errorLine, readCommonFlags, runGet } from '../src/client/cli/index.js';
import { EXIT_USAGE, version } from './cli.js';

const PROG = 'ftp-get';
const HELP = `Usage: ftp-get [options] URL [DEST]

Download ftp://[user[:password]@]host[:port]/path to DEST (default: its base
name here; '-' writes to stdout). A URL ending in '/' lists the folder;
with -r the folder is downloaded as a tree into DEST. ftps:// is implicit
FTPS (port 990), ftpes:// (or --tls) explicit FTPS; certificates are verified.

Options:
${COMMON_HELP}`;

async function main(): Promise<number> {
  let parsed;
  try {
    parsed = parseArgs({ allowPositionals: true, options: COMMON_OPTIONS });
  } catch (err) {
    process.stderr.write(`${errorLine(PROG, err)} (see --help)\n`);
    return EXIT_USAGE;
  }
  if (parsed.values.help) {
    process.stdout.write(HELP);
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
    await runGet({ ...readCommonFlags(parsed.values), signal: interrupt.signal }, parsed.positionals);
    return 0;
  } catch (err) {
    if (interrupt.signal.aborted) {
      process.stderr.write(`${PROG}: interrupted\n`);
      return 130;
    }
    process.stderr.write(`${errorLine(PROG, err)}${err instanceof UsageError ? ' (see --help)' : ''}\n`);
    return err instanceof UsageError ? EXIT_USAGE : 1;
  }
}

// exitCode, not exit(): stdout may still be flushing into a pipe.
main().then((code) => { process.exitCode = code; });
