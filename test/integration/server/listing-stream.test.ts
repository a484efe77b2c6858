// Listings of huge folders are streamed in batches and limited in number (issue 12, item 12):
// LIST of 100,000 entries used to cost ~100 MB, ten at once ~1 GB. The server runs in a child
// process here so its peak RSS (VmHWM, reset before each step) is its own.
import { existsSync } from 'node:fs';
import { mkdir, mkdtemp, open, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { connect, type Socket } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { RawFtp } from '../../helpers/raw-ftp.js';
import { startServerProcess, type ServerProcess } from '../../helpers/server-process.js';

const ENTRIES = 100_000;
const MB = 1024 * 1024;

let root: string;
let server: ServerProcess;
let port: number;
const ask = (command: string): Promise<string> => server.ask(command);

/** The server's peak RSS since the last reset, minus `baseline`, in bytes. */
async function peakGrowth(baseline: number): Promise<number> {
  const [, , hwm] = (await ask('mem')).split(' ');
  const growth = Number(hwm) * 1024 - baseline;
  if (process.env.FTPKIT_DEBUG_MEM) console.log(`peak growth ${(growth / MB).toFixed(1)} MB`);
  return growth;
}

/** GC, then the current RSS as the baseline, and the peak count restarted from it. */
async function baseline(): Promise<number> {
  await ask('gc');
  const [, rss] = (await ask('mem')).split(' ');
  await ask('reset');
  return Number(rss) * 1024;
}

/** Runs a listing over EPSV as `user`; a waiting listing may take long before its 150. */
async function listing(command: string, user = 'alice'): Promise<{ lines: string[]; final: number }> {
  const ftp = await RawFtp.connect(port);
  try {
    await ftp.login(user, 'secret');
    const data: Socket = await ftp.passive();
    const chunks: Buffer[] = [];
    const ended = new Promise<void>((resolve) => {
      data.on('data', (c: Buffer) => chunks.push(c));
      data.on('close', () => resolve());
    });
    ftp.write(`${command}\r\n`);
    const mark = await ftp.read(120_000);
    expect(mark.code).toBe(150);
    const final = await ftp.read(120_000);
    await ended;
    const text = Buffer.concat(chunks).toString('utf8');
    expect(text.endsWith('\r\n')).toBe(true);
    return { lines: text.slice(0, -2).split('\r\n'), final: final.code };
  } finally {
    ftp.close();
  }
}

const name = (i: number): string => `entry-${String(i).padStart(6, '0')}.txt`;

beforeAll(async () => {
  // tmpfs when there is one: 100,000 files are made in a second or two.
  root = await mkdtemp(join(existsSync('/dev/shm') ? '/dev/shm' : tmpdir(), 'ftpkit-bigdir-'));
  await mkdir(join(root, 'big'));
  await mkdir(join(root, 'small'));
  for (let i = 0; i < ENTRIES; i++) await (await open(join(root, 'big', name(i)), 'w')).close();
  await writeFile(join(root, 'big', name(7)), 'seven'); // one with a size, to check a line
  for (let i = 0; i < 1000; i++) await (await open(join(root, 'small', name(i)), 'w')).close();

  server = await startServerProcess('listing-server.ts', [root], { exposeGc: true });
  port = server.port;
  // Warm up before any baseline: code compiled, and V8's young generation grown to its working
  // size by as much garbage as a big listing makes (a fixed cost of any busy server), without
  // a big listing's data ever being live.
  for (let i = 0; i < 30; i++) {
    for (const command of ['LIST small', 'MLSD small', 'NLST small']) expect((await listing(command)).final).toBe(226);
  }
}, 180_000);

afterAll(async () => {
  await server?.stop();
  if (root) await rm(root, { recursive: true, force: true });
});

describe('a folder of 100,000 entries', () => {
  // Built whole, one such listing grew the server by 60-125 MB; streamed, by under 10 MB.
  it('LIST sends every entry, in name order, with the server growing less than 30 MB', async () => {
    const base = await baseline();
    const r = await listing('LIST big');
    expect(r.final).toBe(226);
    expect(r.lines).toHaveLength(ENTRIES);
    expect(r.lines.map((l) => l.slice(l.lastIndexOf(' ') + 1))).toEqual(Array.from({ length: ENTRIES }, (_, i) => name(i)));
    expect(r.lines[7]).toMatch(/^-rw\S+ +1 ftp +ftp +5 \w{3} \d\d +\S+ entry-000007\.txt$/);
    expect(await peakGrowth(base)).toBeLessThan(30 * MB);
  });

  it('MLSD sends the folder and every entry, with the server growing less than 30 MB', async () => {
    const base = await baseline();
    const r = await listing('MLSD big');
    expect(r.final).toBe(226);
    expect(r.lines).toHaveLength(ENTRIES + 1);
    expect(r.lines[0]).toMatch(/^type=cdir;.* \.$/);
    expect(r.lines.filter((l) => l.startsWith('type=file;')).length).toBe(ENTRIES);
    expect(r.lines[8]).toMatch(/^type=file;size=5;.* entry-000007\.txt$/);
    expect(await peakGrowth(base)).toBeLessThan(30 * MB);
  });

  it('NLST sends every name', async () => {
    const r = await listing('NLST big');
    expect(r.final).toBe(226);
    expect(r.lines).toHaveLength(ENTRIES);
    expect(r.lines[ENTRIES - 1]).toBe(`big/${name(ENTRIES - 1)}`);
  });

  it('STAT big on the control connection lists every entry', async () => {
    // RawFtp's reply parser stops at 64 KiB a reply: read the bytes of this one directly.
    const socket = connect({ host: '127.0.0.1', port });
    socket.on('error', () => {});
    let text = '';
    const done = new Promise<void>((resolve, reject) => {
      socket.on('data', (c: Buffer) => {
        text += c.toString('utf8');
        if (text.endsWith('213 End of status\r\n')) resolve();
      });
      socket.once('close', () => reject(new Error(`closed after ${text.length} bytes`)));
    });
    socket.write('USER alice\r\nPASS secret\r\nSTAT big\r\n');
    await done;
    socket.destroy();
    const reply = text.slice(text.indexOf('213-'));
    const replyLines = reply.slice(0, -2).split('\r\n');
    expect(replyLines[0]).toBe('213-Status of /big:');
    expect(replyLines).toHaveLength(ENTRIES + 2);
    expect(replyLines[ENTRIES]).toMatch(/^-\S+ .* entry-099999\.txt$/);
  });

  // Built whole: ~700 MB to 1 GB. Streamed, 8 at a time (maxListings), each holding its names: ~50-60 MB.
  it('10 listings at once by 10 users all complete, and the server grows less than 120 MB', { timeout: 240_000 }, async () => {
    const base = await baseline();
    const results = await Promise.all(Array.from({ length: 10 }, (_, i) => listing(i % 2 ? 'LIST big' : 'MLSD big', `user${i}`)));
    for (const [i, r] of results.entries()) {
      expect(r.final).toBe(226);
      expect(r.lines).toHaveLength(i % 2 ? ENTRIES : ENTRIES + 1);
    }
    expect(await peakGrowth(base)).toBeLessThan(120 * MB);
  });

  it('10 listings at once by one user all complete (two at a time)', async () => {
    const results = await Promise.all(Array.from({ length: 10 }, () => listing('NLST small')));
    for (const r of results) {
      expect(r.final).toBe(226);
      expect(r.lines).toHaveLength(1000);
    }
  });
});
