import { randomBytes } from 'node:crypto';
import { spawnSync } from 'node:child_process';
import { gzipSync } from 'node:zlib';
import { describe, expect, it } from 'vitest';
import { Crc32Hash, crc32 } from '../../../src/util/crc32.js';

/** zlib's CRC-32 of `data`, read from the gzip trailer (RFC 1952 section 2.3.1). */
function zlibCrc(data: Buffer): number {
  const gz = gzipSync(data);
  return gz.readUInt32LE(gz.length - 8);
}

describe('crc32', () => {
  it.each([
    ['', 0x00000000],
    ['a', 0xe8b7be43],
    ['abc', 0x352441c2],
    ['123456789', 0xcbf43926],
    ['The quick brown fox jumps over the lazy dog', 0x414fa339],
  ])('known vector %j', (text, expected) => {
    expect(crc32(Buffer.from(text))).toBe(expected);
  });

  it('equals zlib for every length 0..300 and a 1 MiB buffer', () => {
    const data = randomBytes(1024 * 1024);
    for (let n = 0; n <= 300; n++) expect(crc32(data.subarray(0, n))).toBe(zlibCrc(data.subarray(0, n)));
    expect(crc32(data)).toBe(zlibCrc(data));
  });

  it('continues across any split, as a streaming hash must', () => {
    const data = randomBytes(4099);
    const whole = crc32(data);
    for (const cut of [0, 1, 7, 8, 9, 2048, 4098, 4099]) {
      expect(crc32(data.subarray(cut), crc32(data.subarray(0, cut)))).toBe(whole);
    }
    const h = new Crc32Hash();
    for (let i = 0; i < data.length; i += 333) h.update(data.subarray(i, i + 333));
    expect(h.digest('hex')).toBe(whole.toString(16).padStart(8, '0'));
  });

  it.skipIf(spawnSync('/usr/bin/python3', ['-c', '1']).status !== 0)("equals Python's zlib.crc32", () => {
    const data = randomBytes(100_000);
    const r = spawnSync('/usr/bin/python3', ['-c', 'import sys,zlib; print(zlib.crc32(sys.stdin.buffer.read()))'], { input: data, encoding: 'utf8' });
    expect(Number(r.stdout.trim())).toBe(crc32(data));
  });
});
