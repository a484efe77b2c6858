import type { Socket } from 'node:net';
import { formatListLine, formatMlsxFacts, type FileFacts } from '../../protocol/index.js';
import type { StorageStat } from '../../storage/types.js';
import type { CommandSpec } from '../command.js';
import type { Session } from '../session.js';
import { hasWildcard, matchGlob } from '../glob.js';
import { runTransfer } from '../transfer.js';
import { joinVirtual } from '../../storage/path.js';
import type { PermissionLetter } from '../permissions.js';
import { isUploadTemporary, refuseTemporary } from '../upload.js';

export interface ListTarget {
  /** Virtual path listed. */
  path: string;
  /** The path as the client wrote it, without ls flags ('' for the cwd). */
  given: string;
  stat: StorageStat;
  /** The folder's entries, or the file itself. */
  entries: StorageStat[];
}

/**
 * Resolves a LIST/NLST/STAT argument. Clients send ls flags (`LIST -la`, `NLST -a dir`): the
 * literal path is tried first, so a file really named `-x` still lists; when it does not exist,
 * leading `-flags` words are dropped.
 */
export async function listTarget(session: Session, arg: string): Promise<ListTarget | undefined> {
  const attempts = [arg];
  if (arg.startsWith('-')) {
    const words = arg.split(' ');
    let i = 0;
    while (i < words.length && words[i]!.startsWith('-')) i++;
    attempts.push(words.slice(i).join(' '));
  }
  let lastError: unknown;
  let lastPath = '/';
  for (const given of attempts) {
    const path = session.resolve(given);
    if (path === undefined || refuseTemporary(session, path)) return undefined;
    lastPath = path;
    try {
      const stat = await session.storage!.stat(path);
      const entries = stat.type === 'dir' ? listable(await session.storage!.list(path)) : [{ ...stat }];
      return { path, given, stat, entries };
    } catch (err) {
      lastError = err;
    }
  }
  const glob = await globTarget(session, attempts[attempts.length - 1]!);
  if (glob) return glob;
  session.fail(lastError, lastPath, 550);
  return undefined;
}

/** `NLST *.txt`, `LIST dir/a?c`: a missing last segment with wildcards filters its folder. */
async function globTarget(session: Session, given: string): Promise<ListTarget | undefined> {
  const slash = given.lastIndexOf('/');
  const pattern = given.slice(slash + 1);
  if (!hasWildcard(pattern)) return undefined;
  const dirGiven = slash < 0 ? '' : given.slice(0, slash) || '/';
  const dir = session.resolve(dirGiven);
  if (dir === undefined) return undefined;
  try {
    const stat = await session.storage!.stat(dir);
    if (stat.type !== 'dir') return undefined;
    const entries = listable(await session.storage!.list(dir)).filter((e) => matchGlob(pattern, e.name));
    return { path: dir, given: dirGiven, stat, entries };
  } catch {
    return undefined;
  }
}

/**
 * Entries a listing may show, sorted by name. A name with CR or LF would forge listing lines
 * (or replies, for STAT), so such entries are left out.
 */
function listable(entries: StorageStat[]): StorageStat[] {
  return entries
    .filter((e) => !/[\r\n]/.test(e.name) && !isUploadTemporary(e.name)) // temporaries of atomic uploads are hidden
    .sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
}

// RFC 3659 perm facts and the permission letters they follow.
const DIR_PERM: [string, PermissionLetter][] = [['e', 'e'], ['l', 'l'], ['c', 'w'], ['d', 'd'], ['f', 'f'], ['m', 'm'], ['p', 'd']];
const FILE_PERM: [string, PermissionLetter][] = [['r', 'r'], ['a', 'a'], ['d', 'd'], ['f', 'f'], ['w', 'w']];

