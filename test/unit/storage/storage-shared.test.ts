import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { LocalStorage } from '../../../src/storage/local-storage.js';
import { MemoryStorage } from '../../../src/storage/memory-storage.js';
import { storageBehaviour } from './storage-behaviour.js';

storageBehaviour('LocalStorage', async (files) => {
  const root = await mkdtemp(join(tmpdir(), 'ftpkit-storage-'));
  for (const [key, content] of Object.entries(files)) {
    const host = join(root, key);
    if (key.endsWith('/')) await mkdir(host, { recursive: true });
    else {
      await mkdir(join(host, '..'), { recursive: true });
      await writeFile(host, content);
    }
  }
  return { storage: new LocalStorage(root), hostRoot: root, cleanup: () => rm(root, { recursive: true, force: true }) };
});

storageBehaviour('MemoryStorage', async (files) => ({
  storage: new MemoryStorage(files),
  cleanup: async () => {},
}));
