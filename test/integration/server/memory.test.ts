// Pooled memory goes back when a load ends (issue 14): a server in its own process, 1,000
// sessions logged in, three waves of RETR 200 KB + STOR 50 KB each at once, then idle: the
// pools give every block back and drop the idle ones, and the server's RSS returns to within
// 1.5x of its idle level (sessions logged in, no transfers). The pools' idle release time is
// an option (`memory.idleReleaseMs`, default 5 s); this test uses 500 ms.
import { createHash, randomBytes } from 'node:crypto';
import { existsSync } from 'node:fs';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { RawFtp } from '../../helpers/raw-ftp.js';
import { startServerProcess, type ServerProcess } from '../../helpers/server-process.js';

const SESSIONS = Number(process.env.FTPKIT_MEMORY_SESSIONS ?? 1000);
const WAVES = 3;
const IDLE_RELEASE_MS = 500;
const KB = 1000;

let root: string;
let server: ServerProcess;
let port: number;
const sha = (b: Buffer): string => createHash('sha256').update(b).digest('hex');

const ask = (command: string): Promise<string> => server.ask(command);
async function rss(): Promise<number> {
  return Number(/^MEM (\d+) /.exec(await ask('mem'))![1]) * 1024;
}
async function pools(): Promise<{ lent: number; kept: number }> {
  const m = /^POOLS (\d+) (\d+)$/.exec(await ask('pools'))!;
  return { lent: Number(m[1]), kept: Number(m[2]) };
}
const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

/** Runs `fn` on every item, at most `limit` at once. */
async function each<T>(items: T[], limit: number, fn: (item: T, i: number) => Promise<void>): Promise<void> {
  let next = 0;
  await Promise.all(Array.from({ length: Math.min(limit, items.length) }, async () => {
    while (next < items.length) {
      const i = next++;
      await fn(items[i]!, i);
    }
  }));
}

beforeAll(async () => {
  root = await mkdtemp(join(existsSync('/dev/shm') ? '/dev/shm' : tmpdir(), 'ftpkit-memory-'));
  server = await startServerProcess('memory-server.ts', [root, String(IDLE_RELEASE_MS)], { exposeGc: Boolean(process.env.FTPKIT_MEMORY_DEBUG) });
  port = server.port;
}, 60_000);

afterAll(async () => {
  await server?.stop();
  if (root) await rm(root, { recursive: true, force: true });
});

describe(`${SESSIONS} sessions, ${WAVES} waves of RETR 200 KB + STOR 50 KB`, () => {
  it('gives the pooled memory back: RSS within 1.5x of the idle level once the load ends', async () => {
    const down = randomBytes(200 * KB);
    const up = randomBytes(50 * KB);
    await writeFile(join(root, 'down.bin'), down);
    const clients: RawFtp[] = [];
    try {
      await each(Array.from({ length: SESSIONS }), 50, async () => {
        const c = await RawFtp.connect(port);
        await c.login('u', 'secret');
        expect((await c.send('TYPE I')).code).toBe(200);
        clients.push(c);
      });
      const wave = (w: number, of: RawFtp[]): Promise<void> =>
        each(of, of.length, async (c, i) => {
          const got = await c.fetch('RETR down.bin');
          expect(got.final.code).toBe(226);
          expect(got.data.length).toBe(down.length);
          expect(sha(got.data)).toBe(sha(down));
          expect((await c.store(`STOR up-${w}-${i}.bin`, up)).final.code).toBe(226);
        });
      // Warm-up (code compiled, V8's young generation at its working size), then the idle level.
      await wave(0, clients.slice(0, 50));
      await until(async () => (await pools()).kept === 0);
      const idle = await rss();
      for (let w = 1; w <= WAVES; w++) await wave(w, clients);
      const loaded = await rss();
      // Every loan returned, and the idle blocks dropped once nothing borrowed for IDLE_RELEASE_MS.
      await until(async () => {
        const p = await pools();
        return p.lent === 0 && p.kept === 0;
      });
      // Then the memory itself: the pools run the collector twice over a second once they drop
      // their blocks (an idle heap is not collected otherwise); read RSS after that.
      await sleep(2000);
      const after = await rss();
      if (process.env.FTPKIT_MEMORY_DEBUG) {
        console.log(await ask('usage'));
        await ask('gc');
        console.log('after gc', await ask('usage'));
        await sleep(2000);
        await ask('gc');
        console.log('after 2 s and another gc', await ask('usage'), await rss());
      }
      console.log(`RSS: idle ${(idle / 1e6).toFixed(0)} MB (${SESSIONS} sessions logged in), after the last wave ${(loaded / 1e6).toFixed(0)} MB, then ${(after / 1e6).toFixed(0)} MB`);
      expect(after).toBeLessThanOrEqual(1.5 * idle);
      expect(sha(await readFile(join(root, `up-${WAVES}-${SESSIONS - 1}.bin`)))).toBe(sha(up));
    } finally {
      for (const c of clients) c.close();
    }
  }, 300_000);
});

/** Polls `check` until it holds (the assertion is on what it checks, not on how long it took). */
async function until(check: () => Promise<boolean>): Promise<void> {
  while (!(await check())) await sleep(100);
}
