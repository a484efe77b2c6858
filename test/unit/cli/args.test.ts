// The CLI's one number/size/duration parser and its one exit policy.
import { describe, expect, it, vi } from 'vitest';
import { parseFlags } from '../../../src/cli/args.js';
import { EXIT_FAILURE, EXIT_INTERRUPTED, EXIT_USAGE, InterruptedError, reportError } from '../../../src/cli/exit.js';
import { parseCount, parseDuration, parsePort, parseSize } from '../../../src/cli/numbers.js';
import { UsageError } from '../../../src/cli/usage-error.js';

/** The message of the UsageError `fn` throws. */
function refusal(fn: () => unknown): string {
  try {
    fn();
  } catch (err) {
    expect(err).toBeInstanceOf(UsageError);
    return (err as Error).message;
  }
  throw new Error('accepted');
}

describe('parseCount', () => {
  it.each([
    ['0', {}, 0],
    ['32', { min: 1, max: 32 }, 32],
    ['9007199254740991', {}, Number.MAX_SAFE_INTEGER],
  ])('%s %j -> %d', (text, range, value) => expect(parseCount(text, '--n', range)).toBe(value));

  it.each([
    ['0', { min: 1, max: 32 }, "--n takes 1 to 32, got '0'"],
    ['1.5', { min: 1, max: 32 }, "--n takes 1 to 32, got '1.5'"],
    ['x', {}, "--n takes a whole number, got 'x'"],
    ['-1', {}, "--n takes a whole number, got '-1'"],
    ['1e3', {}, "--n takes a whole number, got '1e3'"],
    ['', {}, "--n takes a whole number, got ''"],
    [' 1', {}, "--n takes a whole number, got ' 1'"],
    ['0', { min: 1 }, "--n takes a whole number from 1, got '0'"],
    ['99999999999999999', {}, "--n takes a whole number, got '99999999999999999'"],
  ])('refuses %j %j', (text, range, message) => expect(refusal(() => parseCount(text, '--n', range))).toBe(message));
});

describe('parsePort', () => {
  it('takes 0 to 65535, or from a minimum', () => {
    expect(parsePort('0', '--port')).toBe(0);
    expect(parsePort('65535', '--port')).toBe(65535);
    expect(refusal(() => parsePort('65536', '--port'))).toBe("--port takes a port from 0 to 65535, got '65536'");
    expect(refusal(() => parsePort('80', '--p', 1024))).toBe("--p takes a port from 1024 to 65535, got '80'");
  });
});

describe('parseSize', () => {
  it.each([
    ['0', 0],
    ['1024', 1024],
    ['5k', 5120],
    ['2M', 2 * 1024 ** 2],
    ['1.5G', 1.5 * 1024 ** 3],
    ['5MiB', 5 * 1024 ** 2],
    ['3KB', 3072],
  ])('%s -> %d', (text, value) => expect(parseSize(text, '--rate')).toBe(value));

  it.each(['1.5', '5X', 'M', '-1', '1e6', '5 M'])('refuses %j', (text) => {
    expect(refusal(() => parseSize(text, '--rate'))).toBe(`--rate takes a size in bytes (optionally with k, M or G), got '${text}'`);
  });
});

describe('parseDuration', () => {
  it.each([
    ['30', 30_000],
    ['0.5', 500],
    ['250ms', 250],
    ['15m', 900_000],
    ['1h', 3_600_000],
    ['0', 0],
  ])('%s -> %d ms', (text, ms) => expect(parseDuration(text, '--t')).toBe(ms));

  it('refuses what is out of range or not a duration, naming the range in seconds', () => {
    expect(refusal(() => parseDuration('0', '--timeout', { minMs: 1, maxMs: 86_400_000 }))).toBe("--timeout takes seconds from 0.001 to 86400 (or a number with ms, s, m or h), got '0'");
    expect(refusal(() => parseDuration('soon', '--t', { maxMs: 60_000 }))).toBe("--t takes seconds from 0 to 60 (or a number with ms, s, m or h), got 'soon'");
    expect(refusal(() => parseDuration('2m', '--t', { maxMs: 60_000 }))).toMatch(/got '2m'$/);
    expect(refusal(() => parseDuration('-1', '--t'))).toMatch(/got '-1'$/);
  });
});

describe('parseFlags', () => {
  it('turns parseArgs mistakes into UsageErrors', () => {
    expect(refusal(() => parseFlags(['--bogus'], {}))).toMatch(/^Unknown option '--bogus'/);
    expect(parseFlags(['-V', 'x'], { version: { type: 'boolean', short: 'V' } })).toMatchObject({ values: { version: true }, positionals: ['x'] });
  });
});

describe('reportError: the exit policy', () => {
  it('one line per error, and 2 for usage, 130 for Ctrl-C, 1 for the rest', () => {
    const written: string[] = [];
    const spy = vi.spyOn(process.stderr, 'write').mockImplementation((chunk) => {
      written.push(String(chunk));
      return true;
    });
    try {
      expect(reportError('p', new UsageError('--x takes 1 to 2'))).toBe(EXIT_USAGE);
      expect(reportError('p', new UsageError('f.json: users[0].home: missing', { seeHelp: false }))).toBe(EXIT_USAGE);
      expect(reportError('p', new InterruptedError())).toBe(EXIT_INTERRUPTED);
      expect(reportError('p', new Error('two\nlines'))).toBe(EXIT_FAILURE);
      expect(reportError('p', 'a string')).toBe(EXIT_FAILURE);
    } finally {
      spy.mockRestore();
    }
    expect(written).toEqual(['p: --x takes 1 to 2 (see --help)\n', 'p: f.json: users[0].home: missing\n', 'p: interrupted\n', 'p: two\n', 'p: a string\n']);
  });
});
