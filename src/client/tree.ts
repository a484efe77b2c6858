import fs from 'node:fs/promises';
import path from 'node:path';
import { FtpError } from '../errors.js';
import type { FileClient } from './client.js';
import type { OperationOptions } from './method-options.js';
import { localFileError, NO_FOLLOW } from './local-file.js';
import { runPool } from './pool.js';
import { linkSignal } from './queue.js';
import { MAX_TREE_DEPTH } from './remote-folders.js';
import { isSafeEntryName, joinInside, joinRemote } from './safety.js';

/**
 * Folder trees, both ways, over one client or several in parallel. The walk
 * (listing, mkdir) runs on the first client; files are shared out to all.
 *
 * A downloaded file is written under `name.part` and renamed to `name` once
 * complete, as ftp-get does for one file: whatever happens (a 550, a full
 * disk, an abort, a kill), no truncated file ever sits under a final name.
 * A file that fails is recorded and the others go on; the tree then rejects
 * with FTPKIT_ERR_INCOMPLETE whose `result` says what arrived and what did
 * not. A failure that ends the connection (abort, timeout, closed) stops it
 * all and rejects with that error.
 */

export interface TreeOptions extends OperationOptions {
  /** Keep files already complete, continue partial ones (a download's `.part` with REST, an upload with APPE). */
  resume?: boolean;
  ascii?: boolean;
  /** Called as each file starts. */
  onFile?: (info: { remote: string; local: string; size: number | undefined }) => void;
  /** More connected clients to move files at the same time (methods only; the free functions take a list). */
  parallel?: readonly FileClient[];
}

export interface TreeFailure {
  remote: string;
  local: string;
  error: FtpError;
}

export interface TreeResult {
  /** Files transferred, or found complete with `resume`. */
  files: number;
  folders: number;
  /** Bytes moved over data connections. */
  bytes: number;
  /** Entries left out for safety or because they were not plain files or folders. */
  skipped: string[];
  /** Files that failed; the others were transferred. Empty when the call resolves. */
  failures: TreeFailure[];
}

/** FTPKIT_ERR_INCOMPLETE: some files of a tree failed; `result` lists them and counts the rest. */
export class TreeTransferError extends FtpError {
  readonly result: TreeResult;

  constructor(result: TreeResult, direction: 'download' | 'upload') {
    const first = result.failures[0]!;
    const more = result.failures.length > 1 ? ` (and ${result.failures.length - 1} more)` : '';
    super('FTPKIT_ERR_INCOMPLETE', `${direction} of ${result.failures.length} of ${result.failures.length + result.files} files failed: ${first.error.message}${more}`, { cause: first.error });
    this.result = result;
  }
}

interface FileJob {
  remote: string;
  local: string;
  /** Where a download is written until it is complete. */
  part: string;
  size: number | undefined;
}

/**
 * A failure that concerns one file (its reply, its local path), after which
 * the connection is still good for the next one.
 */
function isFileFailure(err: unknown, client: FileClient): err is FtpError {
  if (!(err instanceof FtpError) || !client.connected) return false;
  return (err.code === 'FTPKIT_ERR_REPLY' && err.replyCode !== 421) || err.code === 'FTPKIT_ERR_LOCAL_FILE';
}

function clientsOf(clients: FileClient | readonly FileClient[], options: TreeOptions): FileClient[] {
  const list = Array.isArray(clients) ? [...(clients as readonly FileClient[])] : [clients as FileClient];
  for (const extra of options.parallel ?? []) if (!list.includes(extra)) list.push(extra);
  if (list.length === 0) throw new FtpError('FTPKIT_ERR_INVALID_ARGUMENT', 'at least one client is needed');
  return list;
}

/** `name.part`, or `name.ftpkit-part` when the folder also holds a `name.part` of its own. */
function partName(name: string, siblings: ReadonlySet<string>): string {
  return siblings.has(`${name}.part`) ? `${name}.ftpkit-part` : `${name}.part`;
}

/**
 * Downloads the folder `remoteDir` into `localDir`. Every remote name must be
 * one plain segment and every local path must resolve inside `localDir`
 * (basic-ftp CVE-2026-27699): anything else is skipped with a 'warning'
 * event on the first client. With several clients, files move in parallel.
 *
 * @deprecated Use `client.downloadTree({ from, to })` (with `parallel` for more clients).
 */
export async function downloadTree(clients: FileClient | readonly FileClient[], remoteDir: string, localDir: string, options: TreeOptions = {}): Promise<TreeResult> {
  const pool = clientsOf(clients, options);
  const linked = linkSignal(options.signal);
  try {
    return await downloadTreeWith(pool, remoteDir, localDir, { ...options, signal: linked.signal });
  } finally {
    linked.dispose();
  }
}

