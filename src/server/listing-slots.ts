import type { Session, SessionHost } from './session.js';

/**
 * Turns for folder listings: at most `max` at once on the server and `perUser` per user
 * (0: no limit). A listing holds its folder's names while it runs (a few MB for 100,000
 * entries), so this bounds what listings cost together. Past a limit a listing waits, first
 * come first served, until a turn frees or its wait is aborted; a user holding its turns
 * (a slow reader) delays only itself past `perUser`.
 */
export class ListingSlots {
  readonly #max: number;
  readonly #perUser: number;
  #running = 0;
  readonly #byUser = new Map<string, number>();
  readonly #waiting: Array<{ user: string; start: () => void }> = [];

  constructor(max: number, perUser: number) {
    this.#max = max;
    this.#perUser = perUser;
  }

  /** Listings running now. */
  get running(): number {
    return this.#running;
  }

  /** Listings waiting for a turn. */
  get waiting(): number {
    return this.#waiting.length;
  }

  /** Resolves with the release function once `user` may list; rejects with signal.reason if aborted first. */
  acquire(user: string, signal: AbortSignal): Promise<() => void> {
    if (signal.aborted) return Promise.reject(signal.reason);
    // Whoever still waits is held by a full server or by its own user's limit (#wake ran on
    // every release), so a free turn for this user takes nobody's place.
    if (this.#free(user)) return Promise.resolve(this.#take(user));
    return new Promise((resolve, reject) => {
      const entry = {
        user,
        start: () => {
          signal.removeEventListener('abort', onAbort);
          resolve(this.#take(user));
        },
      };
      const onAbort = (): void => {
        const i = this.#waiting.indexOf(entry);
        if (i >= 0) this.#waiting.splice(i, 1);
        reject(signal.reason);
      };
      signal.addEventListener('abort', onAbort, { once: true });
      this.#waiting.push(entry);
    });
  }

  #free(user: string): boolean {
    return (this.#max === 0 || this.#running < this.#max) && (this.#perUser === 0 || (this.#byUser.get(user) ?? 0) < this.#perUser);
  }

  #take(user: string): () => void {
    this.#running++;
    this.#byUser.set(user, (this.#byUser.get(user) ?? 0) + 1);
    let released = false;
    return () => {
      if (released) return;
      released = true;
      this.#running--;
      const n = this.#byUser.get(user)! - 1;
      if (n > 0) this.#byUser.set(user, n);
      else this.#byUser.delete(user);
      this.#wake();
    };
  }

  /** Starts waiters in arrival order; one held back by its user's limit does not block others. */
  #wake(): void {
    for (let i = 0; i < this.#waiting.length && (this.#max === 0 || this.#running < this.#max); ) {
      const entry = this.#waiting[i]!;
      if (!this.#free(entry.user)) {
        i++;
        continue;
      }
      this.#waiting.splice(i, 1);
      entry.start();
    }
  }
}

const slots = new WeakMap<SessionHost, ListingSlots>();

/** The server's listing turns (made on first use, from its options). */
export function listingSlots(host: SessionHost): ListingSlots {
  let s = slots.get(host);
  if (!s) {
    s = new ListingSlots(host.options.maxListings, host.options.maxListingsPerUser);
    slots.set(host, s);
  }
  return s;
}

/**
 * Whose turns a session's listings count against: the user, or for anonymous sessions the
 * address, so one anonymous client cannot hold every anonymous visitor's turns.
 */
function listingUser(session: Session): string {
  const grant = session.grant;
  if (grant !== undefined && grant === session.host.options.anonymous) return `anonymous ${session.remoteAddress}`;
  return `user ${session.account?.name ?? session.username ?? ''}`;
}

/**
 * Waits for a listing turn for the session. Past the data timeout it answers `450` itself;
 * undefined then, or when the session ended first.
 */
export async function listingTurn(session: Session): Promise<(() => void) | undefined> {
  if (session.signal.aborted) return undefined;
  const controller = new AbortController();
  const onEnd = (): void => controller.abort(session.signal.reason);
  session.signal.addEventListener('abort', onEnd, { once: true });
  const timer = setTimeout(() => controller.abort(new Error('no listing turn in time')), session.host.options.timeouts.data);
  try {
    return await listingSlots(session.host).acquire(listingUser(session), controller.signal);
  } catch {
    if (!session.signal.aborted) {
      session.log.info('no listing turn within the data timeout');
      session.data.close();
      session.reply(450, 'Too many listings running, try again later');
    }
    return undefined;
  } finally {
    clearTimeout(timer);
    session.signal.removeEventListener('abort', onEnd);
  }
}
