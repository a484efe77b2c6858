import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import {
  formatListLine,
  formatMlsxFacts,
  parseDosListLine,
  parseListing,
  parseMlsxLine,
  parseUnixListLine,
  type FileFacts,
} from '../../../src/protocol/index.js';

const NOW = new Date(Date.UTC(2024, 5, 15, 12, 0, 0));
const utc = (y: number, mo: number, d: number, h = 0, mi = 0): Date => new Date(Date.UTC(y, mo - 1, d, h, mi));

describe('parseUnixListLine', () => {
  it.each([
    [
      'drwxr-xr-x    2 ftp      ftp          4096 Jan  5 13:04 pub',
      { name: 'pub', type: 'dir', size: 4096, modified: utc(2024, 1, 5, 13, 4), permissions: 'rwxr-xr-x' },
    ],
    [
      '-rw-r--r-- 1 1000 1000 12 Mar 12  2020 file with  spaces.txt',
      { name: 'file with  spaces.txt', type: 'file', size: 12, modified: utc(2020, 3, 12), permissions: 'rw-r--r--' },
    ],
    [
      'lrwxrwxrwx 1 root root 7 Jan 05 13:04 latest -> v1.2/dist',
      { name: 'latest', type: 'link', size: 7, modified: utc(2024, 1, 5, 13, 4), permissions: 'rwxrwxrwx', target: 'v1.2/dist' },
    ],
    [
      '-rw-r--r--+ 1 alice staff 0 Dec 31 23:59 acl',
      // Dec 31 23:59 would be in the future in June 2024, so it is last year's.
      { name: 'acl', type: 'file', size: 0, modified: utc(2023, 12, 31, 23, 59), permissions: 'rw-r--r--' },
    ],
    [
      '-rw-r--r-- 1 owner 5 Jun 16 08:00 no-group',
      { name: 'no-group', type: 'file', size: 5, modified: utc(2024, 6, 16, 8), permissions: 'rw-r--r--' },
    ],
    [
      '-rwsr-xr-x 1 Jan Feb 31337 jun 1 2023 odd owner names\r',
      { name: 'odd owner names', type: 'file', size: 31337, modified: utc(2023, 6, 1), permissions: 'rwsr-xr-x' },
    ],
    [
      'prw-r--r-- 1 ftp ftp 0 Jan 05 2021 fifo',
      { name: 'fifo', type: 'unknown', size: 0, modified: utc(2021, 1, 5), permissions: 'rw-r--r--' },
    ],
    [
      '-rw-r--r-- 1 ftp ftp 1 Jan 05 13:04 not -> a link',
      { name: 'not -> a link', type: 'file', size: 1, modified: utc(2024, 1, 5, 13, 4), permissions: 'rw-r--r--' },
    ],
    [
      '-rw-r--r-- 1 ftp ftp 1 Jan 05 13:04  leading space',
      { name: ' leading space', type: 'file', size: 1, modified: utc(2024, 1, 5, 13, 4), permissions: 'rw-r--r--' },
    ],
  ])('%j', (line, expected) => {
    expect(parseUnixListLine(line, NOW)).toEqual(expected);
  });

  it.each([
    'total 12',
    '',
    'drwxr-xr-x 2 ftp ftp 4096 Jan 5 13:04',
    'drwxr-xr-x 2 ftp ftp 4096 Jan 5 13:04 ',
    'drwxr-xr-x 2 ftp ftp size Jan 5 13:04 x',
    'drwxr-xr-x 2 ftp ftp 4096 Foo 5 13:04 x',
    'drwxr-xr-x 2 ftp ftp 4096 Jan 32 13:04 x',
    'drwxr-xr-x 2 ftp ftp 4096 Feb 30 2020 x',
    'drwxr-xr-x 2 ftp ftp 4096 Jan 5 25:04 x',
    'drwxr-xr-x 2 ftp ftp 4096 Jan 5 13:4 x',
    'drwxr-xr-x 2 ftp ftp 4096 Jan 5 202 x',
    'xrwxr-xr-x 2 ftp ftp 4096 Jan 5 13:04 x',
    'drwxr-xr-q 2 ftp ftp 4096 Jan 5 13:04 x',
    'drwx 2 ftp ftp 4096 Jan 5 13:04 x',
    '01-05-24  01:04PM       <DIR>          name',
  ])('rejects %j', (line) => {
    expect(parseUnixListLine(line, NOW)).toBeNull();
  });
});

