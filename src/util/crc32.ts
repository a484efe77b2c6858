/**
 * CRC-32 (ISO-HDLC: the one of zlib, gzip, PNG and FTP's XCRC/HASH CRC32), reflected,
 * polynomial 0xEDB88320. Node 20 has no zlib.crc32 (it arrived in Node 22).
 *
 * Slicing-by-8: eight 256-entry tables let the loop take 8 bytes per step, ~4x faster than the
 * byte-at-a-time loop, which still handles the tail.
 */
const TABLES: Uint32Array[] = (() => {
  const tables = Array.from({ length: 8 }, () => new Uint32Array(256));
  const t0 = tables[0]!;
  for (let n = 0; n < 256; n++) {
    let c = n;
    for (let k = 0; k < 8; k++) c = c & 1 ? 0xedb88320 ^ (c >>> 1) : c >>> 1;
    t0[n] = c >>> 0;
  }
  for (let n = 0; n < 256; n++) {
    let c = t0[n]!;
    for (let k = 1; k < 8; k++) {
      c = t0[c & 0xff]! ^ (c >>> 8);
      tables[k]![n] = c >>> 0;
    }
  }
  return tables;
})();
const [T0, T1, T2, T3, T4, T5, T6, T7] = TABLES as [Uint32Array, Uint32Array, Uint32Array, Uint32Array, Uint32Array, Uint32Array, Uint32Array, Uint32Array];

/** CRC-32 of `data`, continuing from `previous` (the CRC of the bytes before it; 0 to start). */
export function crc32(data: Uint8Array, previous = 0): number {
  let crc = ~previous >>> 0;
  let i = 0;
  const n = data.length;
  const end8 = n - (n % 8);
  while (i < end8) {
    const a = (crc ^ (data[i]! | (data[i + 1]! << 8) | (data[i + 2]! << 16) | (data[i + 3]! << 24))) >>> 0;
    crc =
      T7[a & 0xff]! ^
      T6[(a >>> 8) & 0xff]! ^
      T5[(a >>> 16) & 0xff]! ^
      T4[a >>> 24]! ^
      T3[data[i + 4]!]! ^
      T2[data[i + 5]!]! ^
      T1[data[i + 6]!]! ^
      T0[data[i + 7]!]!;
    i += 8;
  }
  while (i < n) crc = T0[(crc ^ data[i++]!) & 0xff]! ^ (crc >>> 8);
  return ~crc >>> 0;
}

/** A node:crypto Hash look-alike (update/digest) for streaming CRC-32. */
export class Crc32Hash {
  #crc = 0;

  update(data: Uint8Array): this {
    this.#crc = crc32(data, this.#crc);
    return this;
  }

  /** The 4 bytes, big-endian (how hex CRCs are written: 'cbf43926' for '123456789'). */
  digest(): Buffer;
  digest(encoding: 'hex'): string;
  digest(encoding?: 'hex'): Buffer | string {
    const out = Buffer.alloc(4);
    out.writeUInt32BE(this.#crc);
    return encoding === 'hex' ? out.toString('hex') : out;
  }
}
