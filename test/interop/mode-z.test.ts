// MODE Z interop: lftp (ftp:use-mode-z) and Python's ftplib with raw zlib against our server,
// in clear and under FTPS; our client against ProFTPD's mod_deflate (downloads and listings:
// ProFTPD fails lftp's MODE Z uploads and refuses MODE Z under TLS, so neither is tried).
// The server's command events prove the clients really asked for MODE Z, and its transfer-end
// byte counts (bytes on the wire) prove the data really went compressed.
import { mkdir, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { FileClient } from '../../src/index.js';
import { startFtpsServer, type FtpsFixture } from '../helpers/ftps-fixture.js';
import { requirePeer, startPeer, type Peer } from '../helpers/peers.js';
import { startFileServer, type ServerFixture } from '../helpers/server-fixture.js';
import { TEST_CERT } from '../helpers/tls.js';
import { makeTempDir, randomFile, sha256Buffer, sha256File, type TempDir } from '../helpers/tmp.js';
import { hasTool, lftp, pyftp } from '../helpers/tools.js';

/** A log: compresses about 10:1. */
function logText(lines: number): string {
  let s = '';
  for (let i = 0; i < lines; i++) s += `2026-12-01T10:00:${String(i % 60).padStart(2, '0')}Z INFO GET /api/items/${i % 500} 200 ${i % 97} ms\n`;
  return s;
}
const LOG = Buffer.from(logText(60_000)); // ~3.5 MB
const LOG_SHA = sha256Buffer(LOG);

interface Heard {
  commands: string[];
  /** "VERB /path" -> wire bytes of the last such transfer, and whether it succeeded. */
  transfers: Map<string, { bytes: number; ok: boolean }>;
}

function listen(server: ServerFixture['server']): Heard {
  const heard: Heard = { commands: [], transfers: new Map() };
  server.on('command', ({ verb, arg }) => heard.commands.push(arg ? `${verb} ${arg}` : verb));
  server.on('transfer-end', (t) => heard.transfers.set(`${t.command} ${t.path}`, { bytes: t.bytes, ok: t.ok }));
  return heard;
}

describe.skipIf(!hasTool('lftp'))('lftp ftp:use-mode-z -> FileServer', () => {
  let fx: ServerFixture;
  let heard: Heard;
  const run = (script: string) => lftp(script, { ...fx.user, settings: { 'ftp:use-mode-z': 'yes' }, cwd: fx.local, timeoutMs: 60_000 });

  beforeAll(async () => {
    fx = await startFileServer();
    heard = listen(fx.server);
    await writeFile(join(fx.root, 'log.txt'), LOG);
  });
  afterAll(async () => {
    await fx?.close();
  });

  it('get, put and ls go compressed; lftp sent MODE Z', async () => {
    await writeFile(join(fx.local, 'up.txt'), LOG);
    const r = await run('get log.txt -o got.txt; put up.txt -o put.txt; ls');
    expect(r.code, r.stderr).toBe(0);
    expect(heard.commands).toContain('MODE Z');
    expect(await sha256File(join(fx.local, 'got.txt'))).toBe(LOG_SHA);
    expect(await sha256File(join(fx.root, 'put.txt'))).toBe(LOG_SHA);
    expect(r.stdout).toMatch(/ log\.txt$/m);
    expect(heard.transfers.get('RETR /log.txt')).toEqual({ ok: true, bytes: expect.any(Number) });
    expect(heard.transfers.get('RETR /log.txt')!.bytes).toBeLessThan(LOG.length / 5);
    expect(heard.transfers.get('STOR /put.txt')!.bytes).toBeLessThan(LOG.length / 5);
  });

  it('mirror both ways (text and random files) is byte-exact', async () => {
    const src = join(fx.local, 'tree');
    await mkdir(join(src, 'sub'), { recursive: true });
    await writeFile(join(src, 'a.txt'), logText(2000));
    const randomSha = await randomFile(join(src, 'sub', 'r.bin'), 1024 * 1024 + 3);
    const up = await run(`mirror -R ${src} /mirrored`);
    expect(up.code, up.stderr).toBe(0);
    expect(await sha256File(join(fx.root, 'mirrored', 'sub', 'r.bin'))).toBe(randomSha);
    expect(await readFile(join(fx.root, 'mirrored', 'a.txt'), 'utf8')).toBe(logText(2000));
    const down = await run(`mirror /mirrored ${join(fx.local, 'back')}`);
    expect(down.code, down.stderr).toBe(0);
    expect(await sha256File(join(fx.local, 'back', 'sub', 'r.bin'))).toBe(randomSha);
    expect(await readFile(join(fx.local, 'back', 'a.txt'), 'utf8')).toBe(logText(2000));
    expect(heard.transfers.get('STOR /mirrored/a.txt')!.bytes).toBeLessThan(logText(2000).length / 5);
  });
});

describe.skipIf(!hasTool('python3'))('Python ftplib with raw zlib -> FileServer', () => {
  let fx: ServerFixture;
  let heard: Heard;

  beforeAll(async () => {
    fx = await startFileServer();
    heard = listen(fx.server);
    await writeFile(join(fx.root, 'log.txt'), LOG);
  });
  afterAll(async () => {
    await fx?.close();
  });

  it('RETR, STOR and NLST as zlib streams (header, deflate, Adler-32)', async () => {
    const r = await pyftp(
      `
import zlib
ftp = ftplib.FTP()
ftp.connect(HOST, PORT)
ftp.login(USER, PASSWORD)
ftp.sendcmd('TYPE I')
print(ftp.sendcmd('MODE Z'))
conn = ftp.transfercmd('RETR log.txt')
d = zlib.decompressobj()
raw = b''
out = b''
while True:
    chunk = conn.recv(65536)
    if not chunk: break
    raw += chunk
    out += d.decompress(chunk)
out += d.flush()
conn.close()
print(ftp.voidresp())
print('header', raw[:1].hex(), 'eof', d.eof, 'wire', len(raw))
print('sha', hashlib.sha256(out).hexdigest())
conn = ftp.transfercmd('STOR py.txt')
c = zlib.compressobj(9)
conn.sendall(c.compress(out) + c.flush())
conn.close()
print(ftp.voidresp())
conn = ftp.transfercmd('NLST')
listing = zlib.decompress(b''.join(iter(lambda: conn.recv(65536), b'')))
conn.close()
ftp.voidresp()
print('nlst', sorted(listing.decode().split()))
print(ftp.sendcmd('MODE S'))
ftp.quit()
`,
      { target: fx.user, timeoutMs: 30_000 },
    );
    expect(r.code, r.stderr).toBe(0);
    const lines = r.stdout.trim().split('\n');
    expect(lines[0]).toBe('200 Mode set to Z');
    expect(lines[1]).toMatch(/^226 /);
    expect(lines[2]).toMatch(/^header 78 eof True wire \d+$/);
    expect(Number(lines[2]!.split(' ').pop())).toBeLessThan(LOG.length / 5);
    expect(lines[3]).toBe(`sha ${LOG_SHA}`);
    expect(lines[4]).toMatch(/^226 /);
    expect(await sha256File(join(fx.root, 'py.txt'))).toBe(LOG_SHA);
    expect(lines[5]).toBe("nlst ['log.txt', 'py.txt']");
    expect(lines[6]).toBe('200 Mode set to S');
    expect(heard.commands).toEqual(expect.arrayContaining(['MODE Z', 'RETR log.txt', 'STOR py.txt', 'NLST', 'MODE S']));
  });
});

describe('MODE Z under FTPS (compress, then encrypt)', () => {
  let fx: FtpsFixture;

  beforeAll(async () => {
    fx = await startFtpsServer({ version: 'TLSv1.3' });
    await writeFile(join(fx.root, 'log.txt'), LOG);
  });
  afterAll(async () => {
    await fx?.close();
  });

  const wire = (command: string): number => fx.transfers.filter((t) => `${t.command} ${t.path}` === command && t.ok).at(-1)!.bytes;

  it('our client: upload, download and list over PROT P in MODE Z', async () => {
    const c = new FileClient({ host: fx.host, port: fx.port, user: 'alice', password: 'secret', tls: 'explicit', ca: TEST_CERT, servername: 'localhost', compress: true });
    try {
      await c.connect();
      expect(c.compressed).toBe(true);
      const from = fx.commands.length;
      await c.upload(LOG, '/client-up.txt');
      expect(await sha256File(join(fx.root, 'client-up.txt'))).toBe(LOG_SHA);
      await c.download('/log.txt', join(fx.local, 'client-got.txt'));
      expect(await sha256File(join(fx.local, 'client-got.txt'))).toBe(LOG_SHA);
      expect((await c.list('/')).map((e) => e.name)).toEqual(expect.arrayContaining(['log.txt', 'client-up.txt']));
      expect(fx.commands).toContain('PROT P');
      expect(fx.commands).toContain('MODE Z');
      expect(fx.commands.slice(from)).not.toContain('PROT C');
      // TLS records carry the compressed bytes: far fewer than the file's.
      expect(wire('STOR /client-up.txt')).toBeLessThan(LOG.length / 5);
      expect(wire('RETR /log.txt')).toBeLessThan(LOG.length / 5);
    } finally {
      await c.close();
    }
  });

  it.skipIf(!hasTool('lftp'))('lftp: get and put over PROT P in MODE Z', async () => {
    await writeFile(join(fx.local, 'lftp-src.txt'), LOG);
    const r = await lftp(`get log.txt -o ${join(fx.local, 'lftp-got.txt')}; put ${join(fx.local, 'lftp-src.txt')} -o lftp-up.txt`, {
      ...fx.user,
      settings: { 'ftp:ssl-allow': 'yes', 'ftp:ssl-force': 'yes', 'ftp:ssl-protect-data': 'yes', 'ssl:verify-certificate': 'no', 'ftp:use-mode-z': 'yes' },
      timeoutMs: 60_000,
    });
    expect(r.code, r.stderr).toBe(0);
    expect(await sha256File(join(fx.local, 'lftp-got.txt'))).toBe(LOG_SHA);
    expect(await sha256File(join(fx.root, 'lftp-up.txt'))).toBe(LOG_SHA);
    expect(fx.commands).toContain('MODE Z');
    expect(wire('STOR /lftp-up.txt')).toBeLessThan(LOG.length / 5);
  });
});

describe.skipIf(!requirePeer('proftpd'))('FileClient compress -> ProFTPD mod_deflate', () => {
  let peer: Peer;
  let tmp: TempDir;

  beforeAll(async () => {
    peer = await startPeer('proftpd');
    tmp = await makeTempDir('ftpkit-modez-proftpd-');
    await writeFile(join(peer.root, 'log.txt'), LOG);
    await peer.adopt();
  });
  afterAll(async () => {
    await peer?.stop();
    await tmp?.cleanup();
  });

  it('downloads and lists in MODE Z, byte-exact', async () => {
    const c = new FileClient({ host: peer.host, port: peer.port, user: peer.user, password: peer.password, compress: true, timeout: 10_000 });
    const sent: string[] = [];
    c.on('command', (line) => sent.push(line));
    try {
      await c.connect();
      expect(c.features.get('MODE')).toBe('Z');
      expect(c.compressed).toBe(true);
      expect(sent).toContain('MODE Z');
      await c.download('/log.txt', join(tmp.path, 'got.txt'));
      expect(await sha256File(join(tmp.path, 'got.txt'))).toBe(LOG_SHA);
      // Resume from an offset: REST counts the file's bytes on ProFTPD too.
      await writeFile(join(tmp.path, 'part.txt'), LOG.subarray(0, 100_000));
      await c.download('/log.txt', join(tmp.path, 'part.txt'), { startAt: 100_000 });
      expect(await sha256File(join(tmp.path, 'part.txt'))).toBe(LOG_SHA);
      expect((await c.list('/')).map((e) => e.name)).toContain('log.txt');
    } finally {
      await c.close();
    }
  });
});
