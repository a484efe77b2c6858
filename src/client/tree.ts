import fs from 'node:fs/promises';
import { constants } from 'node:fs';
import path from 'node:path';
import type { FileClient, OperationOptions } from './client.js';
import { MAX_TREE_DEPTH } from './remote-folders.js';
import { runPool } from './pool.js';
import { linkSignal } from './queue.js';
import { isSafeEntryName, joinInside, joinRemote } from './safety.js';

export interface TreeOptions extends OperationOptions {
  /** Keep files already complete, continue partial ones (REST / APPE). */
  resume?: boolean;
  ascii?: boolean;
  /** Called as each file starts. */
  onFile?: (info: { remote: string; local: string; size: number | undefined }) => void;
}

export interface TreeResult {
  files: number;
  folders: number;
  /** Entries left out for safety or because they were not plain files or folders. */
  skipped: string[];
}

interface FileJob {
  remote: string;
  local: string;
  size: number | undefined;
}

// Never follow a symlink planted at the final path component (O_NOFOLLOW).
const WRITE_NEW = constants.O_WRONLY | constants.O_CREAT | constants.O_TRUNC | constants.O_NOFOLLOW;
const WRITE_KEEP = constants.O_WRONLY | constants.O_CREAT | constants.O_NOFOLLOW;

/**
 * Downloads the folder `remoteDir` into `localDir`. Every remote name must be
 * one plain segment and every local path must resolve inside `localDir`
 * (basic-ftp CVE-2026-27699): anything else is skipped with a 'warning'
 * event on the first client. With several clients, files move in parallel.
 */
export async function downloadTree(clients: FileClient | readonly FileClient[], remoteDir: string, localDir: string, options: TreeOptions = {}): Promise<TreeResult> {
  const linked = linkSignal(options.signal);
  try {
    return await downloadTreeWith(clients, remoteDir, localDir, { ...options, signal: linked.signal });
  } finally {
    linked.dispose();
  }
}

async function downloadTreeWith(clients: FileClient | readonly FileClient[], remoteDir: string, localDir: string, opts: TreeOptions): Promise<TreeResult> {
  const pool = Array.isArray(clients) ? (clients as readonly FileClient[]) : [clients as FileClient];
  const walker = pool[0]!;
  const result: TreeResult = { files: 0, folders: 0, skipped: [] };
  const root = path.resolve(localDir);
  await fs.mkdir(root, { recursive: true });
  const skip = (what: string, why: string): void => {
    result.skipped.push(what);
    walker.emit('warning', `skipped ${JSON.stringify(what)}: ${why}`);
  };
  const jobs: FileJob[] = [];
  const pending: { remote: string; rel: string; depth: number }[] = [{ remote: remoteDir, rel: '', depth: 0 }];
  while (pending.length > 0) {
    const dir = pending.shift()!;
    const entries = await walker.list(dir.remote, opts);
    for (const entry of entries) {
      const remote = joinRemote(dir.remote, entry.name);
      if (!isSafeEntryName(entry.name)) {
        skip(remote, 'not a plain file name');
        continue;
      }
      const rel = dir.rel === '' ? entry.name : path.join(dir.rel, entry.name);
      const local = joinInside(root, rel);
      if (local === null) {
        skip(remote, 'resolves outside the destination');
        continue;
      }
      if (entry.type === 'dir') {
        if (dir.depth + 1 > MAX_TREE_DEPTH) {
          skip(remote, `deeper than ${MAX_TREE_DEPTH} levels`);
          continue;
        }
        if (!(await makeLocalFolder(local))) {
          skip(remote, 'the local path exists and is not a folder');
          continue;
        }
        result.folders++;
        pending.push({ remote, rel, depth: dir.depth + 1 });
      } else if (entry.type === 'file') {
        jobs.push({ remote, local, size: entry.size });
      } else {
        skip(remote, `a ${entry.type} entry, not a file or folder`);
      }
    }
  }
  await runPool(pool, jobs, async (client, job) => {
    let startAt = 0;
    if (opts.resume) {
      const have = await fs.lstat(job.local).then((st) => (st.isFile() ? st.size : -1), () => 0);
      if (have === -1) return skip(job.local, 'the local path exists and is not a file');
      if (job.size !== undefined && have === job.size) return void result.files++;
      if (job.size !== undefined && have < job.size) startAt = have;
    }
    opts.onFile?.({ remote: job.remote, local: job.local, size: job.size });
    const handle = await fs.open(job.local, startAt > 0 ? WRITE_KEEP : WRITE_NEW, 0o644);
    const out = handle.createWriteStream({ start: startAt });
    await client.download(job.remote, out, { ...opts, startAt, ...(job.size !== undefined ? { total: job.size } : {}) }).catch((err: unknown) => {
      out.destroy();
      throw err;
    });
    result.files++;
  });
  return result;
}

