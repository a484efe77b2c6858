// Permissions: which letters apply where (overrides, matched exactly and loosely) and which
// renames may happen (issue 12, items 5 and 11). The commands are tested over real connections
// in test/integration/server/permissions-hardening.test.ts.
import { describe, expect, it } from 'vitest';
import { Permissions, type RenamePlan } from '../../../src/server/permissions.js';
import { LocalStorage } from '../../../src/storage/local-storage.js';
import { MemoryStorage } from '../../../src/storage/memory-storage.js';

describe('Permissions.at', () => {
  const p = new Permissions('elradfmw', { '/shared/ro': 'elr', '/shared/drop/': 'w', '/pub': 'elrdfmw', '/pub/in': 'elrdfmwMT' });

  it.each([
    ['/', 'elradfmw'],
    ['/shared', 'elradfmw'],
    ['/shared/ro', 'elr'],
    ['/shared/ro/x/y', 'elr'],
    ['/shared/rox', 'elradfmw'],
    ['/shared/drop', 'w'],
    ['/shared/drop/f', 'w'],
    // Spellings a case-insensitive (or Windows) file system takes for the override folders:
    // never more than the override allows.
    ['/SHARED/RO/x', 'elr'],
    ['/Shared/Drop', 'w'],
    ['/shared/ro./x', 'elr'],
    ['/shared/ro  /x', 'elr'],
    // The loose match only takes away: /PUB/in is /pub/in on macOS (elrdfmwMT), /PUB then /in
    // on Linux (the base): both, not more.
    ['/PUB/in/x', 'elrdfmw'],
    ['/pub/in/x', 'elrdfmwMT'],
    // A name of dots only is not folded away.
    ['/...', 'elradfmw'],
  ])('%s: %s', (path, letters) => {
    expect(p.at(path)).toBe(letters);
  });

  it('NFC and NFD spellings of an override folder match', () => {
    const q = new Permissions('elradfmw', { '/caf\u00e9': 'elr' });
    expect(q.at('/cafe\u0301/x')).toBe('elr');
  });

  it('overrideWithin: the override folders a rename would carry or cover', () => {
    expect(p.overrideWithin('/shared')).toMatch(/^\/shared\/(ro|drop)$/);
    expect(p.overrideWithin('/Shared/')).toBeUndefined(); // callers pass normalised paths
    expect(p.overrideWithin('/SHARED')).toMatch(/^\/shared\/(ro|drop)$/);
    expect(p.overrideWithin('/shared/ro')).toBe('/shared/ro');
    expect(p.overrideWithin('/shared/ro/x')).toBeUndefined();
    expect(p.overrideWithin('/sharedx')).toBeUndefined();
    expect(new Permissions('elr', { '/': 'elrw' }).overrideWithin('/a')).toBeUndefined(); // '/' is never renamed
  });
});

describe('Permissions.checkRename', () => {
  const p = new Permissions('edfw', { '/pub': 'elrdfmw', '/keep': 'elrfw', '/ro': 'elr', '/a/b': 'elrdfmw', '/fo': 'elrf' });
  const plan = (from: string, to: string, more: Partial<RenamePlan> = {}): RenamePlan => ({ from, to, moved: 'file', storeMayReplace: true, ...more });

  it.each<[string, RenamePlan, { path: string; why: RegExp } | undefined]>([
    ['same rules', plan('/x', '/y'), undefined],
    ['no f at the target', plan('/x', '/ro/x'), { path: '/ro/x', why: /^rename not allowed$/ }],
    ['source holds an override', plan('/a', '/z', { moved: 'dir' }), { path: '/a', why: /^\/a\/b inside has its own/ }],
    ['target is an override', plan('/x', '/a/b'), { path: '/a/b', why: /^it has its own/ }],
    ['target holds an override (case)', plan('/x', '/A', { moved: 'dir' }), { path: '/A', why: /^\/a\/b inside has/ }],
    ['gains letters', plan('/x', '/pub/x'), { path: '/pub/x', why: /would allow 'lrm'/ }],
    ['no d at the source', plan('/keep/x', '/pub/x'), { path: '/keep/x', why: /^delete not allowed/ }],
    ['a folder needs m at the target', plan('/pub/d', '/d', { moved: 'dir' }), { path: '/d', why: /^make folder not allowed$/ }],
    ['loosens nothing', plan('/pub/x', '/x'), undefined],
    ['replace a file with w', plan('/x', '/y', { replaced: 'file' }), undefined],
    ['replace a file with w, no d', plan('/keep/x', '/keep/y', { replaced: 'file' }), undefined],
    ['replace a file with w, no d, anonymous', plan('/keep/x', '/keep/y', { replaced: 'file', storeMayReplace: false }), { path: '/keep/y', why: /^delete not allowed; replacing a file/ }],
    ['replace a file with neither', plan('/fo/x', '/fo/y', { replaced: 'file' }), { path: '/fo/y', why: /^delete or store not allowed; replacing a file needs it$/ }],
    ['replace a folder', plan('/keep/x', '/keep/y', { moved: 'dir', replaced: 'dir' }), { path: '/keep/y', why: /^delete not allowed; replacing a folder/ }],
  ])('%s', (_name, input, want) => {
    const got = p.checkRename(input);
    if (want === undefined) expect(got).toBeUndefined();
    else expect(got).toEqual({ path: want.path, why: expect.stringMatching(want.why) });
  });
});

describe('Storage.lockScope', () => {
  it('LocalStorage: the real folder, whatever the spelling; MemoryStorage: one per instance', () => {
    expect(new LocalStorage('/tmp/../tmp/').lockScope).toBe(new LocalStorage('/tmp').lockScope);
    expect(new MemoryStorage().lockScope).not.toBe(new MemoryStorage().lockScope);
  });
});
