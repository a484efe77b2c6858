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

function scrypt(password: string, salt: Buffer, params: ScryptParams, length: number): Promise<Buffer> {
  const options: ScryptOptions = { N: params.N, r: params.r, p: params.p, maxmem: 256 * params.N * params.r + 2 * 1024 * 1024 };
  return new Promise((resolve, reject) =>
    scryptCb(password.normalize('NFC'), salt, length, options, (err, key) => (err ? reject(err) : resolve(key))),
  );
}

export function checkPassword(password: unknown): string {
  if (typeof password !== 'string' || password === '') {
    throw new FtpError('FTPKIT_ERR_INVALID_ARGUMENT', 'password must be a non-empty string');
  }
  if (Buffer.byteLength(password) > MAX_PASSWORD_BYTES) {
    throw new FtpError('FTPKIT_ERR_INVALID_ARGUMENT', `password must be at most ${MAX_PASSWORD_BYTES} bytes`);
  }
  return password;
}

export async function hashPassword(password: string, params: ScryptParams = DEFAULT_SCRYPT): Promise<string> {
  checkPassword(password);
  checkParams(params);
  const salt = randomBytes(SALT_LENGTH);
  const key = await scrypt(password, salt, params, KEY_LENGTH);
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
 * cap is still run through scrypt (then refused), so its timing tells nothing either.
 */
export async function verifyPassword(password: string, encoded: string | ParsedHash): Promise<boolean> {
  const hash = typeof encoded === 'string' ? parseHash(encoded) : encoded;
  const tooLong = Buffer.byteLength(password) > MAX_PASSWORD_BYTES;
  const key = await scrypt(tooLong ? '' : password, hash.salt, hash.params, hash.key.length);
  return timingSafeEqual(key, hash.key) && !tooLong;
}

let dummy: Promise<ParsedHash> | undefined;

/** A hash of a random password, made once: unknown users are verified against it (same timing). */
export function dummyHash(): Promise<ParsedHash> {
  dummy ??= hashPassword(randomBytes(16).toString('hex')).then((h) => parseHash(h));
  return dummy;
}
