import type { Redis } from 'ioredis';
import { pino, type Logger } from 'pino';
import { FtpError } from '../../errors.js';

/** How a FileServer reaches Redis: `redis: 'redis://host:6379'` or these fields. */
export interface RedisOptions {
  /** `redis://[user:password@]host:port[/db]` (or `rediss://` for TLS). */
  url: string;
  /** Put before every key, so several ftpkit clusters can share one Redis. Default 'ftpkit:'. */
  keyPrefix?: string;
  /**
   * Lease of a lock, in ms: a node renews its locks every third of it, and the locks of a node
   * that stops renewing (dead, cut off) expire after it. Per-user session counts of a dead node
   * expire after it too. Default 30 s.
   */
  lease?: number;
}

export interface ResolvedRedisOptions {
  url: string;
  keyPrefix: string;
  lease: number;
}

export function resolveRedisOptions(option: string | RedisOptions): ResolvedRedisOptions {
  const o = typeof option === 'string' ? { url: option } : option;
  if (typeof o !== 'object' || o === null || typeof o.url !== 'string') {
    throw new FtpError('FTPKIT_ERR_INVALID_ARGUMENT', "redis must be a URL ('redis://host:6379') or { url, keyPrefix, lease }");
  }
  let url: URL;
  try {
    url = new URL(o.url);
  } catch {
    throw new FtpError('FTPKIT_ERR_INVALID_ARGUMENT', 'redis.url is not a URL (redis://host:port)');
  }
  if (url.protocol !== 'redis:' && url.protocol !== 'rediss:') {
    throw new FtpError('FTPKIT_ERR_INVALID_ARGUMENT', 'redis.url must start with redis:// or rediss://');
  }
  const keyPrefix = o.keyPrefix ?? 'ftpkit:';
  if (typeof keyPrefix !== 'string' || keyPrefix.length > 256) {
    throw new FtpError('FTPKIT_ERR_INVALID_ARGUMENT', 'redis.keyPrefix must be a string of at most 256 characters');
  }
  const lease = o.lease ?? 30_000;
  if (typeof lease !== 'number' || !Number.isSafeInteger(lease) || lease < 300 || lease > 600_000) {
    throw new FtpError('FTPKIT_ERR_INVALID_ARGUMENT', `redis.lease must be an integer from 300 to 600000 ms, got ${String(lease)}`);
  }
  return { url: o.url, keyPrefix, lease };
}

/** The URL without its password, for logs. */
export function redactUrl(url: string): string {
  try {
    const u = new URL(url);
    if (u.password) u.password = '***';
    return u.toString();
  } catch {
    return 'redis://?';
  }
}

/**
 * One Redis connection shared by a node's RedisLockManager and RedisAbuseStore.
 *
 * ioredis is imported on start(), so a server without Redis never loads it. Commands fail at
 * once while Redis is unreachable (no offline queue: a login must not hang behind an outage)
 * and ioredis reconnects on its own. The outage is logged once when it starts and once when it
 * ends, never per command.
 */
export class RedisConnection {
  readonly options: ResolvedRedisOptions;
  #log: Logger;
  #client: Redis | undefined;
  #starting: Promise<Redis> | undefined;
  #up = false;
  /** True once the outage was logged, until Redis is back. */
  #downLogged = false;
  #closed = false;
  readonly #onUp = new Set<() => void>();

  constructor(options: string | RedisOptions, logger?: Logger) {
    this.options = resolveRedisOptions(options);
    this.#log = logger ?? pino({ level: 'silent' });
  }

  /** Logs through the server's logger (set by FileServer before start()). */
  setLogger(logger: Logger): void {
    this.#log = logger;
  }

  /** True while connected and ready. */
  get available(): boolean {
    return this.#up;
  }

  /** `fn` runs each time Redis becomes reachable (again). */
  onUp(fn: () => void): () => void {
    this.#onUp.add(fn);
    return () => this.#onUp.delete(fn);
  }

  /** Loads ioredis and starts connecting; resolves without waiting for Redis to answer. */
  start(): Promise<Redis> {
    this.#starting ??= this.#start();
    return this.#starting;
  }

  async #start(): Promise<Redis> {
    if (this.#closed) throw new FtpError('FTPKIT_ERR_CLOSED', 'the Redis connection is closed');
    const { Redis } = await import('ioredis');
    const where = redactUrl(this.options.url);
    const client = new Redis(this.options.url, {
      enableOfflineQueue: false,
      maxRetriesPerRequest: 0,
      commandTimeout: 5000,
      connectTimeout: 5000,
      enableReadyCheck: true,
      // Forever, backing off to 1 s: the server recovers by itself when Redis returns.
      retryStrategy: (times) => Math.min(100 * times, 1000),
    });
    client.on('ready', () => {
      this.#up = true;
      if (this.#downLogged) this.#log.warn({ redis: where }, 'redis reachable again: logins accepted');
      else this.#log.info({ redis: where }, 'redis connected');
      this.#downLogged = false;
      for (const fn of this.#onUp) fn();
    });
    const down = (err?: Error): void => {
      this.#up = false;
      if (this.#downLogged || this.#closed) return;
      this.#downLogged = true;
      this.#log.error(
        { redis: where, err: err?.message },
        'redis unreachable: new logins get 421 until it returns; running transfers go on; retrying',
      );
    };
    client.on('error', (err: Error) => down(err));
    client.on('close', () => down());
    client.on('end', () => down());
    this.#client = client;
    return client;
  }

  /** The client, once start() ran; throws while Redis is unreachable so callers answer 421. */
  client(): Redis {
    const client = this.#client;
    if (!client || !this.#up) throw unreachable();
    return client;
  }

  /**
   * Runs `fn` with the client. A failure that is not Redis's own answer (a dropped connection,
   * a timeout, a command refused while reconnecting) becomes FTPKIT_ERR_REDIS_UNREACHABLE, so
   * callers tell an outage from a bug without racing the 'close' event.
   */
  async call<T>(fn: (client: Redis) => Promise<T>): Promise<T> {
    const client = this.client();
    try {
      return await fn(client);
    } catch (err) {
      if ((err as Error | undefined)?.name === 'ReplyError') throw err;
      throw unreachable(err);
    }
  }

  /** The client even when down (for best-effort cleanup), or undefined before start(). */
  get raw(): Redis | undefined {
    return this.#client;
  }

  /** Waits until connected (tests and startup checks); rejects after `timeout` ms. */
  async ready(timeout = 5000): Promise<void> {
    await this.start();
    if (this.#up) return;
    await new Promise<void>((resolve, reject) => {
      const timer = setTimeout(() => {
        off();
        reject(unreachable());
      }, timeout);
      const off = this.onUp(() => {
        clearTimeout(timer);
        off();
        resolve();
      });
    });
  }

  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    this.#onUp.clear();
    const client = this.#client ?? (await this.#starting?.catch(() => undefined));
    if (!client) return;
    try {
      if (this.#up) await client.quit();
      else client.disconnect();
    } catch {
      client.disconnect();
    }
  }
}

export function unreachable(cause?: unknown): FtpError {
  return new FtpError('FTPKIT_ERR_REDIS_UNREACHABLE', 'redis unreachable', cause === undefined ? undefined : { cause });
}
