// The AbuseStore contract, for InMemoryAbuseStore and RedisAbuseStore (a real redis-server):
// failures ban at banAfter, a ban answers bannedFor, unban lifts one or all, maxSessions counts.
import { randomBytes } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { InMemoryAbuseStore, type AbuseStore } from '../../../src/index.js';
import { LoginGuard } from '../../../src/server/abuse/login-guard.js';
import { shareFailure } from '../../../src/server/abuse/store.js';
import { RedisAbuseStore } from '../../../src/server/redis/abuse-store.js';
import { hasDaemon, startRedis, type RedisProcess } from '../../helpers/scale.js';

const policy = { banAfter: 3, window: 60_000, banDuration: 60_000 };

let redis: RedisProcess | undefined;
const stores: RedisAbuseStore[] = [];
const withRedis = hasDaemon('redis-server');

beforeAll(async () => {
  if (withRedis) redis = await startRedis();
});
afterAll(async () => {
  await Promise.all(stores.map((s) => s.close()));
  await redis?.stop();
});

/** Two handles on one store: two nodes (Redis) or one shared object (memory). */
async function pair(kind: 'memory' | 'redis', lease = 30_000): Promise<[AbuseStore, AbuseStore]> {
  if (kind === 'memory') {
    const s = new InMemoryAbuseStore();
    return [s, s];
  }
  const keyPrefix = `abuse-${randomBytes(3).toString('hex')}:`;
  const made = [0, 1].map(() => new RedisAbuseStore({ url: redis!.url, keyPrefix, lease }));
  stores.push(...made);
  await Promise.all(made.map((s) => s.connection.ready()));
  return [made[0]!, made[1]!];
}

describe.each(withRedis ? (['memory', 'redis'] as const) : (['memory'] as const))('%s AbuseStore', (kind) => {
  it('bans at banAfter failures from any node, until unban; other addresses are untouched', async () => {
    const [a, b] = await pair(kind);
    expect(await a.recordFailure('10.0.0.1', policy)).toEqual({ failures: 1, bannedFor: 0, banned: false });
    expect(await b.recordFailure('10.0.0.1', policy)).toEqual({ failures: 2, bannedFor: 0, banned: false });
    expect(await a.recordFailure('10.0.0.1', policy)).toEqual({ failures: 3, bannedFor: 60_000, banned: true });
    const left = await b.bannedFor('10.0.0.1');
    expect(left).toBeGreaterThan(50_000);
    expect(left).toBeLessThanOrEqual(60_000);
    expect(await b.bannedFor('10.0.0.2')).toBe(0);
    // Failing again while banned does not ban anew.
    expect((await b.recordFailure('10.0.0.1', policy)).banned).toBe(false);
    expect(await b.unban('10.0.0.2')).toBe(0);
    expect(await b.unban('10.0.0.1')).toBe(1);
    expect(await a.bannedFor('10.0.0.1')).toBe(0);
    expect((await a.recordFailure('10.0.0.1', policy)).failures).toBe(1); // forgotten
  });

  it('unban() lifts every ban; banAfter 0 never bans', async () => {
    const [a, b] = await pair(kind);
    for (const ip of ['10.1.0.1', '10.1.0.2']) for (let i = 0; i < 3; i++) await a.recordFailure(ip, policy);
    await a.recordFailure('10.1.0.3', policy);
    expect(await b.unban()).toBe(2);
    expect(await a.bannedFor('10.1.0.1')).toBe(0);
    expect(await b.unban()).toBe(0);
    for (let i = 0; i < 5; i++) expect((await a.recordFailure('10.1.0.4', { ...policy, banAfter: 0 })).banned).toBe(false);
  });

  it('joinSession counts a user across nodes up to max; leaveSession frees a place; max 0 is unlimited', async () => {
    const [a, b] = await pair(kind);
    expect(await a.joinSession('bob', 's1', 2)).toBe(true);
    expect(await b.joinSession('bob', 's2', 2)).toBe(true);
    expect(await a.joinSession('bob', 's3', 2)).toBe(false);
    expect(await b.joinSession('carol', 's4', 2)).toBe(true);
    await b.leaveSession('bob', 's2');
    await b.leaveSession('bob', 's2'); // idempotent
    expect(await a.joinSession('bob', 's3', 2)).toBe(true);
    expect(await a.joinSession('dave', 's5', 0)).toBe(true);
    // Each node leaves the sessions it joined.
    await a.leaveSession('bob', 's1');
    await a.leaveSession('bob', 's3');
    await b.leaveSession('carol', 's4');
    await a.leaveSession('dave', 's5');
    expect(await b.joinSession('bob', 's6', 1)).toBe(true);
    await b.leaveSession('bob', 's6');
  });

  it("with a LoginGuard: the cluster's count bans, and the guard takes the store's word both ways", async () => {
    const [a] = await pair(kind);
    const guard = new LoginGuard({ delay: 10, maxDelay: 1000, ...policy });
    await a.recordFailure('10.2.0.1', policy);
    await a.recordFailure('10.2.0.1', policy); // two on "another node"
    const verdict = await shareFailure(guard, a, '10.2.0.1', guard.failure('10.2.0.1'));
    expect(verdict).toEqual({ failures: 3, delay: 30, banned: true });
    expect(guard.bannedFor('10.2.0.1')).toBeGreaterThan(0);
    guard.syncBan('10.2.0.1', 0); // lifted elsewhere
    expect(guard.bannedFor('10.2.0.1')).toBe(0);
  });
});

describe.skipIf(!withRedis)('RedisAbuseStore leases', () => {
  it('a node that stops renewing stops counting against the user after the lease', async () => {
    const [a, b] = await pair('redis', 600);
    expect(await a.joinSession('erin', 's1', 1)).toBe(true);
    expect(await b.joinSession('erin', 's2', 1)).toBe(false);
    await (a as RedisAbuseStore).close(); // stops renewing (and leaves: its session is gone at once)
    expect(await b.joinSession('erin', 's2', 1)).toBe(true);
    const [c, d] = await pair('redis', 600);
    expect(await c.joinSession('finn', 's1', 1)).toBe(true);
    (c as RedisAbuseStore).connection.raw!.disconnect(); // dies: cannot leave, stops renewing
    const started = Date.now();
    while (!(await d.joinSession('finn', 's2', 1))) {
      if (Date.now() - started > 10_000) throw new Error('the dead node still counts');
      await new Promise((r) => setTimeout(r, 100));
    }
  });
});
