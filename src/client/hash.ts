import { createReadStream } from 'node:fs';
import { HASH_ALGORITHMS, HASH_HEX_LENGTH, LEGACY_HASH_VERB, type HashAlgorithm } from '../protocol/hash.js';
import { createHasher } from '../protocol/hasher.js';
import { expect, protocolError, type ControlSession } from './control-session.js';

export { HASH_ALGORITHMS, type HashAlgorithm };

/** The algorithm OPTS HASH last selected, per session (FEAT's star only tells the first). */
const selected = new WeakMap<ControlSession, string>();

/**
 * The server's hash of `path`, lower-case hex: HASH (after OPTS HASH when another algorithm is
 * selected) when FEAT offers the algorithm, else the legacy XCRC/XMD5/XSHA1/XSHA256/XSHA512.
 * Replies are read as ProFTPD's mod_digest and ftpkit write them, multi-line or not.
 */
export async function remoteHash(s: ControlSession, path: string, algorithm: HashAlgorithm): Promise<string> {
  const offered = (s.features.get('HASH') ?? '').split(';').map((a) => a.trim()).filter(Boolean);
  const names = offered.map((a) => a.replace(/\*$/, '').toUpperCase());
  let hex: string | undefined;
  if (names.includes(algorithm)) {
    const current = selected.get(s) ?? offered.find((a) => a.endsWith('*'))?.slice(0, -1).toUpperCase();
    if (current !== algorithm) {
      await expect(s, `OPTS HASH ${algorithm}`, [200]);
      selected.set(s, algorithm);
    }
    const reply = await expect(s, `HASH ${path}`, [213]);
    // "213 SHA-256 0-12 <hex> <path>" (ProFTPD puts a "Computing..." line first).
    const words = (reply.lines[reply.lines.length - 1] ?? '').replace(/^213[ -]/, '').trim().split(' ');
    if (words[0]?.toUpperCase() !== algorithm) throw protocolError(`HASH answered another algorithm than ${algorithm}`, reply);
    hex = words[2];
    if (!hex || !isHex(hex, algorithm)) throw protocolError('malformed HASH reply', reply);
  } else {
    const reply = await expect(s, `${LEGACY_HASH_VERB[algorithm]} ${path}`, [250, 213]);
    const words = (reply.lines[reply.lines.length - 1] ?? '').replace(/^2\d\d[ -]/, '').trim().split(' ');
    hex = words.find((w) => isHex(w, algorithm));
    if (!hex) throw protocolError(`malformed ${LEGACY_HASH_VERB[algorithm]} reply`, reply);
  }
  return hex.toLowerCase();
}

function isHex(word: string, algorithm: HashAlgorithm): boolean {
  return word.length === HASH_HEX_LENGTH[algorithm] && /^[0-9a-fA-F]+$/.test(word);
}

/** The same hash of a local file, streamed, lower-case hex. */
export async function localHash(file: string, algorithm: HashAlgorithm): Promise<string> {
  const h = createHasher(algorithm);
  for await (const chunk of createReadStream(file, { highWaterMark: 1024 * 1024 })) h.update(chunk as Buffer);
  return h.digest('hex');
}

/** The best algorithm both sides have: the first of SHA-256, SHA-512, SHA-1, MD5, CRC32 offered. */
export function pickHashAlgorithm(features: ReadonlyMap<string, string>): HashAlgorithm | undefined {
  const offered = (features.get('HASH') ?? '').split(';').map((a) => a.trim().replace(/\*$/, '').toUpperCase());
  return HASH_ALGORITHMS.find((a) => offered.includes(a)) ?? HASH_ALGORITHMS.find((a) => features.has(LEGACY_HASH_VERB[a]));
}
