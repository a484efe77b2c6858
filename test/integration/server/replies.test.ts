// Replies and backpressure on the control connection: a peer that pipelines commands and
// never reads its replies must not make the server buffer them without end (issue 12, item 3),
// and replies go out in command order, ABOR's 426/226 before what followed it.
import { truncate, writeFile } from 'node:fs/promises';
import { connect, type Socket } from 'node:net';
import { join } from 'node:path';
import { Writable } from 'node:stream';
import { pino } from 'pino';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { ReplyParser, type FtpReply } from '../../../src/protocol/index.js';
import type { CommandSpec } from '../../../src/server/command.js';
import { REPLY_CAP, REPLY_HIGH_WATER, Session } from '../../../src/server/session.js';
import { LIST_BATCH } from '../../../src/server/commands/listing.js';
import { RawFtp } from '../../helpers/raw-ftp.js';
import { startTestServer, type TestServer } from '../../helpers/server.js';
import { makeTempDir, type TempDir } from '../../helpers/tmp.js';

/** What the server wrote on one control connection: the most bytes ever left unsent. */
interface Watch {
  writes: number;
  maxUnsent: number;
  socket: Socket;
}

// Every session's control socket is watched from its greeting on, keyed by the client's port.
const watched = new Map<number, Watch>();
const originalStart = Session.prototype.start;
beforeAll(() => {
  Session.prototype.start = function (this: Session) {
    const socket = this.socket;
    const w: Watch = { writes: 0, maxUnsent: 0, socket };
    watched.set(socket.remotePort!, w);
    const write = socket.write;
    socket.write = function (this: Socket, ...args: unknown[]) {
      const ok = (write as (...a: unknown[]) => boolean).apply(this, args);
      w.writes++;
      w.maxUnsent = Math.max(w.maxUnsent, this.writableLength);
      return ok;
    } as Socket['write'];
    originalStart.call(this);
  };
});
afterAll(() => {
  Session.prototype.start = originalStart;
});

function watchOf(client: Socket): Watch {
  const w = watched.get(client.localPort!);
  if (!w) throw new Error('no session for this client');
  return w;
}

/** A client that sends but does not read: its socket stays paused until `readAll`. */
async function silentClient(port: number): Promise<Socket> {
  const socket = connect({ host: '127.0.0.1', port });
  socket.on('error', () => {});
  await new Promise<void>((resolve, reject) => {
    socket.once('connect', resolve);
    socket.once('error', reject);
  });
  return socket;
}

/** Reads replies from `socket` until `count` have come (or it closes); `delayMs` between reads makes a slow reader. */
function readReplies(socket: Socket, count: number, delayMs = 0): Promise<FtpReply[]> {
  const parser = new ReplyParser();
  const replies: FtpReply[] = [];
  return new Promise((resolve, reject) => {
    const finish = (): void => {
      socket.off('readable', onReadable);
      resolve(replies);
    };
    const onReadable = (): void => {
      let chunk: Buffer | null;
      while ((chunk = socket.read() as Buffer | null) !== null) {
        for (const r of parser.push(chunk)) replies.push(r);
        if (replies.length >= count) return finish();
        if (delayMs > 0) {
          socket.off('readable', onReadable);
          setTimeout(() => {
            socket.on('readable', onReadable);
            onReadable();
          }, delayMs);
          return;
        }
      }
    };
    socket.on('readable', onReadable);
    socket.once('close', finish);
    socket.once('error', reject);
  });
}

/** A logged-in client gets its replies meanwhile: the server is serving. */
async function anotherClientIsServed(port: number): Promise<void> {
  const other = await RawFtp.connect(port);
  try {
    await other.login();
    expect((await other.send('PWD')).code).toBe(257);
    expect((await other.fetch('LIST')).final.code).toBe(226);
  } finally {
    other.close();
  }
}

