#!/usr/bin/env node
// ftp-put: upload files or trees over FTP. Argv handling only.
import { COMMON_HELP, runPut } from '../src/client/cli/index.js';
import { runClientCli } from './client-cli.js';

const PROG = 'ftp-put';
const HELP = `Usage: ftp-put [options] SOURCE... URL

Upload SOURCE files (folders with -r) to ftp://[user[:password]@]host[:port]/path.
A URL ending in '/' (or several sources) is a folder, created if missing,
that receives each source under its base name. ftps:// is implicit FTPS
(port 990), ftpes:// (or --tls) explicit FTPS; certificates are verified.

Options:
${COMMON_HELP}`;

runClientCli(PROG, HELP, runPut);