describe('parseDosListLine', () => {
  it.each([
    ['01-05-24  01:04PM       <DIR>          name', { name: 'name', type: 'dir', modified: utc(2024, 1, 5, 13, 4) }],
    ['01-05-24  01:04PM                 1234 my file.txt', { name: 'my file.txt', type: 'file', size: 1234, modified: utc(2024, 1, 5, 13, 4) }],
    ['12-31-99  12:00AM                    0 midnight', { name: 'midnight', type: 'file', size: 0, modified: utc(1999, 12, 31, 0, 0) }],
    ['06-15-24  12:30PM       <dir>          noon', { name: 'noon', type: 'dir', modified: utc(2024, 6, 15, 12, 30) }],
    ['01-05-2024  13:04       <DIR>          24h dir', { name: '24h dir', type: 'dir', modified: utc(2024, 1, 5, 13, 4) }],
    ['01/05/2024  23:59              1,234,567 big', { name: 'big', type: 'file', size: 1234567, modified: utc(2024, 1, 5, 23, 59) }],
    ['01-05-24  01:04 PM              7 spaced ampm\r', { name: 'spaced ampm', type: 'file', size: 7, modified: utc(2024, 1, 5, 13, 4) }],
  ])('%j', (line, expected) => {
    expect(parseDosListLine(line)).toEqual(expected);
  });

  it.each([
    '',
    '01-05-24  01:04PM       <DIR>',
    '01-05-24  01:04PM       <DIR>          ',
    '13-05-24  01:04PM       <DIR>          bad month',
    '02-30-24  01:04PM       <DIR>          bad day',
    '01-05-24  13:04PM       <DIR>          bad 12h hour',
    '01-05-24  24:00       <DIR>          bad hour',
    '01-05-24  01:04PM       12a4          bad size',
    '01.05.24  01:04PM       <DIR>          bad separator',
    'drwxr-xr-x 2 ftp ftp 4096 Jan 5 13:04 unix',
  ])('rejects %j', (line) => {
    expect(parseDosListLine(line)).toBeNull();
  });
});

describe('parseMlsxLine', () => {
  it('parses facts and names with spaces and semicolons', () => {
    expect(parseMlsxLine('type=file;size=12;modify=20240101120000;perm=rwadf;UNIX.mode=0644; a b;c.txt')).toEqual({
      name: 'a b;c.txt',
      type: 'file',
      size: 12,
      modified: utc(2024, 1, 1, 12),
      permissions: 'rwadf',
      facts: { type: 'file', size: '12', modify: '20240101120000', perm: 'rwadf', 'unix.mode': '0644' },
    });
  });

  it.each([
    ['Type=cdir;Perm=el; /home', 'dir', 'cdir'],
    ['type=pdir; ..', 'dir', 'pdir'],
    ['type=dir; sub', 'dir', 'dir'],
    ['type=OS.unix=slink:/etc; l', 'link', 'OS.unix=slink:/etc'],
    ['type=OS.unix=symlink; l', 'link', 'OS.unix=symlink'],
    ['type=OS.unix=blk; dev', 'unknown', 'OS.unix=blk'],
    ['size=3; untyped', 'unknown', undefined],
  ])('type of %j', (line, type, fact) => {
    const e = parseMlsxLine(line);
    expect(e?.type).toBe(type);
    expect(e?.facts?.['type']).toBe(fact);
  });

  it('handles the MLST indent and a line with no facts', () => {
    expect(parseMlsxLine(' type=file;size=1; /x')?.name).toBe('/x');
    expect(parseMlsxLine(' plain name')).toEqual({ name: 'plain name', type: 'unknown', facts: {} });
    expect(parseMlsxLine('type=file;sizd=9;modify=bogus; f')).toMatchObject({ size: 9, name: 'f' });
    expect(parseMlsxLine('type=file;modify=bogus; f')?.modified).toBeUndefined();
  });

  it.each(['', 'type=file;', 'type=file; ', 'nofacts name', '=x; name', 'a;b=c; name', 'drwxr-xr-x 2 ftp ftp 4096 Jan 5 13:04 x'])(
    'rejects %j',
    (line) => {
      expect(parseMlsxLine(line)).toBeNull();
    },
  );
});

