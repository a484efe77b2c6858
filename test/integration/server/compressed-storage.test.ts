// CompressedStorage through FileServer: what clients see are the original bytes (sizes, hashes,
// offsets), what the disk holds is compressed and readable by gzip -dc.
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { createHash, randomBytes } from 'node:crypto';
import { readdir, readFile, stat, writeFile } from 'node:fs/promises';
import type { Socket } from 'node:net';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { CompressedStorage, FileServer, LocalStorage } from '../../../src/index.js';
import { REPO_ROOT } from '../../helpers/peers.js';
import { RawFtp } from '../../helpers/raw-ftp.js';
import { startTestServer, type TestServer } from '../../helpers/server.js';
import { sleep } from '../../helpers/settle.js';
import { makeTempDir, type TempDir } from '../../helpers/tmp.js';

const STALLED = join(REPO_ROOT, 'test/fixtures/stalled-upload.mjs');
const COMPRESSED_SERVER = join(REPO_ROOT, 'test/fixtures/compressed-server.ts');

const sha256 = (b: Buffer): string => createHash('sha256').update(b).digest('hex');

let t: TestServer | undefined;
const clients: RawFtp[] = [];
const children: ChildProcess[] = [];
const dirs: TempDir[] = [];

afterEach(async () => {
  for (const c of clients.splice(0)) c.close();
  for (const c of children.splice(0)) c.kill('SIGKILL');
  await t?.close();
  t = undefined;
  for (const d of dirs.splice(0)) await d.cleanup();
});

async function client(port = t!.port): Promise<RawFtp> {
  const c = await RawFtp.connect(port);
  clients.push(c);
  await c.login();
  await c.send('TYPE I');
  return c;
}

function gunzipWithGzip(path: string): Buffer {
  const r = spawnSync('gzip', ['-dc', path], { maxBuffer: 256 * 1024 * 1024 });
  if (r.error) throw r.error;
  if (r.status !== 0) throw new Error(`gzip -dc: ${r.stderr.toString()}`);
  return r.stdout;
}

function logText(bytes: number): Buffer {
  const lines: string[] = [];
  let n = 0;
  for (let i = 0; n < bytes; i++) {
    const line = `2024-05-01T10:${String(i % 60).padStart(2, '0')}:00Z WARN worker=${i % 16} job ${i} retried after ${i % 700} ms\n`;
    lines.push(line);
    n += line.length;
  }
  return Buffer.from(lines.join('')).subarray(0, bytes);
}

async function until(cond: () => Promise<boolean> | boolean, ms = 10_000): Promise<void> {
  const end = Date.now() + ms;
  while (!(await cond())) {
    if (Date.now() > end) throw new Error('condition not met in time');
    await sleep(20);
  }
}

