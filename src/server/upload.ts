import { createHash } from 'node:crypto';
import { zeroCopy } from '../data/zero-copy.js';
import type { Socket } from 'node:net';
import type { Readable, Writable } from 'node:stream';
import { MODE_Z_INVALID, MODE_Z_TRUNCATED, type WireCoding } from '../data/mode-z.js';
import { openReceiver, type UploadReceiver } from '../data/upload.js';
import { joinVirtual, virtualBasename, virtualDirname } from '../storage/path.js';
import { LocalStorage } from '../storage/local-storage.js';
import type { Storage, StorageStat } from '../storage/types.js';
import { LockLostError, exclusive, lockFor, releaseQuietly, shared, type LockHandle } from './locks/index.js';
import type { LoggedInContext } from './command.js';
import type { Session } from './session.js';
import { endCheck } from './data-end.js';
import { isPeerGone } from '../util/peer-gone.js';
import { FtpError } from '../errors.js';
import { isAnonymous, partialOwners } from './upload-owners.js';

/**
 * Uploads (STOR, APPE, STOU) in the two modes of `uploadMode`.
 *
 * 'atomic' (default), after ProFTPD's HiddenStores and SFTPGo's "atomic with resume":
 *
 *   STOR f   lock: .ftpkit-upload-f exclusive (one upload per target), f shared (no DELE/RNFR/
 *            RMD meanwhile; readers go on reading the old f)
 *     150    data -> dir/.ftpkit-upload-f   (hidden: never listed, 550 to every command)
 *     EOF    fsync, then rename(.ftpkit-upload-f, f)   readers see old f or new f, never a mix
 *     226
 *
 *   interrupted (connection lost, ABOR, timeout, shutdown): f is untouched; the temporary is
 *     kept as the target's *partial upload* when it holds bytes, and SIZE f reports its size,
 *     so `SIZE f` + `APPE f` (curl -C -, ftp-put -c) or `REST n` + `STOR f` (lftp put -c)
 *     continue it; the rename happens only when a transfer ends normally.
 *   storage failure (ENOSPC, EDQUOT...): the temporary is removed, f is untouched, 452/552.
 *   a fresh STOR (no REST) discards any partial; a server restart discards every partial
 *     (temporaries older than the process are leftovers of a crash: sweepUploadTemporaries).
 *
 * 'direct': written in place under an exclusive lock (vsftpd), REST/APPE as plain file offsets.
 */

export const TEMP_PREFIX = '.ftpkit-upload-';
const NAME_MAX = 255;
/** Temporaries modified before this are leftovers of an earlier process. */
const PROCESS_START = Date.now();
/**
 * Failures that mean the client went away or gave up (or timed out), not that the storage
 * failed. A MODE Z stream cut short is one too (its inflated prefix is kept for REST); one that
 * is not zlib data (MODE_Z_INVALID) is a failure: nothing of it is kept.
 */
function interrupted(err: unknown): boolean {
  const code = (err as NodeJS.ErrnoException | null)?.code;
  return isPeerGone(err) || code === 'ETIMEDOUT' || code === 'ABORT_ERR' || code === MODE_Z_TRUNCATED;
}

/** True for the hidden temporaries of atomic uploads (no command may reach them). */
export function isUploadTemporary(path: string): boolean {
  return virtualBasename(path).startsWith(TEMP_PREFIX);
}

/** The one temporary of a target: deterministic, so an interrupted upload can be resumed. */
export function temporaryFor(path: string): string {
  const name = virtualBasename(path);
  let temp = TEMP_PREFIX + name;
  if (Buffer.byteLength(temp) > NAME_MAX) temp = TEMP_PREFIX + createHash('sha256').update(name).digest('hex');
  return joinVirtual(virtualDirname(path), temp);
}

/** Answers 550 for a temporary's name, as if it did not exist; true when it did. */
export function refuseTemporary(session: Session, path: string): boolean {
  if (!isUploadTemporary(path)) return false;
  session.reply(550, `${path}: No such file or directory`);
  return true;
}

/**
 * The partial upload kept for `path` in atomic mode that this session may continue, if any:
 * leftovers of a crash, other users' partials and, for anonymous sessions, every partial excluded.
 */
export async function pendingUpload(ctx: LoggedInContext, path: string): Promise<StorageStat | undefined> {
  const { session, storage } = ctx;
  if (session.host.options.uploadMode !== 'atomic' || isAnonymous(session)) return undefined;
  const temp = temporaryFor(path);
  const owner = partialOwners(storage).get(temp);
  if (owner !== undefined && owner !== ctx.username) return undefined;
  const st = await statOrUndefined(storage, temp);
  return st?.type === 'file' && st.mtime.getTime() >= PROCESS_START ? st : undefined;
}

