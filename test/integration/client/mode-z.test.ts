// FileClient `compress: true`: MODE Z against our server both ways (files, streams, listings,
// trees, segments, TYPE A), the fallback with a warning, and hostile compressed downloads
// (truncated, not zlib, a bomb) from a scripted server.
import { randomBytes } from 'node:crypto';
import { mkdir, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { Writable } from 'node:stream';
import { deflateSync } from 'node:zlib';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { downloadSegmented, FileClient, type FileClientOptions } from '../../../src/index.js';
import { startTestServer, type TestServer } from '../../helpers/server.js';
import { makeTempDir, sha256Buffer, sha256File, type TempDir } from '../../helpers/tmp.js';
import { fakeServerHarness, type FakeSession } from './fake-server.js';

let t: TestServer;
let tmp: TempDir;
const commands: string[] = [];

beforeAll(async () => {
  t = await startTestServer();
  t.server.on('command', ({ verb, arg }) => commands.push(`${verb} ${arg}`.trim()));
  tmp = await makeTempDir('ftpkit-modez-client-');
});
afterAll(async () => {
  await t.close();
  await tmp.cleanup();
});

async function client(extra: Partial<FileClientOptions> = {}): Promise<{ c: FileClient; warnings: string[] }> {
  const c = new FileClient({ host: '127.0.0.1', port: t.port, user: 'alice', password: 'secret', compress: true, ...extra });
  const warnings: string[] = [];
  c.on('warning', (w) => warnings.push(w));
  await c.connect();
  return { c, warnings };
}

function logText(lines: number): string {
  let s = '';
  for (let i = 0; i < lines; i++) s += `2026-12-01T10:00:00Z INFO request ${i} served in ${i % 97} ms\n`;
  return s;
}

/** The bytes our server's transfers moved on the wire, per command, from its events. */
function wireBytes(server: TestServer['server']): Map<string, number> {
  const bytes = new Map<string, number>();
  server.on('transfer-end', (e) => bytes.set(`${e.command} ${e.path}`, e.bytes));
  return bytes;
}

describe('FileClient compress against FileServer', () => {
  it('negotiates MODE Z and moves files both ways, compressed on the wire', async () => {
    const wire = wireBytes(t.server);
    const { c, warnings } = await client();
    try {
      expect(c.compressed).toBe(true);
      expect(warnings).toEqual([]);
      expect(commands).toContain('MODE Z');
      const text = Buffer.from(logText(50_000));
      await writeFile(join(tmp.path, 'log.txt'), text);
      const up = await c.upload(join(tmp.path, 'log.txt'), '/log.txt');
      expect(up.bytes).toBe(text.length);
      expect(await sha256File(join(t.root, 'log.txt'))).toBe(sha256Buffer(text));
      expect(wire.get('STOR /log.txt')!).toBeLessThan(text.length / 4);
      await c.download('/log.txt', join(tmp.path, 'back.txt'));
      expect(await sha256File(join(tmp.path, 'back.txt'))).toBe(sha256Buffer(text));
      expect(wire.get('RETR /log.txt')!).toBeLessThan(text.length / 4);
      // Random bytes, from a Buffer and into a stream.
      const random = randomBytes(2 * 1024 * 1024);
      await c.upload(random, '/random.bin');
      expect(await sha256File(join(t.root, 'random.bin'))).toBe(sha256Buffer(random));
      const chunks: Buffer[] = [];
      await c.download('/random.bin', new Writable({ write: (chunk: Buffer, _e, cb) => (chunks.push(chunk), cb()) }));
      expect(sha256Buffer(Buffer.concat(chunks))).toBe(sha256Buffer(random));
      // Resume: REST counts the file's bytes.
      await writeFile(join(tmp.path, 'part.txt'), text.subarray(0, 1234));
      await c.download('/log.txt', join(tmp.path, 'part.txt'), { startAt: 1234 });
      expect(await sha256File(join(tmp.path, 'part.txt'))).toBe(sha256Buffer(text));
      // Listings (MLSD) arrive compressed.
      const names = (await c.list('/')).map((e) => e.name);
      expect(names).toEqual(expect.arrayContaining(['log.txt', 'random.bin']));
      expect(wire.get('MLSD /')).toBeGreaterThan(0);
      expect(c.compressed).toBe(true);
    } finally {
      await c.close();
    }
  });

  it('TYPE A, trees and segmented downloads in MODE Z', async () => {
    const { c } = await client();
    const c2 = new FileClient({ host: '127.0.0.1', port: t.port, user: 'alice', password: 'secret', compress: true });
    await c2.connect();
    try {
      await writeFile(join(tmp.path, 'lf.txt'), 'a\nb\n');
      await c.upload(join(tmp.path, 'lf.txt'), '/crlf.txt', { ascii: true });
      expect(await readFile(join(t.root, 'crlf.txt'), 'utf8')).toBe('a\nb\n');
      await c.download('/crlf.txt', join(tmp.path, 'lf-back.txt'), { ascii: true });
      expect(await readFile(join(tmp.path, 'lf-back.txt'), 'utf8')).toBe('a\nb\n');
      const src = join(tmp.path, 'tree');
      await mkdir(join(src, 'sub'), { recursive: true });
      await writeFile(join(src, 'one.txt'), logText(100));
      await writeFile(join(src, 'sub', 'two.bin'), randomBytes(70_000));
      await c.uploadTree(src, '/tree');
      await c.downloadTree('/tree', join(tmp.path, 'tree-back'));
      expect(await sha256File(join(tmp.path, 'tree-back', 'sub', 'two.bin'))).toBe(await sha256File(join(src, 'sub', 'two.bin')));
      expect(await readFile(join(tmp.path, 'tree-back', 'one.txt'), 'utf8')).toBe(logText(100));
      const big = Buffer.from(logText(60_000));
      await writeFile(join(t.root, 'seg.txt'), big);
      const r = await downloadSegmented([c, c2], '/seg.txt', join(tmp.path, 'seg.txt'), { size: big.length, minSegment: 1024 });
      expect(r.segments).toBe(2);
      expect(await sha256File(join(tmp.path, 'seg.txt'))).toBe(sha256Buffer(big));
    } finally {
      await c.close();
      await c2.close();
    }
  });

  it('without MODE Z on the server: plain transfers, compressed false', async () => {
    const off = await startTestServer({ modeZ: false });
    const c = new FileClient({ host: '127.0.0.1', port: off.port, user: 'alice', password: 'secret', compress: true });
    const warnings: string[] = [];
    c.on('warning', (w) => warnings.push(w));
    try {
      await c.connect();
      expect(c.compressed).toBe(false);
      expect(warnings).toEqual([]);
      expect(c.features.has('MODE')).toBe(false);
      await c.upload(Buffer.from('plain'), '/p.txt');
      expect(await readFile(join(off.root, 'p.txt'), 'utf8')).toBe('plain');
    } finally {
      await c.close();
      await off.close();
    }
  });

  it('compress must be a boolean', () => {
    expect(() => new FileClient({ host: 'x', compress: 'yes' as unknown as boolean })).toThrow(/compress/);
  });
});

describe('hostile compressed downloads', () => {
  const start = fakeServerHarness();

  /** A server offering MODE Z whose RETR sends `wire` as it is. */
  async function serving(wire: Buffer): Promise<{ client: FileClient }> {
    const r = await start({
      features: ['MODE Z', 'SIZE'],
      handlers: {
        MODE: (_a, s) => s.reply(200, 'ok'),
        RETR: async (_a: string, s: FakeSession) => {
          const data = await s.dataSocket();
          s.reply(150, 'sending');
          data.end(wire, () => s.reply(226, 'done'));
        },
      },
    }, { compress: true });
    await r.client.connect();
    expect(r.client.compressed).toBe(true);
    return r;
  }

  it('a truncated stream rejects, naming it', async () => {
    const z = deflateSync(Buffer.from(logText(10_000)));
    const { client: c } = await serving(z.subarray(0, z.length >> 1));
    await expect(c.download('/f', join(tmp.path, 'trunc.txt'))).rejects.toThrow(/compressed stream ended early/);
  });

  it('bytes that are not zlib reject, naming it', async () => {
    const { client: c } = await serving(Buffer.from('plain text where a zlib stream should be'));
    await expect(c.download('/f', join(tmp.path, 'bad.txt'))).rejects.toThrow(/invalid compressed data: incorrect header check/);
  });

  it('a bomb (256 MiB of zeros) inflates to the file through zlib chunks, not into memory', async () => {
    const size = 256 * 1024 * 1024;
    const bomb = deflateSync(Buffer.alloc(size), { level: 9 });
    expect(bomb.length).toBeLessThan(size / 500);
    const { client: c } = await serving(bomb);
    // What the destination holds at once is what the pipeline hands it: never more than a few zlib chunks.
    let most = 0;
    let total = 0;
    const dest = new Writable({
      highWaterMark: 64 * 1024,
      write(chunk: Buffer, _e, cb) {
        total += chunk.length;
        most = Math.max(most, this.writableLength);
        setImmediate(cb); // a slow sink: zlib must wait for it
      },
    });
    await c.download('/f', dest);
    expect(total).toBe(size);
    expect(most).toBeLessThanOrEqual(256 * 1024);
  });

  it('a listing bomb is capped at maxListingBytes of inflated text', async () => {
    const { client: c } = await start({
      features: ['MODE Z', 'MLST type*;size*;'],
      handlers: {
        MODE: (_a, s) => s.reply(200, 'ok'),
        MLSD: async (_a: string, s: FakeSession) => {
          const data = await s.dataSocket();
          s.reply(150, 'sending');
          data.on('error', () => {});
          data.end(deflateSync(Buffer.alloc(64 * 1024 * 1024, 'type=file; x\r\n')), () => s.reply(226, 'done'));
        },
      },
    }, { compress: true, maxListingBytes: 1024 * 1024 });
    await c.connect();
    await expect(c.list('/')).rejects.toThrow(/maxListingBytes/);
  });
});
