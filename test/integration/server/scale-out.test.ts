// Several hosts on one machine (issue 19): two nodes on 127.0.0.2 and 127.0.0.3 sharing a
// folder and a redis-server, HAProxy on 127.0.0.1 sending PROXY v2 on the control port
// (round robin) and forwarding each node's passive range to it. Both nodes advertise
// 127.0.0.1. Clients bind 127.0.0.4, .5, .7 so the real address differs from the balancer's.
import { spawn, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdir, readFile, stat, writeFile } from 'node:fs/promises';
import { connect, type Socket } from 'node:net';
import { join } from 'node:path';
import { Writable } from 'node:stream';
import { pino } from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { FileServer, formatProxyV2, parseEpsvText, type FileServerOptions } from '../../../src/index.js';
import { RawFtp } from '../../helpers/raw-ftp.js';
import { TEST_CERT, TEST_KEY } from '../../helpers/tls.js';
import { REPO_ROOT } from '../../helpers/peers.js';
import { freePort, freePortRange, hasDaemon, startHaproxy, startRedis, type HaproxyProcess, type RedisProcess } from '../../helpers/scale.js';
import { makeTempDir, sha256Buffer, type TempDir } from '../../helpers/tmp.js';
import { curl, hasTool } from '../../helpers/tools.js';
import { hostOf } from '../../../src/server/file-server.js';

const NODE_SCRIPT = join(REPO_ROOT, 'test/fixtures/scale-node.mjs');
const ready = hasDaemon('redis-server') && hasDaemon('haproxy') && hasTool('curl');

interface Node {
  name: string;
  server: FileServer;
  port: number;
  range: [number, number];
  logs: Array<Record<string, unknown>>;
  transfers: Array<{ command: string; ok: boolean; remoteAddress: string }>;
  connects: string[];
}

function capture(lines: Array<Record<string, unknown>>): pino.Logger {
  return pino({ level: 'debug' }, new Writable({ write: (chunk: Buffer, _e, cb) => (lines.push(JSON.parse(chunk.toString())), cb()) }));
}

async function until(check: () => boolean | Promise<boolean>, timeout = 20_000): Promise<void> {
  const end = Date.now() + timeout;
  while (!(await check())) {
    if (Date.now() > end) throw new Error('condition not met in time');
    await new Promise((r) => setTimeout(r, 50));
  }
}

/** Everything a raw connection receives until it closes (or `ms` pass), after writing `send`. */
function exchange(host: string, port: number, localAddress: string, send?: Buffer, ms = 8000): Promise<{ text: string; closed: boolean }> {
  return new Promise((resolve) => {
    const s = connect({ host, port, localAddress });
    let text = '';
    const timer = setTimeout(() => {
      s.destroy();
      resolve({ text, closed: false });
    }, ms);
    s.on('connect', () => send && s.write(send));
    s.on('data', (d: Buffer) => (text += d.toString('latin1')));
    s.on('error', () => {});
    s.on('close', () => {
      clearTimeout(timer);
      resolve({ text, closed: true });
    });
  });
}

/** The first reply line through the balancer (a 220, or the 421 of a refusal). */
async function greet(port: number, localAddress: string): Promise<string> {
  const r = await new Promise<string>((resolve, reject) => {
    const s = connect({ host: '127.0.0.1', port, localAddress });
    let text = '';
    s.on('data', (d: Buffer) => {
      text += d.toString();
      if (text.includes('\r\n')) {
        s.destroy();
        resolve(text.trim());
      }
    });
    s.on('close', () => resolve(text.trim()));
    s.on('error', reject);
  });
  return r;
}