/**
 * Removes the temporaries under `path` (recursively) last modified before `before` (default:
 * this process's start): what a crash left. ftp-serve runs it on its root before listening;
 * embedders run it on their roots. Resolves with the number removed.
 */
export async function sweepUploadTemporaries(storage: Storage, options: { path?: string; before?: Date } = {}): Promise<number> {
  const before = (options.before ?? new Date(PROCESS_START)).getTime();
  let removed = 0;
  const walk = async (dir: string): Promise<void> => {
    let entries: StorageStat[];
    try {
      entries = await storage.list(dir);
    } catch {
      return;
    }
    for (const e of entries) {
      const path = joinVirtual(dir, e.name);
      if (e.type === 'dir') await walk(path);
      else if (e.name.startsWith(TEMP_PREFIX) && e.mtime.getTime() < before) {
        await storage.delete(path).then(() => removed++, () => {});
      }
    }
  };
  await walk(options.path ?? '/');
  return removed;
}

/**
 * RMD of a folder that holds nothing but upload temporaries (interrupted uploads, hidden from
 * listings): they go first, so a folder that lists as empty can be removed. The caller holds the
 * folder's exclusive lock, so no upload inside is running.
 */
export async function discardHiddenPartials(storage: Storage, dir: string): Promise<void> {
  let entries: StorageStat[];
  try {
    entries = await storage.list(dir);
  } catch {
    return; // rmdir reports it
  }
  if (entries.length === 0 || !entries.every((e) => e.type === 'file' && e.name.startsWith(TEMP_PREFIX))) return;
  for (const e of entries) await storage.delete(joinVirtual(dir, e.name)).catch(() => {});
}

/**
 * After a login: the first time this server sees a LocalStorage root (or a given Storage
 * object), the temporaries a crash left under it are swept in the background. Other storages
 * made anew per login are not walked on every login: call sweepUploadTemporaries for them.
 */
export function sweepAfterCrash(done: Set<string | Storage>, session: Session | undefined): void {
  const storage = session?.storage;
  if (!session || !storage) return;
  const key = storage instanceof LocalStorage ? storage.root : storage;
  if (done.has(key)) return;
  done.add(key);
  sweepUploadTemporaries(storage).then(
    (removed) => {
      if (removed > 0) session.log.info({ removed }, 'removed temporaries of interrupted uploads from before the start');
    },
    (err: unknown) => session.log.warn({ err }, 'sweeping upload temporaries failed'),
  );
}

/** One upload, opened before the 150 so that errors come first. */
export interface Upload {
  /**
   * The data connection as accepted, before TLS and pacing (`plain`: neither applies): the data
   * layer may take its reads over (data/upload.ts); returns the socket to go on with, if so.
   */
  adopt(socket: Socket, plain: boolean): Socket | undefined;
  /** Moves the data from `source` (the data connection, maybe secured and paced) into place, commit included. */
  run(source: Socket, signal: AbortSignal): Promise<void>;
  /** Closes what is open and releases the locks. Always called, once. */
  dispose(): Promise<void>;
}

type Mode = 'STOR' | 'APPE' | 'STOU';

/**
 * Opens an upload of `path` whose bytes arrive as `coding` says (TYPE A, MODE Z: decoded before
 * the file); answers the failure itself and resolves undefined.
 */
