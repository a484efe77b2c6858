import { randomBytes } from 'node:crypto';
import { lstat, readFile, symlink, writeFile } from 'node:fs/promises';
import { connect } from 'node:net';
import { join } from 'node:path';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { downloadBlocks, smallUploadBlocks, uploadBlocks } from '../../../src/data/block-pool.js';
import { encodeHostPort, formatEprtArg, parseEpsvText } from '../../../src/protocol/index.js';
import { RawFtp } from '../../helpers/raw-ftp.js';
import { startTestServer, type TestServer } from '../../helpers/server.js';
import { countFds, makeTempDir, randomFile } from '../../helpers/tmp.js';

let t: TestServer;
let ftp: RawFtp;

beforeAll(async () => {
  // maxConnectionsPerAddress: the 1,000-connection test below comes from 127.0.0.1 alone.
  t = await startTestServer({ timeouts: { data: 2000 }, maxConnectionsPerAddress: 0 });
});
afterAll(async () => {
  await t.close();
});
beforeEach(async () => {
  ftp = await RawFtp.connect(t.port);
});
afterEach(() => ftp.close());

/** Another client can still log in and list: the server is serving. */
async function stillServing(): Promise<void> {
  const other = await RawFtp.connect(t.port);
  await other.login();
  expect((await other.fetch('LIST')).final.code).toBe(226);
  other.close();
}

describe('malformed control input', () => {
  it('an over-long line gets 500 and the session goes on', async () => {
    ftp.write(`USER ${'x'.repeat(100_000)}\r\n`);
    const r = await ftp.read();
    expect(r.code).toBe(500);
    expect(r.text).toBe('Command line too long');
    await ftp.login();
    await stillServing();
  });

  it('binary garbage gets 500s, never a crash', async () => {
    ftp.write(Buffer.concat([randomBytes(3000).map((b) => (b === 10 ? 11 : b)), Buffer.from('\r\n')]));
    expect((await ftp.read()).code).toBe(500);
    ftp.write(Buffer.from([0xc3, 0x28, 0xa0, 0xa1, 0x0d, 0x0a]));
    expect((await ftp.read()).code).toBe(500);
    await ftp.login();
    await stillServing();
  });

  it('NUL in a path is refused with 501', async () => {
    await ftp.login();
    expect((await ftp.send('RETR a\0b')).code).toBe(501);
    expect((await ftp.send('MKD x\0y')).code).toBe(501);
    expect((await ftp.send('USER a\0b')).code).toBe(501);
  });

  it('REST past the end of the file: 554 on RETR; bad REST values: 501', async () => {
    await ftp.login();
    await writeFile(join(t.root, 'small'), '12345');
    expect((await ftp.send('REST 6')).code).toBe(350);
    const r = await ftp.fetch('RETR small');
    expect(r.mark.code).toBe(554);
    for (const bad of ['REST -1', 'REST abc', 'REST 1e5', 'REST', 'REST 99999999999999999999']) {
      expect((await ftp.send(bad)).code, bad).toBe(501);
    }
  });

  it('STOR into a missing folder: 553 and nothing created', async () => {
    await ftp.login();
    const r = await ftp.store('STOR nope/x.bin', 'data');
    expect(r.mark.code).toBe(553);
    expect(r.mark.text).toBe('/nope: No such directory');
  });

  it('transfer commands without PASV/PORT: 425', async () => {
    await ftp.login();
    await writeFile(join(t.root, 'np'), 'x');
    expect((await ftp.send('RETR np')).code).toBe(150);
    expect((await ftp.read()).code).toBe(425);
  });
});

describe('path jail', () => {
  it('.., absolute paths, backslashes and %2e never leave the root', async () => {
    await ftp.login();
    const outside = await makeTempDir('ftpkit-outside-');
    await writeFile(join(outside.path, 'secret'), 'top secret');
    const rel = join('..', outside.path.split('/').pop()!, 'secret');
    for (const p of [rel, `../../../../..${outside.path}/secret`, `..\\..\\..\\..\\..${outside.path.replace(/\//g, '\\')}\\secret`, '%2e%2e/%2e%2e/etc/passwd', '/etc/passwd']) {
      const r = await ftp.fetch(`RETR ${p}`);
      expect(r.mark.code, p).toBe(550);
      expect(r.mark.text).not.toContain(t.root);
    }
    expect((await ftp.send('CWD ../../../..')).code).toBe(250);
    expect((await ftp.send('PWD')).text).toBe('"/" is the current directory');
    await outside.cleanup();
  });

  it('a symlink planted inside the root pointing outside is not followed', async () => {
    await ftp.login();
    const outside = await makeTempDir('ftpkit-outside-');
    await writeFile(join(outside.path, 'secret'), 'top secret');
    await symlink(outside.path, join(t.root, 'escape'));
    await symlink(join(outside.path, 'secret'), join(t.root, 'secret-link'));
    expect((await ftp.fetch('RETR escape/secret')).mark.code).toBe(550);
    expect((await ftp.fetch('RETR secret-link')).mark.code).toBe(550);
    expect((await ftp.send('CWD escape')).code).toBe(550);
    expect((await ftp.store('STOR escape/new', 'x')).mark.code).not.toBe(150);
    // Storing onto the link either fails or replaces the link entry itself (an atomic upload
    // renames over it): the file outside is never written.
    const over = await ftp.store('STOR secret-link', 'overwrite');
    if (over.final.code === 226) expect((await lstat(join(t.root, 'secret-link'))).isSymbolicLink()).toBe(false);
    else expect(over.mark.code).not.toBe(150);
    expect(await readFile(join(outside.path, 'secret'), 'utf8')).toBe('top secret');
    expect((await ftp.fetch('LIST')).data.toString()).not.toContain('escape');
    await outside.cleanup();
  });
});

