// FileClient behaviour that needs a scripted server: listing formats, active-mode
// fallbacks and port stealing, keep-alive, progress, abort of uploads, IPv6.
import net from 'node:net';
import { PassThrough, Readable } from 'node:stream';
import { describe, expect, it } from 'vitest';
import { FileClient, type FileClientOptions, type TransferProgress } from '../../../src/index.js';
import { countFds } from '../../helpers/tmp.js';
import { fakeServerHarness, listingHandler, type FakeServer, type FakeServerOptions, type FakeSession } from './fake-server.js';

const start = fakeServerHarness();

/** A fake server and a client already connected to it. */
async function setup(opts: FakeServerOptions, clientOpts: Partial<FileClientOptions> = {}): Promise<{ server: FakeServer; client: FileClient }> {
  const started = await start(opts, clientOpts);
  await started.client.connect();
  return started;
}

function sendBody(body: string | Buffer): (arg: string, s: FakeSession) => Promise<void> {
  return async (_a, s) => {
    s.reply(150, 'sending');
    const data = await s.dataSocket();
    data.end(body);
    data.once('close', () => s.reply(226, 'done'));
  };
}

describe('listings', () => {
  it('uses MLSD when FEAT offers MLST and types the entries', async () => {
    const { client, server } = await setup({
      features: ['MLST type*;size*;modify*;', 'UTF8'],
      handlers: {
        MLSD: sendBody([
          'type=cdir;modify=20240101000000; .',
          'type=pdir;modify=20240101000000; ..',
          'type=file;size=12;modify=20240102030405;perm=r; notes.txt',
          'type=dir;modify=20240101000000; sub dir',
        ].map((l) => `${l}\r\n`).join('')),
      },
    });
    const entries = await client.list('/');
    expect(entries).toHaveLength(2);
    expect(entries[0]).toMatchObject({ name: 'notes.txt', type: 'file', size: 12, modified: new Date(Date.UTC(2024, 0, 2, 3, 4, 5)) });
    expect(entries[1]).toMatchObject({ name: 'sub dir', type: 'dir' });
    expect(server.commands).toContain('OPTS UTF8 ON');
    expect(server.commands).toContain('MLSD /');
  });

  it('parses DOS LIST lines when there is no MLST', async () => {
    const { client, server } = await setup({
      handlers: {
        LIST: listingHandler(['01-02-24  03:04PM       <DIR>          Folder', '01-02-24  03:04PM                 1234 file.txt']),
      },
    });
    const entries = await client.list('-weird');
    expect(entries.map((e) => [e.name, e.type, e.size])).toEqual([['Folder', 'dir', undefined], ['file.txt', 'file', 1234]]);
    // a leading '-' would be read as ls flags by some servers
    expect(server.commands).toContain('LIST ./-weird');
  });
});

describe('active mode', () => {
  it('falls back from EPRT to PORT and ignores a connection from another address', async () => {
    let stealerClosed = false;
    const { client, server } = await setup({
      handlers: {
        EPRT: (_a, s) => s.reply(500, 'EPRT not understood'),
        PORT: (arg, s) => {
          const n = arg.split(',').map(Number);
          (s as FakeSession & { target?: number }).target = n[4]! * 256 + n[5]!;
          s.reply(200, 'PORT ok');
        },
        RETR: async (_a, s) => {
          const port = (s as FakeSession & { target?: number }).target!;
          s.reply(150, 'connecting to you');
          // someone else races for the port first (RFC 2577 port stealing)
          const stealer = net.connect({ host: '127.0.0.1', port, localAddress: '127.0.0.2' });
          stealer.on('error', () => {});
          stealer.on('close', () => { stealerClosed = true; });
          await new Promise((r) => setTimeout(r, 50));
          const data = net.connect({ host: '127.0.0.1', port });
          data.on('error', () => {});
          data.end('from the server');
          data.once('close', () => s.reply(226, 'done'));
        },
      },
    }, { active: true });
    const sink = new PassThrough();
    const chunks: Buffer[] = [];
    sink.on('data', (d: Buffer) => chunks.push(d));
    await client.download('/f', sink);
    expect(Buffer.concat(chunks).toString()).toBe('from the server');
    expect(stealerClosed).toBe(true);
    expect(server.commands.filter((c) => /^(EPRT|PORT)/.test(c)).map((c) => c.slice(0, 4))).toEqual(['EPRT', 'PORT']);
    // EPRT is not retried once refused
    await client.download('/f', new PassThrough().resume());
    expect(server.commands.filter((c) => c.startsWith('EPRT'))).toHaveLength(1);
  });
});

