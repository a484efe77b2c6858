import { randomBytes } from 'node:crypto';
import { setTimeout as sleep } from 'node:timers/promises';
import type { Logger } from 'pino';
import { FtpError } from '../../errors.js';
import {
  LockConflictError,
  LockLostError,
  conflicts,
  lockKey,
  checkAcquire,
  sortLockRequests,
  splitLockKey,
  type AcquireOptions,
  type HeldLock,
  type LockHandle,
  type LockManager,
  type LockRequest,
} from '../locks/types.js';
import { RedisConnection, type RedisOptions } from './connection.js';
import { LOCK_SCRIPT } from './lock-script.js';

interface Meta {
  owner: string;
  purpose: string | undefined;
  locks: LockRequest[];
}

/** One grant this node holds: renewed until released or lost. */
interface Grant {
  token: string;
  requests: LockRequest[];
  args: string[];
  meta: string;
  /** The Redis dataset it was granted in (see the script's epoch). */
  epoch: string;
  /** performance.now() past which the lease may have run out in Redis: the holder stops. */
  validUntil: number;
  controller: AbortController;
  done: boolean;
}

/** Keys to remove a grant from, kept for a release that has to wait for Redis. */
interface PendingRelease {
  token: string;
  keys: string[];
}

const NODE = randomBytes(6).toString('hex');

/**
 * LockManager for several nodes sharing one Redis (not Redis Cluster: the script's keys are
 * built inside it; a primary with replicas behind Sentinel is fine).
 *
 * Same rules as InMemoryLockManager (subtree locks, shared/exclusive, whole-or-nothing grants)
 * plus leases and fencing:
 *
 * - Each grant has a lease (`lease`, default 30 s) that this node renews every third of it. A
 *   node that dies or loses Redis stops renewing and its locks expire by Redis's clock.
 * - A holder that could not renew for most of its lease (80 %) aborts `handle.lost` before
 *   Redis lets anyone else in, so a writer stops writing before another may start.
 * - `handle.verify()` is the fencing check before an irreversible step (an upload's rename): it
 *   confirms in Redis that this grant's token is still the holder (and renews), or that Redis
 *   is unreachable while the lease is still surely ours; otherwise it rejects LockLostError.
 * - A Redis that restarted empty is noticed (its epoch changed): each node takes its grants
 *   back at once unless someone was quicker, and then the later one loses.
 *
 * Waiting (`wait`) polls with backoff; unlike the in-memory manager it is not first come,
 * first served across nodes.
 */
export class RedisLockManager implements LockManager {
  readonly connection: RedisConnection;
  readonly #ownsConnection: boolean;
  readonly #grants = new Set<Grant>();
  readonly #pending: PendingRelease[] = [];
  readonly #lease: number;
  readonly #prefix: string;
  #ticker: NodeJS.Timeout | undefined;
  #lastRenew = 0;
  #renewing = false;
  #offUp: () => void;
  #log: Logger | undefined;
  #seq = 0;
  #closed = false;