/** The perm fact of RFC 3659 section 7.5.5, from the session's permission letters at `path`. */
export function permFact(session: Session, stat: StorageStat, path = session.cwd): string {
  const letters = session.permissions?.at(path) ?? '';
  return (stat.type === 'dir' ? DIR_PERM : FILE_PERM).filter(([, l]) => letters.includes(l)).map(([fact]) => fact).join('');
}

export function mlsxLine(session: Session, stat: FileFacts, name: string, type?: 'cdir', path?: string): string {
  return formatMlsxFacts({ ...stat, name }, { facts: session.mlstFacts, perm: permFact(session, stat as StorageStat, path), ...(type ? { type } : {}) });
}

function sendText(lines: string[]): (socket: Socket, signal: AbortSignal) => Promise<void> {
  return (socket, signal) =>
    new Promise<void>((resolve, reject) => {
      if (signal.aborted) return reject(signal.reason);
      socket.once('error', reject);
      socket.end(lines.length ? `${lines.join('\r\n')}\r\n` : '', () => resolve());
    });
}

async function list(session: Session, arg: string, verb: 'LIST' | 'NLST'): Promise<void> {
  if (!session.allowedFor('l', arg)) return;
  const target = await listTarget(session, arg);
  if (!target || !session.allowed('l', target.path)) return;
  const now = new Date();
  const prefix = target.given !== '' && target.stat.type === 'dir' ? target.given.replace(/\/+$/, '') + '/' : '';
  const lines =
    verb === 'LIST'
      ? target.entries.map((e) => formatListLine(e, now))
      : target.stat.type === 'dir'
        ? target.entries.map((e) => prefix + e.name)
        : [target.given];
  await runTransfer(session, {
    command: verb,
    path: target.path,
    opening: 'Here comes the directory listing',
    direction: 'out',
    pump: sendText(lines),
    success: 'Directory send OK',
  });
}

export const LIST: CommandSpec = {
  verbs: ['LIST'],
  help: 'LIST [path]',
  handler: (session, arg) => list(session, arg, 'LIST'),
};

export const NLST: CommandSpec = {
  verbs: ['NLST'],
  help: 'NLST [path]',
  handler: (session, arg) => list(session, arg, 'NLST'),
};

function mlstFeature(session: Session): string[] {
  const facts = ['type', 'size', 'modify', 'perm', 'UNIX.mode'];
  return [`MLST ${facts.map((f) => `${f}${session.mlstFacts.has(f.toLowerCase()) ? '*' : ''};`).join('')}`];
}

export const MLSD: CommandSpec = {
  verbs: ['MLSD'],
  help: 'MLSD [path]',
  async handler(session, arg) {
    if (!session.allowedFor('l', arg)) return;
    const path = session.resolve(arg);
    if (path === undefined) return;
    let stat: StorageStat;
    let entries: StorageStat[];
    try {
      stat = await session.storage!.stat(path);
      if (stat.type !== 'dir') return session.reply(501, `${path}: Not a directory`);
      entries = listable(await session.storage!.list(path));
    } catch (err) {
      return session.fail(err, path, 550);
    }
    const lines = [mlsxLine(session, stat, '.', 'cdir', path), ...entries.map((e) => mlsxLine(session, e, e.name, undefined, joinVirtual(path, e.name)))];
    await runTransfer(session, {
      command: 'MLSD',
      path,
      opening: 'Here comes the directory listing',
      direction: 'out',
      pump: sendText(lines),
      success: 'Directory send OK',
    });
  },
};

export const MLST: CommandSpec = {
  verbs: ['MLST'],
  help: 'MLST [path]',
  feat: mlstFeature,
  async handler(session, arg) {
    if (!session.allowedFor('l', arg)) return;
    const path = session.resolve(arg);
    if (path === undefined || refuseTemporary(session, path)) return;
    try {
      const stat = await session.storage!.stat(path);
      session.reply(250, [`Listing ${path}`, ` ${mlsxLine(session, stat, path, undefined, path)}`, 'End']);
    } catch (err) {
      session.fail(err, path, 550);
    }
  },
};