describe('operations', () => {
  it('emits throttled progress with the total from SIZE', async () => {
    const body = Buffer.alloc(3 * 1024 * 1024, 9);
    const { client } = await setup({ handlers: { SIZE: (_a, s) => s.reply(213, String(body.length)), RETR: sendBody(body) } }, { progressInterval: 0 });
    const events: TransferProgress[] = [];
    client.on('progress', (p) => events.push(p));
    await client.download('/f', new PassThrough().resume());
    expect(events.length).toBeGreaterThan(1);
    expect(events.at(-1)).toMatchObject({ name: '/f', direction: 'download', bytes: body.length, total: body.length, done: true });
    expect(events.every((e, i) => i === 0 || e.bytes >= events[i - 1]!.bytes)).toBe(true);
  });

  it('aborts an upload with ABOR and stays usable', async () => {
    const { client, server } = await setup({
      handlers: {
        STOR: async (_a, s) => {
          s.reply(150, 'send it');
          s.transferring = true;
          const data = await s.dataSocket();
          data.on('data', () => {});
          data.on('error', () => {});
        },
      },
    });
    const ac = new AbortController();
    // an endless source
    const source = new Readable({ read() { this.push(Buffer.alloc(64 * 1024)); } });
    setTimeout(() => ac.abort(), 100);
    await expect(client.upload(source, '/up', { signal: ac.signal })).rejects.toMatchObject({ code: 'FTPKIT_ERR_ABORTED' });
    expect(await client.pwd()).toBe('/');
    expect(server.commands).toContain('ABOR');
    expect(source.destroyed).toBe(true);
  });

  it('times out a stalled data connection but not a slow steady one', async () => {
    const { client } = await setup({
      handlers: {
        RETR: async (arg, s) => {
          s.reply(150, 'sending');
          s.transferring = true;
          const data = await s.dataSocket();
          data.on('error', () => {});
          if (arg === '/stall') return void data.write('a little, then nothing');
          // 12 chunks 50 ms apart: 600 ms in all, never 200 ms idle
          let n = 0;
          const tick = setInterval(() => {
            if (data.destroyed) return clearInterval(tick);
            data.write('x');
            if (++n === 12) {
              clearInterval(tick);
              data.end(() => {
                s.transferring = false;
                s.reply(226, 'done');
              });
            }
          }, 50);
        },
      },
    }, { dataTimeout: 200 });
    const t = Date.now();
    await expect(client.download('/stall', new PassThrough().resume())).rejects.toMatchObject({ code: 'FTPKIT_ERR_TIMEOUT', message: 'the data connection was idle for 200 ms' });
    expect(Date.now() - t).toBeLessThan(1500);
    const sink = new PassThrough();
    const chunks: Buffer[] = [];
    sink.on('data', (d: Buffer) => chunks.push(d));
    await client.download('/slow', sink);
    expect(Buffer.concat(chunks).toString()).toBe('x'.repeat(12));
  });

  it('sends NOOP on an idle connection when keepAlive is set', async () => {
    const { server } = await setup({}, { keepAlive: 50 });
    await new Promise((r) => setTimeout(r, 300));
    expect(server.commands.filter((c) => c === 'NOOP').length).toBeGreaterThanOrEqual(2);
  });

  it('reads and sets modification times, sends raw commands, closes once', async () => {
    const { client, server } = await setup({
      handlers: {
        MDTM: (_a, s) => s.reply(213, '20240102030405'),
        MFMT: (arg, s) => s.reply(213, `Modify=${arg.split(' ')[0]}; ${arg.split(' ').slice(1).join(' ')}`),
        SITE: (_a, s) => s.reply(200, 'site ok'),
      },
    });
    expect(await client.lastModified('/a b')).toEqual(new Date(Date.UTC(2024, 0, 2, 3, 4, 5)));
    await client.setLastModified('/a b', new Date(Date.UTC(2020, 5, 6, 7, 8, 9)));
    expect(server.commands).toContain('MFMT 20200606070809 /a b');
    expect((await client.send('SITE CHMOD 644 /a')).code).toBe(200);
    await expect(client.send('XYZZY')).rejects.toMatchObject({ code: 'FTPKIT_ERR_REPLY', replyCode: 502 });
    expect((await client.send('XYZZY', { allowNegative: true })).code).toBe(502);
    let closes = 0;
    client.on('close', () => closes++);
    await Promise.all([client.close(), client.close()]);
    expect(closes).toBe(1);
    expect(server.commands.filter((c) => c === 'QUIT')).toHaveLength(1);
    await expect(client.pwd()).rejects.toMatchObject({ code: 'FTPKIT_ERR_CLOSED' });
  });
});

