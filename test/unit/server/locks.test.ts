import { describe, expect, it } from 'vitest';
import { InMemoryLockManager, LockConflictError, lockKey, overlaps, sortLockRequests, splitLockKey, type LockRequest } from '../../../src/server/locks/index.js';

const sh = (path: string): LockRequest => ({ path, mode: 'shared' });
const ex = (path: string): LockRequest => ({ path, mode: 'exclusive' });

describe('overlaps', () => {
  it.each([
    ['/a', '/a', true],
    ['/a', '/a/b', true],
    ['/a/b/c', '/a', true],
    ['/', '/x', true],
    ['/a', '/ab', false],
    ['/a/b', '/a/c', false],
    ['/ab/c', '/a', false],
  ])('%s vs %s: %s', (a, b, want) => {
    expect(overlaps(a, b)).toBe(want);
    expect(overlaps(b, a)).toBe(want);
  });
});

describe('lock keys (storage scope + virtual path)', () => {
  const k = lockKey;
  it.each([
    [k('/srv/a', '/d.txt'), k('/srv/a', '/d.txt'), true],
    [k('/srv/a', '/'), k('/srv/a', '/x/y'), true],
    [k('/srv/a', '/x'), k('/srv/a', '/x/y'), true],
    [k('/srv/a', '/x'), k('/srv/a', '/xy'), false],
    [k('/srv/a', '/d.txt'), k('/srv/b', '/d.txt'), false],
    [k('/srv/a', '/'), k('/srv/b', '/x'), false],
    [k('/srv/a', '/'), k('/srv/a/', '/'), false], // scopes are compared whole, never as prefixes
    [k('/srv/a', '/d.txt'), '/d.txt', false], // a plain path is its own scope
    [k('', '/'), '/x', false],
  ])('%j vs %j: %s', (a, b, want) => {
    expect(overlaps(a, b)).toBe(want);
    expect(overlaps(b, a)).toBe(want);
  });

  it('split back into scope and virtual path; a scope sorts its keys ancestors first', () => {
    expect(splitLockKey(k('/srv/a', '/x/y'))).toEqual({ scope: '/srv/a', path: '/x/y' });
    expect(splitLockKey('/x/y')).toEqual({ scope: undefined, path: '/x/y' });
    expect(sortLockRequests([ex(k('s', '/a/b')), ex(k('s', '/b')), ex(k('s', '/a'))]).map((r) => splitLockKey(r.path).path)).toEqual(['/a', '/a/b', '/b']);
  });

  it('InMemoryLockManager: the same path in two scopes is two locks', async () => {
    const m = new InMemoryLockManager();
    const a = await m.acquire([sh(k('/srv/a', '/d.txt'))], { owner: 's1' });
    const b = await m.acquire([ex(k('/srv/b', '/d.txt'))], { owner: 's2' });
    await expect(m.acquire([ex(k('/srv/a', '/'))], { owner: 's3' })).rejects.toMatchObject({ conflicts: [{ path: k('/srv/a', '/d.txt'), owner: 's1' }] });
    await a.release();
    await b.release();
    expect(await m.held()).toEqual([]);
  });
});

describe('sortLockRequests', () => {
  it('sorts by path (ancestors first) and merges duplicates, exclusive winning', () => {
    expect(sortLockRequests([sh('/b'), ex('/a/x'), sh('/a'), ex('/b'), sh('/a/x')])).toEqual([sh('/a'), ex('/a/x'), ex('/b')]);
  });
});