export async function openUpload(ctx: LoggedInContext, path: string, mode: Mode, offset: number, coding: WireCoding): Promise<Upload | undefined> {
  const { session, storage } = ctx;
  if (refuseTemporary(session, path)) return undefined;
  const atomic = session.host.options.uploadMode === 'atomic';
  const temp = temporaryFor(path);
  const lock = await lockFor(session, mode, atomic ? [exclusive(temp), shared(path)] : [exclusive(path)], path);
  if (!lock) return undefined;
  try {
    if (!atomic) {
      const sink = await storage.createWriteStream(path, mode === 'APPE' ? { append: true } : offset > 0 ? { start: offset } : {});
      return new DirectUpload(sink, receiverFor(session, sink, coding), lock, session);
    }
    const target = await statOrUndefined(storage, path);
    if (target?.type === 'dir') {
      session.reply(550, `${path}: Is a directory`);
      await releaseQuietly(session, lock);
      return undefined;
    }
    const anonymous = isAnonymous(session);
    // The temporary becomes this user's: whatever partial it held is continued or replaced.
    const claim = (): void => void (anonymous || partialOwners(storage).set(temp, ctx.username));
    const resume = mode === 'APPE' || (mode === 'STOR' && offset > 0);
    if (!resume) {
      claim();
      const sink = await storage.createWriteStream(temp, { flush: session.host.options.uploadFsync });
      return new AtomicUpload({ session, storage, path, temp, target, sink, receiver: receiverFor(session, sink, coding), lock, anonymous });
    }
    // Resume: continue the partial upload if there is one, else start from the target's bytes.
    const partial = await pendingUpload(ctx, path);
    const baseSize = partial?.size ?? (target?.type === 'file' ? target.size : 0);
    const at = mode === 'APPE' ? baseSize : offset;
    if (at > baseSize || (partial && at < partial.size && !storage.truncate)) {
      session.reply(554, `Restart offset ${at} is not within the ${baseSize} bytes stored for ${path}`);
      await releaseQuietly(session, lock);
      return undefined;
    }
    claim();
    if (partial) {
      if (at < partial.size) await storage.truncate!(temp, at);
      const sink = await storage.createWriteStream(temp, { append: true, flush: session.host.options.uploadFsync });
      return new AtomicUpload({ session, storage, path, temp, target, sink, receiver: receiverFor(session, sink, coding), lock, anonymous, resumedAt: at });
    }
    const sink = await storage.createWriteStream(temp, { flush: session.host.options.uploadFsync });
    return new AtomicUpload({ session, storage, path, temp, target, sink, receiver: receiverFor(session, sink, coding), lock, anonymous, prefix: at });
  } catch (err) {
    await releaseQuietly(session, lock);
    const code = (err as NodeJS.ErrnoException).code;
    if (code === 'ENOENT' || code === 'ENOTDIR') session.reply(553, `${virtualDirname(path)}: No such directory`);
    else session.fail(err, path, 553);
    return undefined;
  }
}

class DirectUpload implements Upload {
  constructor(
    readonly sink: Writable,
    readonly receiver: UploadReceiver,
    readonly lock: LockHandle,
    readonly session: Session,
  ) {
    sink.on('error', () => {}); // surfaces through the pipeline
  }

  adopt(socket: Socket, plain: boolean): Socket | undefined {
    return this.receiver.adopt(socket, plain);
  }

  run(source: Socket, signal: AbortSignal): Promise<void> {
    return this.receiver.receive(source, fence(signal, this.lock), endCheck);
  }

  async dispose(): Promise<void> {
    this.sink.destroy();
    await closed(this.sink).catch(() => {});
    await releaseQuietly(this.session, this.lock);
  }
}

interface AtomicParts {
  session: Session;
  storage: Storage;
  path: string;
  temp: string;
  /** The target before the upload (its mode is kept), if it existed. */
  target: StorageStat | undefined;
  sink: Writable;
  /** The data layer's way from the data connection into `sink`. */
  receiver: UploadReceiver;
  lock: LockHandle;
  /** Bytes of the current target to copy first (REST/APPE with no partial upload). */
  prefix?: number;
  /** An anonymous session's upload: not kept as a partial when interrupted. */
  anonymous: boolean;
  /** Continuing a partial upload: its size before this transfer. */
  resumedAt?: number;
}

class AtomicUpload implements Upload {
  readonly #p: AtomicParts;
  #settled = false;

  constructor(parts: AtomicParts) {
    this.#p = parts;
    parts.sink.on('error', () => {}); // surfaces through the pipeline or closed()
  }

  adopt(socket: Socket, plain: boolean): Socket | undefined {
    return this.#p.receiver.adopt(socket, plain);
  }

  async run(source: Socket, signal: AbortSignal): Promise<void> {
    const { session, storage, path, temp, target, sink, receiver, prefix, lock } = this.#p;
    const fenced = fence(signal, lock);
    try {
      if (prefix) await copyPrefix(await storage.createReadStream(path, { start: 0, end: prefix - 1 }), sink, fenced);
      await receiver.receive(source, fenced, endCheck);
      await closed(sink); // flushed to disk
      // Every event that reached us while the data was flushed has run by now; one more turn of
      // the loop (its poll phase) takes in a control-connection close that is already queued.
      await new Promise((resolve) => setImmediate(resolve));
      checkCommit(session, signal);
      if (target?.type === 'file') await storage.chmod(temp, target.mode).catch(() => {});
      await lock.verify?.(); // fencing: rename only while the lock is surely still ours
      checkCommit(session, signal); // the commit point: nothing asynchronous between this and rename
      await storage.rename(temp, path);
      partialOwners(storage).delete(temp);
      this.#settled = true;
    } catch (err) {
      this.#settled = true;
      sink.destroy();
      await closed(sink).catch(() => {});
      if (lock.lost?.aborted || err instanceof LockLostError) {
        // The lease ran out (a shared lock manager): another upload may own the temporary now. Touch nothing.
        session.log.warn({ path }, 'upload not committed: its lock was lost');
        throw lock.lost?.reason ?? err;
      }
      const code = (err as NodeJS.ErrnoException).code ?? '';
      const cut = signal.aborted || interrupted(err);
      // Interrupted: keep what arrived so the client can resume. Storage failure, or an
      // anonymous upload (which no one could safely resume): remove it all.
      const keep = cut && !this.#p.anonymous && (await statOrUndefined(storage, temp))?.size !== 0;
      // Not MODE Z data: none of this transfer's bytes are kept, but a partial it continued is.
      const resumedAt = this.#p.resumedAt;
      if (!keep && code === MODE_Z_INVALID && resumedAt && storage.truncate) await storage.truncate(temp, resumedAt).catch(() => this.#discard());
      else if (!keep) await this.#discard();
      session.log.info({ path, code, interrupted: cut, kept: keep }, 'upload not committed');
      throw err;
    }
  }

  async #discard(): Promise<void> {
    const { storage, temp } = this.#p;
    await storage.delete(temp).catch(() => {});
    partialOwners(storage).delete(temp);
  }

