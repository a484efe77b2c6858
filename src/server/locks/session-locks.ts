import type { Session } from '../session.js';
import { LockConflictError, lockKey, splitLockKey, type LockHandle, type LockRequest } from './types.js';

/**
 * Takes `requests` (virtual paths) for one command of `session`, all at once (see
 * LockManager's rules), keyed by the session's storage (see lockKey): the same file under two
 * virtual paths of one folder conflicts, the same virtual path in two roots does not.
 * On a conflict it answers `450 <path>: file busy`, logs, emits 'lock-conflict' (with virtual
 * paths) and resolves undefined; the caller just returns. Waits up to the server's `lockWait` first.
 */
export async function lockFor(session: Session, verb: string, requests: LockRequest[], shownPath?: string): Promise<LockHandle | undefined> {
  const { locks, lockWait } = session.host.options;
  const scope = session.storage?.lockScope;
  const keyed = scope === undefined ? requests : requests.map((r) => ({ path: lockKey(scope, r.path), mode: r.mode }));
  const controller = new AbortController();
  const socket = session.socket;
  const onClose = (): void => controller.abort(new Error('session closed'));
  if (lockWait > 0) socket.once('close', onClose);
  try {
    const handle = await locks.acquire(keyed, { owner: session.id, purpose: verb, wait: lockWait, signal: controller.signal });
    if (socket.destroyed) {
      await handle.release();
      return undefined;
    }
    return handle;
  } catch (err) {
    if (err instanceof LockConflictError) {
      // An upload's temporary is never named to clients: the conflict is on its target.
      // Keys carry the storage's identity (a host path for LocalStorage): peers and events see
      // virtual paths only, each holder's as that holder named it.
      const path = shownPath ?? splitLockKey(err.path).path;
      const heldBy = err.conflicts.map((c) => ({ path: splitLockKey(c.path).path, mode: c.mode, sessionId: c.owner, command: c.purpose }));
      session.log.info({ verb, path, heldBy }, 'lock conflict');
      session.host.emit('lock-conflict', { sessionId: session.id, remoteAddress: session.remoteAddress, command: verb, path, heldBy });
      session.reply(450, `${path}: file busy`);
    } else if ((err as { code?: string } | undefined)?.code === 'FTPKIT_ERR_REDIS_UNREACHABLE') {
      // Logged once per outage by the Redis connection, not per command.
      session.log.debug({ verb }, 'lock refused: redis unreachable');
      session.reply(451, 'Lock service unavailable, try again later');
    } else if (!controller.signal.aborted) {
      session.log.warn({ err, verb }, 'lock manager failed');
      session.reply(451, 'Local error in processing');
    }
    return undefined;
  } finally {
    socket.off('close', onClose);
  }
}

/** Runs `fn` holding `requests`; false when the lock was refused (already answered). */
export async function withLock(
  session: Session,
  verb: string,
  requests: LockRequest[],
  shownPathOrFn: string | (() => Promise<void>),
  maybeFn?: () => Promise<void>,
): Promise<boolean> {
  const [shownPath, fn] = typeof shownPathOrFn === 'string' ? [shownPathOrFn, maybeFn!] : [undefined, shownPathOrFn];
  const handle = await lockFor(session, verb, requests, shownPath);
  if (!handle) return false;
  try {
    await fn();
  } finally {
    await releaseQuietly(session, handle);
  }
  return true;
}

/** Releases, logging (never throwing) a remote lock manager's failure. */
export async function releaseQuietly(session: Session, handle: LockHandle): Promise<void> {
  try {
    await handle.release();
  } catch (err) {
    session.log.warn({ err }, 'lock release failed');
  }
}

export const shared = (path: string): LockRequest => ({ path, mode: 'shared' });
export const exclusive = (path: string): LockRequest => ({ path, mode: 'exclusive' });
