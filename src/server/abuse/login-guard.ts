import { checkInteger } from '../../errors.js';

/** Failed-login policy. Defaults follow vsftpd and pure-ftpd: seconds of delay, few tries. */
export interface LoginGuardOptions {
  /** Delay before answering the first failed PASS from an address, in ms; it grows by this much with each further failure. Default 1000. */
  delay?: number;
  /** Cap on that delay. Default 5000. */
  maxDelay?: number;
  /** Failed PASS per connection before it is closed (vsftpd's max_login_fails). Default 3. */
  maxTries?: number;
  /** Failures from one address within `window` that ban it; 0 never bans. Default 10. */
  banAfter?: number;
  /** How long failures are remembered, in ms. Default 10 minutes. */
  window?: number;
  /** How long a banned address is refused with 421, in ms; 0 never bans. Default 15 minutes. */
  banDuration?: number;
}

export type ResolvedLoginGuardOptions = Required<LoginGuardOptions>;

export function resolveLoginGuardOptions(o: LoginGuardOptions = {}): ResolvedLoginGuardOptions {
  return {
    delay: checkInteger('loginGuard.delay', o.delay ?? 1000, 0, 60_000),
    maxDelay: checkInteger('loginGuard.maxDelay', o.maxDelay ?? 5000, 0, 60_000),
    maxTries: checkInteger('loginGuard.maxTries', o.maxTries ?? 3, 1),
    banAfter: checkInteger('loginGuard.banAfter', o.banAfter ?? 10, 0),
    window: checkInteger('loginGuard.window', o.window ?? 600_000, 1),
    banDuration: checkInteger('loginGuard.banDuration', o.banDuration ?? 900_000, 0),
  };
}

interface AddressRecord {
  /** Times of recent failures, oldest first. */
  failures: number[];
  bannedUntil: number;
}

/** Addresses remembered at most; past it, the stalest records are dropped (memory stays bounded). */
const MAX_ADDRESSES = 100_000;

/**
 * Logins from one address verified at once; more wait their turn. Each session runs one
 * command at a time, so the waiters are bounded by the address's connections.
 */
export const MAX_PARALLEL_LOGINS = 2;

/** Logins of one address being verified, and those waiting for a turn. */
interface InFlight {
  running: number;
  waiting: Array<{ admit: (attempt: LoginAttempt | undefined) => void }>;
}

/**
 * One admitted login: holds a slot of its address, and counts as a failure toward the ban until
 * it ends. End it exactly once with fail() (a refused password) or release() (anything else).
 */
export interface LoginAttempt {
  /** Records the failure and frees the slot. */
  fail(now?: number): FailureVerdict;
  /** Frees the slot without counting a failure (success, server-side error, closed connection). */
  release(): void;
}

export interface FailureVerdict {
  /** Failures from this address within the window, this one included. */
  failures: number;
  /** Wait this long before answering. */
  delay: number;
  /** This failure banned the address. */
  banned: boolean;
}

/**
 * Counts failed logins per address. No timers: records expire when next looked at, so
 * close() has nothing to stop.
 */
export class LoginGuard {
  readonly options: ResolvedLoginGuardOptions;
  readonly #records = new Map<string, AddressRecord>();
  readonly #inFlight = new Map<string, InFlight>();

  constructor(options: LoginGuardOptions = {}) {
    this.options = resolveLoginGuardOptions(options);
  }

  /** False with banAfter 0 or banDuration 0: failures are delayed but never ban. */
  get bans(): boolean {
    return this.options.banAfter > 0 && this.options.banDuration > 0;
  }

  /**
   * Waits for a turn to verify a login from `address`; resolves undefined when the address is
   * (or becomes) banned, or `signal` aborts. A turn is given while fewer than
   * MAX_PARALLEL_LOGINS of the address are being verified and, when bans are on, while its
   * failures plus its running verifications stay under banAfter: guesses sent in parallel are
   * counted before they are verified, so no guess is ever verified past the ban.
   */
  admit(address: string, signal?: AbortSignal): Promise<LoginAttempt | undefined> {
    if (signal?.aborted) return Promise.resolve(undefined);
    let flight = this.#inFlight.get(address);
    if (!flight) {
      flight = { running: 0, waiting: [] };
      this.#inFlight.set(address, flight);
    }
    const queue = flight;
    return new Promise((resolve) => {
      const waiter = {
        admit: (attempt: LoginAttempt | undefined) => {
          signal?.removeEventListener('abort', onAbort);
          resolve(attempt);
        },
      };
      const onAbort = (): void => {
        const i = queue.waiting.indexOf(waiter);
        if (i === -1) return;
        queue.waiting.splice(i, 1);
        waiter.admit(undefined);
        this.#forget(address, queue);
      };
      signal?.addEventListener('abort', onAbort, { once: true });
      queue.waiting.push(waiter);
      this.#pump(address, queue);
    });
  }

