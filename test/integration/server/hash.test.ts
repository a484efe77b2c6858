// HASH (draft-bryan-ftp-hash), OPTS HASH and the legacy XCRC/XMD5/XSHA*: answers equal the
// system's sha256sum/sha512sum/sha1sum/md5sum and Python's zlib.crc32 of the same file.
import { randomBytes } from 'node:crypto';
import { existsSync } from 'node:fs';
import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { RawFtp } from '../../helpers/raw-ftp.js';
import { startTestServer, type TestServer } from '../../helpers/server.js';
import { expectSettled } from '../../helpers/settle.js';
import { countFds, randomFile } from '../../helpers/tmp.js';
import { runTool } from '../../helpers/tools.js';

let t: TestServer;
let ftp: RawFtp;
let fds: number;
const FILE = 'data.bin';

beforeAll(async () => {
  t = await startTestServer({ hashLimits: { maxBytes: 512 * 1024 * 1024 } });
  await writeFile(join(t.root, FILE), randomBytes(3_000_001));
  await writeFile(join(t.root, 'empty'), '');
  await writeFile(join(t.root, 'with space.txt'), 'hello');
  await mkdir(join(t.root, 'dir'));
});
afterAll(() => t.close());
beforeEach(async () => {
  fds = countFds();
  ftp = await RawFtp.connect(t.port);
  await ftp.login();
});
afterEach(async () => {
  ftp.close();
  await expectSettled(t.server, fds);
});

/** `<tool> file` -> the hex digest it prints. */
async function systemDigest(tool: string, file: string): Promise<string> {
  const r = await runTool(tool, [file]);
  expect(r.code, r.stderr).toBe(0);
  return r.stdout.split(' ')[0]!;
}

async function pythonCrc32(file: string): Promise<string> {
  const py = existsSync('/usr/bin/python3') ? '/usr/bin/python3' : 'python3';
  const r = await runTool(py, ['-c', 'import sys,zlib; print("%08x" % zlib.crc32(open(sys.argv[1],"rb").read()))', file]);
  expect(r.code, r.stderr).toBe(0);
  return r.stdout.trim();
}

