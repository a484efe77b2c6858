import { TokenBucket } from '../throttle.js';

/** What one account (a user name) holds across all its sessions. */
export class AccountState {
  readonly name: string;
  sessions = 0;
  transfers = 0;
  /** Shared by every upload of this account; undefined when unlimited. */
  upload: TokenBucket | undefined;
  /** Shared by every download of this account; undefined when unlimited. */
  download: TokenBucket | undefined;

  constructor(name: string) {
    this.name = name;
  }

  /** Applies the rates of the latest login (the users file may have changed them). */
  setRates(upload: number | undefined, download: number | undefined): void {
    this.upload = nextBucket(this.upload, upload);
    this.download = nextBucket(this.download, download);
  }
}

function nextBucket(bucket: TokenBucket | undefined, rate: number | undefined): TokenBucket | undefined {
  if (!rate) return undefined;
  if (!bucket) return new TokenBucket(rate);
  bucket.rate = rate;
  return bucket;
}

/** Counts sessions per address and per account, and transfers per account. */
export class ConnectionLimits {
  readonly #addresses = new Map<string, number>();
  readonly #accounts = new Map<string, AccountState>();

  sessionsFrom(address: string): number {
    return this.#addresses.get(address) ?? 0;
  }

  addAddress(address: string): void {
    this.#addresses.set(address, this.sessionsFrom(address) + 1);
  }

  removeAddress(address: string): void {
    const n = this.sessionsFrom(address) - 1;
    if (n > 0) this.#addresses.set(address, n);
    else this.#addresses.delete(address);
  }

  /** The account's state, created on first use. */
  account(name: string): AccountState {
    let state = this.#accounts.get(name);
    if (!state) {
      state = new AccountState(name);
      this.#accounts.set(name, state);
    }
    return state;
  }

  peek(name: string): AccountState | undefined {
    return this.#accounts.get(name);
  }

  /** Forgets an account nobody uses any more. */
  release(name: string): void {
    const state = this.#accounts.get(name);
    if (state && state.sessions <= 0 && state.transfers <= 0) this.#accounts.delete(name);
  }
}

/** Paces one session's commands to `rate` per second, with a one-second burst. */
export class CommandPacer {
  readonly #rate: number;
  #tokens: number;
  #last = performance.now();

  constructor(rate: number) {
    this.#rate = rate;
    this.#tokens = rate;
  }

  /** Takes one token; returns the milliseconds to wait before running the command. */
  take(): number {
    const now = performance.now();
    this.#tokens = Math.min(this.#rate, this.#tokens + ((now - this.#last) / 1000) * this.#rate) - 1;
    this.#last = now;
    return this.#tokens >= 0 ? 0 : (-this.#tokens / this.#rate) * 1000;
  }
}
