/**
 * Locks on virtual paths, shared by every session of a FileServer.
 *
 * A lock on a path covers its whole subtree: an exclusive lock on `/a` conflicts with any lock
 * on `/a`, `/a/b`, `/a/b/c`..., and a lock on `/a/b` conflicts with an exclusive lock on `/a`.
 * Shared locks never conflict with each other.
 *
 * The interface is async so that a lock manager shared by several processes or hosts (a lock
 * file, Redis, a database) can implement it later; InMemoryLockManager is the one ftpkit ships.
 */

export type LockMode = 'shared' | 'exclusive';

export interface LockRequest {
  /** A normalised virtual path ('/' separated, starting with '/'). */
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

/** Why a lock request failed: the locks in the way. */
export class LockConflictError extends Error {
  override readonly name = 'LockConflictError';
  readonly code = 'EBUSY';
  /** The path of our request that conflicted. */
  readonly path: string;
  readonly conflicts: readonly HeldLock[];

  constructor(path: string, conflicts: readonly HeldLock[]) {
    super(`${path}: file busy`);
    this.path = path;
    this.conflicts = conflicts;
  }
}

/** True when `a` is `b`, or one is inside the other. */
export function overlaps(a: string, b: string): boolean {
  if (a === b || a === '/' || b === '/') return true;
  return a.length < b.length ? b.startsWith(`${a}/`) : a.startsWith(`${b}/`);
}

export function conflicts(a: LockRequest, b: LockRequest): boolean {
  return (a.mode === 'exclusive' || b.mode === 'exclusive') && overlaps(a.path, b.path);
}

/**
 * The order locks are taken in (rule 2 above): sorted by path, duplicates merged with the
 * stronger mode winning.
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
