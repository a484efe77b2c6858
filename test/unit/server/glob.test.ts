import { describe, expect, it } from 'vitest';
import { hasWildcard, matchGlob } from '../../../src/server/glob.js';

describe('matchGlob', () => {
  it.each([
    ['*.txt', 'a.txt', true],
    ['*.txt', 'a.bin', false],
    ['a?c', 'abc', true],
    ['a?c', 'ac', false],
    ['*', 'anything', true],
    ['*', '.hidden', false],
    ['.*', '.hidden', true],
    ['a*b*c', 'aXXbYYc', true],
    ['a*b*c', 'aXXbYY', false],
    ['', '', true],
    ['abc', 'abc', true],
  ])('%s ~ %s = %s', (pattern, name, expected) => {
    expect(matchGlob(pattern, name)).toBe(expected);
  });

  it('stays fast on patterns that make regexes backtrack', () => {
    const start = performance.now();
    expect(matchGlob('*a*a*a*a*a*a*a*a*a*a*b', 'a'.repeat(255))).toBe(false);
    expect(performance.now() - start).toBeLessThan(50);
  });

  it('hasWildcard', () => {
    expect(hasWildcard('*.txt')).toBe(true);
    expect(hasWildcard('plain')).toBe(false);
  });
});
