import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import type { Transform } from 'node:stream';
import { createAsciiDecoder, createAsciiEncoder } from '../../../src/protocol/index.js';

async function through(t: Transform, chunks: Buffer[]): Promise<string> {
  const out: Buffer[] = [];
  t.on('data', (c: Buffer) => out.push(c));
  const done = new Promise<void>((resolve, reject) => {
    t.on('end', resolve);
    t.on('error', reject);
  });
  for (const c of chunks) t.write(c);
  t.end();
  await done;
  return Buffer.concat(out).toString('latin1');
}

const b = (s: string): Buffer => Buffer.from(s, 'latin1');

function splits(s: string): Buffer[][] {
  const buf = b(s);
  const out: Buffer[][] = [[buf], [...buf].map((x) => Buffer.from([x]))];
  for (let i = 0; i <= buf.length; i++) out.push([buf.subarray(0, i), buf.subarray(i)]);
  return out;
}

describe('ASCII encoder (LF -> CRLF)', () => {
  it.each([
    ['a\nb\n', 'a\r\nb\r\n'],
    ['a\r\nb', 'a\r\nb'],
    ['a\rb', 'a\rb'],
    ['\n\n', '\r\n\r\n'],
    ['\r\r\n\n', '\r\r\n\r\n'],
    ['', ''],
  ])('%j at every split', async (input, expected) => {
    for (const chunks of splits(input)) expect(await through(createAsciiEncoder(), chunks)).toBe(expected);
  });
});

describe('ASCII decoder (CRLF -> LF)', () => {
  it.each([
    ['a\r\nb\r\n', 'a\nb\n'],
    ['a\nb', 'a\nb'],
    ['a\rb', 'a\rb'],
    ['a\r', 'a\r'],
    ['\r\r\n', '\r\n'],
    ['\r\n\r\n', '\n\n'],
    ['', ''],
  ])('%j at every split', async (input, expected) => {
    for (const chunks of splits(input)) expect(await through(createAsciiDecoder(), chunks)).toBe(expected);
  });
});

const reference = {
  encode: (s: string): string => s.replace(/(?<!\r)\n/g, '\r\n'),
  decode: (s: string): string => s.replace(/\r\n/g, '\n'),
};

describe('ASCII properties', () => {
  const textArb = fc.array(fc.constantFrom('a', 'b', '\r', '\n', '\xff'), { maxLength: 60 }).map((a) => a.join(''));
  const cutsArb = fc.array(fc.nat(), { maxLength: 10 });

  function chunk(s: string, cuts: number[]): Buffer[] {
    const buf = b(s);
    const pts = [...new Set(cuts.map((c) => c % (buf.length + 1)))].sort((x, y) => x - y);
    const out: Buffer[] = [];
    let prev = 0;
    for (const p of pts) {
      out.push(buf.subarray(prev, p));
      prev = p;
    }
    out.push(buf.subarray(prev));
    return out;
  }

  it('property: encoder output is the same at every chunk split', async () => {
    await fc.assert(
      fc.asyncProperty(textArb, cutsArb, async (s, cuts) => {
        expect(await through(createAsciiEncoder(), chunk(s, cuts))).toBe(reference.encode(s));
      }),
      { numRuns: 300 },
    );
  });

  it('property: decoder output is the same at every chunk split', async () => {
    await fc.assert(
      fc.asyncProperty(textArb, cutsArb, async (s, cuts) => {
        expect(await through(createAsciiDecoder(), chunk(s, cuts))).toBe(reference.decode(s));
      }),
      { numRuns: 300 },
    );
  });

  it('property: decode(encode(x)) === x when x has no CR', async () => {
    await fc.assert(
      fc.asyncProperty(textArb.map((s) => s.replaceAll('\r', '')), cutsArb, async (s, cuts) => {
        const wire = await through(createAsciiEncoder(), chunk(s, cuts));
        expect(await through(createAsciiDecoder(), chunk(wire, cuts))).toBe(s);
      }),
      { numRuns: 300 },
    );
  });
});