describe('IPv6', () => {
  const hasV6 = (() => {
    try {
      const s = net.createServer();
      s.listen(0, '::1');
      s.close();
      return true;
    } catch {
      return false;
    }
  })();

  it.skipIf(!hasV6)('transfers over ::1 with EPSV and EPRT |2|', async () => {
    let eprt = '';
    const { client, server } = await setup({
      host: '::1',
      handlers: { RETR: sendBody('six'), EPRT: (arg, s) => { eprt = arg; s.reply(500, 'no'); } },
    });
    const chunks: Buffer[] = [];
    const sink = new PassThrough();
    sink.on('data', (d: Buffer) => chunks.push(d));
    await client.download('/f', sink);
    expect(Buffer.concat(chunks).toString()).toBe('six');
    const active = new FileClient({ host: '::1', port: server.port, active: true, timeout: 2000 });
    try {
      await active.connect();
      await expect(active.download('/f', new PassThrough())).rejects.toMatchObject({ code: 'FTPKIT_ERR_REPLY', replyCode: 500 });
    } finally {
      active.destroy();
    }
    expect(eprt).toMatch(/^\|2\|::1\|\d+\|$/);
  });
});

describe('resources', () => {
  it('leaves no file descriptors behind after transfers, aborts and close', async () => {
    const body = Buffer.alloc(256 * 1024, 5);
    const { client, server } = await setup({
      handlers: {
        RETR: async (arg, s) => {
          s.reply(150, 'sending');
          s.transferring = true;
          const data = await s.dataSocket();
          data.on('error', () => {});
          if (arg === '/stall') return void data.write('x');
          data.end(body, () => {
            s.transferring = false;
            s.reply(226, 'done');
          });
        },
      },
    }, { dataTimeout: 2000 });
    const before = countFds();
    for (let i = 0; i < 5; i++) {
      await client.download('/f', new PassThrough().resume());
      const ac = new AbortController();
      setTimeout(() => ac.abort(), 30);
      await expect(client.download('/stall', new PassThrough().resume(), { signal: ac.signal })).rejects.toMatchObject({ code: 'FTPKIT_ERR_ABORTED' });
      expect(await client.pwd()).toBe('/');
    }
    await new Promise((r) => setTimeout(r, 100));
    expect(countFds()).toBeLessThanOrEqual(before);
    await client.close();
    await server.close(); // closing it again after the test is harmless
    await new Promise((r) => setTimeout(r, 100));
    expect(countFds()).toBeLessThan(before);
  });
});

