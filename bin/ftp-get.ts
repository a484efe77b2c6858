#!/usr/bin/env node
// ftp-get: download a file, list a folder, or download a tree over FTP. Argv handling only.
import { COMMON_HELP, runGet } from '../src/client/cli/index.js';
import { runClientCli } from './client-cli.js';

const PROG = 'ftp-get';
const HELP = `Usage: ftp-get [options] URL [DEST]

Download ftp://[user[:password]@]host[:port]/path to DEST (default: its base
name here; '-' writes to stdout). A URL ending in '/' lists the folder;
with -r the folder is downloaded as a tree into DEST. ftps:// is implicit
FTPS (port 990), ftpes:// (or --tls) explicit FTPS; certificates are verified.

Options:
${COMMON_HELP}`;

runClientCli(PROG, HELP, runGet);
