// MODE Z (draft-preston-ftpext-deflate) on our server, spoken byte by byte: each transfer is one
// zlib stream (RFC 1950), TYPE A converts before compressing, REST counts uncompressed bytes,
// and bad compressed input gets a 451 naming it with the previous file left as it was.
import { randomBytes } from 'node:crypto';
import { existsSync } from 'node:fs';
import { readdir, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { deflateRawSync, deflateSync, inflateSync } from 'node:zlib';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { RawFtp } from '../../helpers/raw-ftp.js';
import { startTestServer, type TestServer } from '../../helpers/server.js';
import { sha256Buffer, sha256File } from '../../helpers/tmp.js';

let t: TestServer;
let ftp: RawFtp;

beforeAll(async () => {
  t = await startTestServer({ modeZ: { maxLevel: 7 } });
});
afterAll(async () => {
  await t.close();
});
beforeEach(async () => {
  ftp = await RawFtp.connect(t.port);
  await ftp.login();
  expect((await ftp.send('TYPE I')).code).toBe(200);
  expect((await ftp.send('MODE Z')).code).toBe(200);
});
afterEach(() => ftp.close());

/** Text that compresses well: a log. */
function logText(lines: number): string {
  let s = '';
  for (let i = 0; i < lines; i++) s += `2026-12-01T10:00:${String(i % 60).padStart(2, '0')}Z INFO request ${i} served in ${i % 97} ms\n`;
  return s;
}

/** The temporaries of atomic uploads left in the root. */
async function temporaries(): Promise<string[]> {
  return (await readdir(t.root)).filter((n) => n.startsWith('.ftpkit-upload-'));
}

describe('MODE Z commands', () => {
  it('FEAT lists MODE Z; MODE S, Z and unknown modes', async () => {
    const feat = await ftp.send('FEAT');
    expect(feat.lines).toContain(' MODE Z');
    expect(await ftp.send('MODE S')).toMatchObject({ code: 200, text: 'Mode set to S' });
    expect(await ftp.send('MODE Z')).toMatchObject({ code: 200, text: 'Mode set to Z' });
    expect((await ftp.send('STAT')).text).toContain('MODE: Deflate');
    expect((await ftp.send('MODE X')).code).toBe(501);
    expect((await ftp.send('MODE B')).code).toBe(504);
  });

  it('OPTS MODE Z LEVEL: 0-9, capped at maxLevel; 501 for anything else', async () => {
    expect(await ftp.send('OPTS MODE Z LEVEL 1')).toMatchObject({ code: 200, text: 'MODE Z LEVEL set to 1' });
    expect(await ftp.send('OPTS MODE Z LEVEL 9')).toMatchObject({ code: 200, text: "MODE Z LEVEL set to 7 (the server's maximum)" });
    expect((await ftp.send('OPTS MODE Z LEVEL 99')).code).toBe(501);
    expect((await ftp.send('OPTS MODE Z LEVEL -1')).code).toBe(501);
    expect((await ftp.send('OPTS MODE Z LEVEL abc')).code).toBe(501);
    expect((await ftp.send('OPTS MODE Z')).code).toBe(501);
    expect((await ftp.send('OPTS MODE Q LEVEL 1')).code).toBe(501);
  });

  it('REIN returns to MODE S', async () => {
    expect((await ftp.send('REIN')).code).toBe(220);
    await ftp.login();
    expect((await ftp.send('STAT')).text).toContain('MODE: Stream');
  });
});

describe('MODE Z transfers', () => {
  it('RETR is one zlib stream (78 xx header, Adler-32) of the file; the level is honoured', async () => {
    const body = Buffer.from(logText(20_000));
    await writeFile(join(t.root, 'log.txt'), body);
    const d6 = await ftp.fetch('RETR log.txt');
    expect(d6.final.code).toBe(226);
    expect(d6.data[0]).toBe(0x78);
    expect(d6.data.length).toBeLessThan(body.length / 4);
    expect(sha256Buffer(inflateSync(d6.data))).toBe(sha256Buffer(body));
    expect((await ftp.send('OPTS MODE Z LEVEL 0')).code).toBe(200);
    const d0 = await ftp.fetch('RETR log.txt');
    expect(d0.data[0]).toBe(0x78);
    expect(d0.data.length).toBeGreaterThan(body.length); // stored blocks
    expect(sha256Buffer(inflateSync(d0.data))).toBe(sha256Buffer(body));
  });

  it('MODE S returns to plain bytes', async () => {
    await writeFile(join(t.root, 'plain.txt'), 'plain bytes');
    expect((await ftp.send('MODE S')).code).toBe(200);
    const d = await ftp.fetch('RETR plain.txt');
    expect(d.data.toString()).toBe('plain bytes');
  });

  it('STOR, APPE and STOU inflate before the file (random data too)', async () => {
    const body = randomBytes(3 * 1024 * 1024 + 17);
    expect((await ftp.store('STOR up.bin', deflateSync(body))).final.code).toBe(226);
    expect(await sha256File(join(t.root, 'up.bin'))).toBe(sha256Buffer(body));
    const more = Buffer.from(logText(1000));
    expect((await ftp.store('APPE up.bin', deflateSync(more))).final.code).toBe(226);
    expect(await sha256File(join(t.root, 'up.bin'))).toBe(sha256Buffer(Buffer.concat([body, more])));
    const stou = await ftp.store('STOU', deflateSync(more));
    expect(stou.final.code).toBe(226);
    const name = /unique file name: (\S+)\)/.exec(stou.final.text)![1]!;
    expect(await readFile(join(t.root, name), 'utf8')).toBe(more.toString());
  });

  it('LIST, NLST and MLSD are compressed', async () => {
    await writeFile(join(t.root, 'listed.txt'), 'x');
    for (const verb of ['LIST', 'NLST', 'MLSD']) {
      const d = await ftp.fetch(verb);
      expect(d.final.code).toBe(226);
      expect(d.data[0]).toBe(0x78);
      expect(inflateSync(d.data).toString()).toContain('listed.txt');
    }
  });

  it('TYPE A: LF to CRLF before compressing, CRLF to LF after inflating', async () => {
    expect((await ftp.send('TYPE A')).code).toBe(200);
    await writeFile(join(t.root, 'lines.txt'), 'one\ntwo\n');
    const d = await ftp.fetch('RETR lines.txt');
    expect(inflateSync(d.data).toString()).toBe('one\r\ntwo\r\n');
    expect((await ftp.store('STOR crlf.txt', deflateSync('a\r\nb\r\n'))).final.code).toBe(226);
    expect(await readFile(join(t.root, 'crlf.txt'), 'utf8')).toBe('a\nb\n');
  });

  it('REST counts uncompressed bytes, for RETR and for STOR', async () => {
    const body = Buffer.from(logText(5000));
    await writeFile(join(t.root, 'rest.txt'), body);
    expect((await ftp.send('REST 1000')).code).toBe(350);
    const d = await ftp.fetch('RETR rest.txt');
    expect(inflateSync(d.data).equals(body.subarray(1000))).toBe(true);
    // Resume an upload: the first 1000 bytes are there, the rest comes compressed.
    await writeFile(join(t.root, 'resumed.txt'), body.subarray(0, 1000));
    expect((await ftp.send('REST 1000')).code).toBe(350);
    expect((await ftp.store('STOR resumed.txt', deflateSync(body.subarray(1000)))).final.code).toBe(226);
    expect(await sha256File(join(t.root, 'resumed.txt'))).toBe(sha256Buffer(body));
  });
});

