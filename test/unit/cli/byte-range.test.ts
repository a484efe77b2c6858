import { describe, expect, it } from 'vitest';
import { looksLikeRange, parseByteRange, resolveRange } from '../../../src/cli/byte-range.js';
import { UsageError } from '../../../src/cli/usage-error.js';

describe('parseByteRange (curl -r syntax)', () => {
  it.each([
    ['0-99', { start: 0, end: 99 }],
    ['1000-1999', { start: 1000, end: 1999 }],
    ['7-7', { start: 7, end: 7 }],
    ['5000-', { start: 5000, end: undefined }],
    ['-500', { last: 500 }],
    ['6442450944-6442450950', { start: 6 * 1024 ** 3, end: 6 * 1024 ** 3 + 6 }],
  ])('%s', (text, want) => {
    expect(parseByteRange(text)).toEqual(want);
  });

  it.each(['', '-', 'abc', '1', '1-2-3', '1-2,5-6', ' 1-2', '0x1-2', '1.5-2', '-0', '5-2', '9999999999999999-', '1-9999999999999999'])('refuses %j with a UsageError', (text) => {
    expect(() => parseByteRange(text)).toThrow(UsageError);
  });
});

describe('resolveRange', () => {
  it('turns -N into the last N bytes, whole file when N is larger', () => {
    expect(resolveRange({ last: 10 }, 100)).toEqual({ start: 90, end: 99 });
    expect(resolveRange({ last: 1000 }, 100)).toEqual({ start: 0, end: 99 });
    expect(() => resolveRange({ last: 10 }, undefined)).toThrow(/needs the file size/);
    expect(resolveRange({ start: 3, end: undefined }, undefined)).toEqual({ start: 3, end: undefined });
  });
});

it('looksLikeRange spots what was meant for the old -r', () => {
  expect(['0-99', '100-', '-500'].every(looksLikeRange)).toBe(true);
  expect(['file.txt', 'ftp://h/x', '-', '10'].some(looksLikeRange)).toBe(false);
});
