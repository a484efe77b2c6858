import { join, resolve } from 'node:path';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { assertSafeArgument, isSafeEntryName, joinInside, joinRemote } from '../../../src/client/safety.js';

describe('assertSafeArgument', () => {
  it.each(['a\r', 'a\n', '\0', 'x\r\nDELE y', 'ok\u0000'])('rejects %j', (value) => {
    expect(() => assertSafeArgument(value)).toThrow(expect.objectContaining({ code: 'FTPKIT_ERR_UNSAFE_PATH' }));
  });

  it.each(['', 'a b', 'ñandú', '../x', '"quoted"', '-la', 'tab\there'])('accepts %j', (value) => {
    expect(assertSafeArgument(value)).toBe(value);
  });

  it('rejects every string containing CR, LF or NUL', () => {
    fc.assert(fc.property(fc.string(), fc.constantFrom('\r', '\n', '\0'), fc.string(), (a, bad, b) => {
      expect(() => assertSafeArgument(a + bad + b)).toThrow();
    }));
  });
});

describe('isSafeEntryName', () => {
  it.each(['', '.', '..', '../x', 'a/b', '/abs', 'a\\b', '..\\win', 'x\ny', 'bell\u0007'])('refuses %j', (name) => {
    expect(isSafeEntryName(name)).toBe(false);
  });

  it.each(['a', '.hidden', '...', 'a b', 'ñandú', 'x..y', '-rf'])('allows %j', (name) => {
    expect(isSafeEntryName(name)).toBe(true);
  });

  it('never lets a safe name leave the root', () => {
    const root = resolve('/tmp/dest');
    fc.assert(fc.property(fc.string(), (name) => {
      if (!isSafeEntryName(name)) return;
      const full = joinInside(root, name);
      expect(full).not.toBeNull();
      expect(full!.startsWith(root + '/')).toBe(true);
    }));
  });
});

describe('joinInside / joinRemote', () => {
  it('refuses paths that resolve outside', () => {
    expect(joinInside('/tmp/dest', '../x')).toBeNull();
    expect(joinInside('/tmp/dest', '/etc/passwd')).toBeNull();
    expect(joinInside('/tmp/dest', 'a/../../x')).toBeNull();
    expect(joinInside('/tmp/dest', 'a/b')).toBe(join('/tmp/dest', 'a/b'));
  });

  it('joins remote paths with one slash', () => {
    expect(joinRemote('/', 'a')).toBe('/a');
    expect(joinRemote('/d', 'a')).toBe('/d/a');
    expect(joinRemote('/d/', 'a')).toBe('/d/a');
    expect(joinRemote('', 'a')).toBe('a');
  });
});
