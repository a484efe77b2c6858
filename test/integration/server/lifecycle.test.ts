import { zeroCopy } from '../../../src/data/zero-copy.js';
import { randomBytes } from 'node:crypto';
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { FileServer, MemoryStorage } from '../../../src/index.js';
import { RawFtp } from '../../helpers/raw-ftp.js';
import { startTestServer, type TestServer } from '../../helpers/server.js';
import { countFds, sha256Buffer } from '../../helpers/tmp.js';

let t: TestServer | undefined;
afterEach(async () => {
  await t?.close();
  t = undefined;
});

describe('close()', () => {
  it('sends 421 to idle sessions, stops accepting, and leaves no handle behind', async () => {
    zeroCopy(); // the addon's thread and epoll descriptor live as long as the process: count after them
    const fds = countFds();
    t = await startTestServer();
    const a = await RawFtp.connect(t.port);
    await a.login();
    const b = await RawFtp.connect(t.port);
    await a.send('EPSV'); // a prepared passive listener must be closed too
    const closing = t.server.close();
    expect((await a.read()).code).toBe(421);
    expect((await b.read()).code).toBe(421);
    await closing;
    await expect(RawFtp.connect(t.port)).rejects.toThrow();
    await t.close(); // idempotent
    t = undefined;
    expect(countFds()).toBeLessThanOrEqual(fds);
  });

  it('lets a running transfer finish, then closes', async () => {
    t = await startTestServer({ closeTimeout: 10_000 });
    const body = randomBytes(8 * 1024 * 1024);
    await writeFile(join(t.root, 'f.bin'), body);
    const c = await RawFtp.connect(t.port);
    await c.login();
    await c.send('TYPE I');
    const data = await c.passive();
    data.pause();
    const chunks: Buffer[] = [];
    expect((await c.send('RETR f.bin')).code).toBe(150);
    const closing = t.server.close();
    await new Promise((r) => setTimeout(r, 200));
    data.on('data', (chunk: Buffer) => chunks.push(chunk));
    const ended = new Promise((r) => data.once('end', r));
    data.resume();
    expect((await c.read()).code).toBe(226);
    expect((await c.read()).code).toBe(421);
    await closing;
    await ended; // the 226 can overtake the last bytes still in the client's socket buffer
    expect(sha256Buffer(Buffer.concat(chunks))).toBe(sha256Buffer(body));
  });

  it('ends a transfer that outlives closeTimeout with 426', async () => {
    t = await startTestServer({ closeTimeout: 300 });
    await writeFile(join(t.root, 'f.bin'), randomBytes(32 * 1024 * 1024));
    const c = await RawFtp.connect(t.port);
    await c.login();
    const data = await c.passive();
    data.pause(); // never reads: the transfer cannot finish
    expect((await c.send('RETR f.bin')).code).toBe(150);
    await t.server.close();
    expect((await c.read()).code).toBe(426);
    expect((await c.read()).code).toBe(421);
  });
});

describe('timeouts', () => {
  it('login timeout: 421 and the connection closes', async () => {
    t = await startTestServer({ timeouts: { login: 200 } });
    const c = await RawFtp.connect(t.port);
    const r = await c.read(2000);
    expect(r.code).toBe(421);
    expect(r.text).toContain('Login timeout');
  });

  it('idle timeout: 421, but never while a transfer runs', async () => {
    t = await startTestServer({ timeouts: { idle: 400, data: 5000 } });
    await writeFile(join(t.root, 'f.bin'), randomBytes(16 * 1024 * 1024));
    const c = await RawFtp.connect(t.port);
    await c.login();
    const data = await c.passive();
    data.pause();
    expect((await c.send('RETR f.bin')).code).toBe(150);
    await new Promise((r) => setTimeout(r, 900)); // more than twice the idle timeout
    data.resume();
    data.on('data', () => {});
    expect((await c.read()).code).toBe(226);
    const r = await c.read(2000);
    expect(r.code).toBe(421);
    expect(r.text).toContain('Idle timeout');
  });

  it('a stalled data connection times out with 426', async () => {
    t = await startTestServer({ timeouts: { data: 300, idle: 60_000 } });
    const c = await RawFtp.connect(t.port);
    await c.login();
    const data = await c.passive();
    expect((await c.send('STOR stall.bin')).code).toBe(150);
    data.write('some bytes, then silence');
    expect((await c.read(3000)).code).toBe(426);
    data.destroy();
  });
});

