import { checkInteger } from '../../errors.js';

/** Failed-login policy. Defaults follow vsftpd and pure-ftpd: seconds of delay, few tries. */
export interface LoginGuardOptions {
  /** Delay before answering the first failed PASS from an address, in ms; it grows by this much with each further failure. Default 1000. */
  delay?: number;
  /** Cap on that delay. Default 5000. */
  maxDelay?: number;
  /** Failed PASS per connection before it is closed (vsftpd's max_login_fails). Default 3. */
  maxTries?: number;
  /** Failures from one address within `window` that ban it. Default 10. */
  banAfter?: number;
  /** How long failures are remembered, in ms. Default 10 minutes. */
  window?: number;
  /** How long a banned address is refused with 421, in ms. Default 15 minutes. */
  banDuration?: number;
}

export type ResolvedLoginGuardOptions = Required<LoginGuardOptions>;

export function resolveLoginGuardOptions(o: LoginGuardOptions = {}): ResolvedLoginGuardOptions {
  return {
    delay: checkInteger('loginGuard.delay', o.delay ?? 1000, 0, 60_000),
    maxDelay: checkInteger('loginGuard.maxDelay', o.maxDelay ?? 5000, 0, 60_000),
    maxTries: checkInteger('loginGuard.maxTries', o.maxTries ?? 3, 1),
    banAfter: checkInteger('loginGuard.banAfter', o.banAfter ?? 10, 1),
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

  constructor(options: LoginGuardOptions = {}) {
    this.options = resolveLoginGuardOptions(options);
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
    if (failures >= o.banAfter && record.bannedUntil <= now && o.banDuration > 0) {
      record.bannedUntil = now + o.banDuration;
      record.failures = [];
      banned = true;
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
