// Failed logins, bans and per-user session counts shared by the workers of a node:cluster:
// each worker's IpcAbuseStore forwards to the primary, whose IpcAbuseStoreHost keeps them in
// one AbuseStore (an InMemoryAbuseStore by default). A worker that dies stops counting: the
// primary lets go of its sessions.
import { FtpError } from '../../errors.js';
import { IpcClient, answerIpc, type IpcPort } from '../ipc-channel.js';
import { InMemoryAbuseStore, type AbuseStore, type BanPolicy, type SharedFailure } from './store.js';

const TAG = 'ftpkit-abuse';

/**
 * The AbuseStore of a cluster worker (`process` is its IPC channel by default). Unavailable
 * once the channel is closed (the primary died): new logins then get 421.
 */
export class IpcAbuseStore implements AbuseStore {
  readonly #client: IpcClient;

  constructor(port: IpcPort = process as unknown as IpcPort) {
    if (typeof port?.send !== 'function') throw new FtpError('FTPKIT_ERR_INVALID_ARGUMENT', 'IpcAbuseStore needs an IPC channel (run it in a cluster worker)');
    this.#client = new IpcClient(port, TAG);
  }

  get available(): boolean {
    return this.#client.connected;
  }

  recordFailure(address: string, policy: BanPolicy): Promise<SharedFailure> {
    const { banAfter, window, banDuration } = policy;
    return this.#client.call('recordFailure', { address, policy: { banAfter, window, banDuration } });
  }

  bannedFor(address: string): Promise<number> {
    return this.#client.call('bannedFor', { address });
  }

  unban(address?: string): Promise<number> {
    return this.#client.call('unban', address === undefined ? {} : { address });
  }

  joinSession(user: string, sessionId: string, max: number): Promise<boolean> {
    return this.#client.call('joinSession', { user, sessionId, max });
  }

  leaveSession(user: string, sessionId: string): Promise<void> {
    return this.#client.call('leaveSession', { user, sessionId });
  }
}

interface Holder {
  /** Sessions this worker joined and has not left: [user, sessionId]. */
  sessions: Map<string, [string, string]>;
  stop(): void;
}

/** The primary's side: one AbuseStore for every attached worker. */
export class IpcAbuseStoreHost {
  readonly store: AbuseStore;
  readonly #holders = new Map<IpcPort, Holder>();

  constructor(store: AbuseStore = new InMemoryAbuseStore()) {
    this.store = store;
  }

  attach(worker: IpcPort): void {
    if (this.#holders.has(worker)) return;
    const holder: Holder = { sessions: new Map(), stop: () => {} };
    this.#holders.set(worker, holder);
    holder.stop = answerIpc(worker, TAG, (op, args) => this.#answer(holder, op, args as Record<string, unknown>));
  }

  /** The worker is gone: its sessions no longer count against their users' maxSessions. */
  async detach(worker: IpcPort): Promise<void> {
    const holder = this.#holders.get(worker);
    if (!holder) return;
    this.#holders.delete(worker);
    holder.stop();
    await Promise.all([...holder.sessions.values()].map(([user, id]) => this.store.leaveSession(user, id).catch(() => {})));
  }

  async #answer(holder: Holder, op: string, a: Record<string, unknown>): Promise<unknown> {
    const store = this.store;
    switch (op) {
      case 'recordFailure':
        return store.recordFailure(String(a.address), a.policy as BanPolicy);
      case 'bannedFor':
        return store.bannedFor(String(a.address));
      case 'unban':
        return store.unban(a.address === undefined ? undefined : String(a.address));
      case 'joinSession': {
        const [user, id] = [String(a.user), String(a.sessionId)];
        const joined = await store.joinSession(user, id, Number(a.max));
        if (joined) holder.sessions.set(JSON.stringify([user, id]), [user, id]);
        return joined;
      }
      case 'leaveSession': {
        const [user, id] = [String(a.user), String(a.sessionId)];
        holder.sessions.delete(JSON.stringify([user, id]));
        return store.leaveSession(user, id);
      }
      default:
        throw new Error(`unknown abuse store operation ${op}`);
    }
  }
}