describe('HASH', () => {
  it('FEAT advertises the algorithms (selected one starred) and the legacy verbs', async () => {
    const feat = (await ftp.send('FEAT')).text.split('\n').map((l) => l.trim());
    expect(feat).toContain('HASH SHA-256*;SHA-512;SHA-1;MD5;CRC32');
    for (const verb of ['XCRC', 'XMD5', 'XSHA1', 'XSHA256', 'XSHA512']) expect(feat).toContain(verb);
    expect((await ftp.send('OPTS HASH md5')).text).toBe('MD5');
    expect((await ftp.send('FEAT')).text).toContain('HASH SHA-256;SHA-512;SHA-1;MD5*;CRC32');
    expect((await ftp.send('OPTS HASH')).text).toBe('MD5');
  });

  it.each([
    ['SHA-256', 'sha256sum'],
    ['SHA-512', 'sha512sum'],
    ['SHA-1', 'sha1sum'],
    ['MD5', 'md5sum'],
    ['CRC32', ''],
  ])('%s equals %s', async (algorithm, tool) => {
    const file = join(t.root, FILE);
    const expected = tool ? await systemDigest(tool, file) : await pythonCrc32(file);
    expect(await ftp.send(`OPTS HASH ${algorithm}`)).toMatchObject({ code: 200, text: algorithm });
    expect(await ftp.send(`HASH ${FILE}`)).toMatchObject({ code: 213, text: `${algorithm} 0-3000001 ${expected} ${FILE}` });
  });

  it('the legacy verbs answer 250 and upper-case hex, with an optional byte range', async () => {
    const file = join(t.root, FILE);
    expect(await ftp.send(`XCRC ${FILE}`)).toMatchObject({ code: 250, text: (await pythonCrc32(file)).toUpperCase() });
    expect(await ftp.send(`XMD5 ${FILE}`)).toMatchObject({ code: 250, text: (await systemDigest('md5sum', file)).toUpperCase() });
    expect(await ftp.send(`XSHA1 ${FILE}`)).toMatchObject({ code: 250, text: (await systemDigest('sha1sum', file)).toUpperCase() });
    expect(await ftp.send(`XSHA ${FILE}`)).toMatchObject({ code: 250, text: (await systemDigest('sha1sum', file)).toUpperCase() });
    expect(await ftp.send(`XSHA256 ${FILE}`)).toMatchObject({ code: 250, text: (await systemDigest('sha256sum', file)).toUpperCase() });
    expect(await ftp.send(`XSHA512 ${FILE}`)).toMatchObject({ code: 250, text: (await systemDigest('sha512sum', file)).toUpperCase() });
    // ProFTPD's example: the CRC-32 of "hello" is 3610A686.
    expect(await ftp.send('XCRC "with space.txt"')).toMatchObject({ code: 250, text: '3610A686' });
    expect(await ftp.send('XCRC with space.txt 0 5')).toMatchObject({ code: 250, text: '3610A686' });
    expect(await ftp.send('XCRC with space.txt 1 3')).toMatchObject({ code: 250, text: '1D57A06E' }); // "el"
    expect((await ftp.send('XCRC with space.txt 9 20')).code).toBe(501);
    expect(await ftp.send('XCRC empty')).toMatchObject({ code: 250, text: '00000000' });
  });

  it('errors: missing file 550, folder 553, unknown algorithm 501, no path 501, an upload temporary 550', async () => {
    expect(await ftp.send('HASH nope')).toMatchObject({ code: 550, text: '/nope: No such file or directory' });
    expect(await ftp.send('HASH dir')).toMatchObject({ code: 553, text: '/dir: Not a regular file' });
    expect(await ftp.send('OPTS HASH SHA-3')).toMatchObject({ code: 501, text: 'SHA-3: Unsupported algorithm' });
    expect((await ftp.send('HASH')).code).toBe(501);
    expect((await ftp.send('XMD5 .ftpkit-upload-x')).code).toBe(550);
  });

  it('per-request limits: size (550) and time (451)', async () => {
    const limited = await startTestServer({ hashLimits: { maxBytes: 1000 } });
    try {
      await writeFile(join(limited.root, 'small'), 'x'.repeat(1000));
      await writeFile(join(limited.root, 'big'), randomBytes(1001));
      await randomFile(join(limited.root, 'huge-ok'), 900); // under the size limit
      const c = await RawFtp.connect(limited.port);
      await c.login();
      expect(await c.send('HASH big')).toMatchObject({ code: 550, text: '/big: Too large to hash (limit 1000 bytes)' });
      expect((await c.send('XCRC big 0 1000')).code).toBe(250); // a range under the limit is fine
      c.close();
    } finally {
      await limited.close();
    }
    const slow = await startTestServer({ hashLimits: { timeout: 1 } });
    try {
      await randomFile(join(slow.root, 'big'), 256 * 1024 * 1024);
      const c = await RawFtp.connect(slow.port);
      await c.login();
      expect(await c.send('HASH big')).toMatchObject({ code: 451, text: '/big: Hashing took longer than 1 ms' });
      expect((await slow.server.locks.held()).length).toBe(0);
      c.close();
    } finally {
      await slow.close();
    }
  });

  it('hashing a big file does not stall other sessions', async () => {
    const size = 256 * 1024 * 1024;
    await randomFile(join(t.root, 'big'), size);
    const other = await RawFtp.connect(t.port);
    await other.login();
    const started = Date.now();
    const hashing = ftp.send('HASH big');
    const delays: number[] = [];
    let done = false;
    void hashing.then(() => (done = true));
    while (!done) {
      const t0 = Date.now();
      expect((await other.send('NOOP')).code).toBe(200);
      delays.push(Date.now() - t0);
    }
    const reply = await hashing;
    const seconds = (Date.now() - started) / 1000;
    expect(reply.code).toBe(213);
    other.close();
    expect(delays.length).toBeGreaterThan(3);
    expect(Math.max(...delays)).toBeLessThan(250);
    console.log(`HASH SHA-256 of 256 MiB: ${(256 / seconds).toFixed(0)} MB/s; NOOP during it: max ${Math.max(...delays)} ms over ${delays.length}`);
  });
});
