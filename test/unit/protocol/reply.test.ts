import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import {
  formatReply,
  ReplyParser,
  isNegative,
  isPositiveCompletion,
  isPositiveIntermediate,
  isPositivePreliminary,
  type FtpReply,
} from '../../../src/protocol/index.js';
import { FtpError } from '../../../src/errors.js';

function parseAll(chunks: (Buffer | string)[], parser = new ReplyParser()): FtpReply[] {
  return chunks.flatMap((c) => parser.push(c));
}

function splitAt(input: Buffer, cuts: number[]): Buffer[] {
  const points = [...new Set(cuts.map((c) => c % (input.length + 1)))].sort((x, y) => x - y);
  const out: Buffer[] = [];
  let prev = 0;
  for (const p of points) {
    out.push(input.subarray(prev, p));
    prev = p;
  }
  out.push(input.subarray(prev));
  return out;
}

function codeOf(err: unknown): string | undefined {
  return err instanceof FtpError ? err.code : undefined;
}

describe('formatReply', () => {
  it.each([
    [200, 'OK', '200 OK\r\n'],
    [220, '', '220 \r\n'],
    [211, ['Features:', ' MDTM', ' SIZE', 'End'], '211-Features:\r\n MDTM\r\n SIZE\r\nEnd\r\n'.replace('End\r\n', '211 End\r\n')],
    [214, 'a\nb', '214-a\r\n214 b\r\n'],
    [214, 'a\r\nb\rc', '214-a\r\nb\r\n214 c\r\n'],
    [211, ['x', '211 looks final', '42', 'end'], '211-x\r\n 211 looks final\r\n 42\r\n211 end\r\n'],
    [250, ['one line'], '250 one line\r\n'],
    [250, [], '250 \r\n'],
  ])('%i %j', (code, text, wire) => {
    expect(formatReply(code, text)).toBe(wire);
  });

  it('never lets CR or LF inside text start an unmarked line', () => {
    const wire = formatReply(550, 'no such file\r\n230 Logged in');
    expect(wire).toBe('550-no such file\r\n550 230 Logged in\r\n');
    expect(new ReplyParser().push(wire)).toHaveLength(1);
  });

  it('rejects a bad code', () => {
    expect(() => formatReply(99, 'x')).toThrow(FtpError);
    expect(() => formatReply(1000, 'x')).toThrow(FtpError);
    expect(() => formatReply(200.5, 'x')).toThrow(FtpError);
  });
});

