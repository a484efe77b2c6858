// Media against ftpkit's FileServer with real clients: the RFC 3659 media-type fact (on by
// default only because none of lftp, curl, ftplib, tnftp or basic-ftp chokes on it: these
// tests are that check), byte ranges with curl -r (REST, then it closes after the range),
// and lftp's resume (get -c).
import { createHash } from 'node:crypto';
import { mkdir, readFile, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { Client } from 'basic-ftp';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { randomFile, sha256File } from '../helpers/tmp.js';
import { startFileServer, type ServerFixture } from '../helpers/server-fixture.js';
import { curl, hasTool, lftp, pyftp, tnftp, type ToolResult } from '../helpers/tools.js';

const sha = (b: Buffer): string => createHash('sha256').update(b).digest('hex');

const MEDIA: Record<string, string> = {
  'clip.mp4': 'video/mp4',
  'photo.JPG': 'image/jpeg',
  'song.flac': 'audio/flac',
  'notes': 'application/octet-stream',
};

let fx: ServerFixture;
let body: Buffer;

beforeAll(async () => {
  fx = await startFileServer();
  await mkdir(join(fx.root, 'media'));
  for (const name of Object.keys(MEDIA)) await writeFile(join(fx.root, 'media', name), `${name} bytes\n`);
  await mkdir(join(fx.root, 'media', 'album.flac')); // a folder named like a file: no media-type
  await randomFile(join(fx.root, 'movie.mp4'), 3 * 1024 * 1024 + 17);
  body = await readFile(join(fx.root, 'movie.mp4'));
});
afterAll(async () => {
  await fx?.close();
});

describe.skipIf(!hasTool('python3'))('ftplib mlsd() with media-type', () => {
  it('parses every fact, media-type included, and the folder has none', async () => {
    const script = [
      'import json',
      'ftp = ftplib.FTP(); ftp.connect(HOST, PORT, timeout=20); ftp.login(USER, PASSWORD)',
      "print(json.dumps({name: facts for name, facts in ftp.mlsd('media')}))",
      'ftp.quit()',
    ].join('\n');
    const r = await pyftp(script, { target: fx.user });
    expect(r.code, r.stderr).toBe(0);
    const facts = JSON.parse(r.stdout) as Record<string, Record<string, string>>;
    for (const [name, type] of Object.entries(MEDIA)) {
      expect(facts[name]).toMatchObject({ type: 'file', size: String(`${name} bytes\n`.length), 'media-type': type });
    }
    expect(facts['album.flac']!.type).toBe('dir');
    expect(facts['album.flac']!['media-type']).toBeUndefined();
  });
});

describe('basic-ftp list() with media-type', () => {
  it('lists names, sizes and types unharmed', async () => {
    const client = new Client(15_000);
    try {
      await client.access({ host: fx.user.host, port: fx.user.port, user: fx.user.user, password: fx.user.password });
      const entries = await client.list('media');
      const byName = Object.fromEntries(entries.map((e) => [e.name, e]));
      expect(Object.keys(byName).sort()).toEqual(['album.flac', ...Object.keys(MEDIA)].sort());
      for (const name of Object.keys(MEDIA)) {
        expect(byName[name]!.isFile).toBe(true);
        expect(byName[name]!.size).toBe(`${name} bytes\n`.length);
      }
      expect(byName['album.flac']!.isDirectory).toBe(true);
    } finally {
      client.close();
    }
  });
});

describe.skipIf(!hasTool('lftp'))('lftp with media-type', () => {
  it('cls and mirror read the MLSD listing: names, sizes and bytes unharmed', async () => {
    const local = join(fx.local, 'mirrored');
    const r = await lftp(`cls -l media/; mirror media ${local}`, { ...fx.user });
    expect(r.code, r.stderr).toBe(0);
    for (const name of Object.keys(MEDIA)) {
      expect(r.stdout).toMatch(new RegExp(`\\s${`${name} bytes\n`.length}\\s.*${name.replace('.', '\\.')}`));
      expect(await readFile(join(local, name), 'utf8')).toBe(`${name} bytes\n`);
    }
  });

  it('get -c resumes a partial download: the whole file arrives, by SHA-256', async () => {
    const local = join(fx.local, 'resumed.mp4');
    await writeFile(local, body.subarray(0, 1_000_001));
    const r = await lftp(`get -c movie.mp4 -o ${local}`, { ...fx.user, settings: { 'cmd:verbose': 'yes' } });
    expect(r.code, r.stderr).toBe(0);
    expect(await sha256File(local)).toBe(sha(body));
    await rm(local);
  });
});

describe.skipIf(!hasTool('tnftp'))('tnftp with media-type', () => {
  it('mlsd prints the facts and mlst one file; get still works', async () => {
    const r = await tnftp(['mlsd media', 'mlst media/clip.mp4', 'get media/song.flac song.flac'], { ...fx.user, cwd: fx.local });
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(/media-type=video\/mp4; clip\.mp4/);
    expect(r.stdout).toMatch(/type=file;.*media-type=video\/mp4; \/media\/clip\.mp4/);
    expect(r.stdout).toContain('226');
    expect(await readFile(join(fx.local, 'song.flac'), 'utf8')).toBe('song.flac bytes\n');
  });
});

describe.skipIf(!hasTool('curl'))('curl with media-type and ranges', () => {
  function run(args: string[]): Promise<ToolResult> {
    return curl(['-sS', '--connect-timeout', '10', '--max-time', '25', ...args], { timeoutMs: 30_000 });
  }

  it('lists with LIST as before, and passes MLSD lines through (-X MLSD)', async () => {
    const list = await run([fx.url('/media/')]);
    expect(list.code).toBe(0);
    expect(list.stdout).toMatch(/ clip\.mp4\r?\n/);
    const mlsd = await run(['-X', 'MLSD', fx.url('/media/')]);
    expect(mlsd.code, mlsd.stderr).toBe(0);
    expect(mlsd.stdout).toMatch(/;media-type=audio\/flac; song\.flac\r?\n/);
  });

  const size = () => body.length;
  const cases: Array<[string, () => string, () => [number, number]]> = [
    ['the start', () => '0-99', () => [0, 99]],
    ['the middle', () => '1000000-1999999', () => [1_000_000, 1_999_999]],
    ['the end', () => `${size() - 100}-${size() - 1}`, () => [size() - 100, size() - 1]],
    ['open-ended', () => '3000000-', () => [3_000_000, size() - 1]],
    ['the last N bytes', () => '-500', () => [size() - 500, size() - 1]],
  ];
  for (const [what, range, want] of cases) {
    it(`-r: ${what}, byte-exact by SHA-256`, async () => {
      const out = join(fx.local, 'range.bin');
      const r = await run(['-r', range(), '-o', out, fx.url('/movie.mp4')]);
      expect(r.code, r.stderr).toBe(0);
      const [a, b] = want();
      expect(await sha256File(out)).toBe(sha(body.subarray(a, b + 1)));
      await rm(out);
    });
  }

  it('two ranges in one run: curl ABORs the first after its last byte, then REST 10 for the second', async () => {
    const [one, two] = [join(fx.local, 'one.bin'), join(fx.local, 'two.bin')];
    const r = await run(['-v', '-r', '0-9', '-o', one, fx.url('/movie.mp4'), '--next', '-r', '10-19', '-o', two, fx.url('/movie.mp4')]);
    expect(r.code, r.stderr).toBe(0);
    // curl drops a connection after a partial download, so the second range logs in again.
    // The transfer's final is 426, or 226 when the server had already queued the whole file; ABOR's is 226 or 225.
    expect(r.stderr).toContain('> ABOR');
    expect(r.stderr).toMatch(/< 426 (Transfer aborted|Connection closed; transfer aborted)|< 226 Transfer complete/);
    expect(r.stderr).toMatch(/< 226 ABOR successful|< 225 No transfer to abort/);
    expect(r.stderr).toContain('> REST 10');
    expect(await readFile(one)).toEqual(body.subarray(0, 10));
    expect(await readFile(two)).toEqual(body.subarray(10, 20));
  });
});
