/**
 * File hashes over FTP: HASH and OPTS HASH (draft-bryan-ftp-hash) and the
 * older one-algorithm verbs of ProFTPD's mod_digest (XCRC, XMD5, XSHA1,
 * XSHA256, XSHA512). One table for the client and the server.
 */

/** The algorithms ftpkit knows, in the order a client prefers them. */
export const HASH_ALGORITHMS = ['SHA-256', 'SHA-512', 'SHA-1', 'MD5', 'CRC32'] as const;
export type HashAlgorithm = (typeof HASH_ALGORITHMS)[number];

/** Digest length in hex digits. */
export const HASH_HEX_LENGTH: Readonly<Record<HashAlgorithm, number>> = { 'SHA-256': 64, 'SHA-512': 128, 'SHA-1': 40, MD5: 32, CRC32: 8 };

/** The legacy verb a client sends for each algorithm. */
export const LEGACY_HASH_VERB: Readonly<Record<HashAlgorithm, string>> = { 'SHA-256': 'XSHA256', 'SHA-512': 'XSHA512', 'SHA-1': 'XSHA1', MD5: 'XMD5', CRC32: 'XCRC' };

/** Every legacy verb a server answers, with its algorithm (XSHA is SHA-1, as in mod_digest). */
export const LEGACY_HASH_VERBS: Readonly<Record<string, HashAlgorithm>> = { XCRC: 'CRC32', XMD5: 'MD5', XSHA: 'SHA-1', XSHA1: 'SHA-1', XSHA256: 'SHA-256', XSHA512: 'SHA-512' };

/** `SHA-256` -> true: a name HASH_ALGORITHMS holds (exact spelling). */
export function isHashAlgorithm(value: unknown): value is HashAlgorithm {
  return typeof value === 'string' && (HASH_ALGORITHMS as readonly string[]).includes(value);
}
