// The basic-ftp npm client, in-process, against ftpkit's FileServer. basic-ftp rejects with
// FTPError carrying the reply code, and its verbose log shows every command and reply.
// basic-ftp has no active mode, so only passive (EPSV and PASV) is covered here.
import { existsSync } from 'node:fs';
import { copyFile, mkdir, readFile, rm, stat, truncate, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { Readable, Writable } from 'node:stream';
import { Client, FTPError, enterPassiveModeIPv4, enterPassiveModeIPv6 } from 'basic-ftp';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { randomFile, sha256File } from '../helpers/tmp.js';
import { CRLF_TEXT, FANCY_NAME, LF_TEXT, makeBigFile, startFileServer, type ServerFixture, HAS_IPV6 } from '../helpers/server-fixture.js';
import type { FtpTarget } from '../helpers/tools.js';

/** A logged-in client whose `log` collects "> CMD" / "< reply" lines. */
async function open(t: FtpTarget): Promise<{ client: Client; log: string[] }> {
  const client = new Client(15_000);
  const log: string[] = [];
  client.ftp.verbose = true;
  client.ftp.log = (m: string) => {
    log.push(m);
  };
  await client.access({ host: t.host, port: t.port, user: t.user, password: t.password });
  return { client, log };
}

/** Runs `fn` with a fresh client and always closes it. */
async function withClient<T>(t: FtpTarget, fn: (client: Client, log: string[]) => Promise<T>): Promise<T> {
  const { client, log } = await open(t);
  try {
    return await fn(client, log);
  } finally {
    client.close();
  }
}

/** The FTPError code `p` rejects with, or 'ok'. */
async function codeOf(p: Promise<unknown>): Promise<number | 'ok'> {
  try {
    await p;
    return 'ok';
  } catch (err) {
    if (err instanceof FTPError) return err.code;
    throw err;
  }
}

function collector(): { sink: Writable; text: () => string } {
  const chunks: Buffer[] = [];
  return {
    sink: new Writable({
      write(chunk: Buffer, _enc, cb) {
        chunks.push(chunk);
        cb();
      },
    }),
    text: () => Buffer.concat(chunks).toString('utf8'),
  };
}

describe('basic-ftp -> FileServer', () => {
  let fx: ServerFixture;
  let big: { path: string; sha256: string };

  beforeAll(async () => {
    fx = await startFileServer();
    big = await makeBigFile(fx.root, 'big-src.bin');
  });
  afterAll(async () => {
    await fx?.close();
  });

  it('lists with MLSD and with LIST', async () => {
    await mkdir(join(fx.root, 'ls'));
    await writeFile(join(fx.root, 'ls', 'one.txt'), 'hello');
    await mkdir(join(fx.root, 'ls', 'sub'));
    await withClient(fx.user, async (client, log) => {
      const entries = await client.list('/ls');
      expect(log.some((l) => l.includes('> MLSD'))).toBe(true);
      const byName = Object.fromEntries(entries.map((e) => [e.name, e]));
      expect(Object.keys(byName).sort()).toEqual(['one.txt', 'sub']);
      expect(byName['one.txt']!.isFile).toBe(true);
      expect(byName['one.txt']!.size).toBe(5);
      expect(byName.sub!.isDirectory).toBe(true);
      client.availableListCommands = ['LIST'];
      const viaList = await client.list('/ls');
      expect(viaList.map((e) => [e.name, e.isDirectory, e.size]).sort()).toEqual([
        ['one.txt', false, 5],
        ['sub', true, 4096],
      ]);
    });
  });

  it('makes folders (MKD 257, ensureDir), 550 for an existing one, removes them', async () => {
    await withClient(fx.user, async (client) => {
      const made = await client.send('MKD newdir');
      expect(made.code).toBe(257);
      expect(made.message).toBe('257 "/newdir" created');
      expect(await codeOf(client.send('MKD newdir'))).toBe(550);
      await client.ensureDir('/deep/er/est');
      expect(await client.pwd()).toBe('/deep/er/est');
      await client.cd('/');
      await client.removeDir('/deep');
    });
    expect((await stat(join(fx.root, 'newdir'))).isDirectory()).toBe(true);
    expect(existsSync(join(fx.root, 'deep'))).toBe(false);
  });

  it('gets a 50 MB binary file intact (SHA-256)', async () => {
    const dest = join(fx.local, 'big-get.bin');
    await withClient(fx.user, async (client) => {
      const res = await client.downloadTo(dest, 'big-src.bin');
      expect(res.code).toBe(226);
    });
    expect(await sha256File(dest)).toBe(big.sha256);
    await rm(dest);
  });

  it('puts a 50 MB binary file intact (SHA-256)', async () => {
    await withClient(fx.user, async (client) => {
      const res = await client.uploadFrom(big.path, 'big-put.bin');
      expect(res.code).toBe(226);
      expect(await client.size('big-put.bin')).toBe(50 * 1024 * 1024);
    });
    expect(await sha256File(join(fx.root, 'big-put.bin'))).toBe(big.sha256);
    await rm(join(fx.root, 'big-put.bin'));
  });

  it('renames and deletes; missing files reject with 550', async () => {
    await writeFile(join(fx.root, 'r1.txt'), 'rename me');
    await withClient(fx.user, async (client, log) => {
      const ren = await client.rename('r1.txt', 'r2.txt');
      expect(ren.code).toBe(250);
      expect(log.some((l) => l.includes('< 350 Ready for RNTO'))).toBe(true);
      expect(await readFile(join(fx.root, 'r2.txt'), 'utf8')).toBe('rename me');
      const del = await client.remove('r2.txt');
      expect(del.code).toBe(250);
      expect(await codeOf(client.remove('r2.txt'))).toBe(550);
      expect(await codeOf(client.rename('nope.txt', 'x.txt'))).toBe(550);
      expect(await codeOf(client.downloadTo(collector().sink, 'nope.txt'))).toBe(550);
      // the session is still usable after those failures
      expect(await client.pwd()).toBe('/');
    });
    expect(existsSync(join(fx.root, 'r1.txt'))).toBe(false);
    expect(existsSync(join(fx.root, 'r2.txt'))).toBe(false);
  });

  it('rejects a wrong password with 530', async () => {
    const client = new Client(10_000);
    try {
      const code = await codeOf(client.access({ host: fx.host, port: fx.port, user: 'alice', password: 'wrong' }));
      expect(code).toBe(530);
    } finally {
      client.close();
    }
  });

  it('resumes a download (downloadTo startAt: REST then RETR)', async () => {
    const src = join(fx.root, 'resume-get.bin');
    const sha = await randomFile(src, 3 * 1024 * 1024 + 5);
    const part = join(fx.local, 'resume-get.bin');
    await copyFile(src, part);
    await truncate(part, 1_000_000);
    await withClient(fx.user, async (client, log) => {
      const res = await client.downloadTo(part, 'resume-get.bin', 1_000_000);
      expect(res.code).toBe(226);
      expect(log.some((l) => l.includes('< 350 Restarting at 1000000'))).toBe(true);
    });
    expect(await sha256File(part)).toBe(sha);
  });

  it('resumes an upload (appendFrom with localStart: APPE), and with REST + STOR', async () => {
    const src = join(fx.local, 'resume-put.bin');
    const sha = await randomFile(src, 3 * 1024 * 1024 + 5);
    const remote = join(fx.root, 'resume-put.bin');
    await copyFile(src, remote);
    await truncate(remote, 1_500_000);
    await withClient(fx.user, async (client, log) => {
      const size = await client.size('resume-put.bin');
      expect(size).toBe(1_500_000);
      const res = await client.appendFrom(src, 'resume-put.bin', { localStart: size });
      expect(res.code).toBe(226);
      expect(log.some((l) => l.includes('> APPE resume-put.bin'))).toBe(true);
      expect(await sha256File(remote)).toBe(sha);
      // REST then STOR keeps the first bytes and overwrites from the offset.
      await truncate(remote, 2_000_000);
      expect((await client.send('REST 2000000')).code).toBe(350);
      const stor = await client.uploadFrom(src, 'resume-put.bin', { localStart: 2_000_000 });
      expect(stor.code).toBe(226);
    });
    expect(await sha256File(remote)).toBe(sha);
  });

  it('transfers in passive mode with EPSV and with PASV', async () => {
    const src = join(fx.local, 'modes.bin');
    const sha = await randomFile(src, 2 * 1024 * 1024 + 3);
    for (const [name, strategy, reply] of [
      ['EPSV', enterPassiveModeIPv6, /< 229 Entering Extended Passive Mode \(\|\|\|\d+\|\)/],
      ['PASV', enterPassiveModeIPv4, /< 227 Entering Passive Mode \(127,0,0,1,\d+,\d+\)/],
    ] as const) {
      await withClient(fx.user, async (client, log) => {
        client.prepareTransfer = strategy;
        await client.uploadFrom(src, `modes-${name}.bin`);
        const back = join(fx.local, `modes-${name}-back.bin`);
        await client.downloadTo(back, `modes-${name}.bin`);
        const list = await client.list();
        expect(list.map((e) => e.name)).toContain(`modes-${name}.bin`);
        expect(log.filter((l) => l.includes(`> ${name}`))).toHaveLength(3);
        expect(log.some((l) => reply.test(l))).toBe(true);
        expect(await sha256File(back)).toBe(sha);
      });
      expect(await sha256File(join(fx.root, `modes-${name}.bin`))).toBe(sha);
    }
  });

  it('TYPE A: an LF upload lands as LF; a download arrives as CRLF', async () => {
    await withClient(fx.user, async (client) => {
      expect((await client.send('TYPE A')).message).toBe('200 Switching to ASCII mode');
      await client.uploadFrom(Readable.from([Buffer.from(LF_TEXT)]), 'ascii-lf.txt');
      expect(await readFile(join(fx.root, 'ascii-lf.txt'), 'utf8')).toBe(LF_TEXT);
      await client.uploadFrom(Readable.from([Buffer.from(CRLF_TEXT)]), 'ascii-crlf.txt');
      expect(await readFile(join(fx.root, 'ascii-crlf.txt'), 'utf8')).toBe(LF_TEXT);
      const down = collector();
      await client.downloadTo(down.sink, 'ascii-lf.txt');
      expect(down.text()).toBe(CRLF_TEXT);
      // TYPE I: bytes untouched both ways
      await client.send('TYPE I');
      await client.uploadFrom(Readable.from([Buffer.from(CRLF_TEXT)]), 'binary-crlf.txt');
      expect(await readFile(join(fx.root, 'binary-crlf.txt'), 'utf8')).toBe(CRLF_TEXT);
      const bin = collector();
      await client.downloadTo(bin.sink, 'ascii-lf.txt');
      expect(bin.text()).toBe(LF_TEXT);
    });
  });

  it(`uploads, lists, downloads, renames and removes ${FANCY_NAME}`, async () => {
    const renamed = `renamed ${FANCY_NAME}`;
    await withClient(fx.user, async (client) => {
      await client.uploadFrom(Readable.from([Buffer.from('contenido ñ')]), FANCY_NAME);
      expect(await readFile(join(fx.root, FANCY_NAME), 'utf8')).toBe('contenido ñ');
      expect((await client.list()).map((e) => e.name)).toContain(FANCY_NAME);
      const down = collector();
      await client.downloadTo(down.sink, FANCY_NAME);
      expect(down.text()).toBe('contenido ñ');
      await client.rename(FANCY_NAME, renamed);
      expect(await readFile(join(fx.root, renamed), 'utf8')).toBe('contenido ñ');
      await client.ensureDir(`/dir ${FANCY_NAME}`);
      // RFC 959 257 quoting doubles embedded quotes; basic-ftp's pwd() does not undo that, so
      // check the raw reply.
      expect((await client.send('PWD')).message).toBe('257 "/dir my ""quoted"" file ñandú.txt" is the current directory');
      await client.cd('/');
      await client.remove(renamed);
      await client.removeEmptyDir(`dir ${FANCY_NAME}`);
    });
    expect(existsSync(join(fx.root, renamed))).toBe(false);
    expect(existsSync(join(fx.root, `dir ${FANCY_NAME}`))).toBe(false);
  });

  it('anonymous is read-only: downloads work; upload, MKD, DELE, RNFR reject with 550', async () => {
    await writeFile(join(fx.root, 'public.txt'), 'public');
    await withClient(fx.anon, async (client) => {
      const down = collector();
      await client.downloadTo(down.sink, 'public.txt');
      expect(down.text()).toBe('public');
      expect(await codeOf(client.uploadFrom(Readable.from([Buffer.from('x')]), 'anon.txt'))).toBe(550);
      expect(await codeOf(client.appendFrom(Readable.from([Buffer.from('x')]), 'public.txt'))).toBe(550);
      expect(await codeOf(client.send('MKD anon-dir'))).toBe(550);
      expect(await codeOf(client.remove('public.txt'))).toBe(550);
      expect(await codeOf(client.rename('public.txt', 'moved.txt'))).toBe(550);
    });
    expect(existsSync(join(fx.root, 'anon.txt'))).toBe(false);
    expect(existsSync(join(fx.root, 'anon-dir'))).toBe(false);
    expect(await readFile(join(fx.root, 'public.txt'), 'utf8')).toBe('public');
  });
});

describe.skipIf(!HAS_IPV6)('basic-ftp -> FileServer over IPv6 (::1)', () => {
  let fx: ServerFixture;
  beforeAll(async () => {
    fx = await startFileServer({ host: '::1' });
  });
  afterAll(async () => {
    await fx?.close();
  });

  it('uploads and downloads with EPSV', async () => {
    const src = join(fx.local, 'v6.bin');
    const sha = await randomFile(src, 1024 * 1024 + 1);
    await withClient(fx.user, async (client, log) => {
      await client.uploadFrom(src, 'v6.bin');
      await client.downloadTo(join(fx.local, 'v6-back.bin'), 'v6.bin');
      expect(log.some((l) => l.includes('> EPSV'))).toBe(true);
    });
    expect(await sha256File(join(fx.root, 'v6.bin'))).toBe(sha);
    expect(await sha256File(join(fx.local, 'v6-back.bin'))).toBe(sha);
  });
});