describe('InMemoryLockManager', () => {
  it('shares readers, excludes writers, covers subtrees', async () => {
    const m = new InMemoryLockManager();
    const r1 = await m.acquire([sh('/f')], { owner: 's1' });
    const r2 = await m.acquire([sh('/f')], { owner: 's2' });
    await expect(m.acquire([ex('/f')], { owner: 's3', purpose: 'STOR' })).rejects.toBeInstanceOf(LockConflictError);
    await expect(m.acquire([ex('/')], { owner: 's3' })).rejects.toMatchObject({ name: 'FtpError', code: 'FTPKIT_ERR_LOCKED', path: '/' });
    const other = await m.acquire([ex('/g')], { owner: 's3' });
    await r1.release();
    await r1.release(); // idempotent
    await expect(m.acquire([ex('/f')], { owner: 's3' })).rejects.toMatchObject({ conflicts: [{ path: '/f', mode: 'shared', owner: 's2' }] });
    await r2.release();
    const dir = await m.acquire([ex('/d')], { owner: 's4', purpose: 'RMD' });
    await expect(m.acquire([sh('/d/x/y')], { owner: 's5' })).rejects.toMatchObject({ path: '/d/x/y', conflicts: [{ path: '/d', purpose: 'RMD' }] });
    expect((await m.held()).map((l) => l.path).sort()).toEqual(['/d', '/g']);
    await dir.release();
    await other.release();
    expect(await m.held()).toEqual([]);
  });

  it('grants a set whole or not at all', async () => {
    const m = new InMemoryLockManager();
    const b = await m.acquire([ex('/b')], { owner: 's1' });
    await expect(m.acquire([ex('/a'), ex('/b')], { owner: 's2' })).rejects.toBeInstanceOf(LockConflictError);
    expect((await m.held()).map((l) => l.path)).toEqual(['/b']); // /a was not kept
    await b.release();
  });

  it('waits up to `wait` ms, then fails; grants as soon as the holder releases', async () => {
    const m = new InMemoryLockManager();
    const h = await m.acquire([ex('/f')], { owner: 's1' });
    const t0 = Date.now();
    await expect(m.acquire([sh('/f')], { owner: 's2', wait: 80 })).rejects.toBeInstanceOf(LockConflictError);
    expect(Date.now() - t0).toBeGreaterThanOrEqual(70);
    const pending = m.acquire([sh('/f')], { owner: 's2', wait: 5000 });
    setTimeout(() => void h.release(), 30);
    const got = await pending;
    await got.release();
    expect(await m.held()).toEqual([]);
  });

  it('an abort signal ends the wait', async () => {
    const m = new InMemoryLockManager();
    const h = await m.acquire([ex('/f')], { owner: 's1' });
    const ac = new AbortController();
    const pending = m.acquire([ex('/f')], { owner: 's2', wait: 60_000, signal: ac.signal });
    ac.abort(new Error('gone'));
    await expect(pending).rejects.toThrow('gone');
    await h.release();
    expect(await m.held()).toEqual([]);
  });

  it('a waiting writer is not starved by new readers (FIFO)', async () => {
    const m = new InMemoryLockManager();
    const r = await m.acquire([sh('/f')], { owner: 'r1' });
    const writer = m.acquire([ex('/f')], { owner: 'w', wait: 5000 });
    // A reader arriving after the waiting writer queues behind it rather than jumping ahead.
    await expect(m.acquire([sh('/f')], { owner: 'r2' })).rejects.toMatchObject({ conflicts: [{ owner: 'w' }] });
    await r.release();
    await (await writer).release();
  });

  it('no deadlock: crossed two-path requests (RNFR a RNTO b / RNFR b RNTO a) both complete', async () => {
    const m = new InMemoryLockManager();
    const order: string[] = [];
    const job = async (name: string, paths: string[]): Promise<void> => {
      for (let i = 0; i < 50; i++) {
        const h = await m.acquire(paths.map(ex), { owner: name, wait: 10_000 });
        order.push(name);
        await new Promise((r) => setImmediate(r));
        await h.release();
      }
    };
    await Promise.all([job('x', ['/a', '/b']), job('y', ['/b', '/a']), job('z', ['/b/c', '/a/d']), job('w', ['/a/d'])]);
    expect(order).toHaveLength(200);
    expect(await m.held()).toEqual([]);
  });
});
