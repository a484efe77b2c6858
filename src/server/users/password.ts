import { randomBytes, scrypt as scryptCb, timingSafeEqual, type ScryptOptions } from 'node:crypto';
import { FtpError } from '../../errors.js';

/**
 * Password hashes: scrypt from node:crypto with its parameters stored next to it,
 * `scrypt$N$r$p$salt$hash` (salt and hash in base64), so stronger parameters can be adopted
 * later without breaking stored hashes.
 */
export interface ScryptParams {
  /** CPU/memory cost, a power of two. Default 2^15. */
  N: number;
  r: number;
  p: number;
}

export const DEFAULT_SCRYPT: ScryptParams = { N: 2 ** 15, r: 8, p: 1 };

/** Longest password accepted, in UTF-8 bytes; a bigger one is refused before hashing. */
export const MAX_PASSWORD_BYTES = 1024;

const KEY_LENGTH = 32;
const SALT_LENGTH = 16;
// Bounds on parameters read from a file: a hostile or mistyped N must not eat the machine.
const MAX_N = 2 ** 20;
const MAX_R = 32;
const MAX_P = 16;

/**
 * scrypt runs in libuv's thread pool, which file I/O shares (4 threads by default). Unbounded,
 * a few hundred concurrent PASS fill it and a logged-in user's SIZE waits behind all of them
 * (22.8 s seen). So at most half the pool (1 or 2 threads) ever runs scrypt; verifications wait
 * their turn in a queue of at most MAX_WAITING, and past it are refused at once with
 * FTPKIT_ERR_BUSY (the server answers 421, try later, and counts no failure).
 */
const POOL_SIZE = Number(process.env.UV_THREADPOOL_SIZE) || 4;
export const SCRYPT_CONCURRENCY = Math.max(1, Math.min(2, Math.floor(POOL_SIZE / 2)));
export const MAX_WAITING_VERIFICATIONS = 64;

class ScryptGate {
  running = 0;
  readonly #waiting: Array<() => void> = [];

  get waiting(): number {
    return this.#waiting.length;
  }

  /** Runs `job` when a slot is free; `bounded`: refuse with FTPKIT_ERR_BUSY rather than queue past the bound. */
  async run<T>(job: () => Promise<T>, bounded: boolean): Promise<T> {
    if (this.running >= SCRYPT_CONCURRENCY) {
      if (bounded && this.#waiting.length >= MAX_WAITING_VERIFICATIONS) {
        throw new FtpError('FTPKIT_ERR_BUSY', 'too many password verifications waiting, try again later');
      }
      await new Promise<void>((resolve) => this.#waiting.push(resolve));
    } else {
      this.running++;
    }
    try {
      return await job();
    } finally {
      // Hand the slot straight to the next waiter (running stays the same), or free it.
      const next = this.#waiting.shift();
      if (next) next();
      else this.running--;
    }
  }
}

/** The one gate for the process: the thread pool is per process too. Exported for tests. */
export const scryptGate = new ScryptGate();

function scrypt(password: string, salt: Buffer, params: ScryptParams, length: number, bounded: boolean): Promise<Buffer> {
  const options: ScryptOptions = { N: params.N, r: params.r, p: params.p, maxmem: 256 * params.N * params.r + 2 * 1024 * 1024 };
  return scryptGate.run(
    () => new Promise<Buffer>((resolve, reject) =>
      scryptCb(password.normalize('NFC'), salt, length, options, (err, key) => (err ? reject(err) : resolve(key))),
    ),
    bounded,
  );
}

export function checkPassword(password: unknown): string {
  if (typeof password !== 'string' || password === '') {
    throw new FtpError('FTPKIT_ERR_INVALID_ARGUMENT', 'password must be a non-empty string');
  }
  if (Buffer.byteLength(password) > MAX_PASSWORD_BYTES) {
    throw new FtpError('FTPKIT_ERR_INVALID_ARGUMENT', `password must be at most ${MAX_PASSWORD_BYTES} bytes`);
  }
  // scrypt keys HMAC-SHA256 with the password, and HMAC pads keys with zero bytes: 'pw\0'
  // would hash exactly like 'pw'. No password may hold a NUL, so none can collide that way.
  if (password.includes('\0')) throw new FtpError('FTPKIT_ERR_INVALID_ARGUMENT', 'password must not contain NUL');
  return password;
}

export async function hashPassword(password: string, params: ScryptParams = DEFAULT_SCRYPT): Promise<string> {
  checkPassword(password);
  checkParams(params);
  const salt = randomBytes(SALT_LENGTH);
  const key = await scrypt(password, salt, params, KEY_LENGTH, false);
  return `scrypt$${params.N}$${params.r}$${params.p}$${salt.toString('base64')}$${key.toString('base64')}`;
}

interface ParsedHash {
  params: ScryptParams;
  salt: Buffer;
  key: Buffer;
}

/** Parses a stored hash; throws FtpError naming `field` when it is not one of ours. */
export function parseHash(encoded: unknown, field = 'password'): ParsedHash {
  const bad = (why: string): FtpError => new FtpError('FTPKIT_ERR_INVALID_ARGUMENT', `${field}: ${why}`);
  if (typeof encoded !== 'string') throw bad('must be a scrypt hash string (scrypt$N$r$p$salt$hash)');
  const parts = encoded.split('$');
  if (parts.length !== 6 || parts[0] !== 'scrypt') throw bad('must look like scrypt$N$r$p$salt$hash');
  const [N, r, p] = parts.slice(1, 4).map((x) => (/^\d{1,8}$/.test(x!) ? Number(x) : NaN)) as [number, number, number];
  try {
    checkParams({ N, r, p });
  } catch (err) {
    throw bad((err as Error).message);
  }
  const salt = Buffer.from(parts[4]!, 'base64');
  const key = Buffer.from(parts[5]!, 'base64');
  if (salt.length < 8 || key.length < 16 || key.length > 64) throw bad('salt or hash has the wrong length');
  return { params: { N, r, p }, salt, key };
}

function checkParams({ N, r, p }: ScryptParams): void {
  const ok = Number.isSafeInteger(N) && N >= 2 && N <= MAX_N && (N & (N - 1)) === 0 &&
    Number.isSafeInteger(r) && r >= 1 && r <= MAX_R && Number.isSafeInteger(p) && p >= 1 && p <= MAX_P;
  if (!ok) throw new FtpError('FTPKIT_ERR_INVALID_ARGUMENT', `scrypt parameters out of range (N a power of two up to ${MAX_N}, r up to ${MAX_R}, p up to ${MAX_P})`);
}

/**
 * True when `password` matches `encoded`. Constant-time comparison; a password over the size
 * cap or holding a NUL (see checkPassword) is still run through scrypt (then refused), so its
 * timing tells nothing either. Rejects with FTPKIT_ERR_BUSY when MAX_WAITING_VERIFICATIONS
 * already wait for the thread pool.
 */
export async function verifyPassword(password: string, encoded: string | ParsedHash): Promise<boolean> {
  const hash = typeof encoded === 'string' ? parseHash(encoded) : encoded;
  const refused = Buffer.byteLength(password) > MAX_PASSWORD_BYTES || password.includes('\0');
  const key = await scrypt(refused ? '' : password, hash.salt, hash.params, hash.key.length, true);
  return timingSafeEqual(key, hash.key) && !refused;
}

let dummy: Promise<ParsedHash> | undefined;

/** A hash of a random password, made once: unknown users are verified against it (same timing). */
export function dummyHash(): Promise<ParsedHash> {
  dummy ??= hashPassword(randomBytes(16).toString('hex')).then((h) => parseHash(h));
  return dummy;
}
