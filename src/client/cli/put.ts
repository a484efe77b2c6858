import fs from 'node:fs/promises';
import path from 'node:path';
import { FtpError } from '../../errors.js';
import type { FileClient } from '../client.js';
import { runPool } from '../pool.js';
import { joinRemote } from '../safety.js';
import { uploadTree } from '../tree.js';
import { parseFtpUrl } from '../url.js';
import { resolveCredentials } from './credentials.js';
import { ClientGroup, UsageError, connectionOptions, withPath, type CommonFlags } from './common.js';
import { ProgressBar } from './progress-bar.js';
import { verifyFile } from './verify.js';

const PROG = 'ftp-put';

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
      throw new FtpError('FTPKIT_ERR_DATA_CONNECTION', `incomplete upload of ${job.remote}: ${size} of ${job.size} bytes`);
    }
  }
  if (flags.verify) await verifyFile(client, job.remote, job.local, signal);
}