describe.skipIf(!ready)('scale-out: two nodes behind HAProxy sharing Redis', () => {
  let dir: TempDir;
  let root: string;
  let redis: RedisProcess;
  let haproxy: HaproxyProcess;
  let control: number;
  let prefix: string;
  const nodes: Node[] = [];
  const clients: RawFtp[] = [];
  const children: ChildProcess[] = [];

  const client = async (local: string): Promise<RawFtp> => {
    const c = await RawFtp.connect(control, '127.0.0.1', local);
    clients.push(c);
    return c;
  };
  const nodeOf = (c: RawFtp): string => /node (\w)/.exec(c.greeting!.text)![1]!;

  beforeAll(async () => {
    dir = await makeTempDir('ftpkit-scale-');
    root = join(dir.path, 'root');
    await mkdir(root);
    redis = await startRedis();
    prefix = `scale-${randomBytes(3).toString('hex')}:`;
    const ticketKeys = randomBytes(48); // --tls-ticket-keys: the same secret on both nodes
    const rangeA = await freePortRange(6, ['127.0.0.1', '127.0.0.2']);
    let rangeB: [number, number];
    do rangeB = await freePortRange(6, ['127.0.0.1', '127.0.0.3']);
    while (rangeB[0] <= rangeA[1] && rangeA[0] <= rangeB[1]);
    for (const [name, host, range] of [['a', '127.0.0.2', rangeA], ['b', '127.0.0.3', rangeB]] as const) {
      const logs: Array<Record<string, unknown>> = [];
      const options: FileServerOptions = {
        host,
        greeting: `node ${name}`,
        authenticate: ({ username, password }) =>
          password !== 'secret' ? false : username === 'alice' ? { root, write: true } : username === 'bob' ? { root, maxSessions: 2 } : false,
        pasvAddress: '127.0.0.1',
        pasvPortRange: range,
        proxyProtocol: { trusted: ['127.0.0.1'], timeout: 1000 },
        redis: { url: redis.url, keyPrefix: prefix, lease: 10_000 },
        loginGuard: { delay: 0, banAfter: 4, maxTries: 1, banDuration: 60_000 },
        logger: capture(logs),
        tls: { cert: TEST_CERT, key: TEST_KEY, ticketKeys },
      };
      const server = new FileServer(options);
      const port = (await server.listen()).port;
      await hostOf(server).options.redis!.ready();
      const node: Node = { name, server, port, range, logs, transfers: [], connects: [] };
      server.on('transfer-end', (t) => node.transfers.push({ command: t.command, ok: t.ok, remoteAddress: t.remoteAddress }));
      server.on('connect', (c) => node.connects.push(c.remoteAddress));
      nodes.push(node);
    }
    const [a, b] = nodes as [Node, Node];
    const config = (control: number): string => [
      'global',
      '  maxconn 2000',
      'defaults',
      '  mode tcp',
      '  timeout connect 5s',
      '  timeout client 60s',
      '  timeout server 60s',
      'frontend ftp_control',
      `  bind 127.0.0.1:${control}`,
      '  default_backend ftp_nodes',
      'backend ftp_nodes',
      '  balance roundrobin',
      `  server a 127.0.0.2:${a.port} send-proxy-v2`,
      `  server b 127.0.0.3:${b.port} send-proxy-v2`,
      ...[a, b].flatMap((n) => [
        `frontend ftp_pasv_${n.name}`,
        `  bind 127.0.0.1:${n.range[0]}-${n.range[1]}`,
        `  default_backend ftp_pasv_${n.name}`,
        `backend ftp_pasv_${n.name}`,
        `  server ${n.name} ${n.name === 'a' ? '127.0.0.2' : '127.0.0.3'}`,
      ]),
      '',
    ].join('\n');
    // A port can be taken between choosing it and haproxy's bind: then haproxy exits, and a fresh one is tried.
    for (let attempt = 1; ; attempt++) {
      control = await freePort('127.0.0.1');
      try {
        haproxy = await startHaproxy(dir.path, config(control), { host: '127.0.0.1', port: control, greeting: /^220 node [ab]\r?\n/ });
        break;
      } catch (err) {
        if (attempt === 3) throw err;
      }
    }
  }, 60_000);

  afterAll(async () => {
    for (const c of clients) c.close();
    for (const child of children) child.kill('SIGKILL');
    await haproxy?.stop();
    for (const n of nodes) {
      await n.server.close();
    }
    await redis?.stop();
    await dir?.cleanup();
  });

  it('transfers through the balancer (EPSV and PASV) land on both nodes, from the real client address', async () => {
    const bodies = Array.from({ length: 4 }, (_, i) => randomBytes(150_000 + i));
    const since = nodes.map((n) => n.connects.length);
    const seen = new Set<string>();
    for (let i = 0; i < 4; i++) {
      const c = await client('127.0.0.7');
      seen.add(nodeOf(c));
      await c.login();
      expect((await c.send('TYPE I')).code).toBe(200);
      expect((await c.store(`STOR e${i}.bin`, bodies[i]!)).final.code).toBe(226);
      const got = await c.fetch(`RETR e${i}.bin`);
      expect(got.final.code).toBe(226);
      expect(sha256Buffer(got.data)).toBe(sha256Buffer(bodies[i]!));
      c.close();
    }
    expect([...seen].sort()).toEqual(['a', 'b']);
    // PASV with curl: its 227 names 127.0.0.1 (pasvAddress), the balancer maps the port to its node.
    const src = join(dir.path, 'pasv-src.bin');
    const srcBody = randomBytes(300_000);
    await writeFile(src, srcBody);
    const url = (name: string): string => `ftp://alice:secret@127.0.0.1:${control}/${name}`;
    for (let i = 0; i < 2; i++) {
      const up = await curl(['-sS', '--disable-epsv', '--interface', '127.0.0.7', '-T', src, url(`p${i}.bin`)]);
      expect(up.stderr).toBe('');
      expect(up.code).toBe(0);
    }
    for (let i = 0; i < 2; i++) {
      const out = join(dir.path, `pasv-out-${i}.bin`);
      const down = await curl(['-sS', '--disable-epsv', '--interface', '127.0.0.7', '-o', out, url(`p${i}.bin`)]);
      expect(down.code).toBe(0);
      expect(sha256Buffer(await readFile(out))).toBe(sha256Buffer(srcBody));
    }
    for (const [i, n] of nodes.entries()) {
      const ok = n.transfers.filter((t) => t.ok && t.remoteAddress === '127.0.0.7');
      expect(ok.filter((t) => t.command === 'STOR').length).toBeGreaterThanOrEqual(2);
      expect(ok.filter((t) => t.command === 'RETR').length).toBeGreaterThanOrEqual(2);
      // Sessions carry the client's address, not the balancer's (127.0.0.1).
      expect(n.connects.slice(since[i])).toContain('127.0.0.7');
      expect(n.transfers.filter((t) => t.remoteAddress !== '127.0.0.7')).toEqual([]);
    }
  });

  it('FTPS through the balancer: a client that reconnects resumes on the other node the TLS session the first gave it', async () => {
    const body = randomBytes(200_000);
    await writeFile(join(root, 'tls.bin'), body);
    const tlsClient = async (session?: Buffer): Promise<{ c: RawFtp; node: string; resumed: boolean }> => {
      const c = await client('127.0.0.8');
      expect((await c.send('AUTH TLS')).code).toBe(234);
      await c.upgrade(session ? { session } : {});
      await c.login();
      expect((await c.send('PBSZ 0')).code).toBe(200);
      expect((await c.send('PROT P')).code).toBe(200);
      c.protectData = true;
      expect((await c.send('TYPE I')).code).toBe(200);
      return { c, node: nodeOf(c), resumed: c.tls!.isSessionReused() };
    };
    const first = await tlsClient();
    expect(first.resumed).toBe(false);
    const session = first.c.tls!.getSession()!;
    first.c.close();
    // Round robin: within a few connections one lands on the other node.
    let other: { c: RawFtp; node: string; resumed: boolean } | undefined;
    for (let i = 0; i < 4 && !other; i++) {
      const next = await tlsClient(session);
      expect(next.resumed).toBe(true); // on either node
      if (next.node !== first.node) other = next;
      else next.c.close();
    }
    expect(other).toBeDefined();
    const got = await other!.c.fetch('RETR tls.bin');
    expect(got.final.code).toBe(226);
    expect(sha256Buffer(got.data)).toBe(sha256Buffer(body));
    other!.c.close();
  });

  it('a slow upload on one node makes DELE on the other answer 450; once committed, DELE works', async () => {
    await writeFile(join(root, 'slow.bin'), 'old');
    const x = await client('127.0.0.7');
    const y = await client('127.0.0.7');
    expect(nodeOf(x)).not.toBe(nodeOf(y)); // round robin: consecutive connections alternate
    await x.login();
    await y.login();
    await x.send('TYPE I');
    const data = await x.passive();
    expect((await x.send('STOR slow.bin')).code).toBe(150);
    const first = randomBytes(100_000);
    const second = randomBytes(50_000);
    data.write(first);
    await until(async () => (await stat(join(root, '.ftpkit-upload-slow.bin')).catch(() => undefined))?.size === first.length);
    expect(await y.send('DELE slow.bin')).toMatchObject({ code: 450, text: '/slow.bin: file busy' });
    expect(await y.send('RNFR slow.bin')).toMatchObject({ code: 450 });
    expect(await readFile(join(root, 'slow.bin'), 'utf8')).toBe('old');
    data.end(second);
    expect((await x.read(30_000)).code).toBe(226);
    expect(sha256Buffer(await readFile(join(root, 'slow.bin')))).toBe(sha256Buffer(Buffer.concat([first, second])));
    expect((await y.send('DELE slow.bin')).code).toBe(250);
    await until(async () => (await nodes[0]!.server.locks.held()).length === 0);
  });

  it('failed logins from 127.0.0.4 spread over both nodes ban it on both; 127.0.0.5 still logs in', async () => {
    const where: string[] = [];
    const finals: number[] = [];
    for (let i = 0; i < 4; i++) {
      const c = await client('127.0.0.4');
      where.push(nodeOf(c));
      expect((await c.send('USER alice')).code).toBe(331);
      finals.push((await c.send('PASS wrong')).code);
      c.close();
    }
    expect(new Set(where)).toEqual(new Set(['a', 'b']));
    // Two failures on each node: the fourth, counted in Redis, bans the address.
    expect(finals).toEqual([530, 530, 530, 421]);
    for (let i = 0; i < 2; i++) expect(await greet(control, '127.0.0.4')).toMatch(/^421 Too many failed logins from your address, try again in \d+ s$/);
    for (const n of nodes) expect(hostOf(n.server).loginGuard!.bannedFor('127.0.0.4')).toBeGreaterThan(0);
    const ok = new Set<string>();
    for (let i = 0; i < 2; i++) {
      const c = await client('127.0.0.5');
      ok.add(nodeOf(c));
      await c.login();
      c.close();
    }
    expect(ok).toEqual(new Set(['a', 'b']));
    // Lifted on one node, lifted everywhere (the other node asks Redis at each connection).
    nodes[0]!.server.unban('127.0.0.4');
    await until(async () => (await nodes[0]!.server.abuseStore!.bannedFor('127.0.0.4')) === 0);
    for (let i = 0; i < 2; i++) expect(await greet(control, '127.0.0.4')).toMatch(/^220 node [ab]$/);
  });

  it("a user's maxSessions counts the sessions on every node", async () => {
    const first = await client('127.0.0.5');
    const second = await client('127.0.0.5');
    expect(nodeOf(first)).not.toBe(nodeOf(second));
    await first.login('bob', 'secret');
    await second.login('bob', 'secret');
    for (let i = 0; i < 2; i++) {
      const third = await client('127.0.0.5'); // one on each node
      expect((await third.send('USER bob')).code).toBe(331);
      expect(await third.send('PASS secret')).toMatchObject({ code: 421, text: 'Too many sessions for this user (at most 2), try again later' });
    }
    first.close();
    await until(async () => {
      const again = await client('127.0.0.5');
      await again.send('USER bob');
      const r = await again.send('PASS secret');
      again.close();
      return r.code === 230;
    });
    second.close();
  });

  it('Redis stopped mid-run: new logins get 421 (logged once), running transfers finish, logins return with Redis', async () => {
    const big = randomBytes(8 * 1024 * 1024);
    await writeFile(join(root, 'big.bin'), big);
    const d = await client('127.0.0.7');
    const u = await client('127.0.0.7');
    await d.login();
    await u.login();
    await d.send('TYPE I');
    await u.send('TYPE I');
    const down = await d.passive();
    down.pause();
    const chunks: Buffer[] = [];
    expect((await d.send('RETR big.bin')).code).toBe(150);
    const up = await u.passive();
    expect((await u.send('STOR during.bin')).code).toBe(150);
    const part1 = randomBytes(200_000);
    const part2 = randomBytes(200_000);
    up.write(part1);
    const before = nodes.map((n) => n.logs.length);

    await redis.stop();
    await until(() => nodes.every((n) => !n.server.abuseStore!.available));
    for (let i = 0; i < 4; i++) expect(await greet(control, '127.0.0.5')).toBe('421 Service temporarily unavailable, try again later');
    down.on('data', (c: Buffer) => chunks.push(c));
    down.resume();
    expect((await d.read(30_000)).code).toBe(226);
    await new Promise((r) => (down.closed ? r(null) : down.once('close', r)));
    expect(sha256Buffer(Buffer.concat(chunks))).toBe(sha256Buffer(big));
    up.end(part2); // committed while Redis is away: the lease is surely still this node's
    expect((await u.read(30_000)).code).toBe(226);
    expect(sha256Buffer(await readFile(join(root, 'during.bin')))).toBe(sha256Buffer(Buffer.concat([part1, part2])));
    for (const [i, n] of nodes.entries()) {
      const outage = n.logs.slice(before[i]).filter((l) => String(l.msg).startsWith('redis unreachable'));
      expect(outage).toHaveLength(1);
      expect(outage[0]!.level).toBe(50); // error
    }

    await redis.start();
    await until(() => nodes.every((n) => n.server.abuseStore!.available));
    for (let i = 0; i < 2; i++) {
      const c = await client('127.0.0.5');
      await c.login();
      expect((await c.store('STOR after.bin', `after ${i}`)).final.code).toBe(226);
      c.close();
    }
    for (const n of nodes) expect(n.logs.filter((l) => l.msg === 'redis reachable again: logins accepted')).toHaveLength(1);
  }, 60_000);

  it('a node cut off from Redis stops its upload before its lease can pass to another node (451, file intact)', async () => {
    const old = randomBytes(50_000);
    await writeFile(join(root, 'cut.bin'), old);
    const logs: Array<Record<string, unknown>> = [];
    const cut = new FileServer({
      host: '127.0.0.3',
      authenticate: ({ username, password }) => (username === 'alice' && password === 'secret' ? { root, write: true } : false),
      redis: { url: redis.url, keyPrefix: prefix, lease: 1000 },
      logger: capture(logs),
    });
    const port = (await cut.listen()).port;
    try {
      const c = await RawFtp.connect(port, '127.0.0.3', '127.0.0.8');
      clients.push(c);
      await c.login();
      await c.send('TYPE I');
      const data = await c.passive('127.0.0.8');
      expect((await c.send('STOR cut.bin')).code).toBe(150);
      data.write(randomBytes(100_000));
      await until(async () => (await stat(join(root, '.ftpkit-upload-cut.bin')).catch(() => undefined))?.size === 100_000);
      hostOf(cut).options.redis!.raw!.disconnect(); // no reconnect: renewals fail from now on
      expect(await c.read(15_000)).toMatchObject({ code: 451 });
      expect(logs.some((l) => l.msg === 'upload not committed: its lock was lost')).toBe(true);
      data.end(randomBytes(10)); // too late: nothing is renamed
      expect(sha256Buffer(await readFile(join(root, 'cut.bin')))).toBe(sha256Buffer(old));
      const other = await client('127.0.0.7');
      await other.login();
      await other.send('TYPE I');
      let code = 450;
      await until(async () => {
        code = (await other.store('STOR cut.bin', 'replaced')).final.code;
        return code !== 450;
      });
      expect(code).toBe(226);
      expect(await readFile(join(root, 'cut.bin'), 'utf8')).toBe('replaced');
    } finally {
      await cut.close();
    }
  }, 60_000);

  it('a node killed mid-upload: the old file is intact; another node overwrites it once the lease expires', async () => {
    const old = randomBytes(100_000);
    await writeFile(join(root, 'k.bin'), old);
    const child = spawn(process.execPath, [NODE_SCRIPT, JSON.stringify({ host: '127.0.0.2', root, redis: { url: redis.url, keyPrefix: prefix, lease: 3000 }, greeting: 'node c' })], {
      stdio: ['ignore', 'pipe', 'inherit'],
    });
    children.push(child);
    const port = await new Promise<number>((resolve, reject) => {
      child.stdout!.on('data', (d: Buffer) => {
        const m = /listening (\d+)/.exec(d.toString());
        if (m) resolve(Number(m[1]));
      });
      child.once('exit', (code) => reject(new Error(`node exited ${code}`)));
    });
    const c = await RawFtp.connect(port, '127.0.0.2', '127.0.0.8');
    clients.push(c);
    await c.login();
    await c.send('TYPE I');
    const data = await c.passive('127.0.0.8');
    expect((await c.send('STOR k.bin')).code).toBe(150);
    data.write(randomBytes(300_000));
    await until(async () => (await stat(join(root, '.ftpkit-upload-k.bin')).catch(() => undefined))?.size === 300_000);
    child.kill('SIGKILL');
    await new Promise((r) => child.once('exit', r));

    const other = await client('127.0.0.7');
    await other.login();
    await other.send('TYPE I');
    const fresh = randomBytes(120_000);
    // The dead node's lease still runs: busy, and the old version is intact.
    expect((await other.store('STOR k.bin', fresh)).final).toMatchObject({ code: 450, text: '/k.bin: file busy' });
    expect(sha256Buffer(await readFile(join(root, 'k.bin')))).toBe(sha256Buffer(old));
    let code = 450;
    await until(async () => {
      const r = await other.store('STOR k.bin', fresh);
      code = r.final.code;
      return code !== 450;
    });
    expect(code).toBe(226);
    expect(sha256Buffer(await readFile(join(root, 'k.bin')))).toBe(sha256Buffer(fresh));
    await until(async () => (await nodes[0]!.server.locks.held()).length === 0);
  }, 60_000);
});

