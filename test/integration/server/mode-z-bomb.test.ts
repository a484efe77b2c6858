// A MODE Z bomb: 512 MiB of zeros compressed to about half a megabyte. The server inflates it
// into the file through zlib's chunks and the file stream's backpressure, so its memory grows
// by a few blocks, not by the inflated size. The server runs in a child process so its peak RSS
// (VmHWM, reset before the upload) is its own. Limits of the storage see the inflated bytes.
import { mkdtemp, rm, stat } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Writable } from 'node:stream';
import { createDeflate, deflateSync } from 'node:zlib';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { FileServer, MemoryStorage } from '../../../src/index.js';
import { RawFtp } from '../../helpers/raw-ftp.js';
import { startServerProcess, type ServerProcess } from '../../helpers/server-process.js';

const MB = 1024 * 1024;
const BOMB_SIZE = 512 * MB;

/** BOMB_SIZE zeros through zlib at level 9, made a MiB at a time (never the whole in memory). */
async function makeBomb(): Promise<Buffer> {
  const deflate = createDeflate({ level: 9 });
  const out: Buffer[] = [];
  deflate.on('data', (c: Buffer) => out.push(c));
  const done = new Promise((resolve) => deflate.on('end', resolve));
  const zeros = Buffer.alloc(MB);
  for (let i = 0; i < BOMB_SIZE / MB; i++) {
    if (!deflate.write(zeros)) await new Promise((r) => deflate.once('drain', r));
  }
  deflate.end();
  await done;
  return Buffer.concat(out);
}

describe('a MODE Z bomb uploaded to a server in its own process', () => {
  let root: string;
  let server: ServerProcess;
  let port: number;
  const ask = (command: string): Promise<string> => server.ask(command);

  beforeAll(async () => {
    root = await mkdtemp(join(tmpdir(), 'ftpkit-bomb-'));
    server = await startServerProcess('mode-z-server.ts', [root], { exposeGc: true });
    port = server.port;
  }, 60_000);

  afterAll(async () => {
    await server?.stop();
    await rm(root, { recursive: true, force: true });
  });

  it('inflates 512 MiB to the file while the server grows by a few MB', async () => {
    const bomb = await makeBomb();
    expect(bomb.length).toBeLessThan(BOMB_SIZE / 500); // ~0.5 MB
    const ftp = await RawFtp.connect(port);
    try {
      await ftp.login();
      expect((await ftp.send('TYPE I')).code).toBe(200);
      expect((await ftp.send('MODE Z')).code).toBe(200);
      // Warm up (code compiled, pools made), then the baseline.
      expect((await ftp.store('STOR warm.bin', deflateSync(Buffer.alloc(8 * MB)))).final.code).toBe(226);
      await ask('gc');
      const rss = Number((await ask('mem')).split(' ')[1]) * 1024;
      await ask('reset');
      const r = await ftp.store('STOR bomb.bin', bomb);
      expect(r.final.code).toBe(226);
      const hwm = Number((await ask('mem')).split(' ')[2]) * 1024;
      if (process.env.FTPKIT_DEBUG_MEM) console.log(`bomb: ${bomb.length} bytes, peak growth ${((hwm - rss) / MB).toFixed(1)} MB`);
      expect((await stat(join(root, 'bomb.bin'))).size).toBe(BOMB_SIZE);
      // Inflated whole it would be 512 MB; zlib's 64 KiB chunks and a file stream's buffer are well under this.
      expect(hwm - rss).toBeLessThan(48 * MB);
    } finally {
      ftp.close();
    }
  }, 120_000);
});

describe('storage limits count inflated bytes', () => {
  it('a store that refuses files past 1 MiB (EFBIG) answers 552 to a 64 KB stream of 512 MiB', async () => {
    const storage = new MemoryStorage();
    // The storage's write streams fail past 1 MiB, as a quota or file size limit would.
    const limited = Object.create(storage) as MemoryStorage;
    limited.createWriteStream = async (path, options) => {
      const inner = await storage.createWriteStream(path, options);
      let written = 0;
      return new Writable({
        write(chunk: Buffer, _e, cb) {
          written += chunk.length;
          if (written > MB) return cb(Object.assign(new Error('file too large'), { code: 'EFBIG' }));
          inner.write(chunk, cb);
        },
        final(cb) {
          inner.end(cb);
        },
      });
    };
    const server = new FileServer({ authenticate: () => ({ storage: limited, write: true }) });
    const { port } = await server.listen();
    const ftp = await RawFtp.connect(port);
    try {
      await ftp.login();
      await ftp.send('TYPE I');
      await ftp.send('MODE Z');
      const z = deflateSync(Buffer.alloc(64 * MB));
      expect(z.length).toBeLessThan(MB);
      const r = await ftp.store('STOR big.bin', z);
      expect(r.final).toMatchObject({ code: 552, text: '/big.bin: File too large' });
      expect((await ftp.send('SIZE big.bin')).code).toBe(550);
    } finally {
      ftp.close();
      await server.close();
    }
  });
});