describe('data connection security (RFC 2577)', () => {
  it('PORT or EPRT to a foreign address or a privileged port is refused', async () => {
    await ftp.login();
    expect((await ftp.send(`PORT ${encodeHostPort('127.0.0.2', 4000)}`)).code).toBe(500);
    expect((await ftp.send(`PORT ${encodeHostPort('10.0.0.1', 4000)}`)).code).toBe(500);
    expect((await ftp.send(`PORT ${encodeHostPort('127.0.0.1', 21)}`)).code).toBe(500);
    expect((await ftp.send(`EPRT ${formatEprtArg('127.0.0.2', 4000)}`)).code).toBe(500);
    expect((await ftp.send('EPRT |2|::1|4000|')).code).toBe(522);
    expect((await ftp.send('EPRT |3|x|4000|')).code).toBe(522);
    expect((await ftp.send('PORT 1,2,3')).code).toBe(501);
    expect((await ftp.send('PORT 300,0,0,1,4,4')).code).toBe(501);
    expect((await ftp.send('EPRT garbage')).code).toBe(501);
  });

  it('a passive connection from a foreign address is dropped; the real client still gets the data', async () => {
    await ftp.login();
    await ftp.send('TYPE I');
    await writeFile(join(t.root, 'p.bin'), 'payload');
    const r = await ftp.send('EPSV');
    const port = parseEpsvText(r.text)!;
    // The thief connects first, from 127.0.0.2.
    const thief = connect({ host: '127.0.0.1', port, localAddress: '127.0.0.2' });
    const thiefGot: Buffer[] = [];
    thief.on('data', (c: Buffer) => thiefGot.push(c));
    thief.on('error', () => {});
    await new Promise((resolve) => thief.once('close', resolve));
    const data = connect({ host: '127.0.0.1', port });
    const chunks: Buffer[] = [];
    data.on('data', (c: Buffer) => chunks.push(c));
    const ended = new Promise((resolve) => data.on('close', resolve));
    expect((await ftp.send('RETR p.bin')).code).toBe(150);
    expect((await ftp.read()).code).toBe(226);
    await ended;
    expect(Buffer.concat(chunks).toString()).toBe('payload');
    expect(Buffer.concat(thiefGot).length).toBe(0);
  });

  it('a data connection that never comes: 425 after the data timeout', async () => {
    await ftp.login();
    await writeFile(join(t.root, 'w'), 'x');
    expect((await ftp.send('EPSV')).code).toBe(229);
    expect((await ftp.send('RETR w')).code).toBe(150);
    expect((await ftp.read(5000)).code).toBe(425);
  });

  it('EPSV ALL locks out PASV, PORT and EPRT', async () => {
    await ftp.login();
    expect((await ftp.send('EPSV ALL')).code).toBe(200);
    expect((await ftp.send('PASV')).code).toBe(503);
    expect((await ftp.send(`PORT ${encodeHostPort('127.0.0.1', 4000)}`)).code).toBe(503);
    expect((await ftp.send('EPSV')).code).toBe(229);
    expect((await ftp.send('EPSV 2')).code).toBe(522);
  });
});

describe('clients that vanish', () => {
  it('mid-download and mid-upload: the server keeps serving and releases files', async () => {
    await ftp.login();
    await ftp.send('TYPE I');
    await randomFile(join(t.root, 'v.bin'), 32 * 1024 * 1024);
    const fdsBefore = countFds();
    const data = await ftp.passive();
    expect((await ftp.send('RETR v.bin')).code).toBe(150);
    await new Promise((resolve) => data.once('data', resolve));
    data.destroy();
    ftp.close();

    const up = await RawFtp.connect(t.port);
    await up.login();
    await up.send('TYPE I');
    const upData = await up.passive();
    expect((await up.send('STOR vanished.bin')).code).toBe(150);
    upData.write(randomBytes(1024 * 1024));
    await new Promise((r) => setTimeout(r, 100));
    upData.resetAndDestroy();
    up.socket.resetAndDestroy();

    await new Promise((r) => setTimeout(r, 300));
    await stillServing();
    expect(countFds()).toBeLessThanOrEqual(fdsBefore);
    expect(downloadBlocks.lent).toBe(0);
    expect(uploadBlocks.lent).toBe(0);
    expect(smallUploadBlocks.lent).toBe(0);
    await waitFor(() => t.server.connections === 0);
    expect(t.server.connections).toBe(0);
  });

  it('1,000 connections opened and dropped at once', async () => {
    const sockets = await Promise.all(
      Array.from({ length: 1000 }, () => new Promise<import('node:net').Socket>((resolve) => {
        const s = connect({ host: '127.0.0.1', port: t.port });
        s.on('error', () => resolve(s));
        s.on('connect', () => resolve(s));
      })),
    );
    for (const s of sockets) s.destroy();
    await new Promise((r) => setTimeout(r, 500));
    await stillServing();
    await waitFor(() => t.server.connections <= 1);
    expect(t.server.connections).toBeLessThanOrEqual(1);
  });
});

async function waitFor(check: () => boolean, ms = 5000): Promise<void> {
  const end = Date.now() + ms;
  while (!check() && Date.now() < end) await new Promise((r) => setTimeout(r, 20));
}