describe('parseListing', () => {
  it('auto-detects Unix and skips total and junk', () => {
    const text = 'total 8\r\ndrwxr-xr-x 2 ftp ftp 4096 Jan 5 13:04 a\r\ngarbage\r\n-rw-r--r-- 1 ftp ftp 3 Jan 5 2020 b c\r\n';
    expect(parseListing(text, 'auto', NOW).map((e) => [e.name, e.type])).toEqual([
      ['a', 'dir'],
      ['b c', 'file'],
    ]);
  });

  it('auto-detects DOS and MLSD', () => {
    const dos = '01-05-24  01:04PM       <DIR>          d\n01-05-24  01:04PM   5 f\n';
    expect(parseListing(dos).map((e) => e.name)).toEqual(['d', 'f']);
    const mlsd = 'type=cdir; .\ntype=file;size=1; f\n\n';
    expect(parseListing(mlsd).map((e) => [e.name, e.facts?.['type']])).toEqual([
      ['.', 'cdir'],
      ['f', 'file'],
    ]);
  });

  it('a forced format parses only that format', () => {
    const mixed = 'type=file; m\n01-05-24  01:04PM   5 d\n';
    expect(parseListing(mixed, 'dos').map((e) => e.name)).toEqual(['d']);
    expect(parseListing(mixed, 'mlsd').map((e) => e.name)).toEqual(['m']);
    expect(parseListing(mixed, 'unix')).toEqual([]);
    expect(parseListing(mixed).map((e) => e.name)).toEqual(['m']);
  });
});

describe('round trips through the server formatters', () => {
  const nameArb = fc
    .string({ unit: 'grapheme', minLength: 1, maxLength: 40 })
    .map((s) => s.replace(/[\r\n]/g, '_'))
    .filter((s) => !s.includes(' -> '));
  const factsArb = fc.record({
    name: nameArb,
    type: fc.constantFrom('file' as const, 'dir' as const, 'link' as const),
    size: fc.nat({ max: 2 ** 40 }),
    mtime: fc.date({ min: new Date(Date.UTC(1990, 0, 1)), max: new Date(Date.UTC(2024, 5, 16)), noInvalidDate: true }),
    mode: fc.nat({ max: 0o7777 }),
  });

  it('property: parseUnixListLine(formatListLine(x)) keeps name, type, size and minute', () => {
    fc.assert(
      fc.property(factsArb, (f: FileFacts) => {
        const e = parseUnixListLine(formatListLine(f, NOW), NOW);
        expect(e).not.toBeNull();
        expect(e!.name).toBe(f.name);
        expect(e!.type).toBe(f.type);
        expect(e!.size).toBe(f.size);
        const recent = NOW.getTime() - f.mtime.getTime() < 180 * 86_400_000;
        const d = f.mtime;
        const expected = recent
          ? Date.UTC(d.getUTCFullYear(), d.getUTCMonth(), d.getUTCDate(), d.getUTCHours(), d.getUTCMinutes())
          : Date.UTC(d.getUTCFullYear(), d.getUTCMonth(), d.getUTCDate());
        expect(e!.modified!.getTime()).toBe(expected);
      }),
      { numRuns: 500 },
    );
  });

  it('property: parseMlsxLine(formatMlsxFacts(x)) keeps name, type, size and modify', () => {
    const all = new Set(['type', 'size', 'modify', 'perm', 'unix.mode']);
    fc.assert(
      fc.property(factsArb, (f: FileFacts) => {
        const e = parseMlsxLine(formatMlsxFacts(f, { facts: all, perm: 'r' }));
        expect(e).toMatchObject({ name: f.name, type: f.type, size: f.size, permissions: 'r' });
        expect(e!.modified!.getTime()).toBe(Math.floor(f.mtime.getTime() / 1000) * 1000);
      }),
      { numRuns: 500 },
    );
  });

  it('names with spaces survive every format', () => {
    const f: FileFacts = { name: '  a  b  ', type: 'file', size: 1, mtime: NOW, mode: 0o644 };
    expect(parseUnixListLine(formatListLine(f, NOW), NOW)?.name).toBe('  a  b  ');
    expect(parseMlsxLine(formatMlsxFacts(f, { facts: new Set(['type']) }))?.name).toBe('  a  b  ');
    expect(parseMlsxLine(formatMlsxFacts(f, { facts: new Set() }))?.name).toBe('  a  b  ');
  });
});

