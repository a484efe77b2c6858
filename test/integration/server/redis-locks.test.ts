// RedisLockManager against a real redis-server: the same rules as InMemoryLockManager across
// two "nodes" (two managers, two connections), plus leases, fencing and a Redis restart.
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { InMemoryLockManager, LockConflictError, LockLostError, lockKey, type LockManager, type LockRequest } from '../../../src/server/locks/index.js';
import { RedisConnection } from '../../../src/server/redis/connection.js';
import { RedisLockManager, ancestors } from '../../../src/server/redis/lock-manager.js';
import { hasDaemon, startRedis, type RedisProcess } from '../../helpers/scale.js';

const sh = (path: string): LockRequest => ({ path, mode: 'shared' });
const ex = (path: string): LockRequest => ({ path, mode: 'exclusive' });

it('ancestors of a key, nearest first, within its scope', () => {
  expect(ancestors(lockKey('/srv', '/a/b/c'))).toEqual([lockKey('/srv', '/a/b'), lockKey('/srv', '/a'), lockKey('/srv', '/')]);
  expect(ancestors('/a')).toEqual(['/']);
  expect(ancestors(lockKey('s', '/'))).toEqual([]);
});

describe.skipIf(!hasDaemon('redis-server'))('RedisLockManager', () => {
  let redis: RedisProcess;
  const open: RedisLockManager[] = [];
  let prefixN = 0;
  let prefix = '';

  beforeAll(async () => {
    redis = await startRedis();
  });
  afterAll(async () => {
    await redis?.stop();
  });
  afterEach(async () => {
    await Promise.all(open.splice(0).map((m) => m.close()));
  });

  /** A manager on its own connection (one "node"); all of a test share one key prefix. */
  async function node(lease = 30_000, fresh = false): Promise<RedisLockManager> {
    if (fresh || open.length === 0) prefix = `t${++prefixN}:`;
    const m = new RedisLockManager({ url: redis.url, keyPrefix: prefix, lease });
    await m.connection.ready();
    open.push(m);
    return m;
  }

  const conflictsOn = async (m: LockManager, requests: LockRequest[]): Promise<boolean> => {
    try {
      const h = await m.acquire(requests, { owner: 'probe' });
      await h.release();
      return false;
    } catch (err) {
      if (err instanceof LockConflictError) return true;
      throw err;
    }
  };

  // Each row: held by node A, then asked by node B; the in-memory manager must agree.
  it.each([
    [[sh('/a')], [sh('/a')], false],
    [[sh('/a')], [ex('/a')], true],
    [[ex('/a')], [sh('/a')], true],
    [[ex('/a')], [sh('/a/b/c')], true],
    [[sh('/a/b')], [ex('/a')], true],
    [[sh('/a/b')], [sh('/a')], false],
    [[ex('/a/b')], [sh('/a')], true],
    [[ex('/a')], [ex('/ab')], false],
    [[ex('/a/b')], [ex('/a/c')], false],
    [[sh('/x')], [ex('/')], true],
    [[ex(lockKey('/srv/a', '/d'))], [ex(lockKey('/srv/b', '/d'))], false],
    [[ex(lockKey('/srv/a', '/'))], [sh(lockKey('/srv/a', '/d/e'))], true],
    [[ex(lockKey('/srv/a', '/d'))], [ex('/d')], false],
    [[ex('/t/.ftpkit-upload-f'), sh('/t/f')], [ex('/t/f')], true],
    [[ex('/t/.ftpkit-upload-f'), sh('/t/f')], [sh('/t/f')], false],
  ])('holding %j, asking %j: conflict %s (same as in memory)', async (held, asked, want) => {
    const a = await node(30_000, true);
    const b = await node();
    const memory = new InMemoryLockManager();
    const h = await a.acquire(held, { owner: 'A', purpose: 'STOR' });
    const hm = await memory.acquire(held, { owner: 'A' });
    expect(await conflictsOn(b, asked)).toBe(want);
    expect(await conflictsOn(memory, asked)).toBe(want);
    await h.release();
    await hm.release();
    expect(await conflictsOn(b, asked)).toBe(false);
    expect(await a.held()).toEqual([]);
  });

  it('a conflict names the holder, its path and its command', async () => {
    const a = await node(30_000, true);
    const b = await node();
    const h = await a.acquire([ex('/dir/f')], { owner: 'session-a', purpose: 'STOR' });
    const err = await b.acquire([ex('/dir')], { owner: 'session-b', purpose: 'RMD' }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(LockConflictError);
    expect(err).toMatchObject({ path: '/dir', conflicts: [{ path: '/dir/f', mode: 'exclusive', owner: 'session-a', purpose: 'STOR' }] });
    expect(await b.held()).toEqual([{ path: '/dir/f', mode: 'exclusive', owner: 'session-a', purpose: 'STOR' }]);
    await h.release();
    await h.release(); // idempotent
    expect(await b.held()).toEqual([]);
  });

  it('wait: granted once the other node releases; a signal ends the wait', async () => {
    const a = await node(30_000, true);
    const b = await node();
    const h = await a.acquire([ex('/w')], { owner: 'A' });
    const waiting = b.acquire([ex('/w')], { owner: 'B', wait: 10_000 });
    setTimeout(() => void h.release(), 200);
    const got = await waiting;
    expect(await a.held()).toEqual([{ path: '/w', mode: 'exclusive', owner: 'B', purpose: undefined }]);
    const controller = new AbortController();
    const gaveUp = a.acquire([sh('/w')], { owner: 'A2', wait: 10_000, signal: controller.signal });
    setTimeout(() => controller.abort(new Error('gone')), 100);
    await expect(gaveUp).rejects.toThrow('gone');
    await got.release();
    expect(await b.held()).toEqual([]);
  });

  it('a node that stops renewing loses its locks after the lease; its handle is told and verify() refuses', async () => {
    const lease = 1000;
    const a = await node(lease, true);
    const b = await node(lease);
    const h = await a.acquire([ex('/f')], { owner: 'A', purpose: 'STOR' });
    await h.verify!(); // held: the fencing check passes and renews
    const lost = new Promise((resolve) => h.lost!.addEventListener('abort', () => resolve(h.lost!.reason), { once: true }));
    a.connection.raw!.disconnect(); // cut off from Redis: no renewal from now on
    await expect(b.acquire([ex('/f')], { owner: 'B' })).rejects.toBeInstanceOf(LockConflictError); // not yet
    const started = Date.now();
    const taken = await b.acquire([ex('/f')], { owner: 'B', wait: 10_000 });
    expect(Date.now() - started).toBeLessThan(10_000);
    expect(await lost).toBeInstanceOf(LockLostError);
    await expect(h.verify!()).rejects.toBeInstanceOf(LockLostError);
    // A never takes it back once it expired in the same Redis, even reconnected.
    await a.connection.raw!.connect();
    await a.connection.ready();
    await expect(h.verify!()).rejects.toBeInstanceOf(LockLostError);
    expect(await b.held()).toEqual([{ path: '/f', mode: 'exclusive', owner: 'B', purpose: undefined }]);
    await h.release(); // does not remove B's lock
    expect((await b.held()).map((l) => l.owner)).toEqual(['B']);
    await taken.release();
  });

  it('Redis restarted empty: the holder takes its locks back, others still conflict; a short outage loses nothing', async () => {
    const a = await node(3000, true);
    const b = await node(3000);
    const h = await a.acquire([ex('/r')], { owner: 'A' });
    await redis.stop();
    await expect(b.acquire([ex('/r')], { owner: 'B' })).rejects.toMatchObject({ code: 'FTPKIT_ERR_REDIS_UNREACHABLE' });
    await h.verify!(); // unreachable, but the lease is surely still ours
    await redis.start();
    await a.connection.ready(10_000);
    await b.connection.ready(10_000);
    await h.verify!();
    expect(h.lost!.aborted).toBe(false);
    await expect(b.acquire([ex('/r')], { owner: 'B' })).rejects.toBeInstanceOf(LockConflictError);
    await h.release();
    expect(await b.held()).toEqual([]);
  });

  it('shares one connection with other users of it and leaves nothing in Redis', async () => {
    prefix = `t${++prefixN}:`;
    const connection = new RedisConnection({ url: redis.url, keyPrefix: prefix });
    const m = new RedisLockManager(connection);
    await connection.ready();
    const h = await m.acquire([ex(lockKey('/srv', '/a/b')), sh(lockKey('/srv', '/c'))], { owner: 'S' });
    await h.release();
    expect(await connection.raw!.keys(`${prefix}*`)).toEqual([`${prefix}lock:epoch`]);
    await m.close();
    await connection.close();
  });
});
