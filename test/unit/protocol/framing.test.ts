import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { ControlLineParser, type ControlLineEvent } from '../../../src/protocol/index.js';
import { FtpError } from '../../../src/errors.js';

type Simple = string | 'OVERFLOW';

function run(parser: ControlLineParser, chunks: Buffer[]): Simple[] {
  const out: Simple[] = [];
  for (const c of chunks) for (const e of parser.push(c)) out.push(simplify(e));
  return out;
}

function simplify(e: ControlLineEvent): Simple {
  return e.type === 'overflow' ? 'OVERFLOW' : e.line.toString('latin1');
}

function whole(input: Buffer, max?: number): Simple[] {
  return run(new ControlLineParser(max === undefined ? {} : { maxLineLength: max }), [input]);
}

/** Same result for every two-way and three-way split of the input. */
function expectSplitInvariant(input: Buffer, expected: Simple[], max?: number): void {
  const opts = max === undefined ? {} : { maxLineLength: max };
  expect(whole(input, max)).toEqual(expected);
  for (let i = 0; i <= input.length; i++) {
    expect(run(new ControlLineParser(opts), [input.subarray(0, i), input.subarray(i)])).toEqual(expected);
  }
  expect(run(new ControlLineParser(opts), [...input].map((b) => Buffer.from([b])))).toEqual(expected);
}

const b = (s: string): Buffer => Buffer.from(s, 'latin1');

describe('ControlLineParser', () => {
  it.each([
    ['CRLF lines', 'USER alice\r\nPASS x\r\n', ['USER alice', 'PASS x']],
    ['bare LF', 'NOOP\nQUIT\n', ['NOOP', 'QUIT']],
    ['empty line', '\r\n', ['']],
    ['partial line is held', 'NOOP\r\nQU', ['NOOP']],
    ['CR not before LF is content', 'A\rB\r\n', ['A\rB']],
    ['double CR keeps one', 'A\r\r\n', ['A\r']],
    ['IAC IAC is a literal 0xFF', 'A\xff\xffB\r\n', ['A\xffB']],
    ['IAC IP IAC DM stripped (ABOR urgent sequence)', '\xff\xf4\xff\xf2ABOR\r\n', ['ABOR']],
    ['IAC WILL x stripped', 'NO\xff\xfb\x01OP\r\n', ['NOOP']],
    ['IAC WONT/DO/DONT x stripped', '\xff\xfc\x03\xff\xfd\x18\xff\xfe\xffX\r\n', ['X']],
    ['IAC option byte may be LF', 'A\xff\xfd\nB\r\n', ['AB']],
    ['IAC between CR and LF', 'A\r\xff\xf1\nB\n', ['A', 'B']],
    ['UTF-8 bytes pass through', 'CWD \xc3\xa9t\xc3\xa9\r\n', ['CWD \xc3\xa9t\xc3\xa9']],
  ])('%s', (_name, input, expected) => {
    expectSplitInvariant(b(input), expected);
  });

  it('returns copies, not views of its reused buffer', () => {
    const p = new ControlLineParser();
    const [first] = p.push(b('ONE\r\n'));
    p.push(b('TWO\r\n'));
    expect(first).toEqual({ type: 'line', line: b('ONE') });
  });

  it('accepts a line of exactly maxLineLength bytes, CRLF excluded', () => {
    const line = 'x'.repeat(4096);
    expectSplitInvariant(b(`${line}\r\nNEXT\r\n`), [line, 'NEXT']);
  });

  it('gives exactly one overflow for a long line, then parses the next line', () => {
    const long = 'y'.repeat(5000);
    expectSplitInvariant(b(`${long}\r\nNOOP\r\n`), ['OVERFLOW', 'NOOP']);
    expectSplitInvariant(b('x'.repeat(4097) + '\r\nA\r\n'), ['OVERFLOW', 'A']);
  });

  it('counts a CR not followed by LF towards the limit', () => {
    expectSplitInvariant(b('abc\rd\nok\n'), ['OVERFLOW', 'ok'], 4);
    expectSplitInvariant(b('abc\r\nok\n'), ['abc', 'ok'], 3);
  });

  it('does not count stripped IAC sequences towards the limit', () => {
    expectSplitInvariant(b('ab\xff\xf1\xff\xfb\x01c\n'), ['abc'], 3);
  });

  it('never buffers an over-long line: memory stays at maxLineLength', () => {
    const p = new ControlLineParser({ maxLineLength: 16 });
    const chunk = Buffer.alloc(1 << 20, 0x41);
    const events: ControlLineEvent[] = [];
    for (let i = 0; i < 8; i++) events.push(...p.push(chunk));
    events.push(...p.push(b('\nOK\n')));
    expect(events.map(simplify)).toEqual(['OVERFLOW', 'OK']);
  });

  it('validates maxLineLength', () => {
    expect(() => new ControlLineParser({ maxLineLength: 0 })).toThrow(FtpError);
    expect(() => new ControlLineParser({ maxLineLength: 1.5 })).toThrow(/maxLineLength/);
    expect(() => new ControlLineParser({ maxLineLength: 2 ** 53 })).toThrow(FtpError);
  });

  it('property: any chunking of any bytes gives the same events', () => {
    fc.assert(
      fc.property(
        fc.uint8Array({ maxLength: 300 }).map((a) => Buffer.from(a)),
        fc.array(fc.nat(), { maxLength: 20 }),
        fc.integer({ min: 1, max: 40 }),
        (input, cuts, max) => {
          const points = [...new Set(cuts.map((c) => c % (input.length + 1)))].sort((x, y) => x - y);
          const chunks: Buffer[] = [];
          let prev = 0;
          for (const p of points) {
            chunks.push(input.subarray(prev, p));
            prev = p;
          }
          chunks.push(input.subarray(prev));
          const expected = whole(input, max);
          expect(run(new ControlLineParser({ maxLineLength: max }), chunks)).toEqual(expected);
        },
      ),
      { numRuns: 500 },
    );
  });

  it('property: plain lines come back unchanged', () => {
    const lineArb = fc.string({ maxLength: 50 }).map((s) => s.replace(/[\r\n\xff]/g, ''));
    fc.assert(
      fc.property(fc.array(lineArb, { maxLength: 10 }), fc.boolean(), (lines, bare) => {
        const input = Buffer.from(lines.map((l) => l + (bare ? '\n' : '\r\n')).join(''), 'utf8');
        const got = new ControlLineParser().push(input).map((e) => (e.type === 'line' ? e.line.toString('utf8') : e.type));
        expect(got).toEqual(lines);
      }),
    );
  });
});

