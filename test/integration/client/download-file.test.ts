// Downloads into a local path take the recycled-block writer (src/client/file-sink.ts):
// data that arrived before the 150 reply, pipes without positions, resume into an existing
// file, cut connections and aborts, each checked by content and by descriptors left open.
import { spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { createReadStream } from 'node:fs';
import { readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
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
    const r = await client.download('/f', dest);
    expect(r.bytes).toBe(body.length);
    expect(sha256Buffer(await readFile(dest))).toBe(sha256Buffer(body));
  });

  it('keeps bytes that arrived before the 150 reply, and an end seen before the writer started', async () => {
    const body = randomBytes(3 * 1024 * 1024);
    const { client } = await start({ handlers: serve(body, { early: true }) });
    await client.connect();
    const dest = join(tmp.path, 'early.bin');
    await client.download('/f', dest);
    expect(sha256Buffer(await readFile(dest))).toBe(sha256Buffer(body));
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
