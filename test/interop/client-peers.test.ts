// FileClient against real third-party servers: every peer gets the same suite.
import { mkdir, readdir, readFile, stat, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { PassThrough } from 'node:stream';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { FileClient, downloadSegmented, downloadTree, uploadTree, type FileClientOptions } from '../../src/index.js';
import { PEERS, requirePeer } from '../helpers/peers.js';
import { startTarget, type Target, type TargetName } from '../helpers/targets.js';
import { makeTempDir, randomFile, sha256File, type TempDir } from '../helpers/tmp.js';

const TARGETS: TargetName[] = [...PEERS, 'ftpkit'];

for (const name of TARGETS) {
  describe.skipIf(name !== 'ftpkit' && !requirePeer(name))(`FileClient against ${name}`, () => {
    let peer: Target;
    let tmp: TempDir;
    const clients: FileClient[] = [];

    beforeAll(async () => {
      peer = await startTarget(name);
      tmp = await makeTempDir('ftpkit-client-');
    });
    afterAll(async () => {
      await Promise.all(clients.map((c) => c.close()));
      await peer?.stop();
      await tmp?.cleanup();
    });

    async function connect(extra: Partial<FileClientOptions> = {}): Promise<FileClient> {
      const client = new FileClient({ host: peer.host, port: peer.port, user: peer.user, password: peer.password, timeout: 10_000, ...extra });
      clients.push(client);
      await client.connect();
      return client;
    }

    it('logs in, reads FEAT, pwd and cd', async () => {
      const c = await connect();
      expect(await c.pwd()).toBe('/');
      await c.mkdir('/nav');
      await c.cd('nav');
      expect(await c.pwd()).toBe('/nav');
      await c.cd('/');
      await expect(c.cd('/missing')).rejects.toMatchObject({ code: 'FTPKIT_ERR_REPLY', replyCode: 550 });
      expect(c.features.size).toBeGreaterThan(0);
    });

    it('uploads, lists, sizes and downloads byte-exact', async () => {
      const c = await connect();
      const src = join(tmp.path, `${name}-up.bin`);
      const hash = await randomFile(src, 3 * 1024 * 1024 + 17);
      await c.mkdir('/files');
      const up = await c.upload(src, '/files/data.bin');
      expect(up.bytes).toBe(3 * 1024 * 1024 + 17);
      expect(await c.size('/files/data.bin')).toBe(3 * 1024 * 1024 + 17);
      const entries = await c.list('/files');
      const entry = entries.find((e) => e.name === 'data.bin');
      expect(entry).toMatchObject({ type: 'file', size: 3 * 1024 * 1024 + 17 });
      expect(entry?.modified).toBeInstanceOf(Date);
      const dest = join(tmp.path, `${name}-down.bin`);
      await c.download('/files/data.bin', dest);
      expect(await sha256File(dest)).toBe(hash);
      const modified = await c.lastModified('/files/data.bin');
      expect(Math.abs(modified.getTime() - Date.now())).toBeLessThan(10 * 60_000);
      if (c.features.has('MFMT')) {
        const when = new Date(Date.UTC(2021, 2, 4, 5, 6, 7));
        await c.setLastModified('/files/data.bin', when);
        expect(await c.lastModified('/files/data.bin')).toEqual(when);
        expect((await stat(join(peer.root, 'files', 'data.bin'))).mtime).toEqual(when);
      }
    });

    it('renames, removes, makes and removes folders recursively', async () => {
      const c = await connect();
      await c.mkdir('/deep/a/b', { recursive: true });
      await c.mkdir('/deep/a/b', { recursive: true }); // existing is fine
      await c.upload(PassThroughOf('hello'), '/deep/a/b/x.txt');
      await c.rename('/deep/a/b/x.txt', '/deep/a/y.txt');
      expect((await c.list('/deep/a')).map((e) => e.name).sort()).toEqual(['b', 'y.txt']);
      await c.remove('/deep/a/y.txt');
      await c.upload(PassThroughOf('again'), '/deep/a/b/z.txt');
      await c.rmdir('/deep', { recursive: true });
      expect((await c.list('/')).map((e) => e.name)).not.toContain('deep');
    });

    it('resumes a download and an upload', async () => {
      const c = await connect();
      const src = join(tmp.path, `${name}-resume.bin`);
      const hash = await randomFile(src, 1_000_000);
      const full = await readFile(src);
      await c.upload(PassThroughOf(full.subarray(0, 400_000)), '/resume.bin');
      await c.append(src, '/resume.bin', { localStart: 400_000 });
      expect(await c.size('/resume.bin')).toBe(1_000_000);
      const dest = join(tmp.path, `${name}-resume-down.bin`);
      await writeFile(dest, full.subarray(0, 250_000));
      const r = await c.download('/resume.bin', dest, { startAt: 250_000 });
      expect(r.bytes).toBe(750_000);
      expect(await sha256File(dest)).toBe(hash);
    });

    it('works in active mode (EPRT/PORT)', async () => {
      const c = await connect({ active: true });
      await c.upload(PassThroughOf('active data\n'), '/active.txt');
      const sink = collect();
      await c.download('/active.txt', sink.stream);
      expect(sink.text()).toBe('active data\n');
      expect((await c.list('/')).some((e) => e.name === 'active.txt')).toBe(true);
    });

    it('converts line endings in ASCII mode', async () => {
      const c = await connect();
      await c.upload(PassThroughOf('one\ntwo\n'), '/ascii.txt', { ascii: true });
      const sink = collect();
      await c.download('/ascii.txt', sink.stream, { ascii: true });
      expect(sink.text()).toBe('one\ntwo\n');
      // The wire carried CRLF: what the server stored depends on its config
      // (vsftpd keeps CRLF unless ascii_upload_enable), so only the round trip is checked.
    });

    it('aborts a transfer and keeps the connection usable', async () => {
      const c = await connect();
      const src = join(tmp.path, `${name}-big.bin`);
      await randomFile(src, 64 * 1024 * 1024);
      await mkdir(join(peer.root, 'big'), { recursive: true });
      await writeFile(join(peer.root, 'big', 'big.bin'), await readFile(src));
      await peer.adopt();
      const ac = new AbortController();
      const slow = new PassThrough({ highWaterMark: 1024 });
      let seen = 0;
      slow.on('data', (d: Buffer) => {
        seen += d.length;
        if (seen > 1024 * 1024) ac.abort();
      });
      await expect(c.download('/big/big.bin', slow, { signal: ac.signal })).rejects.toMatchObject({ code: 'FTPKIT_ERR_ABORTED' });
      expect(await c.pwd()).toBe('/');
      expect(await c.size('/big/big.bin')).toBe(64 * 1024 * 1024);
    });

    it('downloads one file in parallel segments, equal by SHA-256', async () => {
      const size = 64 * 1024 * 1024;
      const hash = await sha256File(join(peer.root, 'big', 'big.bin'));
      const pool = await Promise.all([connect(), connect(), connect(), connect()]);
      const dest = join(tmp.path, `${name}-segmented.bin`);
      const r = await downloadSegmented(pool, '/big/big.bin', dest, { size });
      expect(r.segments).toBe(4);
      expect((await stat(dest)).size).toBe(size);
      expect(await sha256File(dest)).toBe(hash);
      // every connection is still in step after its bounded read
      for (const c of pool) expect(await c.pwd()).toBe('/');
    });

    it('moves trees both ways, in parallel', async () => {
      const local = join(tmp.path, `${name}-tree`);
      await mkdir(join(local, 'sub', 'inner'), { recursive: true });
      const h1 = await randomFile(join(local, 'a.bin'), 10_000);
      const h2 = await randomFile(join(local, 'sub', 'b.bin'), 200_000);
      const h3 = await randomFile(join(local, 'sub', 'inner', 'c.bin'), 0);
      const pool = await Promise.all([connect(), connect()]);
      const up = await uploadTree(pool, local, '/tree');
      expect(up).toMatchObject({ files: 3, folders: 2 });
      const back = join(tmp.path, `${name}-tree-back`);
      const down = await downloadTree(pool, '/tree', back);
      expect(down).toMatchObject({ files: 3, folders: 2, skipped: [] });
      expect(await sha256File(join(back, 'a.bin'))).toBe(h1);
      expect(await sha256File(join(back, 'sub', 'b.bin'))).toBe(h2);
      expect(await sha256File(join(back, 'sub', 'inner', 'c.bin'))).toBe(h3);
    });

    it('connects from a URL, answers stat and exists, moves trees with the methods', async () => {
      const url = `ftp://${encodeURIComponent(peer.user)}:${encodeURIComponent(peer.password)}@${peer.host}:${peer.port}/`;
      const c = await FileClient.connect(url, { timeout: 10_000 });
      clients.push(c);
      expect(await c.pwd()).toBe('/');
      await c.mkdir('/st/sub', { recursive: true });
      await c.upload({ from: Buffer.from('twelve bytes'), to: '/st/f.txt' });
      await c.upload({ from: Buffer.from('x'), to: '/st/sub/g.txt' });
      const file = await c.stat('/st/f.txt');
      expect(file).toMatchObject({ name: 'f.txt', type: 'file', size: 12 });
      expect(Math.abs(file.modified!.getTime() - Date.now())).toBeLessThan(10 * 60_000);
      expect(await c.stat('/st/sub')).toMatchObject({ name: 'sub', type: 'dir' });
      expect(await c.exists('/st/f.txt')).toBe(true);
      expect(await c.exists('/st/sub')).toBe(true);
      expect(await c.exists('/st/none.txt')).toBe(false);
      expect(await c.exists('/nowhere/none.txt')).toBe(false);
      await expect(c.stat('/st/none.txt')).rejects.toMatchObject({ code: 'FTPKIT_ERR_REPLY', replyCode: 550 });

      const back = join(tmp.path, `${name}-st-back`);
      const down = await c.downloadTree({ from: '/st', to: back });
      expect(down).toEqual({ files: 2, folders: 1, bytes: 13, skipped: [], failures: [] });
      expect(await readFile(join(back, 'f.txt'), 'utf8')).toBe('twelve bytes');
      expect((await readdir(back)).sort()).toEqual(['f.txt', 'sub']);
      const helper = await connect();
      const up = await c.uploadTree({ from: back, to: '/st-copy', parallel: [helper] });
      expect(up).toEqual({ files: 2, folders: 1, bytes: 13, skipped: [], failures: [] });
      expect(await c.size('/st-copy/sub/g.txt')).toBe(1);
      // direction-explicit argument objects for single files too
      const dest = join(tmp.path, `${name}-st-f.txt`);
      await c.download({ from: '/st-copy/f.txt', to: dest });
      expect(await readFile(dest, 'utf8')).toBe('twelve bytes');
    });

    it('rejects a wrong password with the server reply', async () => {
      const c = new FileClient({ host: peer.host, port: peer.port, user: peer.user, password: 'wrong', timeout: 10_000 });
      await expect(c.connect()).rejects.toMatchObject({ code: 'FTPKIT_ERR_REPLY', replyCode: 530 });
      c.destroy();
    });
  });
}

function PassThroughOf(text: string | Buffer): PassThrough {
  const p = new PassThrough();
  p.end(text);
  return p;
}

function collect(): { stream: PassThrough; text(): string } {
  const stream = new PassThrough();
  const chunks: Buffer[] = [];
  stream.on('data', (d: Buffer) => chunks.push(d));
  return { stream, text: () => Buffer.concat(chunks).toString('utf8') };
}
