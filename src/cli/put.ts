// ftp-put: upload files, trees or stdin over FTP.
import fs from 'node:fs/promises';
import path from 'node:path';
import { FtpError, parseFtpUrl, uploadTree, type FileClient, type TreeResult } from '../index.js';
import { COMMON_HELP, ClientGroup, connectionOptions, withPath, type CommonFlags } from './client-flags.js';
import { runClientCli } from './client-main.js';
import { resolveCredentials } from './credentials.js';
import { CliError, EXIT, EXIT_HELP, InterruptedError } from './exit.js';
import { localError, looksLikeUrl, redactUrl } from './local-paths.js';
import { parseSize } from './numbers.js';
import { formatBytes, ProgressBar, treeSummary } from './progress-bar.js';
import { countLocalTree, failuresOf } from './trees.js';
import { UsageError } from './usage-error.js';
import { verifyFile } from './verify.js';

const PROG = 'ftp-put';
const HELP = `Usage: ftp-put [options] SOURCE... URL
       ftp-put [options] - URL          (uploads stdin)

Upload SOURCE files (folders with -R) to ftp://[user[:password]@]host[:port]/path.
A URL ending in '/' (or several sources) is a folder, created if missing,
that receives each source under its base name. SOURCE '-' is stdin, uploaded
to the file the URL names; stdin then cannot carry the password too. ftps://
is implicit FTPS (port 990), ftpes:// (or --tls) explicit FTPS; certificates
are verified. A progress bar is drawn on stderr when it is a terminal.

Options:
      --size N            with '-': the bytes stdin will give, for the progress bar
${COMMON_HELP}
${EXIT_HELP}`;

/** Flags only ftp-put has. */
const PUT_OPTIONS = {
  size: { type: 'string' },
} as const;

/** The ftp-put bin. */
export function main(argv: string[] = process.argv.slice(2)): void {
  runClientCli(PROG, HELP, 'upload', runPut, argv, PUT_OPTIONS);
}

interface Job {
  local: string;
  remote: string;
  size: number;
}

/**
 * ftp-put SOURCE... URL. A URL ending in '/' (or several sources) is a
 * folder, created if missing, receiving each source under its base name;
 * otherwise the URL names the one remote file. -c continues with APPE from
 * the remote size. `-` uploads stdin.
 */
export async function runPut(flags: CommonFlags, positionals: string[], values: Record<string, string | boolean | undefined> = {}): Promise<void> {
  if (positionals.length < 2) throw new UsageError('expected SOURCE... URL');
  const urlArg = positionals.at(-1)!;
  const sources = positionals.slice(0, -1);
  for (const s of sources) {
    if (looksLikeUrl(s)) throw new UsageError(`SOURCE must be a local path (or - for stdin), not a URL: ${redactUrl(s)}`);
  }
  const size = values.size === undefined ? undefined : parseSize(String(values.size), '--size');
  if (sources.includes('-')) return putStdin(flags, sources, urlArg, size);
  if (size !== undefined) throw new UsageError("--size is for stdin ('-' as SOURCE); a file's size is known");
  const url = parseFtpUrl(urlArg);
  const intoFolder = url.isFolder || sources.length > 1;
  // Local mistakes are reported before connecting.
  const stats = await Promise.all(sources.map(async (source) => ({ source, stat: await fs.stat(source).catch((err: unknown) => { throw localError(err, source, 'read'); }) })));
  for (const { source, stat } of stats) {
    if (stat.isDirectory() && !flags.recursive) throw new UsageError(`${source} is a folder (use -R)`);
    if (!stat.isDirectory() && !stat.isFile()) throw new UsageError(`${source} is not a regular file`);
  }
  const creds = await resolveCredentials(url, flags.user, { netrcFile: flags.netrcFile });
  const login = connectionOptions(url, creds, flags);
  const group = new ClientGroup(PROG, flags);
  const tty = process.stderr.isTTY === true && !flags.quiet;
  const remoteFor = (source: string): string => (intoFolder ? joinRemote(url.path, path.basename(path.resolve(source))) : url.path);
  const files: Job[] = stats.filter((s) => s.stat.isFile()).map((s) => ({ local: s.source, remote: remoteFor(s.source), size: s.stat.size }));
  const folders = stats.filter((s) => s.stat.isDirectory()).map((s) => s.source);
  const tree = folders.length > 0 || files.length > 1;
  try {
    const clients = await group.open(login, flags.parallel);
    if (intoFolder) await clients[0]!.mkdir(url.path, { recursive: true, signal: flags.signal });
    if (tty) {
      let count = files.length;
      let bytes: number | undefined = files.reduce((n, f) => n + f.size, 0);
      for (const folder of folders) {
        const plan = await countLocalTree(folder);
        count += plan.files;
        bytes = bytes === undefined || plan.bytes === undefined ? undefined : bytes + plan.bytes;
      }
      const label = files.length === 1 && folders.length === 0 ? path.basename(files[0]!.local) : path.basename(path.resolve(sources[0]!));
      group.bar = new ProgressBar(process.stderr, label, bytes, tree ? { files: count } : undefined);
    }
    await runPool(clients, files, (client, job) => putFile(client, job, flags, group.bar));
    let result: TreeResult | undefined;
    let failure: unknown;
    const total = { files: files.length, skipped: [] as string[] };
    let failed = 0;
    for (const folder of folders) {
      try {
        result = await uploadTree(clients, folder, remoteFor(folder), {
          resume: flags.resume,
          ascii: flags.ascii,
          signal: flags.signal,
          onFile: (f) => { if (group.bar) group.bar.label = path.basename(f.local); },
        });
      } catch (err) {
        failure = err;
        result = (err as { result?: TreeResult }).result;
      }
      total.files += result?.files ?? 0;
      total.skipped.push(...(result?.skipped ?? []));
      failed += failuresOf(result, failure);
      if (failure !== undefined) break;
    }
    if (flags.signal?.aborted) throw new InterruptedError();
    if (group.bar) {
      if (tree && failure === undefined) group.bar.filesDone = total.files;
      group.bar.finish();
      group.bar = undefined;
    }
    if (folders.length > 0 && !flags.quiet) {
      const files = failure === undefined ? total.files : Math.max(total.files, group.filesDone);
      process.stderr.write(`${treeSummary(PROG, 'uploaded', { files, bytes: group.moved, failed, skipped: total.skipped.length })}\n`);
    }
    // The tree functions name the file in their own errors; a raw errno gets the folder typed.
    if (failure !== undefined) throw failure instanceof FtpError ? failure : localError(failure, folders.at(-1)!, 'read');
  } catch (err) {
    group.bar?.clear();
    throw err;
  } finally {
    await group.closeAll();
  }
}

