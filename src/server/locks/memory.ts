import { FtpError } from '../../errors.js';
import {
  LockConflictError,
  conflicts,
  checkAcquire,
  sortLockRequests,
  type AcquireOptions,
  type HeldLock,
  type LockHandle,
  type LockManager,
  type LockRequest,
} from './types.js';

interface Grant {
  requests: LockRequest[];
  owner: string;
  purpose: string | undefined;
}

interface Waiter extends Grant {
  resolve(handle: LockHandle): void;
  reject(err: unknown): void;
}

/**
 * The LockManager of one process: a list of grants and a FIFO of waiters.
 *
 * A new request is granted at once when nothing held conflicts with it and no earlier waiter
 * does either (so a stream of readers cannot starve a writer that waits). Releases wake waiters
 * in arrival order. Grants are whole-or-nothing, so waiting never holds anything (no deadlock).
 * A linear scan is fine for the few hundred locks a server holds at once.
 */
export class InMemoryLockManager implements LockManager {
  readonly #grants = new Set<Grant>();
  readonly #waiters: Waiter[] = [];

  acquire(requests: readonly LockRequest[], options: AcquireOptions): Promise<LockHandle> {
    const wait = checkAcquire(requests, options);
    const signal = options.signal;
    if (signal?.aborted) return Promise.reject(signal.reason);
    const grant: Grant = { requests: sortLockRequests(requests), owner: options.owner, purpose: options.purpose };
    const blocking = this.#blocking(grant, this.#waiters.length);
    if (blocking === undefined) return Promise.resolve(this.#grant(grant));
    if (wait === 0) return Promise.reject(blocking);
    return new Promise<LockHandle>((resolve, reject) => {
      const cleanup = (): void => {
        clearTimeout(timer);
        signal?.removeEventListener('abort', onAbort);
        const i = this.#waiters.indexOf(waiter);
        if (i >= 0) this.#waiters.splice(i, 1);
      };
      const waiter: Waiter = {
        ...grant,
        resolve: (handle) => {
          cleanup();
          resolve(handle);
        },
        reject: (err) => {
          cleanup();
          reject(err);
          this.#wake(); // a waiter that gave up may have been holding others back
        },
      };
      const timer = setTimeout(() => waiter.reject(this.#blocking(grant, this.#waiters.indexOf(waiter)) ?? blocking), wait);
      const onAbort = (): void => waiter.reject(signal!.reason);
      signal?.addEventListener('abort', onAbort, { once: true });
      this.#waiters.push(waiter);
    });
  }

  async held(): Promise<HeldLock[]> {
    return [...this.#grants].flatMap((g) => g.requests.map((r) => ({ ...r, owner: g.owner, purpose: g.purpose })));
  }

  /** The conflict keeping `grant` from being granted now, or undefined when it can be. */
  #blocking(grant: Grant, waitersAhead: number): LockConflictError | undefined {
    const others = [...this.#grants, ...this.#waiters.slice(0, Math.max(0, waitersAhead))];
    for (const request of grant.requests) {
      const found: HeldLock[] = [];
      for (const other of others) {
        for (const r of other.requests) {
          if (conflicts(request, r)) found.push({ ...r, owner: other.owner, purpose: other.purpose });
        }
      }
      if (found.length > 0) return new LockConflictError(request.path, found);
    }
    return undefined;
  }

  #grant(grant: Grant): LockHandle {
    const own: Grant = { requests: grant.requests, owner: grant.owner, purpose: grant.purpose };
    this.#grants.add(own);
    let released = false;
    return {
      release: async () => {
        if (released) return;
        released = true;
        this.#grants.delete(own);
        this.#wake();
      },
    };
  }

  /** Grants, in arrival order, every waiter that nothing held or earlier blocks. */
  #wake(): void {
    for (let i = 0; i < this.#waiters.length; i++) {
      const waiter = this.#waiters[i]!;
      if (this.#blocking(waiter, i) !== undefined) continue;
      this.#waiters.splice(i, 1);
      i--;
      waiter.resolve(this.#grant(waiter));
    }
  }
}