describe('replies wait for a peer that does not read', () => {
  let t: TestServer;
  let anonRoot: TempDir;
  const logs: string[] = [];

  beforeAll(async () => {
    anonRoot = await makeTempDir('ftpkit-anon-');
    // 300 entries with long names: one STAT / answers ~40 KB, more than a socket buffer.
    for (let i = 0; i < 300; i++) await writeFile(join(anonRoot.path, `entry-with-a-long-name-${String(i).padStart(4, '0')}-${'x'.repeat(40)}.txt`), 'x');
    t = await startTestServer({
      maxCommandsPerSecond: 0, // no pacing: the flood runs as fast as the server lets it
      anonymous: { root: anonRoot.path },
      timeouts: { login: 60_000 },
      logger: pino({ level: 'debug' }, new Writable({ write: (chunk: Buffer, _e, cb) => (logs.push(chunk.toString()), cb()) })),
    });
  });
  afterAll(async () => {
    await t.close();
    await anonRoot.cleanup();
  });

  it('50,000 pipelined HELP before login: unsent replies stay under the bound, others are served, all arrive in order', async () => {
    const n = 50_000;
    const flood = await silentClient(t.port);
    try {
      flood.write('HELP\r\n'.repeat(n));
      await expect.poll(() => watchOf(flood).maxUnsent, { timeout: 20_000 }).toBeGreaterThan(REPLY_HIGH_WATER);
      await anotherClientIsServed(t.port);
      const { writes, maxUnsent } = watchOf(flood);
      // The server stopped running HELP once the peer's replies piled up: one HELP reply past the mark at most.
      expect(maxUnsent).toBeLessThanOrEqual(REPLY_HIGH_WATER + 4096);
      expect(flood.destroyed).toBe(false);
      // Now it reads: every reply comes, in order.
      const replies = await readReplies(flood, n + 1);
      expect(replies).toHaveLength(n + 1);
      expect(replies[0]!.code).toBe(220);
      expect(replies.slice(1).every((r) => r.code === 214 && r.lines.length > 3)).toBe(true);
      expect(watchOf(flood).maxUnsent).toBeLessThanOrEqual(REPLY_HIGH_WATER + 4096);
      expect(writes).toBeLessThan(watchOf(flood).writes); // it had stopped before the end
    } finally {
      flood.destroy();
    }
  });

  it('300 pipelined STAT / as anonymous: listings on the control connection are sent as the peer reads', async () => {
    const n = 300;
    const flood = await silentClient(t.port);
    try {
      flood.write('USER anonymous\r\nPASS guest@\r\n' + 'STAT /\r\n'.repeat(n));
      await expect.poll(() => watchOf(flood).maxUnsent, { timeout: 20_000 }).toBeGreaterThan(REPLY_HIGH_WATER);
      await anotherClientIsServed(t.port);
      const { writes, maxUnsent } = watchOf(flood);
      // At most one batch of listing lines past the mark.
      expect(maxUnsent).toBeLessThanOrEqual(REPLY_HIGH_WATER + LIST_BATCH * 200);
      const replies = await readReplies(flood, n + 3);
      expect(replies.map((r) => r.code).slice(0, 3)).toEqual([220, 331, 230]);
      const stats = replies.slice(3);
      expect(stats).toHaveLength(n);
      for (const r of stats) {
        expect(r.code).toBe(213);
        expect(r.lines).toHaveLength(302); // "Status of /:", 300 entries, "End of status"
      }
      expect(writes).toBeLessThan(watchOf(flood).writes); // it had stopped before the end
    } finally {
      flood.destroy();
    }
  });

  it('a slow reader gets every reply, in command order', async () => {
    const cycle: Array<[string, (r: FtpReply) => boolean]> = [
      ['HELP', (r) => r.code === 214 && r.lines.length > 3],
      ['HELP RETR', (r) => r.code === 214 && r.text === 'Syntax: RETR <path>'],
      ['NOOP', (r) => r.code === 200],
      ['HELP STOR', (r) => r.code === 214 && r.text === 'Syntax: STOR <path>'],
      ['SYST', (r) => r.code === 215],
      ['HELP NOPE', (r) => r.code === 502],
      ['FEAT', (r) => r.code === 211 && r.lines.length > 3],
    ];
    const rounds = 3_000;
    const client = await silentClient(t.port);
    try {
      client.write(Array.from({ length: rounds }, () => cycle.map(([c]) => `${c}\r\n`).join('')).join(''));
      const replies = await readReplies(client, rounds * cycle.length + 1, 2);
      expect(replies).toHaveLength(rounds * cycle.length + 1);
      expect(replies[0]!.code).toBe(220);
      const wrong = replies.slice(1).findIndex((r, i) => !cycle[i % cycle.length]![1](r));
      expect(wrong).toBe(-1);
      expect(watchOf(client).maxUnsent).toBeLessThanOrEqual(REPLY_CAP);
    } finally {
      client.destroy();
    }
  });

  it('a command writing past the cap without waiting gets its peer disconnected, with a debug log', async () => {
    // No built-in command does this (multi-line listings wait for the peer); the cap is the net under them.
    const commands = t.server.commands as Map<string, CommandSpec>;
    commands.set('XBIG', {
      verbs: ['XBIG'],
      help: 'XBIG',
      public: true,
      handler(session) {
        // 16 MB: more than the kernel's socket buffers take, so the rest queues in the process.
        for (let i = 0; i < 2000; i++) session.reply(200, 'y'.repeat(8000));
      },
    });
    try {
      const client = await silentClient(t.port);
      client.write('XBIG\r\n');
      // Without the cap the server would keep the connection with megabytes queued for it.
      await expect.poll(() => watchOf(client).socket.destroyed, { timeout: 20_000 }).toBe(true);
      expect(watchOf(client).maxUnsent).toBeGreaterThan(REPLY_CAP);
      client.destroy();
      expect(logs.some((l) => l.includes('peer does not read its replies, closing'))).toBe(true);
      await anotherClientIsServed(t.port);
    } finally {
      commands.delete('XBIG');
    }
  });
});

