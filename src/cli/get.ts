// ftp-get: download a file, list a folder, or download a tree over FTP.
import { createWriteStream } from 'node:fs';
import fs from 'node:fs/promises';
import path from 'node:path';
import type { Writable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { FtpError, downloadSegmented, downloadTree, parseFtpUrl, type FileClient, type FileClientOptions, type ListEntry, type TreeResult } from '../index.js';
import { looksLikeRange, parseByteRange, resolveRange, type ByteRangeArg } from './byte-range.js';
import { COMMON_HELP, ClientGroup, connectionOptions, withPath, type CommonFlags } from './client-flags.js';
import { isStdoutClosed, runClientCli } from './client-main.js';
import { resolveCredentials } from './credentials.js';
import { CliError, EXIT, EXIT_HELP, InterruptedError } from './exit.js';
import { localError, looksLikeUrl, redactUrl, writableDest } from './local-paths.js';
import { printable, ProgressBar, treeSummary } from './progress-bar.js';
import { countRemoteTree, failuresOf } from './trees.js';
import { UsageError } from './usage-error.js';
import { verifyFile } from './verify.js';

const PROG = 'ftp-get';
const HELP = `Usage: ftp-get [options] URL [DEST]

Download ftp://[user[:password]@]host[:port]/path to DEST (default: its base
name here; '-' writes to stdout). A URL ending in '/' lists the folder on
stdout; with -R the folder is downloaded as a tree into DEST. ftps:// is
implicit FTPS (port 990), ftpes:// (or --tls) explicit FTPS; certificates
are verified. A progress bar is drawn on stderr when it is a terminal.

Options:
      --range A-B         only bytes A to B of the file, both included (curl's -r syntax):
                          A- from A to the end, --range=-N the last N bytes; to DEST or
                          to stdout (-), e.g. ftp-get --range 0-1048575 URL - | ffprobe -
${COMMON_HELP}
${EXIT_HELP}`;

/** The ftp-get bin. */
export function main(argv: string[] = process.argv.slice(2)): void {
  runClientCli(PROG, HELP, 'download', runGet, argv, GET_OPTIONS);
}

/** Flags only ftp-get has. (-r stays the deprecated -R for one release; see client-main.ts.) */
const GET_OPTIONS = { range: { type: 'string' } } as const;

/** Added to a 550 about a path that turns out to be a folder. */
export const FOLDER_HINT = '(a folder: add a trailing / to list it, or use -R to download it)';

/**
 * ftp-get URL [DEST]. A file lands under a temporary name (DEST.part) and is
 * renamed only when complete, so a failed run never leaves a truncated file
 * under the final name; with -c the .part stays for the next run to resume.
 */
export async function runGet(flags: CommonFlags, positionals: string[], values: Record<string, string | boolean | undefined> = {}): Promise<void> {
  if (values['deprecated-r'] === true && positionals.some(looksLikeRange)) {
    throw new UsageError('-r still means -R (recursive) in this release; for a byte range write --range A-B');
  }
  const range = typeof values.range === 'string' ? parseByteRange(values.range) : undefined;
  if (range && (flags.recursive || flags.resume || flags.verify || flags.ascii)) {
    throw new UsageError('--range reads part of one binary file: not with -R, -c, --verify or --ascii');
  }
  if (positionals.length < 1 || positionals.length > 2) throw new UsageError('expected URL [DEST]');
  const [urlArg, destArg] = positionals as [string, string | undefined];
  if (destArg !== undefined && looksLikeUrl(destArg)) throw new UsageError(`DEST must be a local path (or - for stdout), not a URL: ${redactUrl(destArg)}`);
  const url = parseFtpUrl(urlArg);
  if (url.isFolder && !flags.recursive && destArg !== undefined && destArg !== '-') {
    throw new UsageError(`${redactUrl(urlArg)} is a folder: its listing goes to stdout (drop DEST), or use -R to download it into ${destArg}`);
  }
  if (flags.recursive && destArg === '-') throw new UsageError('-R writes a folder tree, not stdout: give DEST, a local folder');
  if (range && url.isFolder) throw new UsageError(`--range reads part of a file; ${redactUrl(urlArg)} is a folder`);
  // Local mistakes are reported before connecting.
  const dest = !flags.recursive && !url.isFolder && destArg !== '-' ? await writableDest(destArg, path.posix.basename(url.path)) : undefined;
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
    if (flags.recursive) {
      await getTree(group, flags, url.path, destArg ?? (path.posix.basename(url.path.replace(/\/+$/, '')) || '.'), login, tty);
      return;
    }
    if (range) await getRange(group, flags, url.path, dest, range, login, tty);
    else await getFile(group, flags, url.path, dest, login, tty);
  } catch (err) {
    group.bar?.clear();
    throw withPath(err, url.path);
  } finally {
    await group.closeAll();
  }
}

