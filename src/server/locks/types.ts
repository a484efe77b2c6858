import { FtpError } from '../../errors.js';

/**
 * Locks on paths, shared by every session of a FileServer.
 *
 * Sessions lock `lockKey(scope, path)`: the storage's `lockScope` (the real folder of a
 * LocalStorage's root) and the virtual path, so two users whose homes are the same folder
 * contend for `/d.txt`, and users of different roots never do. Keys of different scopes never
 * overlap; a key without a scope is a plain virtual path (storages without `lockScope` all
 * share that one namespace).
 *
 * A lock on a path covers its whole subtree: an exclusive lock on `/a` conflicts with any lock
 * on `/a`, `/a/b`, `/a/b/c`..., and a lock on `/a/b` conflicts with an exclusive lock on `/a`.
 * Shared locks never conflict with each other.
 *
 * The interface is async so that a lock manager shared by several processes or hosts can
 * implement it: InMemoryLockManager serves one process, RedisLockManager several hosts.
 */

export type LockMode = 'shared' | 'exclusive';

export interface LockRequest {
  /**
   * What to lock: a normalised virtual path ('/' separated, starting with '/'), or a
   * `lockKey(scope, path)`. Compare with overlaps(), which knows both.
   */
  path: string;
  mode: LockMode;
}

export interface AcquireOptions {
  /** Who asks (a session id): shown in conflicts and in `held()`. */
  owner: string;
  /** What for (the FTP verb), shown in conflicts and in `held()`. */
  purpose?: string;
  /** How long to wait for conflicting locks to go, in ms. Default 0: fail at once. */
  wait?: number;
  /** Gives up waiting when aborted (rejects with the signal's reason). */
  signal?: AbortSignal;
}

/** A granted set of locks. `release()` is idempotent. */
export interface LockHandle {
  release(): Promise<void>;
  /**
   * Lease-based managers (RedisLockManager): aborts, with a LockLostError, when the locks can
   * no longer be counted on (their lease ran out unrenewed, or another holder has them). A
   * writer stops writing then. Absent for managers whose locks cannot be lost.
   */
  readonly lost?: AbortSignal;
  /**
   * Fencing before an irreversible step (an upload's commit rename): resolves when the locks
   * are still this handle's, renewing their lease; rejects with a LockLostError otherwise.
   */
  verify?(): Promise<void>;
}

/** One lock currently held (for `held()`, conflicts and tests). */
export interface HeldLock {
  path: string;
  mode: LockMode;
  owner: string;
  purpose: string | undefined;
}

/**
 * Grants several locks at once. Rules every implementation keeps, which together make a
 * deadlock impossible:
 *
 * 1. A request is granted whole or not at all. A waiting request holds nothing.
 * 2. Where an implementation cannot grant a set atomically (a remote one taking one key at a
 *    time), it takes them in `sortLockRequests` order: by path, code unit by code unit, so an
 *    ancestor comes before its descendants. Two requests then never hold what the other
 *    waits for.
 * 3. ftpkit never asks for a lock while holding another one (each command takes every path it
 *    needs in one call, e.g. RNTO takes source and target together).
 */
export interface LockManager {
  /** Resolves with a handle once every lock is granted; rejects with a LockConflictError. */
  acquire(requests: readonly LockRequest[], options: AcquireOptions): Promise<LockHandle>;
  /** Every lock held now (tests assert this is empty after each run). */
  held(): Promise<HeldLock[]>;
}

/** Why a lock request failed: the locks in the way. An FtpError with code FTPKIT_ERR_LOCKED. */
export class LockConflictError extends FtpError {
  /** The path of our request that conflicted. */
  readonly path: string;
  readonly conflicts: readonly HeldLock[];

  constructor(path: string, conflicts: readonly HeldLock[]) {
    super('FTPKIT_ERR_LOCKED', `${path}: file busy`);
    this.path = path;
    this.conflicts = conflicts;
  }
}

/** The locks of a handle were lost (lease expired, or taken over after it did). An FtpError with code FTPKIT_ERR_LOCK_LOST. */
export class LockLostError extends FtpError {
  constructor(message: string) {
    super('FTPKIT_ERR_LOCK_LOST', message);
  }
}

/**
 * The lock key of virtual `path` in the storage identified by `scope`. Virtual paths never hold
 * NUL (resolveVirtualPath refuses it), so the first NUL of a key ends its scope.
 */
export function lockKey(scope: string, path: string): string {
  return `${scope}\0${path}`;
}

/** A key's scope (undefined for a plain path) and virtual path. */
export function splitLockKey(key: string): { scope: string | undefined; path: string } {
  const nul = key.indexOf('\0');
  return nul < 0 ? { scope: undefined, path: key } : { scope: key.slice(0, nul), path: key.slice(nul + 1) };
}

/** True when `a` is `b`, or one is inside the other (paths or keys of one scope). */
export function overlaps(a: string, b: string): boolean {
  if (a === b) return true;
  const ka = splitLockKey(a);
  const kb = splitLockKey(b);
  if (ka.scope !== kb.scope) return false;
  const [pa, pb] = [ka.path, kb.path];
  if (pa === pb || pa === '/' || pb === '/') return true;
  return pa.length < pb.length ? pb.startsWith(`${pa}/`) : pa.startsWith(`${pb}/`);
}

export function conflicts(a: LockRequest, b: LockRequest): boolean {
  return (a.mode === 'exclusive' || b.mode === 'exclusive') && overlaps(a.path, b.path);
}

/**
 * The checks every LockManager makes of acquire()'s arguments (throws FTPKIT_ERR_INVALID_ARGUMENT);
 * returns how long the caller may wait, in ms.
 */
export function checkAcquire(requests: readonly LockRequest[], options: AcquireOptions): number {
  if (!Array.isArray(requests) || requests.length === 0) {
    throw new FtpError('FTPKIT_ERR_INVALID_ARGUMENT', 'acquire() needs at least one lock request');
  }
  const wait = options.wait ?? 0;
  if (!Number.isSafeInteger(wait) || wait < 0) throw new FtpError('FTPKIT_ERR_INVALID_ARGUMENT', 'wait must be a non-negative integer');
  return wait;
}

/**
 * The order locks are taken in (rule 2 above): sorted by path (or key: a scope's keys sort
 * together, ancestors first), duplicates merged with the stronger mode winning.
 */
export function sortLockRequests(requests: readonly LockRequest[]): LockRequest[] {
  const byPath = new Map<string, LockMode>();
  for (const { path, mode } of requests) {
    if (byPath.get(path) !== 'exclusive') byPath.set(path, mode);
  }
  return [...byPath]
    .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))
    .map(([path, mode]) => ({ path, mode }));
}
