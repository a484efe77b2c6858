// LocalStorage against a local process swapping a folder inside the root for a symlink to the
// outside (renameat2 RENAME_EXCHANGE in a loop): every call either acts inside the root or fails
// as missing. Reads never see the outside; writes never touch it. Linux only (HostJail's
// descriptor checks need /proc/self/fd; elsewhere the README documents the remaining window).
import { createHash } from 'node:crypto';
import { lstat, mkdir, mkdtemp, readdir, readFile, rm, symlink, utimes, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { finished } from 'node:stream/promises';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { LocalStorage } from '../../../src/storage/local-storage.js';
import { readAll } from './storage-behaviour.js';
import { canRace, startSwapRacer, type SwapRacer } from './symlink-racer.js';

const ROUNDS = 400;
const OLD_TIME = new Date('2001-02-03T04:05:06Z');
const INSIDE = 'inside!';
const OUTSIDE = 'OUTSIDE, secret and longer';

let base: string;
let root: string;
let outside: string;
let racer: SwapRacer | undefined;
let s: LocalStorage;

async function populate(at: string, content: string, extra: string): Promise<void> {
  await mkdir(at, { recursive: true });
  for (const name of ['a.txt', 'b.txt', extra]) await writeFile(join(at, name), content, { mode: 0o640 });
  for (let i = 0; i < ROUNDS; i++) {
    await writeFile(join(at, `n-${i}`), content, { mode: 0o640 });
    await writeFile(join(at, `r-${i}`), content, { mode: 0o640 });
  }
  for (const name of await readdir(at)) await utimes(join(at, name), OLD_TIME, OLD_TIME);
  await utimes(at, OLD_TIME, OLD_TIME);
}

async function snapshot(top: string): Promise<string[]> {
  const out: string[] = [];
  for (const name of (await readdir(top)).sort()) {
    const st = await lstat(join(top, name));
    const hash = st.isFile() ? createHash('sha256').update(await readFile(join(top, name))).digest('hex') : '';
    out.push(`${name} ${st.isFile() ? 'f' : 'o'} ${(st.mode & 0o7777).toString(8)} ${st.mtimeMs} ${hash}`);
  }
  return out;
}

/** Runs `fn`; missing-style failures are what a lost race looks like, anything else is a bug. */
async function tolerate<T>(fn: () => Promise<T>): Promise<T | undefined> {
  try {
    return await fn();
  } catch (err) {
    expect(['ENOENT', 'ENOTDIR', 'EEXIST']).toContain((err as NodeJS.ErrnoException).code);
    return undefined;
  }
}

beforeEach(async () => {
  base = await mkdtemp(join(tmpdir(), 'ftpkit-race-unit-'));
  root = join(base, 'root');
  outside = join(base, 'outside');
  await populate(join(root, 'd'), INSIDE, 'inside-only');
  await populate(outside, OUTSIDE, 'outside-only');
  await symlink(outside, join(root, 'swap'));
  s = new LocalStorage(root);
});

afterEach(async () => {
  await racer?.stop();
  racer = undefined;
  await rm(base, { recursive: true, force: true });
});

describe.skipIf(!canRace())('LocalStorage: a folder swapped for a symlink to the outside, mid-call', () => {
  it('stat, list, read and openReader never report the outside', { timeout: 120_000 }, async () => {
    racer = await startSwapRacer(join(root, 'd'), join(root, 'swap'));
    const seen = { stat: 0, list: 0, read: 0, reader: 0 };
    for (let i = 0; i < ROUNDS; i++) {
      const st = await tolerate(() => s.stat('/d/a.txt'));
      if (st) {
        expect(st.size).toBe(INSIDE.length);
        seen.stat++;
      }
      const names = await tolerate(() => s.list('/d'));
      if (names) {
        expect(names.map((e) => e.name)).not.toContain('outside-only');
        for (const e of names) expect(e.size).toBe(INSIDE.length);
        seen.list++;
      }
      const bytes = await tolerate(() => readAll(s, '/d/b.txt'));
      if (bytes) {
        expect(bytes.toString()).toBe(INSIDE);
        seen.read++;
      }
      const reader = await tolerate(() => s.openReader('/d/a.txt'));
      if (reader) {
        const into = Buffer.alloc(64);
        const n = await reader.read(into);
        await reader.close();
        expect(into.toString('utf8', 0, n)).toBe(INSIDE);
        seen.reader++;
      }
    }
    await racer.stop();
    // each kind of call did succeed sometimes: the race ran against working calls
    for (const [what, n] of Object.entries(seen)) expect(n, what).toBeGreaterThan(0);
  });

  it('chmod, setMtime, delete, mkdir, rmdir, write, truncate and rename never touch the outside', { timeout: 120_000 }, async () => {
    const before = await snapshot(outside);
    racer = await startSwapRacer(join(root, 'd'), join(root, 'swap'));
    const done: Record<string, number> = {};
    const count = async (what: string, fn: () => Promise<unknown>): Promise<void> => {
      if ((await tolerate(() => fn().then(() => true))) !== undefined) done[what] = (done[what] ?? 0) + 1;
    };
    for (let i = 0; i < ROUNDS; i++) {
      await count('chmod', () => s.chmod('/d/a.txt', 0o777));
      await count('setMtime', () => s.setMtime('/d/a.txt', new Date()));
      await count('delete', () => s.delete(`/d/n-${i}`));
      await count('mkdir', () => s.mkdir(`/d/m-${i}`));
      await count('rmdir', () => s.rmdir(`/d/m-${i}`));
      await count('truncate', () => s.truncate('/d/b.txt', 1));
      await count('write', async () => {
        const w = await s.createWriteStream(i % 2 ? '/d/b.txt' : `/d/w-${i}`, i % 4 === 1 ? { append: true } : {});
        w.end('written');
        await finished(w);
      });
      await count('rename', () => s.rename(`/d/r-${i}`, `/d/r-${i}.moved`));
    }
    await racer.stop();
    expect(await snapshot(outside)).toEqual(before);
    expect((await readdir(base)).sort()).toEqual(['outside', 'root']);
    // each kind of call did succeed sometimes: the race ran against working calls
    for (const what of ['chmod', 'setMtime', 'delete', 'mkdir', 'rmdir', 'truncate', 'write', 'rename']) {
      expect(done[what] ?? 0, what).toBeGreaterThan(0);
    }
  });
});
