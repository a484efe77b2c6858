// The files every server serves: made once per run, hard-linked into each server's root
// (one inode, so one copy in the page cache; the bench's temp folder is on tmpfs when it can be).
import { randomBytes } from 'node:crypto';
import { createWriteStream } from 'node:fs';
import { chmod, link, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { once } from 'node:events';
import { finished } from 'node:stream/promises';
import { MiB } from './util.js';

export interface Fixtures {
  big: { name: string; path: string; bytes: number };
  small: { name: string; path: string; bytes: number };
}

async function writeFile(path: string, bytes: number): Promise<void> {
  const block = randomBytes(MiB);
  const out = createWriteStream(path);
  for (let left = bytes; left > 0; left -= MiB) {
    if (!out.write(left >= MiB ? block : block.subarray(0, left))) await once(out, 'drain');
  }
  out.end();
  await once(out, 'finish');
  await chmod(path, 0o644);
}

export async function makeFixtures(dir: string, bigBytes: number, smallBytes: number): Promise<Fixtures> {
  const big = { name: 'big.bin', path: join(dir, 'big.bin'), bytes: bigBytes };
  const small = { name: 'small.bin', path: join(dir, 'small.bin'), bytes: smallBytes };
  await Promise.all([writeFile(big.path, bigBytes), writeFile(small.path, smallBytes)]);
  return { big, small };
}

/** Puts the fixtures into `root` as hard links. */
export async function installFixtures(root: string, f: Fixtures): Promise<void> {
  for (const file of [f.big, f.small]) {
    const target = join(root, file.name);
    await rm(target, { force: true });
    await link(file.path, target);
  }
}

/** A web-server-like log, about 10:1 under zlib level 6 (the compression benches). */
export async function writeText(path: string, bytes: number): Promise<void> {
  const out = createWriteStream(path);
  let n = 0;
  for (let i = 0; n < bytes; i++) {
    const lines: string[] = [];
    for (let j = 0; j < 1000; j++) {
      const k = i * 1000 + j;
      lines.push(`10.0.${k % 256}.${(k * 7) % 256} - - [01/May/2024:12:${String(k % 60).padStart(2, '0')}:07 +0000] "GET /api/items/${k % 50_000}?page=${k % 40} HTTP/1.1" 200 ${(k * 31) % 90_000} "-" "curl/8.5.0"\n`);
    }
    const chunk = Buffer.from(lines.join('')).subarray(0, bytes - n);
    n += chunk.length;
    if (!out.write(chunk)) await new Promise<void>((r) => out.once('drain', () => r()));
  }
  out.end();
  await finished(out);
}

export async function writeRandom(path: string, bytes: number): Promise<void> {
  const out = createWriteStream(path);
  for (let n = 0; n < bytes; n += MiB) if (!out.write(randomBytes(Math.min(MiB, bytes - n)))) await new Promise<void>((r) => out.once('drain', () => r()));
  out.end();
  await finished(out);
}