it.skipIf(!ready)('examples/haproxy.cfg is a valid HAProxy configuration', async () => {
  const { spawnSync } = await import('node:child_process');
  const r = spawnSync('haproxy', ['-c', '-f', join(REPO_ROOT, 'examples/haproxy.cfg')], { encoding: 'utf8' });
  expect(`${r.stdout}${r.stderr}`).toContain('Configuration file is valid');
  expect(r.status).toBe(0);
});

describe.skipIf(!ready)('PROXY protocol on the control listener: bad input', () => {
  let dir: TempDir;
  let server: FileServer;
  let port: number;
  const logs: Array<Record<string, unknown>> = [];
  const connects: string[] = [];

  beforeAll(async () => {
    dir = await makeTempDir('ftpkit-proxy-');
    await writeFile(join(dir.path, 'f.txt'), 'hello');
    server = new FileServer({
      host: '127.0.0.2',
      authenticate: ({ username, password }) => (username === 'alice' && password === 'secret' ? { root: dir.path } : false),
      proxyProtocol: { trusted: ['127.0.0.1', '10.0.0.0/8', 'fd00::/64'], timeout: 1000 },
      logger: capture(logs),
    });
    server.on('connect', (c) => connects.push(c.remoteAddress));
    port = (await server.listen()).port;
  });
  afterAll(async () => {
    await server.close();
    await dir.cleanup();
  });

  const v2 = (fam: number, body: Buffer): Buffer => {
    const head = Buffer.from('0d0a0d0a000d0a515549540a2100', 'hex');
    head[13] = fam;
    const len = Buffer.alloc(2);
    len.writeUInt16BE(body.length);
    return Buffer.concat([head, len, body]);
  };

  it.each([
    ['garbage instead of a header', Buffer.from('USER alice\r\n')],
    ['a garbled v1 header', Buffer.from('PROXY TCP4 1.2.3.4 nope 1 2\r\n')],
    ['a v2 header with a UNIX family', v2(0x31, Buffer.alloc(216))],
    ['a v2 header with an unknown family', v2(0x41, Buffer.alloc(12))],
  ])('from a trusted proxy, %s: closed at once, no greeting', async (_name, bytes) => {
    const r = await exchange('127.0.0.2', port, '127.0.0.1', bytes);
    expect(r).toEqual({ text: '', closed: true });
  });

  it.each([
    ['a truncated header', formatProxyV2({ source: { address: '1.2.3.4', port: 1 }, destination: { address: '5.6.7.8', port: 2 } }).subarray(0, 20)],
    ['nothing', undefined],
  ])('from a trusted proxy, %s: closed after the header timeout, no greeting', async (_name, bytes) => {
    const started = Date.now();
    const r = await exchange('127.0.0.2', port, '127.0.0.1', bytes);
    expect(r).toEqual({ text: '', closed: true });
    expect(Date.now() - started).toBeGreaterThanOrEqual(900);
    expect(logs.some((l) => l.msg === 'connection from a trusted proxy without a valid PROXY header closed' && String(l.reason).startsWith('no PROXY header within'))).toBe(true);
  });

  it.each([
    ['v1', Buffer.from('PROXY TCP4 203.0.113.9 127.0.0.2 5000 21\r\n')],
    ['v2', formatProxyV2({ source: { address: '203.0.113.9', port: 5000 }, destination: { address: '127.0.0.2', port: 21 } })],
  ])('from an untrusted address, a %s header after the greeting: closed, nothing answered', async (_name, bytes) => {
    const s = connect({ host: '127.0.0.2', port, localAddress: '127.0.0.6' });
    let text = '';
    s.on('data', (d: Buffer) => {
      text += d.toString();
      if (text === '220 ftpkit ready\r\n') s.write(bytes);
    });
    await new Promise((r) => s.once('close', r));
    expect(text).toBe('220 ftpkit ready\r\n');
    expect(logs.some((l) => l.msg === 'PROXY header from an untrusted address: connection closed' && l.remote === '127.0.0.6')).toBe(true);
  });

  it('through a trusted proxy the session is the client: events, STAT, and passive data from the proxy accepted', async () => {
    const s = connect({ host: '127.0.0.2', port, localAddress: '127.0.0.1' });
    s.write(Buffer.from('PROXY TCP4 203.0.113.9 127.0.0.2 5000 21\r\n'));
    await new Promise((r) => s.once('connect', r));
    const replies: string[] = [];
    let buf = '';
    const waiters: Array<(l: string) => void> = [];
    s.on('data', (d: Buffer) => {
      buf += d.toString();
      let i;
      while ((i = buf.indexOf('\r\n')) >= 0) {
        const line = buf.slice(0, i);
        buf = buf.slice(i + 2);
        if (/^\d{3} /.test(line)) {
          const w = waiters.shift();
          if (w) w(line);
          else replies.push(line);
        }
      }
    });
    const read = (): Promise<string> => (replies.length ? Promise.resolve(replies.shift()!) : new Promise((r) => waiters.push(r)));
    const send = (line: string): Promise<string> => {
      s.write(`${line}\r\n`);
      return read();
    };
    expect(await read()).toBe('220 ftpkit ready');
    expect(connects.at(-1)).toBe('203.0.113.9');
    expect(await send('USER alice')).toMatch(/^331/);
    expect(await send('PASS secret')).toMatch(/^230/);
    // PORT to the real client's address is the only one allowed; the proxy's is refused.
    expect(await send('PORT 127,0,0,1,200,1')).toBe('500 Illegal PORT command: address differs from the control connection');
    const epsv = await send('EPSV');
    const dataPort = parseEpsvText(epsv.slice(4))!;
    // A foreign address is still refused (the listener keeps waiting), the proxy's accepted.
    const foreign = connect({ host: '127.0.0.2', port: dataPort, localAddress: '127.0.0.9' });
    foreign.on('error', () => {});
    await new Promise((r) => foreign.once('close', r));
    const data: Socket = connect({ host: '127.0.0.2', port: dataPort, localAddress: '127.0.0.1' });
    const got: Buffer[] = [];
    data.on('data', (c: Buffer) => got.push(c));
    const ended = new Promise((r) => data.once('close', r));
    expect(await send('RETR f.txt')).toMatch(/^150/);
    expect(await read()).toMatch(/^226/);
    await ended;
    expect(Buffer.concat(got).toString()).toBe('hello');
    s.destroy();
  });

  it('a direct client gets no such allowance: passive data from another address is refused', async () => {
    const c = await RawFtp.connect(port, '127.0.0.2', '127.0.0.8');
    await c.login();
    expect(connects.at(-1)).toBe('127.0.0.8');
    const epsv = await c.send('EPSV');
    const dataPort = parseEpsvText(epsv.text)!;
    const fromProxy = connect({ host: '127.0.0.2', port: dataPort, localAddress: '127.0.0.1' });
    fromProxy.on('error', () => {});
    await new Promise((r) => fromProxy.once('close', r));
    expect(logs.some((l) => l.msg === 'data connection from a foreign address refused' && l.peer === '127.0.0.1')).toBe(true);
    c.close();
  });

  it('a v2 LOCAL header (a health check) is the proxy itself', async () => {
    const r = await exchange('127.0.0.2', port, '127.0.0.1', Buffer.concat([formatProxyV2('local'), Buffer.from('QUIT\r\n')]));
    expect(r.text).toBe('220 ftpkit ready\r\n221 Goodbye\r\n');
    expect(connects.at(-1)).toBe('127.0.0.1');
  });

  it('rejects bad trusted lists at construction', () => {
    for (const trusted of [[], ['nope'], ['10.0.0.0/33'], ['fd00::/129'], ['1.2.3.4/8/1'], [42]]) {
      expect(() => new FileServer({ proxyProtocol: { trusted: trusted as string[] } })).toThrow(/proxyProtocol\.trusted/);
    }
    expect(() => new FileServer({ proxyProtocol: { trusted: ['::ffff:10.0.0.1', '10.1.0.0/16', '2001:db8::/32'] } })).not.toThrow();
  });
});