describe('FileServer with compressAtRest', () => {
  it('STOR, RETR, REST+RETR, SIZE, LIST, MLSD, MLST and HASH answer for the original bytes', async () => {
    t = await startTestServer({ compressAtRest: true });
    const c = await client();
    const text = logText(2 * 1024 * 1024 + 333);
    expect((await c.store('STOR app.log', text)).final.code).toBe(226);
    const onDisk = await stat(join(t.root, 'app.log'));
    expect(onDisk.size * 4).toBeLessThan(text.length);
    expect(sha256(gunzipWithGzip(join(t.root, 'app.log')))).toBe(sha256(text));
    expect(await readdir(t.root)).toEqual(['app.log']);

    expect(await c.send('SIZE app.log')).toMatchObject({ code: 213, text: String(text.length) });
    const got = await c.fetch('RETR app.log');
    expect(got.final.code).toBe(226);
    expect(sha256(got.data)).toBe(sha256(text));
    expect((await c.send(`REST ${text.length - 1000}`)).code).toBe(350);
    const tail = await c.fetch('RETR app.log');
    expect(tail.final.code).toBe(226);
    expect(tail.data).toEqual(text.subarray(text.length - 1000));

    const list = (await c.fetch('LIST')).data.toString();
    expect(list).toMatch(new RegExp(`\\s${text.length}\\s+\\w{3}\\s+\\d+\\s+[\\d:]+\\s+app\\.log`));
    const mlsd = (await c.fetch('MLSD')).data.toString();
    expect(mlsd).toMatch(new RegExp(`size=${text.length};.*app\\.log`));
    expect((await c.send('MLST app.log')).text).toContain(`size=${text.length};`);
    const hash = await c.send('HASH app.log');
    expect(hash).toMatchObject({ code: 213, text: `SHA-256 0-${text.length} ${sha256(text)} app.log` });
    expect((await c.send('MDTM app.log')).code).toBe(213);
  });

  it('APPE, atomic overwrite, and an interrupted upload resumed with REST + STOR', async () => {
    t = await startTestServer({ compressAtRest: { level: 1 } });
    const c = await client();
    const a = logText(300_000);
    expect((await c.store('STOR f.log', a)).final.code).toBe(226);
    expect((await c.store('APPE f.log', 'appended\n')).final.code).toBe(226);
    const both = Buffer.concat([a, Buffer.from('appended\n')]);
    expect(await c.send('SIZE f.log')).toMatchObject({ code: 213, text: String(both.length) });
    expect(sha256((await c.fetch('RETR f.log')).data)).toBe(sha256(both));

    // Overwrite: the new version replaces the old one whole, no temporary left.
    const b = randomBytes(500_000);
    expect((await c.store('STOR f.log', b)).final.code).toBe(226);
    expect(sha256(gunzipWithGzip(join(t.root, 'f.log')))).toBe(sha256(b));
    expect(await readdir(t.root)).toEqual(['f.log']);

    // An upload cut by a reset: the partial is kept, SIZE offers it, REST + STOR completes it.
    expect((await c.store('STOR g.log', 'previous version')).final.code).toBe(226);
    const big = logText(3_000_000);
    const data = await c.passive();
    expect((await c.send('STOR g.log')).code).toBe(150);
    await new Promise<void>((r) => data.write(big.subarray(0, 1_500_000), () => r()));
    await sleep(200);
    (data as Socket).resetAndDestroy();
    expect((await c.read()).code).toBe(426);
    const sizeReply = await c.send('SIZE g.log');
    expect(sizeReply.code).toBe(213);
    const size = Number(sizeReply.text);
    expect(size).toBeGreaterThan(0);
    expect(size).toBeLessThanOrEqual(1_500_000);
    expect((await c.send(`REST ${size}`)).code).toBe(350);
    expect((await c.store('STOR g.log', big.subarray(size))).final.code).toBe(226);
    expect(sha256((await c.fetch('RETR g.log')).data)).toBe(sha256(big));
    expect(sha256(gunzipWithGzip(join(t.root, 'g.log')))).toBe(sha256(big));
  });

  it('a grant with its own CompressedStorage; damaged data answers 451 and the session goes on', async () => {
    const dir = await makeTempDir('ftpkit-zgrant-');
    dirs.push(dir);
    const server = new FileServer({
      authenticate: () => ({ storage: new CompressedStorage(new LocalStorage(dir.path)), write: true }),
    });
    const { port } = await server.listen();
    try {
      const c = await client(port);
      const text = logText(1_000_000);
      expect((await c.store('STOR d.log', text)).final.code).toBe(226);
      const host = join(dir.path, 'd.log');
      const bytes = await readFile(host);
      bytes[3000] = (bytes[3000]! ^ 0x55) & 0xff; // inside the first member's deflate data
      await writeFile(host, bytes);
      const r = await c.fetch('RETR d.log');
      expect(r.final.code).toBe(451);
      expect(r.final.text).not.toContain(dir.path);
      expect(await c.send('NOOP')).toMatchObject({ code: 200 });
      expect(await c.send('SIZE d.log')).toMatchObject({ code: 213, text: String(text.length) });
    } finally {
      await server.close();
    }
  });

  it('kill -9 of the server mid-upload leaves the previous version readable', async () => {
    const dir = await makeTempDir('ftpkit-zcrash-');
    dirs.push(dir);
    const root = join(dir.path, 'root');
    const storage = new CompressedStorage(new LocalStorage(root));
    await import('node:fs/promises').then((fs) => fs.mkdir(root));
    const old = logText(400_000);
    const w = await storage.createWriteStream('/c.log');
    await new Promise<void>((resolve, reject) => w.end(old, () => resolve()).once('error', reject));
    await new Promise((r) => w.once('close', r));
    await writeFile(join(dir.path, 'src.bin'), randomBytes(1_000_000));

    const serve = async (): Promise<{ child: ChildProcess; port: number }> => {
      const child = spawn(process.execPath, ['--import', 'tsx', COMPRESSED_SERVER, root], { stdio: ['ignore', 'pipe', 'inherit'], cwd: REPO_ROOT });
      children.push(child);
      const port = await new Promise<number>((resolve, reject) => {
        child.stdout!.on('data', (d: Buffer) => {
          const m = /port (\d+)/.exec(d.toString());
          if (m) resolve(Number(m[1]));
        });
        child.once('exit', (code) => reject(new Error(`server exited ${code}`)));
      });
      return { child, port };
    };
    const first = await serve();
    const uploader = spawn(process.execPath, [STALLED, String(first.port), 'c.log', join(dir.path, 'src.bin'), '600000'], { stdio: ['ignore', 'pipe', 'inherit'] });
    children.push(uploader);
    await new Promise<void>((resolve) => uploader.stdout!.on('data', (d: Buffer) => d.toString().includes('sent') && resolve()));
    // Some members of the new version reached the temporary before the crash.
    await until(async () => (await stat(join(root, '.ftpkit-upload-c.log')).catch(() => undefined))?.size! > 0);
    first.child.kill('SIGKILL');
    uploader.kill('SIGKILL');
    await new Promise((r) => first.child.once('exit', r));

    // The previous version: intact through the storage and for gzip -dc.
    expect(sha256(gunzipWithGzip(join(root, 'c.log')))).toBe(sha256(old));
    expect((await storage.stat('/c.log')).size).toBe(old.length);
    // The torn temporary is recovered to whole members.
    expect((await storage.stat('/.ftpkit-upload-c.log')).size % (64 * 1024)).toBe(0);

    const second = await serve();
    const c = await client(second.port);
    expect(await c.send('SIZE c.log')).toMatchObject({ code: 213, text: String(old.length) });
    expect(sha256((await c.fetch('RETR c.log')).data)).toBe(sha256(old));
    expect((await c.store('STOR c.log', 'after restart')).final.code).toBe(226);
    expect((await c.fetch('RETR c.log')).data.toString()).toBe('after restart');
    c.close();
    second.child.kill('SIGTERM');
  });
});
