import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import {
  formatListLine,
  formatMlsdTime,
  formatMlsxFacts,
  formatPermissions,
  parseMlsdTime,
  parseQuotedPath,
  quotePath,
  type FileFacts,
} from '../../../src/protocol/index.js';

const NOW = new Date(Date.UTC(2024, 5, 15, 12, 0, 0));
const facts = (over: Partial<FileFacts>): FileFacts => ({
  name: 'name',
  type: 'file',
  size: 12,
  mtime: new Date(Date.UTC(2024, 0, 5, 13, 4, 59)),
  mode: 0o644,
  ...over,
});

describe('formatListLine', () => {
  it('formats a recent directory with the time', () => {
    expect(formatListLine(facts({ type: 'dir', size: 4096, mode: 0o755 }), NOW)).toBe(
      'drwxr-xr-x 1 ftp ftp       4096 Jan 05 13:04 name',
    );
  });

  it('formats an entry older than 180 days with the year', () => {
    const old = facts({ mtime: new Date(Date.UTC(2020, 2, 12, 8, 0)) });
    expect(formatListLine(old, NOW)).toBe('-rw-r--r-- 1 ftp ftp         12 Mar 12  2020 name');
  });

  it('uses the year for dates more than a day in the future', () => {
    const future = facts({ mtime: new Date(Date.UTC(2024, 8, 1)) });
    expect(formatListLine(future, NOW)).toMatch(/ Sep 01  2024 name$/);
  });

  it('keeps names with spaces and links', () => {
    expect(formatListLine(facts({ name: ' two  spaces ', type: 'link', mode: 0o777 }), NOW)).toBe(
      'lrwxrwxrwx 1 ftp ftp         12 Jan 05 13:04  two  spaces ',
    );
  });

  it('shows setuid, setgid and sticky bits like ls', () => {
    expect(formatPermissions(0o4755)).toBe('rwsr-xr-x');
    expect(formatPermissions(0o2644)).toBe('rw-r-Sr--');
    expect(formatPermissions(0o1777)).toBe('rwxrwxrwt');
    expect(formatPermissions(0o1776)).toBe('rwxrwxrwT');
  });
});

describe('MLSx facts', () => {
  const all = new Set(['type', 'size', 'modify', 'perm', 'unix.mode']);

  it('formats all facts in order', () => {
    expect(formatMlsxFacts(facts({}), { facts: all, perm: 'rwadf' })).toBe(
      'type=file;size=12;modify=20240105130459;perm=rwadf;UNIX.mode=0644; name',
    );
  });

  it('honours the enabled set, cdir/pdir and missing perm', () => {
    expect(formatMlsxFacts(facts({ type: 'dir', name: '.' }), { facts: new Set(['type', 'perm']), type: 'cdir' })).toBe(
      'type=cdir; .',
    );
    expect(formatMlsxFacts(facts({ name: 'a b' }), { facts: new Set() })).toBe(' a b');
    expect(formatMlsxFacts(facts({ type: 'link' }), { facts: new Set(['type']) })).toBe('type=OS.unix=slink; name');
    expect(formatMlsxFacts(facts({ mode: 0o4755 }), { facts: new Set(['unix.mode']) })).toBe('UNIX.mode=04755; name');
  });

  it('formats and parses modify times', () => {
    expect(formatMlsdTime(new Date(Date.UTC(2024, 0, 1, 12, 0, 0)))).toBe('20240101120000');
    expect(parseMlsdTime('20240101120000')).toEqual(new Date(Date.UTC(2024, 0, 1, 12, 0, 0)));
    expect(parseMlsdTime('20240101120000.5')).toEqual(new Date(Date.UTC(2024, 0, 1, 12, 0, 0, 500)));
    expect(parseMlsdTime('20240101120000.123456')).toEqual(new Date(Date.UTC(2024, 0, 1, 12, 0, 0, 123)));
    expect(parseMlsdTime('00500101000000')?.getUTCFullYear()).toBe(50);
  });

  it.each(['', '2024010112000', '2024010112000x', '20241301120000', '20240230120000', '20240101240000', '20240101126000', '20240101120000.', '20240101120000.1a', '20240101120000Z'])(
    'parseMlsdTime rejects %j',
    (s) => {
      expect(parseMlsdTime(s)).toBeNull();
    },
  );

  it('property: modify time round trip at second precision', () => {
    fc.assert(
      fc.property(fc.date({ min: new Date(Date.UTC(1000, 0, 1)), max: new Date(Date.UTC(9999, 11, 31)), noInvalidDate: true }), (d) => {
        const seconds = new Date(Math.floor(d.getTime() / 1000) * 1000);
        expect(parseMlsdTime(formatMlsdTime(d))).toEqual(seconds);
      }),
    );
  });
});

describe('quotePath', () => {
  it.each([
    ['/', '"/"'],
    ['/a "b"', '"/a ""b"""'],
    ['/x"', '"/x"""'],
    ['', '""'],
  ])('%j', (path, quoted) => {
    expect(quotePath(path)).toBe(quoted);
    expect(parseQuotedPath(`${quoted} is the current directory`)).toBe(path);
  });

  it('parses real 257 texts', () => {
    expect(parseQuotedPath('"/home/alice" is current directory.')).toBe('/home/alice');
    expect(parseQuotedPath('MKD command successful: "/a ""q"" dir" created')).toBe('/a "q" dir');
    expect(parseQuotedPath('no quotes')).toBeNull();
    expect(parseQuotedPath('"unterminated')).toBeNull();
    expect(parseQuotedPath('"ends with doubled""')).toBeNull();
  });

  it('property: parseQuotedPath(quotePath(p)) === p', () => {
    fc.assert(
      fc.property(fc.string({ unit: 'grapheme' }), (p) => {
        expect(parseQuotedPath(quotePath(p) + ' created')).toBe(p);
      }),
    );
  });
});