describe('ReplyParser', () => {
  it('parses single-line replies', () => {
    expect(parseAll(['220 Service ready\r\n331 Password?\r\n'])).toEqual([
      { code: 220, text: 'Service ready', lines: ['Service ready'] },
      { code: 331, text: 'Password?', lines: ['Password?'] },
    ]);
  });

  it('parses a multi-line reply and keeps middle lines verbatim', () => {
    const wire = '211-Features:\r\n MDTM\r\n 211 not the end\r\n211-also not\r\n212 nope\r\n211 End\r\n';
    expect(parseAll([wire])).toEqual([
      {
        code: 211,
        text: 'Features:\n MDTM\n 211 not the end\n211-also not\n212 nope\nEnd',
        lines: ['Features:', ' MDTM', ' 211 not the end', '211-also not', '212 nope', 'End'],
      },
    ]);
  });

  it('accepts bare LF, a code with no text and blank lines between replies', () => {
    expect(parseAll(['200\n\r\n\n226 done\n'])).toEqual([
      { code: 200, text: '', lines: [''] },
      { code: 226, text: 'done', lines: ['done'] },
    ]);
  });

  it('keeps a partial reply until it completes', () => {
    const p = new ReplyParser();
    expect(p.push('150-Opening\r\n data\r')).toEqual([]);
    expect(p.push('\n150 go\r\n')).toEqual([{ code: 150, text: 'Opening\n data\ngo', lines: ['Opening', ' data', 'go'] }]);
  });

  it('decodes a UTF-8 character split across chunks', () => {
    const wire = Buffer.from('257 "/é" created\r\n', 'utf8');
    for (let i = 0; i <= wire.length; i++) {
      expect(parseAll([wire.subarray(0, i), wire.subarray(i)])).toEqual([
        { code: 257, text: '"/é" created', lines: ['"/é" created'] },
      ]);
    }
  });

  it.each(['hello\r\n', '20 x\r\n', '200x\r\n', 'abc def\r\n', ' 200 x\r\n'])('throws FTPKIT_ERR_PROTOCOL on %j', (line) => {
    let err: unknown;
    try {
      new ReplyParser().push(line);
    } catch (e) {
      err = e;
    }
    expect(codeOf(err)).toBe('FTPKIT_ERR_PROTOCOL');
  });

  it('enforces maxReplyBytes on a single line while buffering (no LF needed)', () => {
    const p = new ReplyParser({ maxReplyBytes: 100 });
    expect(p.push('200 ' + 'x'.repeat(90))).toEqual([]);
    let err: unknown;
    try {
      p.push('x'.repeat(20));
    } catch (e) {
      err = e;
    }
    expect(codeOf(err)).toBe('FTPKIT_ERR_REPLY_TOO_LARGE');
  });

  it('enforces maxReplyBytes across the lines of one multi-line reply', () => {
    const p = new ReplyParser({ maxReplyBytes: 1000 });
    p.push('211-start\r\n');
    expect(() => {
      for (let i = 0; i < 200; i++) p.push('line line\r\n');
    }).toThrow(expect.objectContaining({ code: 'FTPKIT_ERR_REPLY_TOO_LARGE' }));
  });

  it('default cap is 64 KiB per reply, not per stream', () => {
    const p = new ReplyParser();
    const many = formatReply(200, 'x'.repeat(1000)).repeat(200); // 200 KB of small replies
    expect(p.push(many)).toHaveLength(200);
    expect(p.push(formatReply(211, Array.from({ length: 64 }, () => 'y'.repeat(1000))))).toHaveLength(1);
    expect(() => p.push(formatReply(211, Array.from({ length: 70 }, () => 'y'.repeat(1000))))).toThrow(FtpError);
  });

  it('reply exactly at the cap is accepted', () => {
    const wire = formatReply(200, 'z'.repeat(94)); // 4 + 94 + 2 = 100 bytes
    expect(new ReplyParser({ maxReplyBytes: 100 }).push(wire)).toHaveLength(1);
    expect(() => new ReplyParser({ maxReplyBytes: 99 }).push(wire)).toThrow(FtpError);
  });

  it('validates maxReplyBytes', () => {
    expect(() => new ReplyParser({ maxReplyBytes: 0 })).toThrow(/maxReplyBytes/);
    expect(() => new ReplyParser({ maxReplyBytes: Number.NaN })).toThrow(FtpError);
  });

  const lineArb = fc.string({ unit: 'grapheme', maxLength: 30 }).map((s) => s.replace(/[\r\n]/g, ''));
  // Middle lines that start with a digit get one space on the wire (tested separately).
  const middleArb = lineArb.filter((s) => !/^[0-9]/.test(s));

  it('property: format then parse in random chunks gives the same code and lines', () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 100, max: 599 }),
        lineArb,
        fc.array(middleArb, { maxLength: 6 }),
        fc.option(lineArb, { nil: undefined }),
        fc.array(fc.nat(), { maxLength: 12 }),
        (code, first, middle, last, cuts) => {
          const lines = last === undefined ? [first] : [first, ...middle, last];
          const wire = Buffer.from(formatReply(code, lines) + formatReply(200, 'next'), 'utf8');
          const got = parseAll(splitAt(wire, cuts));
          expect(got).toEqual([
            { code, text: lines.join('\n'), lines },
            { code: 200, text: 'next', lines: ['next'] },
          ]);
        },
      ),
      { numRuns: 500 },
    );
  });

  it('property: digit-leading middle lines come back with the one-space indent', () => {
    fc.assert(
      fc.property(fc.integer({ min: 100, max: 599 }), fc.array(fc.stringMatching(/^[0-9]{1,3}[ -]?[a-z]{0,5}$/), { minLength: 1, maxLength: 5 }), (code, middle) => {
        const got = new ReplyParser().push(formatReply(code, ['a', ...middle, 'z']));
        expect(got).toEqual([{ code, text: ['a', ...middle.map((m) => ' ' + m), 'z'].join('\n'), lines: ['a', ...middle.map((m) => ' ' + m), 'z'] }]);
      }),
    );
  });

  it('property: any bytes either parse or throw FtpError, never anything else', () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 200 }), (bytes) => {
        try {
          new ReplyParser({ maxReplyBytes: 64 }).push(Buffer.from(bytes));
        } catch (e) {
          expect(e).toBeInstanceOf(FtpError);
        }
      }),
    );
  });
});

describe('reply classes', () => {
  it.each([
    [150, [true, false, false, false]],
    [226, [false, true, false, false]],
    [331, [false, false, true, false]],
    [421, [false, false, false, true]],
    [550, [false, false, false, true]],
  ])('%i', (code, expected) => {
    expect([isPositivePreliminary(code), isPositiveCompletion(code), isPositiveIntermediate(code), isNegative(code)]).toEqual(expected);
  });
});
