import { randomBytes } from 'node:crypto';
import { closeSync, fstatSync, openSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { fdReader } from '../../../src/data/fd-reader.js';
import { makeTempDir, type TempDir } from '../../helpers/tmp.js';

let tmp: TempDir;
const body = randomBytes(100_000);
let file: string;
beforeAll(async () => {
  tmp = await makeTempDir('ftpkit-fdreader-');
  file = join(tmp.path, 'f.bin');
  writeFileSync(file, body);
});
afterAll(() => tmp.cleanup());

const isOpen = (fd: number): boolean => {
  try {
    fstatSync(fd);
    return true;
  } catch {
    return false;
  }
};

async function readAll(reader: { read(into: Buffer): Promise<number> }, size: number): Promise<Buffer> {
  const parts: Buffer[] = [];
  const block = Buffer.alloc(size);
  for (let n; (n = await reader.read(block)) > 0; ) parts.push(Buffer.from(block.subarray(0, n)));
  return Buffer.concat(parts);
}

describe('fdReader', () => {
  it('reads exactly [start, stop) in blocks, then 0', async () => {
    const fd = openSync(file, 'r');
    const reader = fdReader(fd, 1234, 90_001);
    expect((await readAll(reader, 7000)).equals(body.subarray(1234, 90_001))).toBe(true);
    expect(await reader.read(Buffer.alloc(10))).toBe(0);
    await reader.close();
    expect(isOpen(fd)).toBe(false);
  });

  it('reads nothing when start is at or past stop', async () => {
    const fd = openSync(file, 'r');
    const reader = fdReader(fd, 500, 500);
    expect(await reader.read(Buffer.alloc(10))).toBe(0);
    await reader.close();
  });

  it('closes once, after the read in flight, and reads nothing after close', async () => {
    const fd = openSync(file, 'r');
    let released = 0;
    const reader = fdReader(fd, 0, body.length, {
      release: async () => {
        released++;
        closeSync(fd);
      },
    });
    const into = Buffer.alloc(body.length);
    const reading = reader.read(into);
    const closing = reader.close();
    expect(await reading).toBe(body.length);
    expect(into.equals(body)).toBe(true);
    await Promise.all([closing, reader.close()]);
    expect(released).toBe(1);
    expect(await reader.read(into)).toBe(0);
  });

  it('passes read errors through mapError', async () => {
    const dirFd = openSync(tmp.path, 'r');
    const reader = fdReader(dirFd, 0, 10, { mapError: (e) => new Error(`mapped ${e.code}`) });
    await expect(reader.read(Buffer.alloc(10))).rejects.toThrow('mapped EISDIR');
    await reader.close();
    expect(isOpen(dirFd)).toBe(false);
  });
});