  /** `connection` is shared with a RedisAbuseStore; a URL or options make one of its own. */
  constructor(connection: RedisConnection | string | RedisOptions) {
    this.#ownsConnection = !(connection instanceof RedisConnection);
    this.connection = connection instanceof RedisConnection ? connection : new RedisConnection(connection);
    this.#lease = this.connection.options.lease;
    this.#prefix = `${this.connection.options.keyPrefix}lock:`;
    // Back after an outage: renew at once (and take grants back if Redis lost them), release what waited.
    this.#offUp = this.connection.onUp(() => {
      void this.#flushReleases();
      void this.#renewAll();
    });
  }

  setLogger(log: Logger): void {
    this.#log = log;
  }

  get lease(): number {
    return this.#lease;
  }

  async acquire(requests: readonly LockRequest[], options: AcquireOptions): Promise<LockHandle> {
    const wait = checkAcquire(requests, options);
    const signal = options.signal;
    if (signal?.aborted) throw signal.reason;
    if (this.#closed) throw new FtpError('FTPKIT_ERR_CLOSED', 'the lock manager is closed');
    const sorted = sortLockRequests(requests);
    const meta = JSON.stringify({ owner: options.owner, purpose: options.purpose, locks: sorted } satisfies Meta);
    const token = `${NODE}.${++this.#seq}.${randomBytes(4).toString('hex')}`;
    const args = scriptArgs(sorted);
    const deadline = performance.now() + wait;
    for (let attempt = 0; ; attempt++) {
      await this.connection.start();
      const sentAt = performance.now();
      const result = await this.#run(token, 'acquire', '', meta, args);
      if (result[0] === 1) {
        const grant: Grant = {
          token,
          requests: sorted,
          args,
          meta,
          epoch: String(result[1]),
          validUntil: sentAt + this.#lease * 0.8,
          controller: new AbortController(),
          done: false,
        };
        if (signal?.aborted) {
          await this.#release(grant);
          throw signal.reason;
        }
        this.#grants.add(grant);
        this.#startTicker();
        return this.#handle(grant);
      }
      const conflict = await this.#conflict(String(result[1]), String(result[2]));
      const left = deadline - performance.now();
      if (left <= 0) throw conflict;
      await sleep(Math.min(left, 25 * 2 ** Math.min(attempt, 4)), undefined, signal ? { signal } : {}).catch(() => {
        throw signal!.reason;
      });
    }
  }

  async held(): Promise<HeldLock[]> {
    const tokens = await this.connection.call((c) => c.zrange(`${this.#prefix}grants`, '0', '-1'));
    const out: HeldLock[] = [];
    for (const token of tokens) {
      const raw = await this.connection.call((c) => c.hget(`${this.#prefix}g:${token}`, 'meta'));
      if (!raw) continue; // expired
      const meta = JSON.parse(raw) as Meta;
      for (const lock of meta.locks) out.push({ ...lock, owner: meta.owner, purpose: meta.purpose });
    }
    return out;
  }

  /** Stops renewing; the locks still held expire on their own. Closes a connection it made. */
  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    clearInterval(this.#ticker);
    this.#offUp();
    await Promise.all([...this.#grants].map((g) => this.#release(g).catch(() => {})));
    if (this.#ownsConnection) await this.connection.close();
  }

  #run(token: string, op: 'acquire' | 'renew', epoch: string, meta: string, args: string[]): Promise<unknown[]> {
    const candidate = randomBytes(8).toString('hex');
    return this.connection.call((client) => client.eval(LOCK_SCRIPT, 0, this.#prefix, token, String(this.#lease), candidate, op, epoch, meta, String(countRequests(args)), ...args) as Promise<unknown[]>);
  }

  /** A LockConflictError naming `key` and what the holder `token` holds there. */
  async #conflict(key: string, token: string): Promise<LockConflictError> {
    let found: HeldLock[] = [];
    try {
      const raw = await this.connection.client().hget(`${this.#prefix}g:${token}`, 'meta');
      if (raw) {
        const meta = JSON.parse(raw) as Meta;
        found = meta.locks
          .filter((l) => conflicts(l, { path: key, mode: 'exclusive' }))
          .map((l) => ({ ...l, owner: meta.owner, purpose: meta.purpose }));
      }
    } catch {
      // The holder's details are for the log only.
    }
    if (found.length === 0) found = [{ path: key, mode: 'exclusive', owner: 'another node', purpose: undefined }];
    return new LockConflictError(key, found);
  }

  #handle(grant: Grant): LockHandle {
    return {
      lost: grant.controller.signal,
      release: () => this.#release(grant),
      verify: () => this.#verify(grant),
    };
  }

  async #release(grant: Grant): Promise<void> {
    if (grant.done) return;
    grant.done = true;
    this.#grants.delete(grant);
    if (this.#grants.size === 0) this.#stopTicker();
    const pending = { token: grant.token, keys: grantKeys(this.#prefix, grant.requests) };
    try {
      await this.#remove(pending);
    } catch {
      // Redis is away: released when it returns (else the lease ends it).
      this.#pending.push(pending);
    }
  }

  async #remove({ token, keys }: PendingRelease): Promise<void> {
    await this.connection.call((client) => {
      const multi = client.multi();
      for (const key of keys) multi.zrem(key, token);
      multi.del(`${this.#prefix}g:${token}`);
      multi.zrem(`${this.#prefix}grants`, token);
      return multi.exec();
    });
  }

  async #flushReleases(): Promise<void> {
    while (this.#pending.length > 0 && this.connection.available) {
      const next = this.#pending[0]!;
      try {
        await this.#remove(next);
      } catch {
        return;
      }
      this.#pending.shift();
    }
  }

  async #verify(grant: Grant): Promise<void> {
    if (grant.controller.signal.aborted) throw grant.controller.signal.reason;
    if (grant.done) throw new LockLostError('the locks were released');
    const outcome = await this.#renew(grant);
    if (outcome === 'held') return;
    if (outcome === 'unreachable' && performance.now() < grant.validUntil) return; // nobody can have it yet
    throw grant.controller.signal.reason ?? new LockLostError('lock lease could not be confirmed');
  }

  /** Renews one grant; aborts `lost` when it is gone or its lease ran out unrenewed. */
  async #renew(grant: Grant): Promise<'held' | 'lost' | 'unreachable'> {
    const sentAt = performance.now();
    let result: unknown[];
    try {
      result = await this.#run(grant.token, 'renew', grant.epoch, grant.meta, grant.args);
    } catch {
      this.#checkDeadline(grant);
      return grant.controller.signal.aborted ? 'lost' : 'unreachable';
    }
    if (grant.done) return 'lost';
    if (result[0] === 0) {
      this.#lose(grant, new LockLostError('lock lease expired and the locks may have been taken by another holder'));
      return 'lost';
    }
    if (result[0] === 2) this.#log?.warn({ locks: grant.requests.map((r) => splitLockKey(r.path).path) }, 'redis lost its data: locks taken back');
    grant.epoch = String(result[1]);
    grant.validUntil = Math.max(grant.validUntil, sentAt + this.#lease * 0.8);
    return 'held';
  }

  #checkDeadline(grant: Grant): void {
    if (!grant.done && performance.now() >= grant.validUntil) {
      this.#lose(grant, new LockLostError('lock lease could not be renewed in time (redis unreachable)'));
    }
  }

  #lose(grant: Grant, err: LockLostError): void {
    if (grant.controller.signal.aborted) return;
    this.#log?.warn({ locks: grant.requests.map((r) => splitLockKey(r.path).path), reason: err.message }, 'lock lost');
    grant.controller.abort(err);
    // Stop renewing it; the handle's release() still clears whatever is left in Redis.
  }

  async #renewAll(): Promise<void> {
    if (this.#renewing) return;
    this.#renewing = true;
    this.#lastRenew = performance.now();
    try {
      await Promise.all([...this.#grants].filter((g) => !g.controller.signal.aborted).map((g) => this.#renew(g)));
    } finally {
      this.#renewing = false;
    }
  }

  /** Ticks every tenth of the lease: deadlines are checked each tick, leases renewed every third. */
  #startTicker(): void {
    if (this.#ticker) return;
    this.#lastRenew = performance.now();
    this.#ticker = setInterval(() => {
      for (const grant of this.#grants) this.#checkDeadline(grant);
      if (performance.now() - this.#lastRenew >= this.#lease / 3) void this.#renewAll();
    }, Math.max(20, Math.floor(this.#lease / 10)));
    this.#ticker.unref();
  }

  #stopTicker(): void {
    clearInterval(this.#ticker);
    this.#ticker = undefined;
  }
}

/** The script's per-request arguments: mode, key, ancestor count, ancestors. */
function scriptArgs(requests: LockRequest[]): string[] {
  const out: string[] = [];
  for (const r of requests) {
    const anc = ancestors(r.path);
    out.push(r.mode === 'exclusive' ? 'x' : 's', r.path, String(anc.length), ...anc);
  }
  return out;
}

function countRequests(args: string[]): number {
  let n = 0;
  for (let i = 0; i < args.length; i += 3 + Number(args[i + 2])) n++;
  return n;
}

/** Strict ancestors of a key, nearest first: scope\0/a/b -> scope\0/a, scope\0/. */
export function ancestors(key: string): string[] {
  const { scope, path } = splitLockKey(key);
  const out: string[] = [];
  let p = path;
  while (p !== '/' && p.length > 0) {
    const slash = p.lastIndexOf('/');
    p = slash <= 0 ? '/' : p.slice(0, slash);
    out.push(scope === undefined ? p : lockKey(scope, p));
  }
  return out;
}

function grantKeys(prefix: string, requests: LockRequest[]): string[] {
  const keys = new Set<string>();
  for (const r of requests) {
    const m = r.mode === 'exclusive' ? 'x' : 's';
    keys.add(`${prefix}a:${m}:${r.path}`);
    keys.add(`${prefix}t:${m}:${r.path}`);
    for (const a of ancestors(r.path)) keys.add(`${prefix}t:${m}:${a}`);
  }
  return [...keys];
}