/**
 * `ftp-put - URL`: stdin to the file the URL names, as curl's `-T -`. Its size is unknown
 * unless --size says it (then the bar shows a percentage, and a different count is a warning).
 */
async function putStdin(flags: CommonFlags, sources: string[], urlArg: string, size: number | undefined): Promise<void> {
  if (sources.length > 1) throw new UsageError("'-' (stdin) must be the only SOURCE");
  if (flags.recursive) throw new UsageError("-R uploads folders, not stdin ('-')");
  if (flags.resume) throw new UsageError('-c cannot resume from stdin: it cannot skip what the server already has');
  if (flags.verify) throw new UsageError('--verify needs a file to hash, not stdin');
  const url = parseFtpUrl(urlArg);
  if (url.isFolder) throw new UsageError(`stdin has no name: end the URL with the file name, not '/' (${redactUrl(urlArg)})`);
  const creds = await resolveCredentials(url, flags.user, { netrcFile: flags.netrcFile, stdinIsData: true });
  const login = connectionOptions(url, creds, flags);
  const group = new ClientGroup(PROG, flags);
  if (process.stderr.isTTY === true && !flags.quiet) group.bar = new ProgressBar(process.stderr, path.posix.basename(url.path), size);
  try {
    const [client] = await group.open(login, 1);
    const result = await client!.upload(process.stdin, url.path, { ascii: flags.ascii, signal: flags.signal, ...(size !== undefined ? { total: size } : {}) })
      .catch((err: unknown) => { throw localError(withPath(err, url.path), 'stdin', 'read'); });
    group.bar?.finish();
    group.bar = undefined;
    if (size !== undefined && result.bytes !== size && !flags.quiet) {
      process.stderr.write(`${PROG}: warning: stdin gave ${result.bytes} bytes (${formatBytes(result.bytes)}), not the ${size} of --size\n`);
    }
  } catch (err) {
    group.bar?.clear();
    throw err;
  } finally {
    await group.closeAll();
  }
}

async function putFile(client: FileClient, job: Job, flags: CommonFlags, bar: ProgressBar | undefined): Promise<void> {
  try {
    await putOne(client, job, flags, bar);
  } catch (err) {
    throw localError(withPath(err, job.remote), job.local, 'read');
  }
}

async function putOne(client: FileClient, job: Job, flags: CommonFlags, bar: ProgressBar | undefined): Promise<void> {
  let remoteSize = 0;
  const signal = flags.signal;
  if (flags.resume) remoteSize = await client.size(job.remote, { signal }).catch(() => 0);
  if (flags.resume && remoteSize === job.size) {
    bar?.skip(job.size);
    bar?.fileDone();
    if (flags.verify) await verifyFile(client, job.remote, job.local, signal);
    return;
  }
  if (flags.resume && remoteSize > 0 && remoteSize < job.size) {
    bar?.skip(remoteSize);
    await client.append(job.local, job.remote, { localStart: remoteSize, ascii: flags.ascii, signal });
  } else {
    await client.upload(job.local, job.remote, { ascii: flags.ascii, signal });
  }
  if (!flags.ascii) {
    const size = await client.size(job.remote, { signal }).catch(() => undefined);
    if (size !== undefined && size !== job.size) {
      throw new FtpError('FTPKIT_ERR_INCOMPLETE', `incomplete upload of ${job.remote}: ${size} of ${job.size} bytes`);
    }
  }
  if (flags.verify) await verifyFile(client, job.remote, job.local, signal);
}

/** `dir/name` on the server (POSIX separators whatever the local system). */
function joinRemote(dir: string, name: string): string {
  if (dir === '' || dir === '.') return name;
  return dir.endsWith('/') ? dir + name : `${dir}/${name}`;
}

/**
 * Runs `jobs` over `workers` (one FileClient each), each worker taking the next job when free.
 * The first failure stops new jobs from starting; the running ones finish, then it is thrown.
 */
async function runPool<W, J>(workers: readonly W[], jobs: readonly J[], run: (worker: W, job: J) => Promise<void>): Promise<void> {
  let next = 0;
  let failure: { error: unknown } | undefined;
  await Promise.all(workers.map(async (worker) => {
    while (!failure && next < jobs.length) {
      const job = jobs[next++]!;
      try {
        await run(worker, job);
      } catch (error) {
        failure ??= { error };
      }
    }
  }));
  if (failure) throw failure.error;
}
