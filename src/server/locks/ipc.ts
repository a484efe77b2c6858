// Locks shared by the workers of a node:cluster: each worker's IpcLockManager forwards to the
// primary, whose IpcLockHost keeps them in one LockManager (an InMemoryLockManager by default).
// A worker that dies holds nothing: the primary releases its locks and cancels its waits.
import { FtpError } from '../../errors.js';
import { IpcClient, answerIpc, type IpcPort } from '../ipc-channel.js';
import { InMemoryLockManager } from './memory.js';
import { checkAcquire, LockConflictError, LockLostError, type AcquireOptions, type HeldLock, type LockHandle, type LockManager, type LockRequest } from './types.js';

const TAG = 'ftpkit-locks';

function toLockError(e: Record<string, unknown>): Error {
  // By code: both are FtpErrors, whose name is 'FtpError'.
  if (e.code === 'FTPKIT_ERR_LOCKED') return new LockConflictError(String(e.path), (e.conflicts as HeldLock[]) ?? []);
  if (e.code === 'FTPKIT_ERR_LOCK_LOST') return new LockLostError(String(e.message));
  return Object.assign(new Error(typeof e.message === 'string' ? e.message : 'lock manager failed'), typeof e.code === 'string' ? { code: e.code } : {});
}

/**
 * The LockManager of a cluster worker: every call goes to the primary's IpcLockHost over the
 * worker's IPC channel (`process` by default). Once the channel is closed (the primary died)
 * acquire() rejects with FTPKIT_ERR_CLOSED.
 */
export class IpcLockManager implements LockManager {
  readonly #client: IpcClient;

  constructor(port: IpcPort = process as unknown as IpcPort) {
    if (typeof port?.send !== 'function') throw new FtpError('FTPKIT_ERR_INVALID_ARGUMENT', 'IpcLockManager needs an IPC channel (run it in a cluster worker)');
    this.#client = new IpcClient(port, TAG);
  }

  acquire(requests: readonly LockRequest[], options: AcquireOptions): Promise<LockHandle> {
    const wait = checkAcquire(requests, options);
    const signal = options.signal;
    if (signal?.aborted) return Promise.reject(signal.reason);
    const callId = this.#client.nextId;
    const granted = this.#client.call<{ handle: number }>(
      'acquire',
      { requests: requests.map(({ path, mode }) => ({ path, mode })), owner: options.owner, purpose: options.purpose, wait },
      toLockError,
    );
    if (!signal) return granted.then(({ handle }) => this.#handle(handle));
    return new Promise<LockHandle>((resolve, reject) => {
      let settled = false;
      const onAbort = (): void => {
        settled = true;
        this.#client.notify('cancel', { call: callId });
        reject(signal.reason);
      };
      signal.addEventListener('abort', onAbort, { once: true });
      granted.then(
        ({ handle }) => {
          signal.removeEventListener('abort', onAbort);
          const lock = this.#handle(handle);
          if (settled) void lock.release().catch(() => {}); // granted after we gave up
          else resolve(lock);
        },
        (err: unknown) => {
          signal.removeEventListener('abort', onAbort);
          if (!settled) reject(err);
        },
      );
    });
  }

  held(): Promise<HeldLock[]> {
    return this.#client.call<HeldLock[]>('held', {}, toLockError);
  }

  #handle(id: number): LockHandle {
    let released: Promise<void> | undefined;
    return {
      release: () => (released ??= this.#client.call<void>('release', { handle: id }, toLockError).catch((err: unknown) => {
        // The primary is gone: it dropped this worker's locks with it.
        if ((err as { code?: string }).code !== 'FTPKIT_ERR_CLOSED') throw err;
      })),
    };
  }
}

interface Holder {
  handles: Map<number, LockHandle>;
  waiting: Map<number, AbortController>;
  detached: boolean;
  stop(): void;
}

/**
 * The primary's side: answers the IpcLockManagers of the workers it attaches, with one
 * LockManager for all of them. `detach(worker)` (on the worker's exit) releases what it held.
 */
export class IpcLockHost {
  readonly manager: LockManager;
  readonly #holders = new Map<IpcPort, Holder>();
  #nextHandle = 1;

  constructor(manager: LockManager = new InMemoryLockManager()) {
    this.manager = manager;
  }

  /** Answers `worker`'s lock calls. */
  attach(worker: IpcPort): void {
    if (this.#holders.has(worker)) return;
    const holder: Holder = { handles: new Map(), waiting: new Map(), detached: false, stop: () => {} };
    this.#holders.set(worker, holder);
    holder.stop = answerIpc(worker, TAG, (op, args, _peer, callId) => this.#answer(holder, op, args as Record<string, unknown>, callId));
  }

  /**
   * The worker is gone: its waits are cancelled and its locks released, so other workers can
   * take them. Resolves with how many grants were released.
   */
  async detach(worker: IpcPort): Promise<number> {
    const holder = this.#holders.get(worker);
    if (!holder) return 0;
    this.#holders.delete(worker);
    holder.detached = true;
    holder.stop();
    for (const controller of holder.waiting.values()) controller.abort(new Error('worker gone'));
    const handles = [...holder.handles.values()];
    holder.handles.clear();
    await Promise.all(handles.map((h) => h.release().catch(() => {})));
    return handles.length;
  }

  async #answer(holder: Holder, op: string, args: Record<string, unknown>, callId: number): Promise<unknown> {
    switch (op) {
      case 'acquire': {
        const controller = new AbortController();
        holder.waiting.set(callId, controller);
        try {
          const handle = await this.manager.acquire(args.requests as LockRequest[], {
            owner: String(args.owner),
            purpose: args.purpose === undefined ? undefined : String(args.purpose),
            wait: Number(args.wait ?? 0),
            signal: controller.signal,
          });
          if (holder.detached) {
            await handle.release(); // detached while waiting
            throw new Error('worker gone');
          }
          const id = this.#nextHandle++;
          holder.handles.set(id, handle);
          return { handle: id };
        } finally {
          holder.waiting.delete(callId);
        }
      }
      case 'cancel':
        holder.waiting.get(Number(args.call))?.abort(new Error('cancelled'));
        return undefined;
      case 'release': {
        const id = Number(args.handle);
        const handle = holder.handles.get(id);
        holder.handles.delete(id);
        await handle?.release();
        return undefined;
      }
      case 'held':
        return this.manager.held();
      default:
        throw new Error(`unknown lock operation ${op}`);
    }
  }

}