  /** Gives turns to waiters while the rules allow; refuses them all once the address is banned. */
  #pump(address: string, flight: InFlight, now = Date.now()): void {
    while (flight.waiting.length > 0) {
      if (this.bannedFor(address, now) > 0) {
        for (const waiter of flight.waiting.splice(0)) waiter.admit(undefined);
        break;
      }
      if (flight.running >= MAX_PARALLEL_LOGINS) break;
      // With nothing running, failures alone at banAfter would have banned the address (or the
      // ban just expired): let one through rather than wait for the window.
      if (this.bans && flight.running > 0 && this.#recentFailures(address, now) + flight.running >= this.options.banAfter) break;
      flight.running++;
      flight.waiting.shift()!.admit(this.#attempt(address, flight));
    }
    this.#forget(address, flight);
  }

  #attempt(address: string, flight: InFlight): LoginAttempt {
    let done = false;
    const end = (): void => {
      flight.running--;
      this.#pump(address, flight);
    };
    return {
      fail: (now = Date.now()) => {
        if (done) throw new Error('login attempt already ended');
        done = true;
        const verdict = this.failure(address, now); // counted before the slot is freed
        end();
        return verdict;
      },
      release: () => {
        if (done) return;
        done = true;
        end();
      },
    };
  }

  #forget(address: string, flight: InFlight): void {
    if (flight.running === 0 && flight.waiting.length === 0 && this.#inFlight.get(address) === flight) this.#inFlight.delete(address);
  }

  #recentFailures(address: string, now: number): number {
    const record = this.#records.get(address);
    if (!record) return 0;
    let n = 0;
    for (const t of record.failures) if (now - t < this.options.window) n++;
    return n;
  }

  /** Logins of `address` being verified now (for tests and metrics). */
  verifying(address: string): number {
    return this.#inFlight.get(address)?.running ?? 0;
  }

  /**
   * Lifts the ban on `address` (and forgets its failures), or on every address when none is
   * given. Returns how many bans were lifted.
   */
  unban(address?: string, now = Date.now()): number {
    const addresses = address === undefined ? [...this.#records.keys()] : [address];
    let lifted = 0;
    for (const a of addresses) {
      const record = this.#records.get(a);
      if (!record) continue;
      if (record.bannedUntil > now) lifted++;
      this.#records.delete(a);
      const flight = this.#inFlight.get(a);
      if (flight) this.#pump(a, flight, now);
    }
    return lifted;
  }

  /**
   * Takes a shared store's word on `address` (see AbuseStore): banned for `left` ms, or not
   * banned at all (a ban lifted on another node is lifted here too). Waiters are refused at
   * once when it is banned.
   */
  syncBan(address: string, left: number, now = Date.now()): void {
    let record = this.#records.get(address);
    if (left <= 0) {
      if (record && record.bannedUntil > now) record.bannedUntil = 0;
      return;
    }
    if (!record) {
      record = { failures: [], bannedUntil: 0 };
      this.#records.set(address, record);
      this.#prune();
    }
    record.bannedUntil = now + left;
    const flight = this.#inFlight.get(address);
    if (flight) this.#pump(address, flight, now);
  }

  /** Milliseconds the address stays banned, 0 when it is not. */
  bannedFor(address: string, now = Date.now()): number {
    const record = this.#records.get(address);
    if (!record) return 0;
    return Math.max(0, record.bannedUntil - now);
  }

  failure(address: string, now = Date.now()): FailureVerdict {
    const o = this.options;
    let record = this.#records.get(address);
    if (record) this.#records.delete(address); // re-insert: the Map's order is least recently failed first
    else record = { failures: [], bannedUntil: 0 };
    record.failures = record.failures.filter((t) => now - t < o.window);
    record.failures.push(now);
    this.#records.set(address, record);
    this.#prune();
    const failures = record.failures.length;
    let banned = false;
    if (this.bans && failures >= o.banAfter && record.bannedUntil <= now) {
      record.bannedUntil = now + o.banDuration;
      record.failures = [];
      banned = true;
      const flight = this.#inFlight.get(address);
      if (flight) this.#pump(address, flight, now); // the waiters are refused now
    }
    return { failures, delay: Math.min(o.maxDelay, o.delay * failures), banned };
  }

  // Least recently failed first (Map order): under an address-spraying flood the oldest go.
  #prune(): void {
    if (this.#records.size <= MAX_ADDRESSES) return;
    for (const address of this.#records.keys()) {
      if (this.#records.size <= MAX_ADDRESSES * 0.9) break;
      this.#records.delete(address);
    }
  }
}