describe('a DM stranded by urgent data', () => {
  it('is dropped at the start of a line (BSD ftp ABOR without SO_OOBINLINE)', () => {
    const p = new ControlLineParser();
    const events = p.push(Buffer.from([0xff, 0xf4, 0xf2, 0x41, 0x42, 0x4f, 0x52, 0x0d, 0x0a]));
    expect(events).toEqual([{ type: 'line', line: Buffer.from('ABOR') }]);
  });
  it('is kept inside a line', () => {
    const p = new ControlLineParser();
    expect(p.push(Buffer.from([0x41, 0xf2, 0x0a]))).toEqual([{ type: 'line', line: Buffer.from([0x41, 0xf2]) }]);
  });
});

// Python's ftplib sends `ABOR\r\n` with MSG_OOB; Linux takes the LF out of the stream as
// urgent data, which Node never reads, so only `ABOR\r` arrives.
describe('ABOR without its LF (urgent data)', () => {
  it.each([
    ['ABOR then CR ends the line at once', 'ABOR\r', ['ABOR']],
    ['any case', 'abor\rAbOr\r', ['abor', 'AbOr']],
    ['after the Telnet IP/DM prefix', '\xff\xf4\xff\xf2ABOR\r', ['ABOR']],
    ['after a DM stranded by urgent IAC', '\xf2ABOR\r', ['ABOR']],
    ['the next command follows without a LF', 'ABOR\rNOOP\r\n', ['ABOR', 'NOOP']],
    ['a LF that does arrive is its terminator, not an empty line', 'ABOR\r\nNOOP\r\n', ['ABOR', 'NOOP']],
    ['only the first LF is swallowed', 'ABOR\r\n\n', ['ABOR', '']],
    ['an IAC sequence between CR and LF changes nothing', 'ABOR\r\xff\xf1\nNOOP\n', ['ABOR', 'NOOP']],
    ['a bare LF still ends ABOR as any line', 'ABOR\nNOOP\n', ['ABOR', 'NOOP']],
    ['ABOR with an argument waits for its LF', 'ABOR x\rNOOP\n', ['ABOR x\rNOOP']],
    ['other verbs keep a lone CR as content', 'NOOP\rX\n', ['NOOP\rX']],
    ['ABOR inside a longer line is content', 'XABOR\rY\n', ['XABOR\rY']],
  ])('%s', (_name, input, expected) => {
    expectSplitInvariant(b(input), expected);
  });

  it('ABOR\\r, then the next command in a later packet', () => {
    const p = new ControlLineParser();
    expect(run(p, [b('ABOR\r')])).toEqual(['ABOR']);
    expect(run(p, [b('NOOP\r\n')])).toEqual(['NOOP']);
  });

  it('an over-long line ending in ABOR\\r is still one overflow', () => {
    expectSplitInvariant(b(`${'x'.repeat(10)}ABOR\r\nOK\n`), ['OVERFLOW', 'OK'], 8);
  });
});