/** mkdir that refuses to reuse a symlink (it could point anywhere). */
async function makeLocalFolder(local: string): Promise<boolean> {
  try {
    await fs.mkdir(local);
    return true;
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err;
    const st = await fs.lstat(local);
    return st.isDirectory();
  }
}

/**
 * Uploads the folder `localDir` as `remoteDir` (created, with parents).
 * Symlinks are not followed; names that cannot travel on a command line
 * (CR, LF, NUL) are skipped with a warning.
 */
export async function uploadTree(clients: FileClient | readonly FileClient[], localDir: string, remoteDir: string, options: TreeOptions = {}): Promise<TreeResult> {
  const linked = linkSignal(options.signal);
  try {
    return await uploadTreeWith(clients, localDir, remoteDir, { ...options, signal: linked.signal });
  } finally {
    linked.dispose();
  }
}

async function uploadTreeWith(clients: FileClient | readonly FileClient[], localDir: string, remoteDir: string, opts: TreeOptions): Promise<TreeResult> {
  const pool = Array.isArray(clients) ? (clients as readonly FileClient[]) : [clients as FileClient];
  const first = pool[0]!;
  const result: TreeResult = { files: 0, folders: 0, skipped: [] };
  const skip = (what: string, why: string): void => {
    result.skipped.push(what);
    first.emit('warning', `skipped ${JSON.stringify(what)}: ${why}`);
  };
  await first.mkdir(remoteDir, { ...opts, recursive: true });
  const jobs: FileJob[] = [];
  const pending: { local: string; remote: string; depth: number }[] = [{ local: path.resolve(localDir), remote: remoteDir, depth: 0 }];
  while (pending.length > 0) {
    const dir = pending.shift()!;
    for (const dirent of await fs.readdir(dir.local, { withFileTypes: true })) {
      const local = path.join(dir.local, dirent.name);
      if (/[\r\n\0]/.test(dirent.name)) {
        skip(local, 'the name has CR, LF or NUL');
        continue;
      }
      const remote = joinRemote(dir.remote, dirent.name);
      if (dirent.isDirectory()) {
        if (dir.depth + 1 > MAX_TREE_DEPTH) {
          skip(local, `deeper than ${MAX_TREE_DEPTH} levels`);
          continue;
        }
        await first.mkdir(remote, { ...opts, recursive: true });
        result.folders++;
        pending.push({ local, remote, depth: dir.depth + 1 });
      } else if (dirent.isFile()) {
        jobs.push({ local, remote, size: undefined });
      } else {
        skip(local, 'not a regular file or folder');
      }
    }
  }
  await runPool(pool, jobs, async (client, job) => {
    const size = (await fs.stat(job.local)).size;
    let remoteSize = 0;
    if (opts.resume) remoteSize = await client.size(job.remote, opts).catch(() => 0);
    opts.onFile?.({ remote: job.remote, local: job.local, size });
    if (remoteSize === size && opts.resume) {
      result.files++;
      return;
    }
    if (remoteSize > 0 && remoteSize < size) await client.append(job.local, job.remote, { ...opts, localStart: remoteSize });
    else await client.upload(job.local, job.remote, opts);
    result.files++;
  });
  return result;
}
