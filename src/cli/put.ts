// ftp-put: upload files or trees over FTP.
import fs from 'node:fs/promises';
import path from 'node:path';
import { FtpError, parseFtpUrl, uploadTree, type FileClient } from '../index.js';
import { COMMON_HELP, ClientGroup, connectionOptions, withPath, type CommonFlags } from './client-flags.js';
import { runClientCli } from './client-main.js';
import { resolveCredentials } from './credentials.js';
import { ProgressBar } from './progress-bar.js';
import { UsageError } from './usage-error.js';
import { verifyFile } from './verify.js';

const PROG = 'ftp-put';
const HELP = `Usage: ftp-put [options] SOURCE... URL

Upload SOURCE files (folders with -r) to ftp://[user[:password]@]host[:port]/path.
A URL ending in '/' (or several sources) is a folder, created if missing,
that receives each source under its base name. ftps:// is implicit FTPS
(port 990), ftpes:// (or --tls) explicit FTPS; certificates are verified.

Options:
${COMMON_HELP}`;

/** The ftp-put bin. */
export function main(argv: string[] = process.argv.slice(2)): void {
  runClientCli(PROG, HELP, runPut, argv);
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
 * the remote size.
 */
export async function runPut(flags: CommonFlags, positionals: string[]): Promise<void> {
  if (positionals.length < 2) throw new UsageError('expected SOURCE... URL');
  const url = parseFtpUrl(positionals.at(-1)!);
  const sources = positionals.slice(0, -1);
  const intoFolder = url.isFolder || sources.length > 1;
  const stats = await Promise.all(sources.map(async (s) => ({ source: s, stat: await fs.stat(s) })));
  for (const { source, stat } of stats) {
    if (stat.isDirectory() && !flags.recursive) throw new UsageError(`${source} is a folder (use -r)`);
    if (!stat.isDirectory() && !stat.isFile()) throw new UsageError(`${source} is not a regular file`);
  }
  const creds = await resolveCredentials(url, flags.user, { netrcFile: flags.netrcFile });
  const login = connectionOptions(url, creds, flags);
  const group = new ClientGroup(PROG, flags);
  const tty = process.stderr.isTTY === true && !flags.quiet;
  try {
    const clients = await group.open(login, flags.parallel);
    if (intoFolder) await clients[0]!.mkdir(url.path, { recursive: true, signal: flags.signal });
    const remoteFor = (source: string): string => (intoFolder ? joinRemote(url.path, path.basename(path.resolve(source))) : url.path);
    const files: Job[] = stats.filter((s) => s.stat.isFile()).map((s) => ({ local: s.source, remote: remoteFor(s.source), size: s.stat.size }));
    const total = files.reduce((n, f) => n + f.size, 0);
    if (tty) group.bar = new ProgressBar(process.stderr, files.length === 1 ? path.basename(files[0]!.local) : `${files.length} files`, files.length > 0 ? total : undefined);
    await runPool(clients, files, (client, job) => putFile(client, job, flags, group.bar));
    for (const { source, stat } of stats) {
      if (!stat.isDirectory()) continue;
      if (group.bar) group.bar.label = path.basename(source);
      await uploadTree(clients, source, remoteFor(source), { resume: flags.resume, ascii: flags.ascii, signal: flags.signal });
    }
    group.bar?.finish();
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
    throw withPath(err, job.remote);
  }
}

async function putOne(client: FileClient, job: Job, flags: CommonFlags, bar: ProgressBar | undefined): Promise<void> {
  let remoteSize = 0;
  const signal = flags.signal;
  if (flags.resume) remoteSize = await client.size(job.remote, { signal }).catch(() => 0);
  if (flags.resume && remoteSize === job.size) {
    bar?.add(job.size);
    if (flags.verify) await verifyFile(client, job.remote, job.local, signal);
    return;
  }
  if (flags.resume && remoteSize > 0 && remoteSize < job.size) {
    bar?.add(remoteSize);
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
