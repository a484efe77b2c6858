// FileClient against a scripted hostile server: every case is a clear error, no crash,
// and (where it makes sense) a connection that is still in step afterwards.
import { once } from 'node:events';
import { existsSync } from 'node:fs';
import { chmod, readdir } from 'node:fs/promises';
import net from 'node:net';
import { join } from 'node:path';
import { PassThrough } from 'node:stream';
import { describe, expect, it } from 'vitest';
import { FileClient, FtpError, downloadTree, type FileClientOptions } from '../../../src/index.js';
import { makeTempDir } from '../../helpers/tmp.js';
import { fakeServerHarness, listingHandler } from './fake-server.js';

const setup = fakeServerHarness();

/** What a local file failure looks like: FTPKIT_ERR_LOCAL_FILE naming the path, the errno error as cause. */
function localFile(message: string, errno: string): object {
  return { name: 'FtpError', code: 'FTPKIT_ERR_LOCAL_FILE', message, cause: expect.objectContaining({ code: errno }) };
}

describe('hostile server', () => {
  it('rejects a greeting that is not FTP', async () => {
    const { client } = await setup({ greeting: 'SSH-2.0-OpenSSH_9.2\r\n' });
    await expect(client.connect()).rejects.toMatchObject({ code: 'FTPKIT_ERR_PROTOCOL' });
  });

  it('rejects garbage in the middle of a session and closes', async () => {
    const { client } = await setup({ handlers: { PWD: (_a, s) => s.write('\x00\xff garbage\r\n') } });
    await client.connect();
    await expect(client.pwd()).rejects.toMatchObject({ code: 'FTPKIT_ERR_PROTOCOL' });
    expect(client.connected).toBe(false);
    await expect(client.pwd()).rejects.toMatchObject({ code: 'FTPKIT_ERR_PROTOCOL' });
  });

  it('stops an endless multi-line reply at maxReplyBytes', async () => {
    let written = 0;
    const server = net.createServer((sock) => {
      sock.on('error', () => {});
      const line = Buffer.from(' still welcoming you, line after line\r\n');
      const pump = (): void => {
        while (sock.writable && written < 50_000_000) {
          written += line.length;
          if (!sock.write(line)) return void sock.once('drain', pump);
        }
      };
      sock.write('220-welcome\r\n');
      pump();
    });
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    try {
      const client = new FileClient({ host: '127.0.0.1', port: (server.address() as net.AddressInfo).port, maxReplyBytes: 4096, timeout: 3000 });
      await expect(client.connect()).rejects.toMatchObject({ code: 'FTPKIT_ERR_REPLY_TOO_LARGE' });
      expect(written).toBeLessThan(50_000_000);
    } finally {
      server.close();
    }
  });

  it('bounds a huge listing and stays usable', async () => {
    const { client } = await setup({
      handlers: {
        LIST: async (_a, s) => {
          s.reply(150, 'here');
          s.transferring = true;
          const data = await s.dataSocket();
          const line = Buffer.from('-rw-r--r-- 1 u g 1 Jan 01 00:00 f\r\n'.repeat(1000));
          const pump = (): void => {
            while (!data.destroyed && s.transferring) if (!data.write(line)) return void data.once('drain', pump);
          };
          data.on('error', () => {});
          pump();
        },
      },
    }, { maxListingBytes: 1024 * 1024 });
    await client.connect();
    await expect(client.list('/')).rejects.toMatchObject({ code: 'FTPKIT_ERR_LISTING_TOO_LARGE' });
    expect(await client.pwd()).toBe('/');
  });

  it('ignores the host in a PASV reply unless allowed (bounce protection)', async () => {
    const { client } = await setup({
      handlers: {
        EPSV: (_a, s) => s.reply(500, 'no EPSV here'),
        // The data listener is on 127.0.0.1, but the reply names another host.
        PASV: async (_a, s) => {
          const real = await s.openPassive();
          s.reply(227, `Entering Passive Mode (10,99,99,99,${real >> 8},${real & 255})`);
        },
        LIST: listingHandler(['-rw-r--r-- 1 u g 5 Jan 01 00:00 ok.txt']),
      },
    });
    await client.connect();
    const warnings: string[] = [];
    client.on('warning', (m) => warnings.push(m));
    expect((await client.list('/')).map((e) => e.name)).toEqual(['ok.txt']);
    expect(warnings.join('\n')).toMatch(/PASV named 10\.99\.99\.99, connecting to 127\.0\.0\.1 instead/);
  });

  it('follows a foreign PASV host only when allowPasvHostChange is set', async () => {
    const { client } = await setup({
      dataHost: '127.0.0.2',
      handlers: {
        EPSV: (_a, s) => s.reply(500, 'no EPSV here'),
        PASV: async (_a, s) => {
          const real = await s.openPassive();
          s.reply(227, `Entering Passive Mode (127,0,0,2,${real >> 8},${real & 255})`);
        },
        LIST: listingHandler(['-rw-r--r-- 1 u g 5 Jan 01 00:00 there.txt']),
      },
    }, { allowPasvHostChange: true });
    await client.connect();
    expect((await client.list('/')).map((e) => e.name)).toEqual(['there.txt']);
  });

  it('connects to the control host after a foreign PASV and transfers', async () => {
    const { client, server } = await setup({
      handlers: {
        EPSV: (_a, s) => s.reply(500, 'no EPSV here'),
        LIST: listingHandler(['-rw-r--r-- 1 u g 5 Jan 01 00:00 ok.txt']),
      },
    });
    // Default PASV names 127.0.0.1; wrap it to name a foreign host with the same port.
    await client.connect();
    const warnings: string[] = [];
    client.on('warning', (m) => warnings.push(m));
    const entries = await client.list('/');
    expect(entries.map((e) => e.name)).toEqual(['ok.txt']);
    expect(server.commands).toContain('PASV');
    // EPSV is not retried once refused
    await client.list('/');
    expect(server.commands.filter((c) => c === 'EPSV')).toHaveLength(1);
  });

  it('skips hostile names in a listing during a recursive download', async () => {
    const tmp = await makeTempDir();
    try {
      const dest = join(tmp.path, 'dest');
      const { client, server } = await setup({
        handlers: {
          LIST: listingHandler([
            '-rw-r--r-- 1 u g 5 Jan 01 00:00 ../x',
            '-rw-r--r-- 1 u g 5 Jan 01 00:00 a/b',
            '-rw-r--r-- 1 u g 5 Jan 01 00:00 ..\\win',
            'drwxr-xr-x 1 u g 0 Jan 01 00:00 ..',
            '-rw-r--r-- 1 u g 5 Jan 01 00:00 ok.txt',
          ]),
          SIZE: (_a, s) => s.reply(213, '5'),
          DELE: (_a, s) => s.reply(250, 'deleted'),
          RMD: (_a, s) => s.reply(550, 'Directory not empty'),
          RETR: async (arg, s) => {
            s.reply(150, 'sending');
            const data = await s.dataSocket();
            data.end(`data:${arg}`.slice(0, 5));
            data.once('close', () => s.reply(226, 'done'));
          },
        },
      });
      await client.connect();
      const warnings: string[] = [];
      client.on('warning', (m) => warnings.push(m));
      const result = await client.downloadTree({ from: '/', to: dest });
      expect(result).toMatchObject({ files: 1, folders: 0, bytes: 5, failures: [] });
      expect(result.skipped).toEqual(['/../x', '/a/b', '/..\\win']);
      expect(warnings).toEqual([
        'skipped "/../x": not a plain file name',
        'skipped "/a/b": not a plain file name',
        'skipped "/..\\\\win": not a plain file name',
      ]);
      expect(await readdir(dest)).toEqual(['ok.txt']);
      expect(await readdir(tmp.path)).toEqual(['dest']);
      expect(existsSync(join(tmp.path, 'x'))).toBe(false);
      expect(server.commands.filter((c) => c.startsWith('RETR'))).toEqual(['RETR /ok.txt']);
      // rmdir -r must not DELE through a hostile name either: the names stay, so RMD is refused
      await expect(client.rmdir('/', { recursive: true })).rejects.toMatchObject({
        name: 'FtpError', code: 'FTPKIT_ERR_REPLY', replyCode: 550, message: '550 Directory not empty',
      });
      expect(server.commands.filter((c) => c.startsWith('DELE') || c.startsWith('RMD'))).toEqual(['DELE /ok.txt', 'RMD /']);
      // the deprecated free function still works the same way
      const again = await downloadTree(client, '/', join(tmp.path, 'again'));
      expect(again).toMatchObject({ files: 1, bytes: 5, failures: [] });
    } finally {
      await tmp.cleanup();
    }
  });

  it('reports a server that closes everything mid-transfer', async () => {
    const { client } = await setup({
      handlers: {
        RETR: async (_a, s) => {
          s.reply(150, 'sending');
          const data = await s.dataSocket();
          data.write(Buffer.alloc(100_000));
          setTimeout(() => {
            data.destroy();
            s.control.destroy();
          }, 20);
        },
      },
    });
    await client.connect();
    const sink = new PassThrough();
    sink.resume();
    await expect(client.download('/f', sink)).rejects.toMatchObject({ code: 'FTPKIT_ERR_CONNECTION_CLOSED' });
  });

  it('reports a 426 after a data connection cut short, and stays usable', async () => {
    const { client } = await setup({
      handlers: {
        RETR: async (_a, s) => {
          s.reply(150, 'sending');
          const data = await s.dataSocket();
          data.end(Buffer.alloc(1000), () => s.reply(426, 'Connection closed; transfer aborted'));
        },
      },
    });
    await client.connect();
    const sink = new PassThrough();
    sink.resume();
    await expect(client.download('/f', sink)).rejects.toMatchObject({ code: 'FTPKIT_ERR_REPLY', replyCode: 426, message: '426 Connection closed; transfer aborted' });
    expect(await client.pwd()).toBe('/');
  });

  it('times out a server that never answers', async () => {
    const { client } = await setup({ handlers: { SIZE: () => {} } }, { timeout: 300 });
    await client.connect();
    const t = Date.now();
    await expect(client.size('/f')).rejects.toMatchObject({ code: 'FTPKIT_ERR_TIMEOUT' });
    expect(Date.now() - t).toBeLessThan(2000);
  });

  it('refuses replies nobody asked for', async () => {
    const { client } = await setup({
      handlers: {
        NOOP: (_a, s) => {
          for (let i = 0; i < 100; i++) s.reply(200, `extra ${i}`);
        },
      },
    });
    await client.connect();
    const closed = once(client, 'close');
    // The first reply answers NOOP; 32 more nobody asked for close the connection.
    await expect(client.send('NOOP')).resolves.toMatchObject({ code: 200, text: 'extra 0' });
    const [error] = (await closed) as [FtpError];
    expect(error).toMatchObject({ name: 'FtpError', code: 'FTPKIT_ERR_PROTOCOL', message: 'the server sent replies nobody asked for' });
    expect(client.connected).toBe(false);
    await expect(client.pwd()).rejects.toMatchObject({ code: 'FTPKIT_ERR_PROTOCOL', message: 'the server sent replies nobody asked for' });
  });

  it('survives listeners that throw inside socket callbacks', async () => {
    const { client } = await setup({});
    client.on('reply', () => {
      throw new Error('listener bug');
    });
    client.on('command', () => {
      throw new Error('listener bug');
    });
    await client.connect();
    expect(await client.pwd()).toBe('/');
  });

  it('never sends a command with CR, LF or NUL in an argument', async () => {
    const { client, server } = await setup({});
    await client.connect();
    const before = server.commands.length;
    for (const bad of ['a\r\nDELE /x', 'a\nDELE /x', 'a\rb', 'a\0b']) {
      await expect(client.cd(bad)).rejects.toMatchObject({ code: 'FTPKIT_ERR_UNSAFE_PATH' });
      await expect(client.download(bad, new PassThrough())).rejects.toMatchObject({ code: 'FTPKIT_ERR_UNSAFE_PATH' });
      await expect(client.rename('ok', bad)).rejects.toMatchObject({ code: 'FTPKIT_ERR_UNSAFE_PATH' });
      await expect(client.send(`SITE ${bad}`)).rejects.toMatchObject({ code: 'FTPKIT_ERR_UNSAFE_PATH' });
    }
    expect(server.commands.slice(before)).toEqual([]);
    expect(() => new FileClient({ host: 'h', user: 'x\r\nDELE y' })).toThrow(expect.objectContaining({ code: 'FTPKIT_ERR_UNSAFE_PATH' }));
  });

  it('fails clearly on an unreachable host', async () => {
    const probe = net.createServer();
    await new Promise<void>((r) => probe.listen(0, '127.0.0.1', r));
    const port = (probe.address() as net.AddressInfo).port;
    await new Promise<void>((r) => probe.close(() => r()));
    const client = new FileClient({ host: '127.0.0.1', port, timeout: 2000 });
    await expect(client.connect()).rejects.toMatchObject({ code: 'FTPKIT_ERR_CONNECTION_CLOSED', message: expect.stringContaining('ECONNREFUSED') });
  });

  it('aborts a queued command and keeps order', async () => {
    const { client } = await setup({
      handlers: { SIZE: (_a, s) => void setTimeout(() => s.reply(213, '42'), 200) },
    });
    await client.connect();
    const ac = new AbortController();
    const p = client.size('/slow', { signal: ac.signal });
    setTimeout(() => ac.abort(), 20);
    await expect(p).rejects.toMatchObject({ code: 'FTPKIT_ERR_ABORTED' });
    // the late 213 is consumed by the aborted task, not handed to PWD
    expect(await client.pwd()).toBe('/');
    const already = AbortSignal.abort();
    await expect(client.pwd({ signal: already })).rejects.toMatchObject({ code: 'FTPKIT_ERR_ABORTED' });
  });

  it('fails cleanly on a full or unwritable local destination, before or during RETR', async () => {
    const body = Buffer.alloc(2 * 1024 * 1024, 1);
    const { client, server } = await setup({
      handlers: {
        RETR: async (_a, s) => {
          s.reply(150, 'sending');
          s.transferring = true;
          const data = await s.dataSocket();
          data.on('error', () => {});
          data.end(body, () => {
            if (s.transferring) s.reply(226, 'done');
            s.transferring = false;
          });
        },
      },
    });
    await client.connect();
    const tmp = await makeTempDir();
    try {
      await expect(client.download('/f', tmp.path)).rejects.toMatchObject(localFile(`cannot open local file ${tmp.path}: is a folder (EISDIR)`, 'EISDIR'));
      const missing = join(tmp.path, 'no/such/folder/f');
      await expect(client.download('/f', missing)).rejects.toMatchObject(localFile(`cannot open local file ${missing}: no such file or directory (ENOENT)`, 'ENOENT'));
      if (process.getuid?.() !== 0) {
        // root ignores permission bits, so the read-only case only means something for other users
        await chmod(tmp.path, 0o500);
        await expect(client.download('/f', join(tmp.path, 'f'))).rejects.toMatchObject(localFile(`cannot open local file ${join(tmp.path, 'f')}: permission denied (EACCES)`, 'EACCES'));
      }
    } finally {
      await chmod(tmp.path, 0o700);
      await tmp.cleanup();
    }
    // all of these failed before RETR went out
    expect(server.commands.some((c) => c.startsWith('RETR'))).toBe(false);
    if (existsSync('/dev/full')) {
      await expect(client.download('/f', '/dev/full')).rejects.toMatchObject(localFile('cannot write local file /dev/full: no space left on the device (ENOSPC)', 'ENOSPC'));
    }
    expect(await client.pwd()).toBe('/');
  });
});
