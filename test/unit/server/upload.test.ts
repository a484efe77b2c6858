import { describe, expect, it } from 'vitest';
import { MemoryStorage } from '../../../src/index.js';
import { isUploadTemporary, sweepUploadTemporaries, temporaryFor } from '../../../src/server/upload.js';

describe('upload temporaries', () => {
  it.each([
    ['/f.bin', '/.ftpkit-upload-f.bin'],
    ['/a/b/c.txt', '/a/b/.ftpkit-upload-c.txt'],
    ['/dir/.hidden', '/dir/.ftpkit-upload-.hidden'],
  ])('%s -> %s', (path, temp) => {
    expect(temporaryFor(path)).toBe(temp);
    expect(isUploadTemporary(temp)).toBe(true);
    expect(isUploadTemporary(path)).toBe(false);
  });

  it('a name too long for the prefix gets a hashed temporary that still fits NAME_MAX', () => {
    const long = `/d/${'é'.repeat(121)}`; // 242 bytes: with the prefix past 255
    const temp = temporaryFor(long);
    expect(temp).toMatch(/^\/d\/\.ftpkit-upload-[0-9a-f]{64}$/);
    expect(temporaryFor(long)).toBe(temp); // deterministic: resume finds it
    expect(temporaryFor(`/d/${'é'.repeat(120)}xx`)).not.toBe(temp);
  });

  it('sweepUploadTemporaries removes temporaries older than `before`, everywhere, and nothing else', async () => {
    const storage = new MemoryStorage({
      '/.ftpkit-upload-a': 'x',
      '/keep.txt': 'k',
      '/sub/.ftpkit-upload-b': 'y',
      '/sub/deeper/.ftpkit-upload-c': 'z',
      '/sub/.ftpkit-uploadish': 'not ours',
    });
    expect(await sweepUploadTemporaries(storage, { before: new Date(0) })).toBe(0);
    expect(await sweepUploadTemporaries(storage, { path: '/sub/deeper', before: new Date(Date.now() + 1000) })).toBe(1);
    expect(await sweepUploadTemporaries(storage, { before: new Date(Date.now() + 1000) })).toBe(2);
    expect(Object.keys(storage.snapshot()).sort()).toEqual(['/keep.txt', '/sub/.ftpkit-uploadish']);
  });
});
