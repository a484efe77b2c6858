import { mkdir, mkdtemp, rm, symlink, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { listReaderOf } from '../../../src/storage/list-reader.js';
import { LocalStorage } from '../../../src/storage/local-storage.js';
import type { ListReader, StorageStat } from '../../../src/storage/types.js';

async function readAll(reader: ListReader, max: number): Promise<StorageStat[][]> {
  const batches: StorageStat[][] = [];
  for (;;) {
    const batch = await reader.read(max);
    if (batch.length === 0) break;
    expect(batch.length).toBeLessThanOrEqual(max);
    batches.push(batch);
  }
  await reader.close();
  return batches;
}

describe('LocalStorage.openList', () => {
  let base: string;
  let s: LocalStorage;
  beforeEach(async () => {
    base = await mkdtemp(join(tmpdir(), 'ftpkit-openlist-'));
    await mkdir(join(base, 'root', 'd'), { recursive: true });
    await writeFile(join(base, 'outside.txt'), 'secret');
    for (const n of ['b', 'a', 'C', 'é', '10', '9']) await writeFile(join(base, 'root', 'd', n), n);
    await mkdir(join(base, 'root', 'd', 'sub'));
    await symlink(join(base, 'outside.txt'), join(base, 'root', 'd', 'escape')); // hidden, as in list()
    await symlink('nowhere', join(base, 'root', 'd', 'dangling'));
    s = new LocalStorage(join(base, 'root'));
  });
  afterEach(async () => {
    await rm(base, { recursive: true, force: true });
  });

  it('gives what list() gives, sorted by name, in batches of at most max', async () => {
    const batches = await readAll(await s.openList('/d'), 2);
    // 'dangling' and 'escape' are hidden: their batches come back short, never empty.
    expect(batches.map((b) => b.map((e) => e.name))).toEqual([['10', '9'], ['C', 'a'], ['b'], ['sub'], ['é']]);
    const listed = (await s.list('/d')).map((e) => e.name).sort();
    expect(batches.flat().map((e) => e.name)).toEqual(listed);
    expect(batches.flat().find((e) => e.name === 'sub')?.type).toBe('dir');
    expect(batches.flat().find((e) => e.name === 'a')).toMatchObject({ type: 'file', size: 1 });
  });

  it('fails before resolving, as list() does', async () => {
    await expect(s.openList('/missing')).rejects.toMatchObject({ code: 'ENOENT' });
    await expect(s.openList('/d/a')).rejects.toMatchObject({ code: 'ENOTDIR' });
    await expect(s.openList('/d/escape')).rejects.toMatchObject({ code: 'ENOENT' });
  });

  it('reads through list() in a subclass that reshapes it', async () => {
    class OnlyA extends LocalStorage {
      override async list(p: string): Promise<StorageStat[]> {
        return (await super.list(p)).filter((e) => e.name === 'a' || e.name === 'b');
      }
    }
    const batches = await readAll(await new OnlyA(join(base, 'root')).openList('/d'), 10);
    expect(batches.flat().map((e) => e.name)).toEqual(['a', 'b']);
  });
});

describe('listReaderOf', () => {
  const entry = (name: string): StorageStat => ({ name, type: 'file', size: 0, mtime: new Date(0), mode: 0o644 });

  it('sorts by name and pages; [] after the end and after close', async () => {
    const reader = listReaderOf(['c', 'a', 'B', 'b'].map(entry));
    expect((await reader.read(3)).map((e) => e.name)).toEqual(['B', 'a', 'b']);
    expect((await reader.read(3)).map((e) => e.name)).toEqual(['c']);
    expect(await reader.read(3)).toEqual([]);
    const closed = listReaderOf([entry('x')]);
    await closed.close();
    expect(await closed.read(1)).toEqual([]);
  });
});
