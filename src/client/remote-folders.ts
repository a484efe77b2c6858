import { FtpError } from '../errors.js';
import { isNegative, parseQuotedPath } from '../protocol/index.js';
import { readListing } from './listing.js';
import { isSafeEntryName, joinRemote } from './safety.js';
import { expect, replyError, type ControlSession } from './control-session.js';

/** Bounds recursion through remote folders (a symlink loop shows up as endless depth). */
export const MAX_TREE_DEPTH = 64;

/**
 * `mkdir -p` over FTP: MKD each prefix; a refusal is fine when the prefix
 * already is a folder (checked with CWD and back), so existing trees work on
 * servers that answer 550 for "exists".
 */
export async function makeDirectories(session: ControlSession, path: string): Promise<void> {
  const absolute = path.startsWith('/');
  const parts = path.split('/').filter((p) => p !== '' && p !== '.');
  let prefix = absolute ? '/' : '';
  let home: string | undefined;
  for (const part of parts) {
    prefix = prefix === '' ? part : joinRemote(prefix, part);
    const reply = await session.control.request(`MKD ${prefix}`, session.options.timeout);
    if (reply.code === 257 || reply.code === 250) continue;
    if (!isNegative(reply.code)) throw replyError(reply);
    home ??= await currentFolder(session);
    const cwd = await session.control.request(`CWD ${prefix}`, session.options.timeout);
    if (cwd.code !== 250) throw replyError(reply);
    await expect(session, `CWD ${home}`);
  }
}

async function currentFolder(session: ControlSession): Promise<string> {
  const reply = await expect(session, 'PWD', [257]);
  const path = parseQuotedPath(reply.text);
  if (path === null) throw new FtpError('FTPKIT_ERR_PROTOCOL', 'malformed PWD reply');
  return path;
}

/**
 * `rm -r` over FTP. A hostile listing could name `../x` and make DELE reach
 * outside the folder, so only plain names are followed; others are skipped
 * with a warning and RMD then fails on the non-empty folder, as it should.
 */
export async function removeDirectory(session: ControlSession, path: string, signal: AbortSignal, depth: number): Promise<void> {
  if (depth > MAX_TREE_DEPTH) throw new FtpError('FTPKIT_ERR_PROTOCOL', `folder nesting deeper than ${MAX_TREE_DEPTH} at ${path}`);
  const entries = await readListing(session, path, signal, () => {});
  for (const entry of entries) {
    if (!isSafeEntryName(entry.name)) {
      session.warn(`skipped unsafe name in listing of ${path}: ${JSON.stringify(entry.name)}`);
      continue;
    }
    const child = joinRemote(path, entry.name);
    if (entry.type === 'dir') await removeDirectory(session, child, signal, depth + 1);
    else await expect(session, `DELE ${child}`, [250, 200]);
  }
  await expect(session, `RMD ${path}`, [250, 257]);
}