describe('stat and exists', () => {
  it('asks MLST when FEAT offers it', async () => {
    const { client, server } = await setup({
      features: ['MLST type*;size*;modify*;'],
      handlers: {
        MLST: (arg, s) => (arg === '/pub/notes.txt'
          ? s.write('250-Listing /pub/notes.txt\r\n type=file;size=12;modify=20240102030405; /pub/notes.txt\r\n250 End\r\n')
          : s.reply(550, `${arg}: No such file or directory`)),
      },
    });
    expect(await client.stat('/pub/notes.txt')).toMatchObject({ name: 'notes.txt', type: 'file', size: 12, modified: new Date(Date.UTC(2024, 0, 2, 3, 4, 5)) });
    expect(await client.exists('/pub/notes.txt')).toBe(true);
    expect(await client.exists('/pub/gone.txt')).toBe(false);
    await expect(client.stat('/pub/gone.txt')).rejects.toMatchObject({ code: 'FTPKIT_ERR_REPLY', replyCode: 550, message: '550 /pub/gone.txt: No such file or directory' });
    expect(server.commands.filter((c) => /^(MLST|SIZE|LIST)/.test(c))).toEqual(['MLST /pub/notes.txt', 'MLST /pub/notes.txt', 'MLST /pub/gone.txt', 'MLST /pub/gone.txt']);
  });

  it('falls back to SIZE + MDTM for files, and to the parent listing for folders', async () => {
    const { client, server } = await setup({
      handlers: {
        SIZE: (arg, s) => (arg === '/pub/a.txt' ? s.reply(213, '42') : s.reply(550, `${arg}: not a regular file`)),
        MDTM: (_a, s) => s.reply(213, '20240102030405'),
        LIST: listingHandler(['drwxr-xr-x 1 u g 0 Jan 01 00:00 sub', '-rw-r--r-- 1 u g 42 Jan 01 00:00 a.txt']),
      },
    });
    expect(await client.stat('/pub/a.txt')).toEqual({ name: 'a.txt', type: 'file', size: 42, modified: new Date(Date.UTC(2024, 0, 2, 3, 4, 5)) });
    expect(await client.stat('/pub/sub')).toMatchObject({ name: 'sub', type: 'dir' });
    expect(await client.exists('/pub/nothing')).toBe(false);
    await expect(client.stat('/pub/nothing')).rejects.toMatchObject({ code: 'FTPKIT_ERR_REPLY', replyCode: 550, message: '550 /pub/nothing: not in the listing of /pub' });
    expect(await client.stat('/')).toEqual({ name: '/', type: 'dir' });
    expect(server.commands.filter((c) => /^(SIZE|MDTM|LIST|CWD)/.test(c))).toEqual([
      'SIZE /pub/a.txt', 'MDTM /pub/a.txt',
      'SIZE /pub/sub', 'LIST /pub',
      'SIZE /pub/nothing', 'LIST /pub',
      'SIZE /pub/nothing', 'LIST /pub',
      'CWD /', 'CWD /',
    ]);
  });
});

describe('FileClient.connect(url)', () => {
  it('logs in with the URL credentials (percent-decoded) and enters its folder', async () => {
    const { server } = await start({ handlers: { CWD: (arg, s) => (arg === '/pub/in box' ? s.reply(250, 'ok') : s.reply(550, 'no')) } });
    const client = await FileClient.connect(`ftp://al%40ice:p%3Ass@127.0.0.1:${server.port}/pub/in%20box/`, { timeout: 3000 });
    try {
      expect(client.connected).toBe(true);
      expect(client.options).toMatchObject({ host: '127.0.0.1', port: server.port, user: 'al@ice', password: 'p:ss', timeout: 3000, tls: undefined });
      expect(server.commands.slice(0, 2)).toEqual(['USER al@ice', 'PASS p:ss']);
      expect(server.commands).toContain('CWD /pub/in box');
    } finally {
      client.destroy();
    }
  });

  it('takes the password from the options when the URL has none, and closes the connection when the folder is refused', async () => {
    const { server } = await start({ handlers: { CWD: (_a, s) => s.reply(550, 'No such folder') } });
    const fds = countFds();
    await expect(FileClient.connect(`ftp://bob@127.0.0.1:${server.port}/nope/`, { password: 'pw' })).rejects.toMatchObject({
      code: 'FTPKIT_ERR_REPLY', replyCode: 550, message: '550 No such folder',
    });
    expect(server.commands.slice(0, 2)).toEqual(['USER bob', 'PASS pw']);
    await new Promise((r) => setTimeout(r, 50));
    expect(countFds()).toBeLessThanOrEqual(fds);
  });
});

describe('ABOR after a bounded read whose final reply came first', () => {
  it("reads ABOR's own reply, so the next command gets its answer, not ABOR's", async () => {
    const { client } = await start({
      handlers: {
        SIZE: (_a, s) => s.reply(213, '1000000'),
        REST: (_a, s) => s.reply(350, 'restarting'),
        RETR: async (_a, s) => {
          s.reply(150, 'sending');
          // The transfer's 226 arrives before the bytes the client stops after (a fast server
          // whose data sat in socket buffers): the client has seen the final when it ABORs.
          s.reply(226, 'Transfer complete');
          const data = await s.dataSocket();
          setTimeout(() => data.end(Buffer.alloc(1_000_000, 1)), 30);
        },
        // ABOR's own reply comes late, as ProFTPD's "226 Abort successful" can.
        ABOR: (_a, s) => void setTimeout(() => s.reply(226, 'Abort successful'), 100),
      },
    });
    await client.connect();
    const slice = await client.read('/f.bin', { start: 10, end: 109 });
    expect(slice).toEqual(Buffer.alloc(100, 1));
    expect(await client.pwd()).toBe('/');
  });
});
