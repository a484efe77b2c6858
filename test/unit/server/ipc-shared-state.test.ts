// IpcLockManager/IpcLockHost and IpcAbuseStore/IpcAbuseStoreHost over an in-memory pair of
// ports that carries JSON, as node:cluster's IPC channel does.
import { EventEmitter } from 'node:events';
import { describe, expect, it } from 'vitest';
import { IpcAbuseStore, IpcAbuseStoreHost, IpcLockHost, IpcLockManager, InMemoryAbuseStore, LockConflictError, type IpcPort } from '../../../src/index.js';

/** Two connected ports (worker side, primary side); `close()` is the worker dying. */
function channel(): { worker: IpcPort; primary: IpcPort; close(): void } {
  const a = new EventEmitter();
  const b = new EventEmitter();
  let connected = true;
  const port = (self: EventEmitter, peer: EventEmitter): IpcPort =>
    Object.defineProperties(self, {
      send: {
        value: (message: unknown) => {
          if (!connected) throw new Error('channel closed');
          const copy: unknown = JSON.parse(JSON.stringify(message));
          setImmediate(() => peer.emit('message', copy));
          return true;
        },
      },
      connected: { get: () => connected },
    }) as unknown as IpcPort;
  return {
    worker: port(a, b),
    primary: port(b, a),
    close: () => {
      connected = false;
      a.emit('disconnect');
      b.emit('disconnect');
    },
  };
}

/** Two workers attached to `host`, each on a channel of its own with its side (`make`) on it. */
function twoWorkers<T>(host: { attach(port: IpcPort): void }, make: (port: IpcPort) => T) {
  const one = channel();
  const two = channel();
  host.attach(one.primary);
  host.attach(two.primary);
  return { one, two, a: make(one.worker), b: make(two.worker) };
}

const ex = (path: string) => ({ path, mode: 'exclusive' as const });
const sh = (path: string) => ({ path, mode: 'shared' as const });

describe('IpcLockManager through IpcLockHost', () => {
  it('two workers contend for the same paths: conflicts come back as LockConflictError naming the holder', async () => {
    const host = new IpcLockHost();
    const { a, b } = twoWorkers(host, (port) => new IpcLockManager(port));
    const held = await a.acquire([ex('/d/f.txt')], { owner: 's1', purpose: 'STOR' });
    const err = await b.acquire([sh('/d')], { owner: 's2', purpose: 'LIST' }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(LockConflictError);
    expect(err).toMatchObject({ path: '/d', conflicts: [{ path: '/d/f.txt', mode: 'exclusive', owner: 's1', purpose: 'STOR' }] });
    expect(await b.held()).toEqual([{ path: '/d/f.txt', mode: 'exclusive', owner: 's1', purpose: 'STOR' }]);
    await held.release();
    await held.release(); // idempotent
    const next = await b.acquire([sh('/d')], { owner: 's2' });
    await next.release();
    expect(await a.held()).toEqual([]);
  });

  it('a wait is granted across workers when the holder releases; an aborted wait leaves nothing held', async () => {
    const host = new IpcLockHost();
    const { a, b } = twoWorkers(host, (port) => new IpcLockManager(port));
    const held = await a.acquire([ex('/x')], { owner: 's1' });
    const waiting = b.acquire([ex('/x')], { owner: 's2', wait: 60_000 });
    const controller = new AbortController();
    const aborted = b.acquire([ex('/x')], { owner: 's3', wait: 60_000, signal: controller.signal });
    controller.abort(new Error('session closed'));
    await expect(aborted).rejects.toThrow('session closed');
    await held.release();
    const granted = await waiting;
    expect((await a.held()).map((h) => h.owner)).toEqual(['s2']);
    await granted.release();
    expect(await host.manager.held()).toEqual([]);
  });

  it('a worker that dies: its locks are released, its waits cancelled, others get the paths', async () => {
    const host = new IpcLockHost();
    const { one: dying, a: doomed, b: survivor } = twoWorkers(host, (port) => new IpcLockManager(port));
    await doomed.acquire([ex('/a'), ex('/b')], { owner: 's1' });
    await doomed.acquire([sh('/c')], { owner: 's1b' });
    const blocked = await survivor.acquire([ex('/a')], { owner: 's2' }).catch((e: unknown) => e);
    expect(blocked).toBeInstanceOf(LockConflictError);
    const theirWait = doomed.acquire([ex('/z'), ex('/a')], { owner: 's1c', wait: 60_000 });
    dying.close();
    await expect(theirWait).rejects.toMatchObject({ code: 'FTPKIT_ERR_CLOSED' });
    expect(await host.detach(dying.primary)).toBe(2);
    expect(await host.manager.held()).toEqual([]);
    const taken = await survivor.acquire([ex('/a'), ex('/b'), ex('/c'), ex('/z')], { owner: 's2' });
    await taken.release();
    // After the channel closed, the dead side refuses at once.
    await expect(doomed.acquire([ex('/q')], { owner: 's9' })).rejects.toMatchObject({ code: 'FTPKIT_ERR_CLOSED' });
  });
});

describe('IpcAbuseStore through IpcAbuseStoreHost', () => {
  const policy = { banAfter: 3, window: 600_000, banDuration: 60_000 };

  it('failures from two workers add up to one ban, seen by both; unban lifts it for both', async () => {
    const host = new IpcAbuseStoreHost();
    const { a, b } = twoWorkers(host, (port) => new IpcAbuseStore(port));
    expect(await a.recordFailure('192.0.2.1', policy)).toEqual({ failures: 1, bannedFor: 0, banned: false });
    expect(await b.recordFailure('192.0.2.1', policy)).toEqual({ failures: 2, bannedFor: 0, banned: false });
    expect(await a.recordFailure('192.0.2.1', policy)).toEqual({ failures: 3, bannedFor: 60_000, banned: true });
    expect(await b.bannedFor('192.0.2.1')).toBeGreaterThan(0);
    expect(await b.bannedFor('192.0.2.2')).toBe(0);
    expect(await b.unban()).toBe(1);
    expect(await a.bannedFor('192.0.2.1')).toBe(0);
  });

  it('maxSessions counts every worker; a dead worker stops counting', async () => {
    const store = new InMemoryAbuseStore();
    const host = new IpcAbuseStoreHost(store);
    const { one: dying, a, b } = twoWorkers(host, (port) => new IpcAbuseStore(port));
    expect(await a.joinSession('alice', 's1', 2)).toBe(true);
    expect(await b.joinSession('alice', 's2', 2)).toBe(true);
    expect(await b.joinSession('alice', 's3', 2)).toBe(false);
    expect(a.available).toBe(true);
    dying.close();
    expect(a.available).toBe(false);
    await expect(a.bannedFor('192.0.2.1')).rejects.toMatchObject({ code: 'FTPKIT_ERR_CLOSED' });
    await host.detach(dying.primary);
    expect(store.sessions('alice')).toBe(1);
    expect(await b.joinSession('alice', 's3', 2)).toBe(true);
    await b.leaveSession('alice', 's2');
    await b.leaveSession('alice', 's3');
    expect(store.sessions('alice')).toBe(0);
  });
});
