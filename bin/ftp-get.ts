#!/usr/bin/env node
// ftp-get: download a file, list a folder, or download a tree over FTP. Argv handling only.
import { parseArgs } from 'node:util';
import { COMMON_HELP, COMMON_OPTIONS, UsageError, errorLine, readCommonFlags, runGet } from '../src/client/cli/index.js';
import { EXIT_USAGE, version } from './cli.js';

const PROG = 'ftp-get';
const HELP = `Usage: ftp-get [options] URL [DEST]

Download ftp://[user[:password]@]host[:port]/path to DEST (default: its base
name here; '-' writes to stdout). A URL ending in '/' lists the folder;
with -r the folder is downloaded as a tree into DEST.

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
  try {
    await runGet(readCommonFlags(parsed.values), parsed.positionals);
    return 0;
  } catch (err) {
    process.stderr.write(`${errorLine(PROG, err)}${err instanceof UsageError ? ' (see --help)' : ''}\n`);
    return err instanceof UsageError ? EXIT_USAGE : 1;
  }
}

// exitCode, not exit(): stdout may still be flushing into a pipe.
main().then((code) => { process.exitCode = code; });