describe('bad compressed uploads', () => {
  const previous = 'the previous version\n';

  it('a stream that is not zlib (plain bytes, raw deflate): 451, the previous file intact, nothing kept', async () => {
    await writeFile(join(t.root, 'keep.txt'), previous);
    for (const bad of [Buffer.from('just some plain text, not compressed at all'), deflateRawSync(Buffer.from(logText(100)))]) {
      const r = await ftp.store('STOR keep.txt', bad);
      expect(r.final.code).toBe(451);
      expect(r.final.text).toBe('/keep.txt: Invalid compressed data; transfer aborted');
      expect(await readFile(join(t.root, 'keep.txt'), 'utf8')).toBe(previous);
      expect(await temporaries()).toEqual([]);
    }
  });

  it('a wrong checksum: 451 invalid compressed data', async () => {
    await writeFile(join(t.root, 'sum.txt'), previous);
    const z = deflateSync(Buffer.from(logText(100)));
    z[z.length - 1] ^= 0xff; // the Adler-32's last byte
    const r = await ftp.store('STOR sum.txt', z);
    expect(r.final).toMatchObject({ code: 451, text: '/sum.txt: Invalid compressed data; transfer aborted' });
    expect(await readFile(join(t.root, 'sum.txt'), 'utf8')).toBe(previous);
  });

  it('a truncated stream: 451 naming it; the previous file intact, what arrived kept for REST', async () => {
    await writeFile(join(t.root, 'cut.txt'), previous);
    const body = Buffer.from(logText(20_000));
    const z = deflateSync(body);
    const r = await ftp.store('STOR cut.txt', z.subarray(0, z.length >> 1));
    expect(r.final).toMatchObject({ code: 451, text: '/cut.txt: Compressed stream ended early; transfer aborted' });
    expect(await readFile(join(t.root, 'cut.txt'), 'utf8')).toBe(previous);
    // The inflated prefix is the partial upload: SIZE reports it, REST + STOR completes it.
    const size = await ftp.send('SIZE cut.txt');
    expect(size.code).toBe(213);
    const kept = Number(size.text);
    expect(kept).toBeGreaterThan(0);
    expect(kept).toBeLessThan(body.length);
    expect((await ftp.send(`REST ${kept}`)).code).toBe(350);
    expect((await ftp.store('STOR cut.txt', deflateSync(body.subarray(kept)))).final.code).toBe(226);
    expect(await sha256File(join(t.root, 'cut.txt'))).toBe(sha256Buffer(body));
    expect(await temporaries()).toEqual([]);
  });

  it("bad data onto a partial upload: this transfer's bytes go, the partial stays for REST", async () => {
    await writeFile(join(t.root, 'part.txt'), previous);
    const body = Buffer.from(logText(20_000));
    const z = deflateSync(body);
    expect((await ftp.store('STOR part.txt', z.subarray(0, z.length >> 1))).final.code).toBe(451);
    const kept = Number((await ftp.send('SIZE part.txt')).text);
    expect(kept).toBeGreaterThan(0);
    expect((await ftp.send(`REST ${kept}`)).code).toBe(350);
    const r = await ftp.store('STOR part.txt', Buffer.from('garbage, not zlib'));
    expect(r.final).toMatchObject({ code: 451, text: '/part.txt: Invalid compressed data; transfer aborted' });
    expect((await ftp.send('SIZE part.txt')).text).toBe(String(kept));
    expect(await readFile(join(t.root, 'part.txt'), 'utf8')).toBe(previous);
    expect((await ftp.send(`REST ${kept}`)).code).toBe(350);
    expect((await ftp.store('STOR part.txt', deflateSync(body.subarray(kept)))).final.code).toBe(226);
    expect(await sha256File(join(t.root, 'part.txt'))).toBe(sha256Buffer(body));
  });

  it('an empty upload in MODE Z is a truncated stream, not an empty file', async () => {
    await writeFile(join(t.root, 'empty.txt'), previous);
    const r = await ftp.store('STOR empty.txt', Buffer.alloc(0));
    expect(r.final.code).toBe(451);
    expect(await readFile(join(t.root, 'empty.txt'), 'utf8')).toBe(previous);
    expect(await temporaries()).toEqual([]);
  });
});

describe('modeZ: false', () => {
  it('MODE Z is refused with 504 and not listed in FEAT', async () => {
    const off = await startTestServer({ modeZ: false });
    const c = await RawFtp.connect(off.port);
    try {
      await c.login();
      expect((await c.send('FEAT')).lines).not.toContain(' MODE Z');
      expect((await c.send('MODE Z')).code).toBe(504);
      expect((await c.send('OPTS MODE Z LEVEL 1')).code).toBe(501);
      expect(existsSync(off.root)).toBe(true);
    } finally {
      c.close();
      await off.close();
    }
  });

  it('options are checked at construction', async () => {
    await expect(startTestServer({ modeZ: { maxLevel: 12 } })).rejects.toThrow(/modeZ\.maxLevel/);
    await expect(startTestServer({ modeZ: { level: 8, maxLevel: 5 } })).rejects.toThrow(/modeZ\.level/);
  });
});
