// Media on the server: the RFC 3659 media-type fact, RANG (draft-bryan-ftp-range) next to
// REST, and the media type in transfer-end events.
import { randomBytes } from 'node:crypto';
import { mkdir, truncate, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import type { TransferEndInfo } from '../../../src/server/events.js';
import { MemoryStorage } from '../../../src/index.js';
import { RawFtp } from '../../helpers/raw-ftp.js';
import { startTestServer, type TestServer } from '../../helpers/server.js';
import { expectSettled } from '../../helpers/settle.js';
import { countFds, sha256Buffer } from '../../helpers/tmp.js';

let t: TestServer;
let ftp: RawFtp;
const body = randomBytes(100_000);
const ends: TransferEndInfo[] = [];

beforeAll(async () => {
  t = await startTestServer();
  t.server.on('transfer-end', (info) => ends.push(info));
  await writeFile(join(t.root, 'clip.mp4'), body);
  await mkdir(join(t.root, 'album.flac'));
  await writeFile(join(t.root, 'cover.JPEG'), 'jpeg');
  await writeFile(join(t.root, 'README'), 'text');
});
afterAll(async () => {
  await t.close();
});
beforeEach(async () => {
  ftp = await RawFtp.connect(t.port);
  await ftp.login();
  expect((await ftp.send('TYPE I')).code).toBe(200);
});
afterEach(() => ftp.close());

describe('media-type fact', () => {
  it('FEAT offers it, on by default; OPTS MLST turns it off and on', async () => {
    const feat = await ftp.send('FEAT');
    expect(feat.lines).toContain(' MLST type*;size*;modify*;perm*;UNIX.mode*;media-type*;');
    expect((await ftp.send('OPTS MLST type;media-type;')).text).toBe('MLST OPTS type;media-type;');
    expect((await ftp.send('MLST clip.mp4')).lines[1]).toBe(' type=file;media-type=video/mp4; /clip.mp4');
    expect((await ftp.send('OPTS MLST type;size;')).text).toBe('MLST OPTS type;size;');
    expect((await ftp.send('MLST clip.mp4')).lines[1]).toBe(` type=file;size=${body.length}; /clip.mp4`);
    expect((await ftp.send('FEAT')).lines).toContain(' MLST type*;size*;modify;perm;UNIX.mode;media-type;');
  });

  it('MLSD gives files their type from the name, unknown names octet-stream, folders none', async () => {
    expect((await ftp.send('OPTS MLST type;media-type;')).code).toBe(200);
    const r = await ftp.fetch('MLSD');
    expect(r.final.code).toBe(226);
    const lines = r.data.toString().split('\r\n').filter(Boolean);
    expect(lines).toEqual([
      'type=cdir; .',
      'type=file;media-type=application/octet-stream; README',
      'type=dir; album.flac',
      'type=file;media-type=video/mp4; clip.mp4',
      'type=file;media-type=image/jpeg; cover.JPEG',
    ]);
  });
});

describe('RANG', () => {
  it('is in FEAT as RANG STREAM and in HELP', async () => {
    expect((await ftp.send('FEAT')).lines).toContain(' RANG STREAM');
    expect((await ftp.send('HELP RANG')).text).toBe('Syntax: RANG <start> <end>');
  });

  it('the next RETR sends bytes start..end inclusive, then the file is whole again', async () => {
    const rang = await ftp.send('RANG 1000 1999');
    expect(rang).toMatchObject({ code: 350, text: 'Transferring bytes 1000-1999 (1000 bytes). Send RETR' });
    const r = await ftp.fetch('RETR clip.mp4');
    expect(r.mark.text).toBe('Opening BINARY mode data connection for clip.mp4 (1000 bytes)');
    expect(r.final.code).toBe(226);
    expect(sha256Buffer(r.data)).toBe(sha256Buffer(body.subarray(1000, 2000)));
    const whole = await ftp.fetch('RETR clip.mp4');
    expect(sha256Buffer(whole.data)).toBe(sha256Buffer(body));
  });

  it('one byte (RANG n n), the last byte, and an end past the file cut at its last byte', async () => {
    expect((await ftp.send('RANG 0 0')).code).toBe(350);
    expect((await ftp.fetch('RETR clip.mp4')).data).toEqual(body.subarray(0, 1));
    const last = body.length - 1;
    expect((await ftp.send(`RANG ${last} ${last}`)).code).toBe(350);
    expect((await ftp.fetch('RETR clip.mp4')).data).toEqual(body.subarray(last));
    expect((await ftp.send(`RANG ${last - 9} ${last + 1_000_000}`)).code).toBe(350);
    const r = await ftp.fetch('RETR clip.mp4');
    expect(r.final.code).toBe(226);
    expect(r.data).toEqual(body.subarray(last - 9));
  });

  it('RANG 1 0 resets; REST replaces a RANG and RANG a REST', async () => {
    expect((await ftp.send('RANG 10 19')).code).toBe(350);
    expect(await ftp.send('RANG 1 0')).toMatchObject({ code: 350, text: 'Byte range reset' });
    expect((await ftp.fetch('RETR clip.mp4')).data.length).toBe(body.length);
    expect((await ftp.send('RANG 10 19')).code).toBe(350);
    expect((await ftp.send('REST 99990')).code).toBe(350);
    expect((await ftp.fetch('RETR clip.mp4')).data).toEqual(body.subarray(99_990));
    expect((await ftp.send('REST 5')).code).toBe(350);
    expect((await ftp.send('RANG 10 19')).code).toBe(350);
    expect((await ftp.fetch('RETR clip.mp4')).data).toEqual(body.subarray(10, 20));
  });

  it('refuses bad input with 501 and forgets any earlier range', async () => {
    expect((await ftp.send('RANG 10 19')).code).toBe(350);
    for (const arg of ['', '5', '5 2', 'a b', '-1 3', '1 2 3', '0x10 20', '1.5 3', '0 99999999999999999999', '9007199254740992 9007199254740993']) {
      const r = await ftp.send(`RANG ${arg}`.trimEnd());
      expect(r.code, arg).toBe(501);
    }
    expect((await ftp.send('RANG 5 2')).text).toBe('RANG end must not be before its start');
    expect((await ftp.fetch('RETR clip.mp4')).data.length).toBe(body.length);
  });

  it('551 under TYPE A (byte positions mean nothing once line ends change)', async () => {
    expect((await ftp.send('TYPE A')).code).toBe(200);
    expect(await ftp.send('RANG 0 9')).toMatchObject({ code: 551, text: 'RANG needs TYPE I' });
    // TYPE A set after the RANG: the RETR refuses it.
    expect((await ftp.send('TYPE I')).code).toBe(200);
    expect((await ftp.send('RANG 0 9')).code).toBe(350);
    expect((await ftp.send('TYPE A')).code).toBe(200);
    expect((await ftp.send('RETR clip.mp4')).code).toBe(551);
  });

  it('a range starting past the end is refused by the RETR with 554 (no data connection used)', async () => {
    expect((await ftp.send(`RANG ${body.length} ${body.length + 10}`)).code).toBe(350);
    const r = await ftp.fetch('RETR clip.mp4');
    expect(r.mark).toMatchObject({ code: 554, text: `Range start ${body.length} is beyond the end of the file (${body.length} bytes)` });
    await writeFile(join(t.root, 'empty.mp4'), '');
    expect((await ftp.send('RANG 0 0')).code).toBe(350);
    expect((await ftp.fetch('RETR empty.mp4')).mark.code).toBe(554);
    // The refusal used the range up.
    expect((await ftp.fetch('RETR clip.mp4')).data.length).toBe(body.length);
  });

  it('STOR after RANG is refused with 554 and writes nothing', async () => {
    expect((await ftp.send('RANG 0 9')).code).toBe(350);
    const r = await ftp.store('STOR up.bin', 'x');
    expect(r.mark).toMatchObject({ code: 554, text: 'RANG applies to RETR only; STOR not started' });
    expect((await ftp.send('SIZE up.bin')).code).toBe(550);
  });

  it('LIST between RANG and RETR leaves the range for the RETR (as ProFTPD)', async () => {
    expect((await ftp.send('RANG 2 5')).code).toBe(350);
    expect((await ftp.fetch('LIST')).final.code).toBe(226);
    expect((await ftp.fetch('RETR clip.mp4')).data).toEqual(body.subarray(2, 6));
  });

  it('refusals and ranged transfers leave no lock or descriptor behind', async () => {
    const round = async (): Promise<void> => {
      for (const cmd of ['RANG 0 9', `RANG ${body.length} ${body.length}`, 'RANG 99 99']) {
        expect((await ftp.send(cmd)).code).toBe(350);
        await ftp.fetch('RETR clip.mp4');
      }
      expect((await ftp.send('RANG 0 9')).code).toBe(350);
      await ftp.fetch('RETR missing.mp4');
    };
    // The first round may open descriptors the process keeps for good (an epoll set on first
    // use); a leak would add more in every round after it.
    await round();
    await expectSettled(t.server, Infinity);
    const fds = countFds();
    await round();
    await round();
    await expectSettled(t.server, fds);
  });

  it('REST + RETR + ABOR still works', async () => {
    const big = randomBytes(64 * 1024 * 1024);
    await writeFile(join(t.root, 'long.mkv'), big);
    expect((await ftp.send('REST 50000')).code).toBe(350);
    const data = await ftp.passive();
    const first = new Promise<Buffer>((resolve) => data.once('data', (chunk: Buffer) => {
      data.pause(); // the rest waits in the server's buffers until ABOR
      resolve(chunk);
    }));
    expect((await ftp.send('RETR long.mkv')).code).toBe(150);
    expect((await first).subarray(0, 16)).toEqual(big.subarray(50_000, 50_016));
    data.destroy();
    ftp.write('ABOR\r\n');
    const replies = [await ftp.read(), await ftp.read()];
    expect(replies.map((r) => r.code)).toEqual([426, 226]);
    expect((await ftp.send('NOOP')).code).toBe(200);
  });
});

describe('a range whose file shrinks meanwhile', () => {
  it('answers 451, not 226 over fewer bytes, and the session goes on (memory storage: the stream path)', async () => {
    const storage = new MemoryStorage();
    const s = await startTestServer({ authenticate: () => ({ storage, write: true }) });
    const c = await RawFtp.connect(s.port);
    try {
      await c.login();
      await c.send('TYPE I');
      const big = randomBytes(8 * 1024 * 1024);
      expect((await c.store('STOR big.bin', big)).final.code).toBe(226);
      expect((await c.send(`RANG 0 ${big.length - 1}`)).code).toBe(350);
      const data = await c.passive();
      data.pause();
      expect((await c.send('RETR big.bin')).code).toBe(150);
      await storage.truncate!('/big.bin', 1000);
      data.resume();
      data.on('data', () => {});
      const final = await c.read(10_000);
      expect(final.code, final.text).toBe(451);
      expect((await c.send('NOOP')).code).toBe(200);
    } finally {
      c.close();
      await s.close();
    }
  });

  it('answers 451 on the local block path too', async () => {
    const s = await startTestServer({ zeroCopy: false });
    const c = await RawFtp.connect(s.port);
    try {
      await c.login();
      await c.send('TYPE I');
      const file = join(s.root, 'shrinks.bin');
      await writeFile(file, randomBytes(32 * 1024 * 1024));
      expect((await c.send(`RANG 0 ${32 * 1024 * 1024 - 1}`)).code).toBe(350);
      const data = await c.passive();
      data.pause();
      expect((await c.send('RETR shrinks.bin')).code).toBe(150);
      await truncate(file, 1024);
      data.resume();
      data.on('data', () => {});
      expect((await c.read(10_000)).code).toBe(451);
      expect((await c.send('NOOP')).code).toBe(200);
    } finally {
      c.close();
      await s.close();
    }
  });
});

describe('transfer-end mediaType', () => {
  it('uploads and downloads carry the type of the file; listings none', async () => {
    ends.length = 0;
    expect((await ftp.store('STOR camera.mov', 'moov')).final.code).toBe(226);
    expect((await ftp.fetch('RETR cover.JPEG')).final.code).toBe(226);
    expect((await ftp.store('STOU shot.heic', 'heic')).final.code).toBe(226);
    expect((await ftp.fetch('NLST')).final.code).toBe(226);
    expect(ends.map((e) => [e.command, e.mediaType])).toEqual([
      ['STOR', 'video/quicktime'],
      ['RETR', 'image/jpeg'],
      ['STOU', 'image/heic'],
      ['NLST', undefined],
    ]);
  });
});
