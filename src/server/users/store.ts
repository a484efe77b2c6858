import type { Authenticate, AuthGrant } from '../options.js';
import { loadUsersFile } from './file.js';
import { dummyHash, parseHash, verifyPassword } from './password.js';
import { checkHome, type UserRecord } from './schema.js';

interface Entry {
  record: UserRecord;
  hash: ReturnType<typeof parseHash>;
  /** The home's real path, checked at load. */
  home: string;
}

/**
 * The users of one users file, consulted by FileServer through `authenticate`.
 * `reload()` (ftp-serve calls it on SIGHUP) swaps the whole table at once, or keeps the old
 * one when the file is invalid. Sessions of a user who was removed or disabled end at their
 * next command: the grant's `active()` asks this store.
 */
export class UserStore {
  readonly path: string;
  #users = new Map<string, Entry>();

  private constructor(path: string) {
    this.path = path;
  }

  /** Loads `path`; rejects with an FtpError naming the bad field when the file is invalid. */
  static async open(path: string): Promise<UserStore> {
    const store = new UserStore(path);
    await store.reload();
    return store;
  }

  get size(): number {
    return this.#users.size;
  }

  /** Re-reads the file. On failure the previous table stays in force and the error is thrown. */
  async reload(): Promise<void> {
    const file = await loadUsersFile(this.path, { checkHomes: false });
    const next = new Map<string, Entry>();
    await Promise.all(
      file.users.map(async (record, i) => {
        const home = await checkHome(record.home, file.homeRoot, `${this.path}: users[${i}].home`);
        next.set(record.name, { record, hash: parseHash(record.password), home });
      }),
    );
    this.#users = next;
  }

  /** True while `name` is in the file and not disabled. */
  isActive(name: string): boolean {
    const entry = this.#users.get(name);
    return entry !== undefined && entry.record.disabled !== true;
  }

  /**
   * The authenticate hook. An unknown name is verified against a dummy hash and a disabled user
   * against their own, so every refusal costs one scrypt run and they all look alike.
   */
  readonly authenticate: Authenticate = async ({ username, password }) => {
    const entry = this.#users.get(username);
    const ok = await verifyPassword(password, entry?.hash ?? (await dummyHash()));
    if (!ok || !entry || entry.record.disabled) return false;
    return this.#grant(entry);
  };

  #grant({ record, home }: Entry): AuthGrant {
    const name = record.name;
    const grant: AuthGrant = { root: home, permissions: record.permissions, active: () => this.isActive(name) };
    if (record.overrides) grant.overrides = record.overrides;
    if (record.maxSessions) grant.maxSessions = record.maxSessions;
    if (record.uploadRate) grant.uploadRate = record.uploadRate;
    if (record.downloadRate) grant.downloadRate = record.downloadRate;
    if (record.requireTls !== undefined) grant.requireTls = record.requireTls;
    return grant;
  }
}

/** An authenticate hook (and its store, for reload()) over a users file. */
export function createUsersAuthenticator(path: string): Promise<UserStore> {
  return UserStore.open(path);
}