describe('many transfers', () => {
  it('10,000 consecutive transfers leave no port or fd behind', async () => {
    t = await startTestServer({ pasvPortRange: [50000, 50099] });
    await writeFile(join(t.root, 'tiny'), 'x');
    const fds = countFds();
    const clients = await Promise.all([0, 1, 2, 3].map(async () => {
      const c = await RawFtp.connect(t!.port);
      await c.login();
      await c.send('TYPE I');
      return c;
    }));
    let ok = 0;
    await Promise.all(clients.map(async (c) => {
      for (let i = 0; i < 2500; i++) {
        const r = await c.fetch('RETR tiny');
        if (r.final.code === 226 && r.data.toString() === 'x') ok++;
      }
    }));
    expect(ok).toBe(10_000);
    for (const c of clients) c.close();
    await new Promise((r) => setTimeout(r, 300));
    expect(countFds()).toBeLessThanOrEqual(fds);
  }, 120_000);
});

describe('options and storage', () => {
  it('invalid options throw at construction', () => {
    expect(() => new FileServer({ port: 70000 })).toThrow(/port/);
    expect(() => new FileServer({ pasvPortRange: [2000, 1000] })).toThrow(/pasvPortRange/);
    expect(() => new FileServer({ timeouts: { idle: 1.5 } })).toThrow(/timeouts.idle/);
    expect(() => new FileServer({ greeting: 'a\r\nb' })).toThrow(/greeting/);
  });

  it('serves any Storage chosen at login, e.g. MemoryStorage; pasvAddress advertises NAT', async () => {
    const storage = new MemoryStorage({ '/hello.txt': 'from memory' });
    const server = new FileServer({
      anonymous: { storage, write: false },
      pasvAddress: (client) => (client === '127.0.0.1' ? '127.0.0.1' : '192.0.2.1'),
    });
    const { port } = await server.listen();
    const c = await RawFtp.connect(port);
    await c.login('anonymous', 'me@example.org');
    expect((await c.fetch('RETR hello.txt')).data.toString()).toBe('from memory');
    expect((await c.send('PASV')).text).toContain('(127,0,0,1,');
    expect((await c.store('STOR x', 'no')).mark.code).toBe(550);
    c.close();
    await server.close();
  });
});

describe('IPv6', () => {
  it('listens on ::1; EPSV and EPRT carry data; PASV and PORT are refused with a pointer', async () => {
    t = await startTestServer({ host: '::1' });
    await writeFile(join(t.root, 'six'), 'over ipv6');
    const c = await RawFtp.connect(t.port, '::1');
    await c.login();
    expect((await c.fetch('RETR six')).data.toString()).toBe('over ipv6');
    const pasv = await c.send('PASV');
    expect(pasv.code).toBe(522);
    expect(pasv.text).toContain('EPSV');
    const port = await c.send('PORT 127,0,0,1,4,4');
    expect(port.code).toBe(522);
    expect(port.text).toContain('EPRT');
    expect((await c.send('EPRT |1|127.0.0.1|4000|')).code).toBe(522);
    const { createServer } = await import('node:net');
    const l = createServer();
    await new Promise<void>((r) => l.listen(0, '::1', r));
    const got = new Promise<string>((resolve) => l.once('connection', (s) => {
      let text = '';
      s.on('data', (d: Buffer) => (text += d.toString()));
      s.on('end', () => resolve(text));
    }));
    expect((await c.send(`EPRT |2|::1|${(l.address() as { port: number }).port}|`)).code).toBe(200);
    expect((await c.send('RETR six')).code).toBe(150);
    expect((await c.read()).code).toBe(226);
    expect(await got).toBe('over ipv6');
    l.close();
    c.close();
  });
});
