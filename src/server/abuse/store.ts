import type { FailureVerdict, LoginGuard } from './login-guard.js';

/** The part of loginGuard's policy a shared store applies. */
export interface BanPolicy {
  /** Failures within `window` that ban; 0 never bans. */
  banAfter: number;
  /** How long failures are remembered, in ms. */
  window: number;
  /** How long a ban lasts, in ms; 0 never bans. */
  banDuration: number;
}

export interface SharedFailure {
  /** Failures of the address within the window on every node, this one included. */
  failures: number;
  /** Milliseconds the address stays banned (0: not banned). */
  bannedFor: number;
  /** This failure is the one that banned it. */
  banned: boolean;
}

/**
 * Failed logins, bans and per-user session counts shared by the nodes of a cluster, so an
 * address banned on one node is banned on all and a user's `maxSessions` counts every node.
 *
 * Each node's LoginGuard still delays answers and limits parallel guesses itself; the store
 * is the cluster-wide truth it consults: at each new connection (bannedFor), after each failed
 * password (recordFailure) and at each login of a user with `maxSessions` (joinSession).
 * Methods reject while the store cannot be reached: the server then refuses new logins with
 * 421 and lets running sessions go on.
 *
 * InMemoryAbuseStore serves servers in one process; RedisAbuseStore serves several hosts.
 */
export interface AbuseStore {
  /** False while the store is unreachable (new connections get 421 without asking it). */
  readonly available: boolean;
  /** Records a failed login from `address`; bans it once `policy.banAfter` failures fall within the window. */
  recordFailure(address: string, policy: BanPolicy): Promise<SharedFailure>;
  /** Milliseconds `address` stays banned; 0 when it is not. */
  bannedFor(address: string): Promise<number>;
  /** Lifts the ban on `address` (and forgets its failures), or on every address; resolves with how many bans were lifted. */
  unban(address?: string): Promise<number>;
  /**
   * Counts session `sessionId` of `user` unless `max` of them are open on any node already;
   * resolves false then. A node that dies stops counting after a lease (Redis).
   */
  joinSession(user: string, sessionId: string, max: number): Promise<boolean>;
  /** The session ended (idempotent; a no-op for a session never joined). */
  leaveSession(user: string, sessionId: string): Promise<void>;
}

interface Failures {
  times: number[];
  bannedUntil: number;
}

/** Addresses remembered at most; past it, the stalest records are dropped. */
const MAX_ADDRESSES = 100_000;

/** An AbuseStore in this process's memory: share one between FileServers of one process. */
export class InMemoryAbuseStore implements AbuseStore {
  readonly available = true;
  readonly #addresses = new Map<string, Failures>();
  readonly #sessions = new Map<string, Set<string>>();
  readonly #now: () => number;

  /** `now` is for tests (a fake clock). */
  constructor(options: { now?: () => number } = {}) {
    this.#now = options.now ?? Date.now;
  }

  async recordFailure(address: string, policy: BanPolicy): Promise<SharedFailure> {
    const now = this.#now();
    let record = this.#addresses.get(address);
    if (record) this.#addresses.delete(address); // re-inserted last: least recently failed first
    else record = { times: [], bannedUntil: 0 };
    this.#addresses.set(address, record);
    if (this.#addresses.size > MAX_ADDRESSES) {
      for (const key of this.#addresses.keys()) {
        if (this.#addresses.size <= MAX_ADDRESSES * 0.9) break;
        this.#addresses.delete(key);
      }
    }
    if (record.bannedUntil > now) return { failures: record.times.length, bannedFor: record.bannedUntil - now, banned: false };
    record.times = record.times.filter((t) => now - t < policy.window);
    record.times.push(now);
    const failures = record.times.length;
    if (policy.banAfter > 0 && policy.banDuration > 0 && failures >= policy.banAfter) {
      record.bannedUntil = now + policy.banDuration;
      record.times = [];
      return { failures, bannedFor: policy.banDuration, banned: true };
    }
    return { failures, bannedFor: 0, banned: false };
  }

  async bannedFor(address: string): Promise<number> {
    const record = this.#addresses.get(address);
    return record ? Math.max(0, record.bannedUntil - this.#now()) : 0;
  }

  async unban(address?: string): Promise<number> {
    const now = this.#now();
    const addresses = address === undefined ? [...this.#addresses.keys()] : [address];
    let lifted = 0;
    for (const a of addresses) {
      const record = this.#addresses.get(a);
      if (!record) continue;
      if (record.bannedUntil > now) lifted++;
      this.#addresses.delete(a);
    }
    return lifted;
  }

  async joinSession(user: string, sessionId: string, max: number): Promise<boolean> {
    let ids = this.#sessions.get(user);
    if (max > 0 && ids && ids.size >= max && !ids.has(sessionId)) return false;
    if (!ids) this.#sessions.set(user, (ids = new Set()));
    ids.add(sessionId);
    return true;
  }

  async leaveSession(user: string, sessionId: string): Promise<void> {
    const ids = this.#sessions.get(user);
    if (!ids) return;
    ids.delete(sessionId);
    if (ids.size === 0) this.#sessions.delete(user);
  }

  /** Sessions counted for `user` (tests). */
  sessions(user: string): number {
    return this.#sessions.get(user)?.size ?? 0;
  }
}

/**
 * After this node's LoginGuard counted a failure: counts it in the shared store too and
 * returns the cluster-wide verdict (the delay grows with every node's failures). A store that
 * cannot be reached leaves the node's own verdict.
 */
export async function shareFailure(guard: LoginGuard, store: AbuseStore, address: string, local: FailureVerdict): Promise<FailureVerdict> {
  let shared: SharedFailure;
  try {
    shared = await store.recordFailure(address, guard.options);
  } catch {
    return local;
  }
  guard.syncBan(address, shared.bannedFor);
  const failures = Math.max(local.failures, shared.failures);
  const { delay, maxDelay } = guard.options;
  return { failures, delay: Math.min(maxDelay, delay * failures), banned: local.banned || shared.banned };
}