async function downloadTreeWith(pool: FileClient[], remoteDir: string, localDir: string, opts: TreeOptions): Promise<TreeResult> {
  const walker = pool[0]!;
  const result: TreeResult = { files: 0, folders: 0, bytes: 0, skipped: [], failures: [] };
  const root = path.resolve(localDir);
  await fs.mkdir(root, { recursive: true }).catch((err: unknown) => {
    throw localFileError(err, localDir, 'create the folder');
  });
  const skip = (what: string, why: string): void => {
    result.skipped.push(what);
    walker.emit('warning', `skipped ${JSON.stringify(what)}: ${why}`);
  };
  const jobs: FileJob[] = [];
  const pending: { remote: string; rel: string; depth: number }[] = [{ remote: remoteDir, rel: '', depth: 0 }];
  while (pending.length > 0) {
    const dir = pending.shift()!;
    const entries = await walker.list(dir.remote, { signal: opts.signal! });
    const names = new Set(entries.map((e) => e.name));
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
        jobs.push({ remote, local, part: path.join(path.dirname(local), partName(entry.name, names)), size: entry.size });
      } else {
        skip(remote, `a ${entry.type} entry, not a file or folder`);
      }
    }
  }
  await runPool(pool, jobs, async (client, job) => {
    let startAt = 0;
    if (opts.resume) {
      const have = await sizeOf(job.local);
      if (have === -1) return skip(job.local, 'the local path exists and is not a file');
      if (job.size !== undefined && have === job.size) return void result.files++;
      const partial = job.size === undefined ? 0 : await sizeOf(job.part);
      if (partial > 0 && partial <= job.size!) startAt = partial;
    }
    opts.onFile?.({ remote: job.remote, local: job.local, size: job.size });
    try {
      if (!(opts.resume && startAt > 0 && startAt === job.size)) {
        const got = await client.download(job.remote, job.part, {
          signal: opts.signal!, startAt, ascii: opts.ascii ?? false, ...(job.size !== undefined ? { total: job.size } : {}), [NO_FOLLOW]: true,
        } as Parameters<FileClient['download']>[2]);
        result.bytes += got.bytes;
      }
      await fs.rename(job.part, job.local).catch((err: unknown) => {
        throw localFileError(err, job.local, 'rename to');
      });
      result.files++;
    } catch (err) {
      // A partial file stays only for a later resume, and only under its temporary name.
      if (!opts.resume) await fs.unlink(job.part).catch(() => undefined);
      if (!isFileFailure(err, client)) throw err;
      result.failures.push({ remote: job.remote, local: job.local, error: err });
    }
  });
  if (result.failures.length > 0) throw new TreeTransferError(result, 'download');
  return result;
}

/** Size of a regular file; 0 when missing; -1 when something else (a folder, a symlink) is there. */
async function sizeOf(local: string): Promise<number> {
  return fs.lstat(local).then((st) => (st.isFile() ? st.size : -1), () => 0);
}

/** mkdir that refuses to reuse a symlink (it could point anywhere). */
async function makeLocalFolder(local: string): Promise<boolean> {
  try {
    await fs.mkdir(local);
    return true;
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw localFileError(err, local, 'create the folder');
    const st = await fs.lstat(local);
    return st.isDirectory();
  }
}

/**
 * Uploads the folder `localDir` as `remoteDir` (created, with parents).
 * Symlinks are not followed; names that cannot travel on a command line
 * (CR, LF, NUL) are skipped with a warning.
 *
 * @deprecated Use `client.uploadTree({ from, to })` (with `parallel` for more clients).
 */
export async function uploadTree(clients: FileClient | readonly FileClient[], localDir: string, remoteDir: string, options: TreeOptions = {}): Promise<TreeResult> {
  const pool = clientsOf(clients, options);
  const linked = linkSignal(options.signal);
  try {
    return await uploadTreeWith(pool, localDir, remoteDir, { ...options, signal: linked.signal });
  } finally {
    linked.dispose();
  }
}

async function uploadTreeWith(pool: FileClient[], localDir: string, remoteDir: string, opts: TreeOptions): Promise<TreeResult> {
  const first = pool[0]!;
  const signal = opts.signal!;
  const result: TreeResult = { files: 0, folders: 0, bytes: 0, skipped: [], failures: [] };
  const skip = (what: string, why: string): void => {
    result.skipped.push(what);
    first.emit('warning', `skipped ${JSON.stringify(what)}: ${why}`);
  };
  await first.mkdir(remoteDir, { signal, recursive: true });
  const jobs: FileJob[] = [];
  const pending: { local: string; remote: string; depth: number }[] = [{ local: path.resolve(localDir), remote: remoteDir, depth: 0 }];
  while (pending.length > 0) {
    const dir = pending.shift()!;
    const dirents = await fs.readdir(dir.local, { withFileTypes: true }).catch((err: unknown) => {
      throw localFileError(err, dir.local, 'read the folder');
    });
    for (const dirent of dirents) {
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
        await first.mkdir(remote, { signal, recursive: true });
        result.folders++;
        pending.push({ local, remote, depth: dir.depth + 1 });
      } else if (dirent.isFile()) {
        jobs.push({ local, remote, part: local, size: undefined });
      } else {
        skip(local, 'not a regular file or folder');
      }
    }
  }
  await runPool(pool, jobs, async (client, job) => {
    try {
      const size = await fs.stat(job.local).then((st) => st.size, (err: unknown) => {
        throw localFileError(err, job.local, 'read');
      });
      let remoteSize = 0;
      if (opts.resume) remoteSize = await client.size(job.remote, { signal }).catch(() => 0);
      opts.onFile?.({ remote: job.remote, local: job.local, size });
      if (remoteSize === size && opts.resume) {
        result.files++;
        return;
      }
      const ascii = opts.ascii ?? false;
      const got = remoteSize > 0 && remoteSize < size
        ? await client.append(job.local, job.remote, { signal, ascii, localStart: remoteSize })
        : await client.upload(job.local, job.remote, { signal, ascii });
      result.bytes += got.bytes;
      result.files++;
    } catch (err) {
      if (!isFileFailure(err, client)) throw err;
      result.failures.push({ remote: job.remote, local: job.local, error: err });
    }
  });
  if (result.failures.length > 0) throw new TreeTransferError(result, 'upload');
  return result;
}