async function getTree(group: ClientGroup, flags: CommonFlags, remote: string, dest: string, login: FileClientOptions, tty: boolean): Promise<void> {
  const clients = await group.open(login, flags.parallel);
  if (tty) {
    // Listed once more first, on a terminal only, so the bar can show totals.
    const plan = await countRemoteTree(clients[0]!, remote, dest, flags);
    group.bar = new ProgressBar(process.stderr, path.basename(dest) || dest, plan.bytes, { files: plan.files });
    group.bar.skip(plan.completeBytes);
  }
  let result: TreeResult | undefined;
  let failure: unknown;
  try {
    result = await downloadTree(clients, remote, dest, {
      signal: flags.signal,
      resume: flags.resume,
      ascii: flags.ascii,
      onFile: (f) => { if (group.bar) group.bar.label = path.basename(f.remote); },
    });
  } catch (err) {
    failure = err;
    result = (err as { result?: TreeResult }).result;
  }
  if (flags.signal?.aborted) throw new InterruptedError();
  if (group.bar) {
    if (result) group.bar.filesDone = result.files;
    group.bar.finish();
    group.bar = undefined;
  }
  if (!flags.quiet) {
    const failed = failuresOf(result, failure);
    process.stderr.write(`${treeSummary(PROG, 'downloaded', { files: result?.files ?? group.filesDone, bytes: group.moved, failed, skipped: result?.skipped.length ?? 0 })}\n`);
  }
  // The tree functions name the file in their own errors; a raw errno gets the folder typed.
  if (failure !== undefined) throw failure instanceof FtpError ? failure : localError(failure, dest, 'write');
}

