import type { Socket } from 'node:net';
import { Readable } from 'node:stream';
import { sendEncoded, type WireCoding } from '../../data/mode-z.js';
import { wireCoding } from '../wire-mode.js';
import { formatListLine, formatMlsxFacts, type FileFacts } from '../../protocol/index.js';
import { MLST_FACTS } from '../../protocol/listing.js';
import type { ListReader, Storage, StorageStat } from '../../storage/types.js';
import { listReaderOf } from '../../storage/list-reader.js';
import { listingTurn } from '../listing-slots.js';
import type { CommandSpec, LoggedInContext } from '../command.js';
import type { Session } from '../session.js';
import { hasWildcard, matchGlob } from '../glob.js';
import { joinVirtual } from '../../storage/path.js';
import { allowed, type PermissionLetter } from '../permissions.js';
import { isUploadTemporary, refuseTemporary } from '../upload.js';

export interface ListTarget {
  /** Virtual path listed. */
  path: string;
  /** The path as the client wrote it, without ls flags ('' for the cwd). */
  given: string;
  stat: StorageStat;
  /** The folder's listable entries in name order, a batch at a time; or the file itself. The caller closes it. */
  entries: ListReader;
}

/**
 * Entries stat'ed, formatted and sent per batch. A listing holds the folder's names and one
 * batch, never every entry's stat and line at once (100,000 entries took ~100 MB built whole).
 */
export const LIST_BATCH = 256;

/**
 * Resolves a LIST/NLST/STAT argument. Clients send ls flags (`LIST -la`, `NLST -a dir`): the
 * literal path is tried first, so a file really named `-x` still lists; when it does not exist,
 * leading `-flags` words are dropped.
 */
export async function listTarget(ctx: LoggedInContext, arg: string): Promise<ListTarget | undefined> {
  const { session, storage } = ctx;
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
      const stat = await storage.stat(path);
      const entries = stat.type === 'dir' ? await openFolder(storage, path) : listReaderOf([{ ...stat }]);
      return { path, given, stat, entries };
    } catch (err) {
      lastError = err;
    }
  }
  const glob = await globTarget(ctx, attempts[attempts.length - 1] ?? arg);
  if (glob) return glob;
  session.fail(lastError, lastPath, 550);
  return undefined;
}

/** `NLST *.txt`, `LIST dir/a?c`: a missing last segment with wildcards filters its folder. */
async function globTarget({ session, storage }: LoggedInContext, given: string): Promise<ListTarget | undefined> {
  const slash = given.lastIndexOf('/');
  const pattern = given.slice(slash + 1);
  if (!hasWildcard(pattern)) return undefined;
  const dirGiven = slash < 0 ? '' : given.slice(0, slash) || '/';
  const dir = session.resolve(dirGiven);
  if (dir === undefined) return undefined;
  try {
    const stat = await storage.stat(dir);
    if (stat.type !== 'dir') return undefined;
    const entries = await openFolder(storage, dir, (e) => matchGlob(pattern, e.name));
    return { path: dir, given: dirGiven, stat, entries };
  } catch {
    return undefined;
  }
}

/**
 * The entries a listing of `path` may show, in name order. A name with CR or LF would forge
 * listing lines (or replies, for STAT), and temporaries of atomic uploads are hidden.
 */
async function openFolder(storage: Storage, path: string, keep?: (e: StorageStat) => boolean): Promise<ListReader> {
  const reader = storage.openList ? await storage.openList(path) : listReaderOf(await storage.list(path));
  const shown = (e: StorageStat): boolean => !/[\r\n]/.test(e.name) && !isUploadTemporary(e.name) && (keep === undefined || keep(e));
  return {
    async read(max) {
      for (;;) {
        const batch = await reader.read(max);
        if (batch.length === 0) return batch;
        const out = batch.filter(shown);
        if (out.length > 0) return out;
      }
    },
    close: () => reader.close(),
  };
}

/** The reader's entries as lines, a batch at a time. */
async function* lineBatches(entries: ListReader, line: (e: StorageStat) => string): AsyncGenerator<string[]> {
  for (;;) {
    const batch = await entries.read(LIST_BATCH);
    if (batch.length === 0) return;
    yield batch.map(line);
  }
}

/**
 * Holds a listing turn (listing-slots.ts) while `run` lists `arg`; answers refusals itself.
 * `run` owns the target's reader from then on and closes it (a transfer's dispose does).
 * The table checked 'l' at the path as written; when ls flags or a wildcard make the folder
 * listed another one, it is checked there too.
 */
