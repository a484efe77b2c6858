export { InMemoryLockManager } from './memory.js';
export {
  LockConflictError,
  LockLostError,
  lockKey,
  overlaps,
  splitLockKey,
  sortLockRequests,
  type AcquireOptions,
  type HeldLock,
  type LockHandle,
  type LockManager,
  type LockMode,
  type LockRequest,
} from './types.js';
export { lockFor, withLock, releaseQuietly, shared, exclusive } from './session-locks.js';
