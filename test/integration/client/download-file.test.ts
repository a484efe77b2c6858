// Downloads into a local path: the addon's receiving thread when it loaded (src/data/receive-file.ts),
// else, and whenever bytes arrived before the writer started, the recycled-block writer
// (src/data/receive-blocks.ts): data that arrived before the 150 reply, pipes without positions,
// resume into an existing file, cut connections and aborts, each checked by content and by
// descriptors left open.
import { spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { createReadStream } from 'node:fs';
import { mkdir, readdir, readFile, symlink, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { zeroCopy } from '../../../src/data/zero-copy.js';
import { TreeTransferError } from '../../../src/index.js';
import { countFds, makeTempDir, sha256Buffer, type TempDir } from '../../helpers/tmp.js';
import { fakeServerHarness, startSending, type FakeSession } from './fake-server.js';

const start = fakeServerHarness();
let tmp: TempDir;
beforeAll(async () => {
  tmp = await makeTempDir('ftpkit-dlfile-');
});
afterAll(() => tmp.cleanup());

/** RETR that honours REST and sends `body` from there; `early` sends it all before the 150. */
function serve(body: Buffer, opts: { early?: boolean } = {}) {
  let rest = 0;
  return {
    REST: (arg: string, s: FakeSession) => {
      rest = Number(arg);
      s.reply(350, 'restarting');
    },
    RETR: async (_a: string, s: FakeSession) => {
      const data = await s.dataSocket();
      const from = rest;
      rest = 0;
      if (opts.early) {
        await new Promise<void>((r) => data.end(body.subarray(from), () => r()));
        s.reply(150, 'sending');
        s.reply(226, 'done');
        return;
      }
      s.reply(150, 'sending');
      data.end(body.subarray(from));
      data.once('close', () => s.reply(226, 'done'));
    },
  };
}

describe('download to a path', () => {
  it('writes a multi-block file byte for byte, with the count reported', async () => {
    const body = randomBytes(5 * 1024 * 1024 + 123);
    const { client } = await start({ handlers: serve(body) });
    await client.connect();
    const dest = join(tmp.path, 'big.bin');
    const receives = zeroCopy()?.receivesStarted() ?? 0;
    const r = await client.download('/f', dest);
    expect(r.bytes).toBe(body.length);
    expect(sha256Buffer(await readFile(dest))).toBe(sha256Buffer(body));
    // With the addon loaded (always in CI) its thread wrote the file.
    expect((zeroCopy()?.receivesStarted() ?? 0) - receives).toBe(zeroCopy() ? 1 : 0);
    expect(zeroCopy()?.active() ?? 0).toBe(0);
  });

  it('keeps bytes that arrived before the 150 reply, and an end seen before the writer started', async () => {
    const body = randomBytes(3 * 1024 * 1024);
    const { client } = await start({ handlers: serve(body, { early: true }) });
    await client.connect();
    const dest = join(tmp.path, 'early.bin');
    const receives = zeroCopy()?.receivesStarted() ?? 0;
    await client.download('/f', dest);
    expect(sha256Buffer(await readFile(dest))).toBe(sha256Buffer(body));
    // The client stopped Node's reads before sending RETR: the bytes waited in the kernel for
    // the addon's thread (with the addon loaded, always in CI).
    expect((zeroCopy()?.receivesStarted() ?? 0) - receives).toBe(zeroCopy() ? 1 : 0);
  });

  it('resumes into an existing file from startAt', async () => {
    const body = randomBytes(2 * 1024 * 1024 + 7);
    const { client, server } = await start({ handlers: serve(body) });
    await client.connect();
    const dest = join(tmp.path, 'resume.bin');
    // a partial copy with garbage past the resume point, which must be cut off
    await writeFile(dest, Buffer.concat([body.subarray(0, 1000), Buffer.alloc(5000, 0xff)]));
    const r = await client.download('/f', dest, { startAt: 1000 });
    expect(r.bytes).toBe(body.length - 1000);
    expect(server.commands).toContain('REST 1000');
    expect(sha256Buffer(await readFile(dest))).toBe(sha256Buffer(body));
  });

  it('streams an ASCII download into a path (CRLF becomes LF) and closes the file', async () => {
    const { client } = await start({ handlers: serve(Buffer.from('one\r\ntwo\r\n'.repeat(50_000))) });
    await client.connect();
    const dest = join(tmp.path, 'ascii.txt');
    const before = countFds();
    const r = await client.download({ from: '/f', to: dest, ascii: true });
    expect(r.bytes).toBe(500_000);
    expect(await readFile(dest, 'utf8')).toBe('one\ntwo\n'.repeat(50_000));
    expect(countFds()).toBeLessThanOrEqual(before);
  });

  it('writes in order into a pipe, which has no positions', async () => {
    const body = randomBytes(4 * 1024 * 1024);
    const { client } = await start({ handlers: serve(body) });
    await client.connect();
    const fifo = join(tmp.path, 'fifo');
    await new Promise<void>((resolve, reject) => {
      spawn('mkfifo', [fifo]).on('exit', (code) => (code === 0 ? resolve() : reject(new Error(`mkfifo exited ${code}`))));
    });
    const chunks: Buffer[] = [];
    const reading = new Promise<void>((resolve, reject) => {
      createReadStream(fifo).on('data', (c) => chunks.push(c as Buffer)).on('end', resolve).on('error', reject);
    });
    await client.download('/f', fifo);
    await reading;
    expect(sha256Buffer(Buffer.concat(chunks))).toBe(sha256Buffer(body));
  });

  it('rejects a connection cut short with the 426, closes the file and stays usable', async () => {
    const { client } = await start({
      handlers: {
        RETR: async (_a, s) => {
          const data = await startSending(s);
          data.write(Buffer.alloc(1024 * 1024, 1), () => {
            data.destroy();
            s.reply(426, 'Connection closed; transfer aborted');
          });
        },
      },
    });
    await client.connect();
    const before = countFds();
    await expect(client.download('/f', join(tmp.path, 'cut.bin'))).rejects.toMatchObject({ code: 'FTPKIT_ERR_REPLY', replyCode: 426 });
    expect(await client.pwd()).toBe('/');
    expect(countFds()).toBeLessThanOrEqual(before);
  });

  it('aborts a stalled download, closes the file and stays usable', async () => {
    const { client } = await start({
      handlers: {
        RETR: async (_a, s) => {
          const data = await startSending(s);
          data.write(Buffer.alloc(300 * 1024, 2)); // and never more
        },
      },
    }, { dataTimeout: 5000 });
    await client.connect();
    const before = countFds();
    for (let i = 0; i < 3; i++) {
      const ac = new AbortController();
      setTimeout(() => ac.abort(), 50);
      await expect(client.download('/f', join(tmp.path, 'stall.bin'), { signal: ac.signal })).rejects.toMatchObject({ code: 'FTPKIT_ERR_ABORTED' });
      expect(await client.pwd()).toBe('/');
    }
    await new Promise((r) => setTimeout(r, 100));
    expect(countFds()).toBeLessThanOrEqual(before);
  });

  it('stops after `length` bytes of a segment and settles with ABOR', async () => {
    const body = randomBytes(3 * 1024 * 1024);
    const { client, server } = await start({ handlers: serve(body) });
    await client.connect();
    const dest = join(tmp.path, 'segment.bin');
    const length = 1024 * 1024 + 5;
    const r = await client.download('/f', dest, { length });
    expect(r.bytes).toBe(length);
    expect(server.commands).toContain('ABOR');
    expect(sha256Buffer(await readFile(dest))).toBe(sha256Buffer(body.subarray(0, length)));
    expect(await client.pwd()).toBe('/');
  });
});

/**
 * A folder tree on the fake server: LIST answers per folder; RETR serves a file (from REST's
 * offset), answers 550 for `null`, or with `stall` sends that many bytes and then nothing.
 */
function tree(files: Record<string, Buffer | null>, folders: Record<string, string[]>, opts: { stall?: { path: string; bytes: number } } = {}) {
  let rest = 0;
  const line = (name: string, dir: string): string => {
    const full = dir === '/' ? `/${name}` : `${dir}/${name}`;
    if (full in folders) return `drwxr-xr-x 1 u g 0 Jan 01 00:00 ${name}`;
    return `-rw-r--r-- 1 u g ${files[full]?.length ?? 0} Jan 01 00:00 ${name}`;
  };
  return {
    LIST: async (arg: string, s: FakeSession) => {
      const data = await startSending(s, 'here it comes');
      data.end((folders[arg] ?? []).map((n) => `${line(n, arg)}\r\n`).join(''), () => {
        s.transferring = false;
        s.reply(226, 'done');
      });
    },
    SIZE: (arg: string, s: FakeSession) => (files[arg] ? s.reply(213, String(files[arg]!.length)) : s.reply(550, `${arg}: No such file`)),
    REST: (arg: string, s: FakeSession) => {
      rest = Number(arg);
      s.reply(350, 'restarting');
    },
    RETR: async (arg: string, s: FakeSession) => {
      const body = files[arg];
      const from = rest;
      rest = 0;
      if (!body) return s.reply(550, `${arg}: No such file`);
      const data = await startSending(s);
      if (opts.stall?.path === arg) {
        data.write(body.subarray(from, opts.stall.bytes));
        return;
      }
      data.end(body.subarray(from), () => {
        if (!s.transferring) return;
        s.transferring = false;
        s.reply(226, 'done');
      });
    },
  };
}

describe('downloadTree', () => {
  const a = randomBytes(700_000);
  const c = randomBytes(10);
  const d = randomBytes(1_500_000);
  const files = { '/a.bin': a, '/b.bin': null, '/c.bin': c, '/sub/d.bin': d };
  const folders = { '/': ['a.bin', 'b.bin', 'c.bin', 'sub'], '/sub': ['d.bin'] };

  it('brings the rest of the tree when one file fails (550), leaving nothing under its name, and reports it', async () => {
    const { client, server } = await start({ handlers: tree(files, folders) });
    await client.connect();
    const dest = join(tmp.path, 'tree-550');
    const err = await client.downloadTree({ from: '/', to: dest }).then(() => undefined, (e: unknown) => e);
    expect(err).toBeInstanceOf(TreeTransferError);
    expect(err).toMatchObject({
      name: 'FtpError', code: 'FTPKIT_ERR_INCOMPLETE',
      message: 'download of 1 of 4 files failed: 550 /b.bin: No such file',
      cause: { code: 'FTPKIT_ERR_REPLY', replyCode: 550 },
    });
    const { result } = err as TreeTransferError;
    expect(result).toMatchObject({ files: 3, folders: 1, bytes: a.length + c.length + d.length, skipped: [] });
    expect(result.failures.map((f) => [f.remote, f.local, f.error.replyCode])).toEqual([['/b.bin', join(dest, 'b.bin'), 550]]);
    expect((await readdir(dest)).sort()).toEqual(['a.bin', 'c.bin', 'sub']);
    expect(await readdir(join(dest, 'sub'))).toEqual(['d.bin']);
    expect(sha256Buffer(await readFile(join(dest, 'a.bin')))).toBe(sha256Buffer(a));
    expect(sha256Buffer(await readFile(join(dest, 'sub/d.bin')))).toBe(sha256Buffer(d));
    expect(server.commands.filter((x) => x.startsWith('RETR'))).toEqual(['RETR /a.bin', 'RETR /b.bin', 'RETR /c.bin', 'RETR /sub/d.bin']);
    expect(await client.pwd()).toBe('/');
  });

  it('leaves no truncated file under a final name when aborted mid-file; resume continues the .part', async () => {
    const big = randomBytes(4 * 1024 * 1024);
    const stalled = { '/a.bin': a, '/big.bin': big };
    const layout = { '/': ['a.bin', 'big.bin'] };
    const first = await start({ handlers: tree(stalled, layout, { stall: { path: '/big.bin', bytes: 1024 * 1024 } }) }, { progressInterval: 0 });
    await first.client.connect();
    const dest = join(tmp.path, 'tree-abort');
    for (const resume of [false, true]) {
      const ac = new AbortController();
      // Abort once the whole first megabyte of big.bin is on disk (the server sends no more).
      first.client.on('progress', (p) => {
        if (p.name === '/big.bin' && p.bytes === 1024 * 1024) ac.abort();
      });
      await expect(first.client.downloadTree({ from: '/', to: dest, resume, signal: ac.signal })).rejects.toMatchObject({ code: 'FTPKIT_ERR_ABORTED' });
      first.client.removeAllListeners('progress');
      // Settled (ABOR answered) before the next check of the folder.
      expect(await first.client.pwd()).toBe('/');
      const left = (await readdir(dest)).sort();
      // Without resume the partial file is removed; with it, it stays, under its temporary name only.
      expect(left).toEqual(resume ? ['a.bin', 'big.bin.part'] : ['a.bin']);
    }
    // What reached the disk before the abort: a prefix of the file (writes still queued were dropped).
    const part = await readFile(join(dest, 'big.bin.part'));
    expect(part.length).toBeGreaterThan(0);
    expect(part.length).toBeLessThanOrEqual(1024 * 1024);
    expect(sha256Buffer(part)).toBe(sha256Buffer(big.subarray(0, part.length)));
    // The next run (a server that sends it all) continues the .part from where it stopped.
    const second = await start({ handlers: tree(stalled, layout) });
    await second.client.connect();
    const result = await second.client.downloadTree('/', dest, { resume: true });
    expect(result).toMatchObject({ files: 2, folders: 0, bytes: big.length - part.length, failures: [] });
    expect(second.server.commands.filter((x) => /^(REST|RETR)/.test(x))).toEqual([`REST ${part.length}`, 'RETR /big.bin']);
    expect((await readdir(dest)).sort()).toEqual(['a.bin', 'big.bin']);
    expect(sha256Buffer(await readFile(join(dest, 'big.bin')))).toBe(sha256Buffer(big));
  });

  it('never writes through a symlink planted at a .part name', async () => {
    const { client } = await start({ handlers: tree({ '/a.bin': a }, { '/': ['a.bin'] }) });
    await client.connect();
    const dest = join(tmp.path, 'tree-link');
    const target = join(tmp.path, 'victim.txt');
    await writeFile(target, 'untouched');
    await mkdir(dest);
    await symlink(target, join(dest, 'a.bin.part'));
    await expect(client.downloadTree('/', dest)).rejects.toMatchObject({
      code: 'FTPKIT_ERR_INCOMPLETE',
      result: { files: 0, failures: [{ remote: '/a.bin', error: { code: 'FTPKIT_ERR_LOCAL_FILE', cause: { code: 'ELOOP' } } }] },
    });
    expect(await readFile(target, 'utf8')).toBe('untouched');
  });
});
