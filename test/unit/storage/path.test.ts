import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { FtpError } from '../../../src/errors.js';
import {
  checkVirtualPath,
  joinVirtual,
  resolveVirtualPath,
  virtualBasename,
  virtualDirname,
} from '../../../src/storage/path.js';

describe('resolveVirtualPath', () => {
  it.each([
    ['/', 'a', '/a'],
    ['/a/b', 'c', '/a/b/c'],
    ['/a/b', '/c', '/c'],
    ['/a/b', '..', '/a'],
    ['/a/b', '../..', '/'],
    ['/a/b', '../../../../etc/passwd', '/etc/passwd'],
    ['/', '..', '/'],
    ['/', '', '/'],
    ['/a', '', '/a'],
    ['/a', '.', '/a'],
    ['/a', './b/./c/', '/a/b/c'],
    ['/a', 'b//c///d', '/a/b/c/d'],
    ['/a', '..\\..\\etc', '/etc'],
    ['/a/b', '\\x', '/x'], // a leading backslash is a leading '/': absolute
    ['/', 'a\\b\\..\\c', '/a/c'],
    ['/', '%2e%2e/x', '/%2e%2e/x'], // percent-encoding is literal: no decoding here
    ['/', '...', '/...'],
    ['/', '..a/b..', '/..a/b..'],
    ['/', ' spaced name ', '/ spaced name '],
    ['/', 'ünïcödé/файл', '/ünïcödé/файл'],
    ['a/b', 'c', '/a/b/c'], // a relative cwd is taken from the root
    ['\\a\\b', '..', '/a'],
  ])('(%j, %j) -> %j', (cwd, input, expected) => {
    expect(resolveVirtualPath(cwd, input)).toBe(expected);
  });

  it.each(['a\0b', 'a\rb', 'a\nb', '\0', 'ok\r\nDELE x'])('rejects %j with FTPKIT_ERR_UNSAFE_PATH', (input) => {
    expect(() => resolveVirtualPath('/', input)).toThrowError(FtpError);
    try {
      resolveVirtualPath('/', input);
    } catch (err) {
      expect((err as FtpError).code).toBe('FTPKIT_ERR_UNSAFE_PATH');
    }
    expect(() => resolveVirtualPath(input, 'x')).toThrowError(/NUL, CR or LF/);
  });

  // Segments drawn from the tricky alphabet so fast-check hits '..', '.', '\\' and '//' often.
  const tricky = fc.oneof(
    fc.constantFrom('..', '.', '', '...', '\\', '/', '..\\', '%2e%2e', 'a', 'b'),
    fc.string({ maxLength: 6 }).filter((s) => !/[\0\r\n]/.test(s)),
  );
  const pathLike = fc
    .tuple(fc.boolean(), fc.constantFrom('/', '\\'), fc.array(tricky, { maxLength: 12 }))
    .map(([absolute, sep, parts]) => (absolute ? sep : '') + parts.join(sep));

  it('always yields a normalised absolute path, idempotently (property)', () => {
    fc.assert(
      fc.property(pathLike, pathLike, (cwd, input) => {
        const out = resolveVirtualPath(cwd, input);
        expect(out.startsWith('/')).toBe(true);
        expect(out).not.toContain('\\');
        expect(out).not.toContain('//');
        const segments = out.split('/').slice(1);
        expect(segments).not.toContain('..');
        expect(segments).not.toContain('.');
        if (out !== '/') expect(segments).not.toContain('');
        // idempotent, whatever cwd it is re-resolved against
        expect(resolveVirtualPath('/', out)).toBe(out);
        expect(resolveVirtualPath(out, out)).toBe(out);
        expect(resolveVirtualPath(cwd, out)).toBe(out);
      }),
      { numRuns: 2000 },
    );
  });

  it('never climbs above the root however many .. (property)', () => {
    fc.assert(
      fc.property(fc.nat({ max: 50 }), fc.constantFrom('/', '\\'), fc.string({ maxLength: 8 }), (n, sep, tail) => {
        fc.pre(!/[\0\r\n/\\]/.test(tail) && tail !== '.' && tail !== '..');
        const out = resolveVirtualPath('/home/user', Array(n).fill('..').join(sep) + sep + tail);
        expect(out.startsWith('/')).toBe(true);
        expect(out.split('/').length).toBeLessThanOrEqual(4);
      }),
    );
  });
});

describe('virtual path helpers', () => {
  it.each([
    ['/', '/', '/'],
    ['/a', '/', 'a'],
    ['/a/b', '/a', 'b'],
    ['/a/b/c.txt', '/a/b', 'c.txt'],
  ])('%j -> dirname %j, basename %j', (p, dir, base) => {
    expect(virtualDirname(p)).toBe(dir);
    expect(virtualBasename(p)).toBe(base);
  });

  it.each([
    ['/', 'a', '/a'],
    ['/a', 'b', '/a/b'],
    ['/a', '/b', '/a/b'], // a leading separator in the name does not make it absolute
    ['/a', '\\b', '/a/b'],
    ['/a/b', '..', '/a'],
  ])('joinVirtual(%j, %j) -> %j', (dir, name, expected) => {
    expect(joinVirtual(dir, name)).toBe(expected);
  });

  it('checkVirtualPath normalises and turns unsafe paths into EINVAL storage errors', () => {
    expect(checkVirtualPath('a/../b')).toBe('/b');
    expect(() => checkVirtualPath('/a\0b')).toThrowError(expect.objectContaining({ code: 'EINVAL' }));
  });
});