async function withTarget(ctx: LoggedInContext, arg: string, run: (target: ListTarget, release: () => void) => Promise<void>): Promise<void> {
  const { session } = ctx;
  const release = await listingTurn(session);
  if (!release) return; // the session ended while waiting
  let target: ListTarget | undefined;
  try {
    target = await listTarget(ctx, arg);
    if (target && target.path !== ctx.path) ctx.actOn(target.path);
    if (!target || (target.path !== ctx.path && !allowed(session, ctx.permissions, 'l', target.path))) {
      await target?.entries.close();
      return release();
    }
  } catch (err) {
    release();
    throw err;
  }
  return run(target, release);
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

/** Sends the lines over the data connection as the peer takes them (backpressure), compressed in MODE Z. */
function sendLines(batches: AsyncIterable<string[]>, coding: WireCoding): (socket: Socket, signal: AbortSignal) => Promise<void> {
  async function* chunks(): AsyncGenerator<string> {
    for await (const lines of batches) yield `${lines.join('\r\n')}\r\n`;
  }
  return (socket, signal) => sendEncoded(Readable.from(chunks(), { highWaterMark: 1 }), coding, socket, signal);
}

/** A listing over the data connection; the turn and the reader are let go when it ends. */
function sendListing(session: Session, command: string, path: string, release: () => void, entries: ListReader, batches: AsyncIterable<string[]>): Promise<void> {
  return session.runTransfer({
    command,
    path,
    opening: 'Here comes the directory listing',
    direction: 'out',
    pump: sendLines(batches, wireCoding(session, false)), // the lines are CRLF already, whatever the TYPE
    dispose: async () => {
      await entries.close().catch(() => {});
      release();
    },
    success: 'Directory send OK',
  });
}

function list(ctx: LoggedInContext, arg: string, verb: 'LIST' | 'NLST'): Promise<void> {
  return withTarget(ctx, arg, (target, release) => {
    const now = new Date();
    const prefix = target.given !== '' && target.stat.type === 'dir' ? target.given.replace(/\/+$/, '') + '/' : '';
    const line =
      verb === 'LIST'
        ? (e: StorageStat) => formatListLine(e, now)
        : target.stat.type === 'dir'
          ? (e: StorageStat) => prefix + e.name
          : () => target.given;
    return sendListing(ctx.session, verb, target.path, release, target.entries, lineBatches(target.entries, line));
  });
}

export const LIST: CommandSpec = {
  verbs: ['LIST'],
  help: 'LIST [path]',
  login: true,
  arg: 'path-or-cwd', // ls flags (-la) tried as a name first, then dropped
  perm: 'l',
  handler: (ctx, arg) => list(ctx, arg, 'LIST'),
};

export const NLST: CommandSpec = {
  verbs: ['NLST'],
  help: 'NLST [path]',
  login: true,
  arg: 'path-or-cwd',
  perm: 'l',
  handler: (ctx, arg) => list(ctx, arg, 'NLST'),
};

/** STAT <path>: the LIST lines on the control connection, sent as the peer reads them. */
export function statListing(ctx: LoggedInContext, arg: string): Promise<void> {
  const { session } = ctx;
  return withTarget(ctx, arg, async (target, release) => {
    try {
      const now = new Date();
      const lines = lineBatches(target.entries, (e) => formatListLine(e, now));
      await session.replyLines(213, `Status of ${target.path}:`, lines, 'End of status');
    } finally {
      await target.entries.close().catch(() => {});
      release();
    }
  });
}

function mlstFeature(session: Session): string[] {
  return [`MLST ${MLST_FACTS.map((f) => `${f}${session.mlstFacts.has(f.toLowerCase()) ? '*' : ''};`).join('')}`];
}

/** MLSD: the folder itself ('cdir'), then its entries. */
async function* mlsdLines(session: Session, path: string, stat: StorageStat, entries: ListReader): AsyncGenerator<string[]> {
  yield [mlsxLine(session, stat, '.', 'cdir', path)];
  yield* lineBatches(entries, (e) => mlsxLine(session, e, e.name, undefined, joinVirtual(path, e.name)));
}

export const MLSD: CommandSpec = {
  verbs: ['MLSD'],
  help: 'MLSD [path]',
  login: true,
  arg: 'path-or-cwd',
  perm: 'l',
  async handler({ session, storage, path }) {
    const release = await listingTurn(session);
    if (!release) return;
    let stat: StorageStat;
    let entries: ListReader;
    try {
      stat = await storage.stat(path);
      if (stat.type !== 'dir') {
        release();
        return session.reply(501, `${path}: Not a directory`);
      }
      entries = await openFolder(storage, path);
    } catch (err) {
      release();
      return session.fail(err, path, 550);
    }
    await sendListing(session, 'MLSD', path, release, entries, mlsdLines(session, path, stat, entries));
  },
};

export const MLST: CommandSpec = {
  verbs: ['MLST'],
  help: 'MLST [path]',
  feat: mlstFeature,
  login: true,
  arg: 'path-or-cwd',
  perm: 'l',
  async handler({ session, storage, path }) {
    try {
      const stat = await storage.stat(path);
      session.reply(250, [`Listing ${path}`, ` ${mlsxLine(session, stat, path, undefined, path)}`, 'End']);
    } catch (err) {
      session.fail(err, path, 550);
    }
  },
};