describe('ABOR: replies in command order', () => {
  let t: TestServer;
  let ftp: RawFtp;

  beforeAll(async () => {
    t = await startTestServer();
    await writeFile(join(t.root, 'big.bin'), '');
    await truncate(join(t.root, 'big.bin'), 512 * 1024 * 1024); // sparse: a transfer that outlasts the test
  });
  afterAll(async () => {
    await t.close();
  });
  afterEach(() => ftp?.close());

  /** Starts RETR big.bin and leaves the data connection unread, so the transfer runs on. */
  async function runningRetr(): Promise<Socket> {
    ftp = await RawFtp.connect(t.port);
    await ftp.login();
    expect((await ftp.send('TYPE I')).code).toBe(200);
    const data = await ftp.passive();
    data.pause();
    expect((await ftp.send('RETR big.bin')).code).toBe(150);
    return data;
  }

  it('NOOP and STAT sent after ABOR are answered after its 426 and 226', async () => {
    const data = await runningRetr();
    ftp.write('ABOR\r\nNOOP\r\nSTAT\r\n');
    const codes = [];
    for (let i = 0; i < 4; i++) codes.push((await ftp.read()).code);
    expect(codes).toEqual([426, 226, 200, 211]);
    expect((await ftp.send('PWD')).code).toBe(257);
    data.destroy();
  });

  it('ABOR, NOOP and STAT in separate packets keep their order too', async () => {
    const data = await runningRetr();
    ftp.write('ABOR\r\n');
    ftp.write('NOOP\r\n');
    await new Promise((r) => setImmediate(r));
    ftp.write('STAT\r\n');
    const codes = [];
    for (let i = 0; i < 4; i++) codes.push((await ftp.read()).code);
    expect(codes).toEqual([426, 226, 200, 211]);
    data.destroy();
  });

  it('STAT before ABOR shows the running transfer, in order', async () => {
    const data = await runningRetr();
    ftp.write('STAT\r\nABOR\r\nNOOP\r\n');
    const replies = [];
    for (let i = 0; i < 4; i++) replies.push(await ftp.read());
    expect(replies.map((r) => r.code)).toEqual([213, 426, 226, 200]);
    expect(replies[0]!.text).toMatch(/^Status: RETR \/big\.bin, \d+ of \d+ bytes transferred \(\d+%\), [\d.]+ (B|KiB|MiB|GiB)\/s$/);
    data.destroy();
  });

  it('ABOR whose LF never comes (urgent data, as ftplib sends it) is answered, and the next command works', async () => {
    const data = await runningRetr();
    ftp.write('ABOR\r');
    expect((await ftp.read()).code).toBe(426);
    expect((await ftp.read()).code).toBe(226);
    ftp.write('NOOP\r\n');
    expect((await ftp.read()).code).toBe(200);
    data.destroy();
  });
});
