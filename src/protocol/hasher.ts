import { createHash } from 'node:crypto';
import type { HashAlgorithm } from './hash.js';
import { Crc32Hash } from '../util/crc32.js';

export interface Hasher {
  update(data: Uint8Array): unknown;
  digest(encoding: 'hex'): string;
}

const NODE_NAMES: Readonly<Record<Exclude<HashAlgorithm, 'CRC32'>, string>> = { 'SHA-256': 'sha256', 'SHA-512': 'sha512', 'SHA-1': 'sha1', MD5: 'md5' };

/** A streaming hash for one of HASH_ALGORITHMS (node:crypto, or our CRC-32). */
export function createHasher(algorithm: HashAlgorithm): Hasher {
  return algorithm === 'CRC32' ? new Crc32Hash() : createHash(NODE_NAMES[algorithm]);
}