  async dispose(): Promise<void> {
    const { session, storage, temp, sink, lock } = this.#p;
    if (!this.#settled) {
      // The data connection never came: nothing was written beyond what a partial already held.
      sink.destroy();
      await closed(sink).catch(() => {});
      if (this.#p.anonymous || (await statOrUndefined(storage, temp))?.size === 0) await this.#discard();
    }
    await releaseQuietly(session, lock);
  }
}

/**
 * Throws (FTPKIT_ERR_CONNECTION_CLOSED, an interruption: the partial is kept) unless the upload may be committed
 * now: not aborted, and the control connection neither closed, reset nor ended by the client.
 *
 * Why the control connection: a client killed mid-upload (kill -9, a crash) has its kernel close
 * both connections, and the data connection then ends with a FIN after whatever the client had
 * handed to its kernel: a truncated upload that looks finished. Only the control connection's
 * close tells it apart, so the upload is committed only while the control connection is alive.
 * What this guarantees is in the README ("Locking, atomic uploads and integrity").
 */
function checkCommit(session: Session, signal: AbortSignal): void {
  const control = session.socket;
  const gone = control.destroyed || !control.readable || control.readableEnded || control.readableAborted;
  // The kernel may already hold the control connection's close while the loop has not run its
  // events yet (a loaded server): ask it. A close with nothing before it is a client that died
  // (kill -9 closes both connections); one behind queued commands (QUIT right after the last
  // byte) is a client that finished without waiting for 226, and commits.
  const kernel = zeroCopy()?.peerState(control);
  if (signal.aborted || gone || kernel === 'closed') {
    throw new FtpError('FTPKIT_ERR_CONNECTION_CLOSED', 'control connection lost before the upload was committed');
  }
}

/** The data layer's receiver into `sink`, under the server's `zeroCopy` option. */
function receiverFor(session: Session, sink: Writable, coding: WireCoding): UploadReceiver {
  return openReceiver(sink, { coding, zeroCopy: session.host.options.zeroCopy });
}

/** The transfer's signal, also aborted when a lease-based lock is lost (RedisLockManager). */
function fence(signal: AbortSignal, lock: LockHandle): AbortSignal {
  return lock.lost ? AbortSignal.any([signal, lock.lost]) : signal;
}

/** Copies a read stream into `sink` without ending it (the upload's data follows). */
async function copyPrefix(source: Readable, sink: Writable, signal: AbortSignal): Promise<void> {
  try {
    for await (const chunk of source) {
      if (signal.aborted) throw signal.reason;
      if (!sink.write(chunk)) {
        await new Promise<void>((resolve, reject) => {
          const done = (err?: unknown): void => {
            sink.off('drain', done);
            sink.off('error', done);
            if (err) reject(err);
            else resolve();
          };
          sink.once('drain', done);
          sink.once('error', done);
        });
      }
    }
  } finally {
    source.destroy();
  }
}

/** Settles once `stream` has closed (its descriptor, and for flush its fsync, done). */
function closed(stream: Writable): Promise<void> {
  if (stream.closed) return stream.errored ? Promise.reject(stream.errored) : Promise.resolve();
  return new Promise((resolve, reject) => {
    let error: unknown = stream.errored ?? undefined;
    stream.once('error', (err) => (error = err));
    stream.once('close', () => (error ? reject(error) : resolve()));
  });
}

async function statOrUndefined(storage: Storage, path: string): Promise<StorageStat | undefined> {
  try {
    return await storage.stat(path);
  } catch {
    return undefined;
  }
}