async function getFile(group: ClientGroup, flags: CommonFlags, remote: string, dest: string | undefined, login: FileClientOptions, tty: boolean): Promise<void> {
  const base = path.posix.basename(remote);
  const toStdout = dest === undefined;
  if (toStdout && flags.verify) throw new UsageError('--verify needs a file to compare, not stdout');
  const clients = await group.open(login, toStdout ? 1 : flags.parallel);
  const first = clients[0]!;
  const size = await remoteSize(first, remote, flags);
  if (tty) group.bar = new ProgressBar(process.stderr, base, size);
  if (toStdout) {
    try {
      await first.download(remote, process.stdout as unknown as Writable, { ascii: flags.ascii, signal: flags.signal, ...(size !== undefined ? { total: size } : {}) });
    } catch (err) {
      if (isStdoutClosed()) throw err;
      throw localError(await withFolderHint(err, first, remote), 'stdout', 'write');
    }
    group.bar?.finish();
    return;
  }
  const part = `${dest}.part`;
  let ok = false;
  try {
    if (flags.resume && !(await isFile(part)) && (await isFile(dest))) {
      // A partial file under the final name (another tool's, or an older run): continue it.
      const existing = (await fs.stat(dest)).size;
      if (size !== undefined && existing === size) {
        group.bar?.skip(size);
        group.bar?.finish();
        ok = true;
        return;
      }
      if (size !== undefined && existing < size) await fs.rename(dest, part);
    }
    const have = flags.resume ? await fs.stat(part).then((s) => s.size, () => 0) : 0;
    if (size !== undefined && have > size) {
      throw new CliError(`cannot resume ${dest}: ${part} is larger than the remote file; remove it to start over`, EXIT.BAD_RESUME);
    }
    group.bar?.skip(have);
    if (size !== undefined && clients.length > 1 && have === 0 && size > 0) {
      await downloadSegmented(clients, remote, part, { size, signal: flags.signal });
    } else if (size === undefined || have < size) {
      await first.download(remote, part, { startAt: have, ascii: flags.ascii, signal: flags.signal, ...(size !== undefined ? { total: size } : {}) });
    }
    if (size !== undefined) {
      const got = (await fs.stat(part)).size;
      if (got !== size) throw new CliError(`incomplete download of ${remote}: ${got} of ${size} bytes`, EXIT.PARTIAL_FILE);
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
  } catch (err) {
    throw localError(await withFolderHint(err, first, remote), dest, 'write');
  } finally {
    if (!ok && !flags.resume) await fs.rm(part, { force: true });
  }
}

/**
 * --range: the bytes through client.createReadStream (RANG when offered, else REST + ABOR) to
 * stdout or DEST (under DEST.part until complete). A reader of stdout that stops early
 * (`| head -c 10`) destroys the stream: ABOR, then a quiet exit 0 (client-main.ts).
 */
async function getRange(group: ClientGroup, flags: CommonFlags, remote: string, dest: string | undefined, arg: ByteRangeArg, login: FileClientOptions, tty: boolean): Promise<void> {
  const [client] = await group.open(login, 1);
  const size = await remoteSize(client!, remote, flags);
  const { start, end } = resolveRange(arg, size);
  if (size !== undefined && start >= size) {
    throw new CliError(`--range starts at byte ${start}, past the end of ${remote} (${size} bytes)`, EXIT.BAD_RESUME);
  }
  const last = end === undefined || size === undefined ? end : Math.min(end, size - 1);
  const length = last === undefined ? (size === undefined ? undefined : size - start) : last - start + 1;
  if (tty) group.bar = new ProgressBar(process.stderr, path.posix.basename(remote), length);
  const stream = client!.createReadStream(remote, { start, ...(last === undefined ? {} : { end: last }), signal: flags.signal });
  stream.on('data', (chunk: Buffer) => group.bar?.add(chunk.length));
  if (dest === undefined) {
    try {
      await pipeline(stream, process.stdout);
    } catch (err) {
      if (isStdoutClosed()) throw err;
      throw localError(await withFolderHint(err, client!, remote), 'stdout', 'write');
    }
    group.bar?.finish();
    return;
  }
  const part = `${dest}.part`;
  try {
    await pipeline(stream, createWriteStream(part));
    await fs.rename(part, dest);
    group.bar?.finish();
  } catch (err) {
    await fs.rm(part, { force: true });
    throw localError(await withFolderHint(err, client!, remote), dest, 'write');
  }
}

/** SIZE, for the progress bar and the final check; a 550 here is "no such file", reported at once. */
async function remoteSize(client: FileClient, remote: string, flags: CommonFlags): Promise<number | undefined> {
  if (flags.ascii) return undefined;
  try {
    return await client.size(remote, { signal: flags.signal });
  } catch (err) {
    if (err instanceof FtpError && err.replyCode === 550) throw await withFolderHint(err, client, remote);
    return undefined;
  }
}

/** A 550 about a path the server lets us enter (CWD) is a folder URL without its '/': say so. */
async function withFolderHint(err: unknown, client: FileClient, remote: string): Promise<unknown> {
  if (!(err instanceof FtpError) || err.replyCode !== 550 || !client.connected || err.message.endsWith(FOLDER_HINT)) return err;
  const folder = await client.cd(remote).then(() => true, () => false);
  if (!folder) return err;
  const named = withPath(err, remote) as FtpError;
  return new FtpError('FTPKIT_ERR_REPLY', `${named.message} ${FOLDER_HINT}`, { replyCode: 550, cause: err });
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