describe('linear time on pathological input', () => {
  const cases: [string, string][] = [
    ['unix: many tokens', 'drwxr-xr-x ' + '1 '.repeat(50_000)],
    ['unix: repeated month/day', '-rw-r--r-- 1 a b 1 ' + 'Jan 1 '.repeat(17_000)],
    ['unix: long blank run', '-rw-r--r--' + ' '.repeat(100_000) + 'x'],
    ['unix: long first token', 'd' + 'rwx'.repeat(33_000)],
    ['unix: link with many arrows', 'lrwxrwxrwx 1 a b 1 Jan 05 2020 ' + ' ->'.repeat(33_000)],
    ['dos: repeated dates', '01-05-24 '.repeat(11_000)],
    ['dos: long blank run', '01-05-24  01:04PM  5' + ' '.repeat(100_000)],
    ['mlsd: many facts', 'a=b;'.repeat(25_000) + ' name'],
    ['mlsd: semicolons without =', 'a;'.repeat(50_000) + 'b=c; name'],
    ['mlsd: = far away', 'a;'.repeat(50_000) + '='],
    ['mlst indent', ' ' + 'a;'.repeat(50_000) + ' x'],
  ];

  // Linear parses take about a millisecond here; a quadratic one on 100 KB takes seconds to
  // minutes. The bounds are loose so a loaded machine cannot fail them, tight enough to catch that.
  it.each(cases)('%s (100 KB) parses or is rejected in linear time', (_name, line) => {
    expect(line.length).toBeGreaterThan(90_000);
    for (const parse of [(l: string) => parseUnixListLine(l, NOW), parseDosListLine, parseMlsxLine]) {
      parse(line); // warm up
      const t0 = performance.now();
      parse(line);
      expect(performance.now() - t0).toBeLessThan(1000);
    }
    const t0 = performance.now();
    parseListing(line);
    parseListing((line + '\n').repeat(10));
    expect(performance.now() - t0).toBeLessThan(3000);
  });
});

describe('MLSx media-type', () => {
  it('becomes mediaType when well-formed, lower-cased; anything else is dropped', async () => {
    const { parseMlsxLine } = await import('../../../src/protocol/index.js');
    expect(parseMlsxLine('type=file;size=3;media-type=Video/MP4; a.mp4')?.mediaType).toBe('video/mp4');
    expect(parseMlsxLine('type=file;media-type=application/vnd.apple.mpegurl; a.m3u8')?.mediaType).toBe('application/vnd.apple.mpegurl');
    for (const bad of ['video', 'video/', '/mp4', 'a/b/c', `x/${'y'.repeat(300)}`, 'text/html\u001b[31m']) {
      expect(parseMlsxLine(`type=file;media-type=${bad}; a`)?.mediaType, bad).toBeUndefined();
    }
    expect(parseMlsxLine('type=file;size=3; a')?.mediaType).toBeUndefined();
  });
});

