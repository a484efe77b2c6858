// Totals for the progress bar of -R transfers: a tree is counted before it moves, on a terminal
// only (a script pays nothing). The counts follow the tree functions' rules closely enough for
// a display: plain names only, files and folders only, at most MAX_DEPTH levels.
import fs from 'node:fs/promises';
import path from 'node:path';
import type { FileClient, TreeResult } from '../index.js';
import type { CommonFlags } from './client-flags.js';

const MAX_DEPTH = 32;

export interface TreePlan {
  files: number;
  /** Sum of the sizes; undefined when a listing left one out. */
  bytes: number | undefined;
  /** Bytes of the files -c will keep as they are (complete already). */
  completeBytes: number;
}

/** A name the tree functions would transfer: one plain segment, no control characters. */
function plainName(name: string): boolean {
  // eslint-disable-next-line no-control-regex
  return name !== '' && name !== '.' && name !== '..' && !/[/\\\u0000-\u001f\u007f]/.test(name);
}

/** Lists `remote` recursively on `client`: files, bytes, and (with -c) bytes already complete under `localDir`. */
export async function countRemoteTree(client: FileClient, remote: string, localDir: string, flags: CommonFlags): Promise<TreePlan> {
  const plan: TreePlan = { files: 0, bytes: 0, completeBytes: 0 };
  const pending = [{ remote, rel: '', depth: 0 }];
  while (pending.length > 0) {
    const dir = pending.shift()!;
    for (const e of await client.list(dir.remote, { signal: flags.signal })) {
      if (!plainName(e.name)) continue;
      const child = dir.remote.endsWith('/') ? `${dir.remote}${e.name}` : `${dir.remote}/${e.name}`;
      const rel = path.join(dir.rel, e.name);
      if (e.type === 'dir' && dir.depth < MAX_DEPTH) pending.push({ remote: child, rel, depth: dir.depth + 1 });
      if (e.type !== 'file') continue;
      plan.files++;
      if (e.size === undefined || plan.bytes === undefined) {
        plan.bytes = undefined;
        continue;
      }
      plan.bytes += e.size;
      if (flags.resume && (await fs.lstat(path.join(localDir, rel)).then((s) => s.isFile() && s.size === e.size, () => false))) plan.completeBytes += e.size;
    }
  }
  return plan;
}

/** Walks the folder `local`: its regular files and their bytes (symlinks are not followed, as uploadTree). */
export async function countLocalTree(local: string): Promise<TreePlan> {
  const plan: TreePlan = { files: 0, bytes: 0, completeBytes: 0 };
  const pending = [{ dir: local, depth: 0 }];
  while (pending.length > 0) {
    const { dir, depth } = pending.shift()!;
    const entries = await fs.readdir(dir, { withFileTypes: true }).catch(() => []);
    for (const e of entries) {
      // eslint-disable-next-line no-control-regex
      if (/[\r\n\u0000]/.test(e.name)) continue;
      const full = path.join(dir, e.name);
      if (e.isDirectory() && depth < MAX_DEPTH) pending.push({ dir: full, depth: depth + 1 });
      else if (e.isFile()) {
        plan.files++;
        plan.bytes! += await fs.stat(full).then((s) => s.size, () => 0);
      }
    }
  }
  return plan;
}

/**
 * How many files of a tree failed: the result's list when the tree functions give one
 * (FTPKIT_ERR_INCOMPLETE carries it), else 1 for the failure that stopped the tree.
 */
export function failuresOf(result: TreeResult | undefined, failure: unknown): number {
  const failures = (result as { failures?: unknown[] } | undefined)?.failures;
  if (Array.isArray(failures)) return failures.length;
  return failure === undefined ? 0 : 1;
}
