// ftp-get: download a file, list a folder, or download a tree over FTP.
import fs from 'node:fs/promises';
import path from 'node:path';
import type { Writable } from 'node:stream';
import { FtpError, downloadSegmented, downloadTree, parseFtpUrl, type FileClientOptions, type ListEntry } from '../index.js';
import { COMMON_HELP, ClientGroup, connectionOptions, withPath, type CommonFlags } from './client-flags.js';
import { runClientCli } from './client-main.js';
import { resolveCredentials } from './credentials.js';
import { ProgressBar } from './progress-bar.js';
import { UsageError } from './usage-error.js';
import { verifyFile } from './verify.js';

const PROG = 'ftp-get';
const HELP = `Usage: ftp-get [options] URL [DEST]

Download ftp://[user[:password]@]host[:port]/path to DEST (default: its base
name here; '-' writes to stdout). A URL ending in '/' lists the folder;
with -r the folder is downloaded as a tree into DEST. ftps:// is implicit
FTPS (port 990), ftpes:// (or --tls) explicit FTPS; certificates are verified.

Options:
${COMMON_HELP}`;

/** The ftp-get bin. */
export function main(argv: string[] = process.argv.slice(2)): void {
  runClientCli(PROG, HELP, runGet, argv);
}

/**
 * ftp-get URL [DEST]. A file lands under a temporary name (DEST.part) and is
 * renamed only when complete, so a failed run never leaves a truncated file
 * under the final name; with -c the .part stays for the next run to resume.
 */
export async function runGet(flags: CommonFlags, positionals: string[]): Promise<void> {
  if (positionals.length < 1 || positionals.length > 2) throw new UsageError('expected URL [DEST]');
  const url = parseFtpUrl(positionals[0]!);
  const creds = await resolveCredentials(url, flags.user, { netrcFile: flags.netrcFile });
  const login = connectionOptions(url, creds, flags);
  const group = new ClientGroup(PROG, flags);
  const tty = process.stderr.isTTY === true && !flags.quiet;
  try {
    if (url.isFolder && !flags.recursive) {
      const [client] = await group.open(login, 1);
      const entries = await client!.list(url.path, { signal: flags.signal });
      process.stdout.write(entries.map(formatEntry).join(''));
      return;
    }
    const count = flags.recursive || positionals[1] !== '-' ? flags.parallel : 1;
    if (flags.recursive) {
      const dest = positionals[1] ?? (path.posix.basename(url.path.replace(/\/+$/, '')) || '.');
      const clients = await group.open(login, count);
      if (tty) group.bar = new ProgressBar(process.stderr, path.basename(dest) || dest, undefined);
      const result = await downloadTree(clients, url.path, dest, {
        signal: flags.signal,
        resume: flags.resume,
        ascii: flags.ascii,
        onFile: (f) => { if (group.bar) group.bar.label = path.basename(f.remote); },
      });
      group.bar?.finish();
      if (!flags.quiet && result.skipped.length > 0) process.stderr.write(`${PROG}: skipped ${result.skipped.length} unsafe or special entries\n`);
      return;
    }
    await getFile(group, flags, url.path, positionals[1], login, count, tty);
  } catch (err) {
    group.bar?.clear();
    throw withPath(err, url.path);
  } finally {
    await group.closeAll();
  }
}

async function getFile(group: ClientGroup, flags: CommonFlags, remote: string, destArg: string | undefined, login: FileClientOptions, parallel: number, tty: boolean): Promise<void> {
  const base = path.posix.basename(remote);
  if (destArg === '-') {
    if (flags.verify) throw new UsageError('--verify needs a file to compare, not stdout');
    const [client] = await group.open(login, 1);
    await client!.download(remote, process.stdout as unknown as Writable, { ascii: flags.ascii, signal: flags.signal });
    return;
  }
  let dest = destArg ?? base;
  if (dest === '') throw new UsageError('the URL names no file; give DEST or end the URL with / to list');
  if (await fs.stat(dest).then((s) => s.isDirectory(), () => false)) dest = path.join(dest, base);
  const part = `${dest}.part`;
  const clients = await group.open(login, parallel);
  const first = clients[0]!;
  const size = flags.ascii ? undefined : await first.size(remote, { signal: flags.signal }).catch((err: unknown) => {
    // 550 here is "no such file": report it now rather than after RETR.
    if (err instanceof FtpError && err.replyCode === 550) throw err;
    return undefined;
  });
  if (tty) group.bar = new ProgressBar(process.stderr, base, size);
  let ok = false;
  try {
    if (flags.resume && !(await isFile(part)) && (await isFile(dest))) {
      // A partial file under the final name (another tool's, or an older run): continue it.
      const existing = (await fs.stat(dest)).size;
      if (size !== undefined && existing === size) {
        ok = true;
        return;
      }
      if (size !== undefined && existing < size) await fs.rename(dest, part);
    }
    const have = flags.resume ? await fs.stat(part).then((s) => s.size, () => 0) : 0;
    if (size !== undefined && parallel > 1 && have === 0 && size > 0) {
      await downloadSegmented(clients, remote, part, { size, signal: flags.signal });
    } else if (size === undefined || have < size) {
      group.bar?.add(have);
      await first.download(remote, part, { startAt: have, ascii: flags.ascii, signal: flags.signal, ...(size !== undefined ? { total: size } : {}) });
    } else if (have > size) {
      throw new FtpError('FTPKIT_ERR_INVALID_ARGUMENT', `${part} is larger than the remote file; remove it to start over`);
    }
    if (size !== undefined) {
      const got = (await fs.stat(part)).size;
      if (got !== size) throw new FtpError('FTPKIT_ERR_INCOMPLETE', `incomplete download: ${got} of ${size} bytes`);
    }
    if (flags.verify) {
      // Before the rename: a file that does not match never appears under its final name.
      await verifyFile(first, remote, part, flags.signal).catch(async (err: unknown) => {
        await fs.rm(part, { force: true });
        throw err;
      });
    }
    await fs.rename(part, dest);
    ok = true;
    group.bar?.finish();
  } finally {
    if (!ok && !flags.resume) await fs.rm(part, { force: true });
  }
}

function isFile(p: string): Promise<boolean> {
  return fs.stat(p).then((s) => s.isFile(), () => false);
}

/** One listing line: type, size, date (UTC), name; like `ls -l` reduced to what every server gives. */
function formatEntry(e: ListEntry): string {
  const type = e.type === 'dir' ? 'd' : e.type === 'link' ? 'l' : e.type === 'file' ? '-' : '?';
  const size = e.size === undefined ? '-' : String(e.size);
  const when = e.modified ? e.modified.toISOString().slice(0, 16).replace('T', ' ') : '-';
  const target = e.target ? ` -> ${e.target}` : '';
  return `${type} ${size.padStart(12)} ${when.padEnd(16)} ${printable(e.name)}${printable(target)}\n`;
}

/** A hostile name must not drive the terminal: control characters print as '?'. */
function printable(s: string): string {
  // eslint-disable-next-line no-control-regex
  return s.replace(/[\u0000-\u001f\u007f-\u009f]/g, '?');
}
