import { randomBytes } from 'node:crypto';
import type { AbuseStore, BanPolicy, SharedFailure } from '../abuse/store.js';
import { RedisConnection, type RedisOptions } from './connection.js';

/**
 *   PREFIX fail:ADDR   sorted set of failure times (Redis's clock), expiring after the window
 *   PREFIX ban:ADDR    exists while ADDR is banned (PX banDuration)
 *   PREFIX sess:USER   sorted set of session ids, scored by their lease's end
 */
const FAILURE_SCRIPT = `
local fail = ARGV[1]
local ban = ARGV[2]
local window = tonumber(ARGV[3])
local banAfter = tonumber(ARGV[4])
local banDuration = tonumber(ARGV[5])
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
local left = redis.call('PTTL', ban)
redis.call('ZREMRANGEBYSCORE', fail, '-inf', now - window)
if left > 0 then return { redis.call('ZCARD', fail), left, 0 } end
redis.call('ZADD', fail, now, t[1] .. t[2] .. ARGV[6])
redis.call('PEXPIRE', fail, window)
local n = redis.call('ZCARD', fail)
if banAfter > 0 and banDuration > 0 and n >= banAfter then
  redis.call('SET', ban, '1', 'PX', banDuration)
  redis.call('DEL', fail)
  return { n, banDuration, 1 }
end
return { n, 0, 0 }
`;

const JOIN_SCRIPT = `
local key = ARGV[1]
local id = ARGV[2]
local max = tonumber(ARGV[3])
local lease = tonumber(ARGV[4])
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
redis.call('ZREMRANGEBYSCORE', key, '-inf', now)
if max > 0 and not redis.call('ZSCORE', key, id) and redis.call('ZCARD', key) >= max then return 0 end
redis.call('ZADD', key, now + lease, id)
if redis.call('PTTL', key) < lease then redis.call('PEXPIRE', key, lease) end
return 1
`;

/** Renews this node's sessions of one user (ARGV: key, lease, ids...). */
const RENEW_SCRIPT = `
local key = ARGV[1]
local lease = tonumber(ARGV[2])
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
for i = 3, #ARGV do redis.call('ZADD', key, now + lease, ARGV[i]) end
if redis.call('PTTL', key) < lease then redis.call('PEXPIRE', key, lease) end
return 1
`;

/**
 * AbuseStore in Redis, for several nodes. Failure counts and bans live in Redis with Redis's
 * clock; per-user sessions are leased like locks (renewed every third of `lease` while open),
 * so a node that dies stops counting against its users after the lease.
 */
export class RedisAbuseStore implements AbuseStore {
  readonly connection: RedisConnection;
  readonly #ownsConnection: boolean;
  readonly #prefix: string;
  readonly #lease: number;
  /** This node's counted sessions, by user: renewed while open. */
  readonly #sessions = new Map<string, Set<string>>();
  #ticker: NodeJS.Timeout | undefined;
  #offUp: () => void;
  #closed = false;

  constructor(connection: RedisConnection | string | RedisOptions) {
    this.#ownsConnection = !(connection instanceof RedisConnection);
    this.connection = connection instanceof RedisConnection ? connection : new RedisConnection(connection);
    this.#prefix = `${this.connection.options.keyPrefix}abuse:`;
    this.#lease = this.connection.options.lease;
    // Redis back (maybe empty): count this node's open sessions again at once.
    this.#offUp = this.connection.onUp(() => void this.#renew());
  }

  get available(): boolean {
    return this.connection.available;
  }

  async recordFailure(address: string, policy: BanPolicy): Promise<SharedFailure> {
    const r = (await this.connection.call((client) =>
      client.eval(
        FAILURE_SCRIPT,
        0,
        `${this.#prefix}fail:${address}`,
        `${this.#prefix}ban:${address}`,
        String(policy.window),
        String(policy.banAfter),
        String(policy.banDuration),
        randomBytes(4).toString('hex'),
      ),
    )) as [number, number, number];
    return { failures: Number(r[0]), bannedFor: Math.max(0, Number(r[1])), banned: Number(r[2]) === 1 };
  }

  async bannedFor(address: string): Promise<number> {
    const left = await this.connection.call((c) => c.pttl(`${this.#prefix}ban:${address}`));
    return left > 0 ? left : 0;
  }

  async unban(address?: string): Promise<number> {
    if (address !== undefined) {
      const [bans] = (await this.connection.call((c) => c.multi().del(`${this.#prefix}ban:${address}`).del(`${this.#prefix}fail:${address}`).exec())) ?? [];
      return Number(bans?.[1] ?? 0);
    }
    const client = this.connection.client();
    let lifted = 0;
    for (const kind of ['ban', 'fail']) {
      let cursor = '0';
      do {
        const [next, keys] = await client.scan(cursor, 'MATCH', `${escapeGlob(this.#prefix)}${kind}:*`, 'COUNT', '1000');
        cursor = next;
        if (keys.length > 0) {
          const n = await client.del(...keys);
          if (kind === 'ban') lifted += n;
        }
      } while (cursor !== '0');
    }
    return lifted;
  }

  async joinSession(user: string, sessionId: string, max: number): Promise<boolean> {
    const ok = await this.connection.call((c) => c.eval(JOIN_SCRIPT, 0, this.#key(user), sessionId, String(max), String(this.#lease)));
    if (Number(ok) !== 1) return false;
    let ids = this.#sessions.get(user);
    if (!ids) this.#sessions.set(user, (ids = new Set()));
    ids.add(sessionId);
    this.#startTicker();
    return true;
  }

  async leaveSession(user: string, sessionId: string): Promise<void> {
    const ids = this.#sessions.get(user);
    if (!ids?.delete(sessionId)) return; // never joined here: nothing to ask Redis
    if (ids.size === 0) this.#sessions.delete(user);
    if (this.#sessions.size === 0) this.#stopTicker();
    try {
      await this.connection.call((c) => c.zrem(this.#key(user), sessionId));
    } catch {
      // Unreachable: the entry expires after the lease, since nobody renews it.
    }
  }

  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    this.#stopTicker();
    this.#offUp();
    const left = [...this.#sessions].flatMap(([user, ids]) => [...ids].map((id) => [user, id] as const));
    await Promise.all(left.map(([user, id]) => this.leaveSession(user, id)));
    if (this.#ownsConnection) await this.connection.close();
  }

  #key(user: string): string {
    return `${this.#prefix}sess:${user}`;
  }

  async #renew(): Promise<void> {
    if (this.#sessions.size === 0 || !this.connection.available) return;
    try {
      const pipeline = this.connection.client().pipeline();
      for (const [user, ids] of this.#sessions) pipeline.eval(RENEW_SCRIPT, 0, this.#key(user), String(this.#lease), ...ids);
      await pipeline.exec();
    } catch {
      // Tried again next tick, or when Redis is back.
    }
  }

  #startTicker(): void {
    if (this.#ticker) return;
    this.#ticker = setInterval(() => void this.#renew(), Math.max(50, Math.floor(this.#lease / 3)));
    this.#ticker.unref();
  }

  #stopTicker(): void {
    clearInterval(this.#ticker);
    this.#ticker = undefined;
  }
}

function escapeGlob(text: string): string {
  return text.replace(/[*?[\]\\]/g, '\\$&');
}
