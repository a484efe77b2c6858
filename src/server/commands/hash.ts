import type { Readable } from 'node:stream';
import { HASH_ALGORITHMS, LEGACY_HASH_VERBS, type HashAlgorithm } from '../../protocol/hash.js';
import { createHasher } from '../../protocol/hasher.js';
import type { CommandSpec, PathContext } from '../command.js';
import { lockFor, releaseQuietly, shared } from '../locks/index.js';
import type { Session } from '../session.js';

/**
 * File hashes: HASH and OPTS HASH (draft-bryan-ftp-hash), and the older XCRC, XMD5, XSHA,
 * XSHA1, XSHA256 and XSHA512 many clients send. Replies follow ProFTPD's mod_digest:
 *
 *   HASH f          213 SHA-256 0-12 a948...a447 f
 *   XCRC f [s [e]]  250 AF083B2D            (upper-case hex; bytes s..e-1)
 *
 * The file is streamed from the storage under a shared lock, so other sessions go on; each
 * request is capped by `hashLimits` (bytes and time). HASH hashes the whole file whatever RANG
 * says (as ProFTPD does); a range is hashed with XCRC/XSHA* start end.
 */

// The algorithm table and the hashers are the codec's, shared with the client.
const ALGORITHMS = HASH_ALGORITHMS;
const DEFAULT: HashAlgorithm = 'SHA-256';
/** OPTS HASH choice per session (kept out of Session: only this module cares). */
const selected = new WeakMap<Session, HashAlgorithm>();

function algorithmOf(session: Session): HashAlgorithm {
  return selected.get(session) ?? DEFAULT;
}

/** Hashes bytes [start, end) of `path`; answers failures itself and resolves undefined. */
async function hashFile(ctx: PathContext, verb: string, algorithm: HashAlgorithm, start: number, end?: number): Promise<{ hex: string; end: number } | undefined> {
  const { session, storage, path } = ctx;
  const lock = await lockFor(session, verb, [shared(path)]);
  if (!lock) return undefined;
  const { maxBytes, timeout } = session.host.options.hashLimits;
  let source: Readable | undefined;
  let timer: NodeJS.Timeout | undefined;
  const socket = session.socket;
  const onClose = (): void => void source?.destroy();
  socket.once('close', onClose);
  try {
    const stat = await storage.stat(path);
    if (stat.type !== 'file') {
      session.reply(553, `${path}: Not a regular file`);
      return undefined;
    }
    const stop = Math.min(end ?? stat.size, stat.size);
    if (start > stop) {
      session.reply(501, `Range ${start}-${end} is outside the file (${stat.size} bytes)`);
      return undefined;
    }
    if (stop - start > maxBytes) {
      session.reply(550, `${path}: Too large to hash (limit ${maxBytes} bytes)`);
      return undefined;
    }
    const hasher = createHasher(algorithm);
    if (stop > start) {
      source = await storage.createReadStream(path, { start, end: stop - 1 });
      const s = source;
      timer = setTimeout(() => s.destroy(Object.assign(new Error('hash timeout'), { code: 'ETIMEDOUT' })), timeout);
      // for-await yields between chunks: other sessions run while a big file is hashed.
      for await (const chunk of s) hasher.update(chunk as Buffer);
    }
    return { hex: hasher.digest('hex'), end: stop };
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ETIMEDOUT') session.reply(451, `${path}: Hashing took longer than ${timeout} ms`);
    else session.fail(err, path, 550);
    return undefined;
  } finally {
    clearTimeout(timer);
    socket.off('close', onClose);
    source?.destroy();
    await releaseQuietly(session, lock);
  }
}

export const HASH: CommandSpec = {
  verbs: ['HASH'],
  help: 'HASH <path>',
  login: true,
  arg: 'path',
  perm: 'r', // a digest tells about the content
  feat: (session) => [`HASH ${ALGORITHMS.map((a) => (a === algorithmOf(session) ? `${a}*` : a)).join(';')}`],
  opts(session, value) {
    if (value === '') return session.reply(200, algorithmOf(session));
    const wanted = ALGORITHMS.find((a) => a === value.toUpperCase());
    if (!wanted) return session.reply(501, `${value.replace(/[^\x21-\x7e]/g, '?').slice(0, 32)}: Unsupported algorithm`);
    selected.set(session, wanted);
    session.reply(200, wanted);
  },
  async handler(ctx, arg) {
    const algorithm = algorithmOf(ctx.session);
    const result = await hashFile(ctx, 'HASH', algorithm, 0);
    if (result) ctx.session.reply(213, `${algorithm} 0-${result.end} ${result.hex} ${arg}`);
  },
};

const LEGACY = LEGACY_HASH_VERBS;

/** `XCRC path [start [end]]`: clients quote paths with spaces; trailing numbers are the range. */
function legacyArgs(arg: string): { name: string; start: number; end: number | undefined } {
  const m = /^(.*?)(?: (\d{1,15}))?(?: (\d{1,15}))?$/.exec(arg);
  let name = m?.[1] ?? arg;
  if (name.length >= 2 && name.startsWith('"') && name.endsWith('"')) name = name.slice(1, -1);
  return { name, start: m?.[2] === undefined ? 0 : Number(m[2]), end: m?.[3] === undefined ? undefined : Number(m[3]) };
}

export const XCRC: CommandSpec = {
  verbs: Object.keys(LEGACY),
  help: 'XCRC|XMD5|XSHA1|XSHA256|XSHA512 <path> [start [end]]',
  feat: Object.keys(LEGACY),
  login: true,
  arg: 'path',
  pathIn: (arg) => legacyArgs(arg).name,
  pathWhere: 'before the optional byte range; may be quoted',
  perm: 'r',
  async handler(ctx, arg, verb) {
    const { start, end } = legacyArgs(arg);
    const result = await hashFile(ctx, verb, LEGACY[verb] ?? 'CRC32', start, end);
    if (result) ctx.session.reply(250, result.hex.toUpperCase());
  },
};
