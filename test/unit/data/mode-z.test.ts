// The MODE Z transform alone: zlib format on the way out, every way a stream can be bad named on
// the way in, and any chunking of the input giving the same bytes.
import { Readable, Writable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { deflateRawSync, deflateSync, gzipSync, inflateSync } from 'node:zlib';
import { describe, expect, it } from 'vitest';
import { createModeZInflate, decodingStages, encodingStages, isModeZError, MODE_Z_INVALID, MODE_Z_TRUNCATED } from '../../../src/data/mode-z.js';

async function through(stages: NodeJS.ReadWriteStream[], chunks: Buffer[]): Promise<Buffer> {
  const out: Buffer[] = [];
  await pipeline([Readable.from(chunks), ...stages, new Writable({ write: (c: Buffer, _e, cb) => (out.push(c), cb()) })] as unknown as [Readable, Writable]);
  return Buffer.concat(out);
}

const TEXT = Buffer.from('line one\nline two\n\nlast\n'.repeat(50));

describe('MODE Z stages', () => {
  it('encodes as zlib (RFC 1950): TYPE A converts first, then deflate', async () => {
    const z = await through(encodingStages({ ascii: true, deflateLevel: 6 }), [TEXT]);
    expect(z[0]).toBe(0x78);
    expect(inflateSync(z).toString()).toBe(TEXT.toString().replace(/\n/g, '\r\n'));
    expect(encodingStages({ ascii: false, deflateLevel: undefined })).toEqual([]);
  });

  it('decodes whatever the chunking: every split point of the compressed bytes', async () => {
    const z = deflateSync(Buffer.from(TEXT.toString().replace(/\n/g, '\r\n')));
    for (let at = 0; at <= z.length; at++) {
      const got = await through(decodingStages({ ascii: true, deflateLevel: 6 }), [z.subarray(0, at), z.subarray(at)]);
      expect(got.equals(TEXT), `split at ${at}`).toBe(true);
    }
  });

  it.each([
    ['plain bytes', Buffer.from('not compressed at all'), MODE_Z_INVALID, /^invalid compressed data: incorrect header check$/],
    ['raw deflate', deflateRawSync(TEXT), MODE_Z_INVALID, /^invalid compressed data: /],
    ['gzip', gzipSync(TEXT), MODE_Z_INVALID, /^invalid compressed data: incorrect header check$/],
    ['a wrong Adler-32', (() => { const z = deflateSync(TEXT); z[z.length - 1]! ^= 1; return z; })(), MODE_Z_INVALID, /^invalid compressed data: incorrect data check$/],
    ['a truncated stream', deflateSync(TEXT).subarray(0, 20), MODE_Z_TRUNCATED, /^compressed stream ended early$/],
    ['nothing at all', Buffer.alloc(0), MODE_Z_TRUNCATED, /^compressed stream ended early$/],
  ])('%s fails with its own code and message', async (_name, input, code, message) => {
    const err = await through([createModeZInflate()], [input]).then(() => undefined, (e: unknown) => e);
    expect(err).toMatchObject({ code });
    expect((err as Error).message).toMatch(message);
    expect(isModeZError(err)).toBe(true);
  });

  it('ignores bytes after the zlib end', async () => {
    expect((await through([createModeZInflate()], [deflateSync(TEXT), Buffer.from('trailing')])).equals(TEXT)).toBe(true);
  });
});
