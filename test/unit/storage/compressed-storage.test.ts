import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { CompressedStorage } from '../../../src/storage/compressed-storage.js';
import { LocalStorage } from '../../../src/storage/local-storage.js';
import { MemoryStorage } from '../../../src/storage/memory-storage.js';
import { storageBehaviour, writeAll } from './storage-behaviour.js';

/** The fixture's files written through the CompressedStorage, so they are in its format. */
async function fill(storage: CompressedStorage, files: Record<string, string>): Promise<void> {
  for (const [key, content] of Object.entries(files)) {
    if (key.endsWith('/')) await storage.mkdir(key.slice(0, -1));
    else {
      const parts = key.split('/').filter(Boolean);
      for (let i = 1; i < parts.length; i++) await storage.mkdir('/' + parts.slice(0, i).join('/')).catch(() => {});
      await writeAll(storage, key, content);
    }
  }
}

storageBehaviour('CompressedStorage over LocalStorage', async (files) => {
  const root = await mkdtemp(join(tmpdir(), 'ftpkit-zstorage-'));
  const storage = new CompressedStorage(new LocalStorage(root));
  await fill(storage, files);
  return { storage, hostRoot: root, cleanup: () => rm(root, { recursive: true, force: true }) };
});

storageBehaviour('CompressedStorage over MemoryStorage', async (files) => {
  const storage = new CompressedStorage(new MemoryStorage());
  await fill(storage, files);
  return { storage, cleanup: async () => {} };
});

storageBehaviour('CompressedStorage over plain files already on disk', async (files) => {
  const root = await mkdtemp(join(tmpdir(), 'ftpkit-zstorage-'));
  for (const [key, content] of Object.entries(files)) {
    const host = join(root, key);
    if (key.endsWith('/')) await mkdir(host, { recursive: true });
    else {
      await mkdir(join(host, '..'), { recursive: true });
      await writeFile(host, content);
    }
  }
  return { storage: new CompressedStorage(new LocalStorage(root)), hostRoot: root, cleanup: () => rm(root, { recursive: true, force: true }) };
});
