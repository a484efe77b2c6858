import { execFileSync, spawnSync } from 'node:child_process';
import { createHash, randomBytes } from 'node:crypto';
import { closeSync, constants, mkdirSync, openSync, readFileSync, readdirSync, rmSync, truncateSync, writeFileSync } from 'node:fs';
import { createServer, connect, type Server, type Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { zeroCopy, zeroCopyUnavailableReason } from '../../../src/data/zero-copy.js';

// In CI the addon must have been built (npm test builds it); elsewhere a missing
// compiler only means the JS path is used, and these tests say why they cannot run.
const zc = zeroCopy();
const required = zc !== undefined || (process.env.CI === 'true' && process.env.FTPKIT_ZERO_COPY !== '0');

const dir = join(tmpdir(), `ftpkit-zc-${process.pid}`);
const fdCount = () => readdirSync('/proc/self/fd').length;
const sha = (b: Buffer) => createHash('sha256').update(b).digest('hex');

/**
 * A server whose accepted sockets are handed to the test; the client end collects bytes.
 * `paused`: the accepted socket is never read by Node (the addon may receive on it).
 */
async function pair(opts: { paused?: boolean } = {}): Promise<{ sender: Socket; receiver: Socket; received: () => Buffer; closed: Promise<void>; server: Server }> {
  const server = createServer({ pauseOnConnect: opts.paused === true });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const accepted = new Promise<Socket>((r) => server.once('connection', r));
  const receiver = connect((server.address() as { port: number }).port, '127.0.0.1');
  const chunks: Buffer[] = [];
  receiver.on('data', (c) => chunks.push(c));
  receiver.on('error', () => {});
  const receiverClosed = new Promise<void>((r) => receiver.on('close', () => r()));
  const sender = await accepted;
  sender.on('error', () => {});
  const senderClosed = new Promise<void>((r) => sender.on('close', () => r()));
  const closed = Promise.all([receiverClosed, senderClosed]).then(() => {});
  server.close();
  return { sender, receiver, received: () => Buffer.concat(chunks), closed, server };
}

describe.runIf(required)('zero-copy sends (native sendfile addon)', () => {
  const file = join(dir, 'data.bin');
  let content: Buffer;

  beforeAll(() => {
    expect(zc, `addon unavailable: ${zeroCopyUnavailableReason()}`).toBeDefined();
    mkdirSync(dir, { recursive: true });
    content = randomBytes(24 * 1024 * 1024 + 123);
    writeFileSync(file, content);
  });
  afterAll(() => {
    rmSync(dir, { recursive: true, force: true });
  });

  it.each(['auto', 'sendfile', 'copy'] as const)('sends a whole file and a range, byte for byte (%s)', async (way) => {
    const before = fdCount();
    const copiedBefore = zc!.copied();
    for (const [start, length] of [
      [0, content.length],
      [5_000_001, 7_654_321],
      [content.length - 10, 10],
    ] as const) {
      const { sender, received, closed } = await pair();
      const fd = openSync(file, 'r');
      const sent = await zc!.send(sender, fd, start, length, way).done;
      closeSync(fd);
      sender.end();
      await closed;
      expect(sent).toBe(length);
      expect(sha(received())).toBe(sha(content.subarray(start, start + length)));
    }
    // 'auto' copies only in a trial, after 32 MiB: never here.
    const total = content.length + 7_654_321 + 10;
    expect(zc!.copied() - copiedBefore).toBe(way === 'copy' ? total : 0);
    expect(zc!.active()).toBe(0);
    expect(fdCount()).toBe(before);
  });

  it('a long send tries sendfile and a copy by turns, and every byte arrives in order', async () => {
    // 32 MiB warm-up, then 16 MiB slices (sendfile, copy, copy, sendfile): 96 MiB and more.
    const long = join(dir, 'long.bin');
    const body = Buffer.concat([content, content, content, content, content.subarray(0, 20 * 1024 * 1024)]);
    writeFileSync(long, body);
    const before = fdCount();
    const copiedBefore = zc!.copied();
    const { sender, received, closed } = await pair();
    const fd = openSync(long, 'r');
    const sent = await zc!.send(sender, fd, 0, body.length).done;
    closeSync(fd);
    sender.end();
    await closed;
    expect(sent).toBe(body.length);
    expect(sha(received())).toBe(sha(body));
    // The copy's slices moved 32 MiB, or more if it won (then it sent the rest too).
    // (sendfile moved the 32 MiB warm-up and its own 32 MiB in any case).
    expect([32 * 1024 * 1024, body.length - 64 * 1024 * 1024]).toContain(zc!.copied() - copiedBefore);
    expect(zc!.active()).toBe(0);
    expect(fdCount()).toBe(before);
    rmSync(long);
  });

  it.each(['sendfile', 'copy'] as const)('cancel() stops a send to a reader that stopped reading; nothing leaks (%s)', async (way) => {
    const before = fdCount();
    const { sender, receiver, closed } = await pair();
    receiver.pause();
    const fd = openSync(file, 'r');
    const send = zc!.send(sender, fd, 0, content.length, way);
    const settled = send.done.then(
      () => 'resolved',
      (e: Error) => e.name,
    );
    await new Promise((r) => setTimeout(r, 200));
    const progress = send.progress();
    expect(progress).toBeGreaterThan(0);
    expect(progress).toBeLessThan(content.length);
    send.cancel();
    expect(await settled).toBe('AbortError');
    expect(zc!.active()).toBe(0);
    closeSync(fd);
    sender.destroy();
    receiver.destroy();
    await closed;
    expect(fdCount()).toBe(before);
  });

  it('keeps at most about 64 KiB queued and unsent in the kernel (TCP_NOTSENT_LOWAT), where a plain write queues megabytes', async () => {
    /** The kernel's unsent bytes on the sender's socket, as ss reports them. */
    const notSent = (s: Socket): number => {
      const out = execFileSync('ss', ['-tniH', 'src', `127.0.0.1:${s.localPort}`, 'dst', `127.0.0.1:${s.remotePort}`], { encoding: 'utf8' });
      const m = /\bnotsent:(\d+)/.exec(out);
      return m ? Number(m[1]) : 0;
    };
    const stalled = async (start: (sender: Socket) => () => void): Promise<number> => {
      const { sender, receiver, closed } = await pair();
      receiver.pause();
      const stop = start(sender);
      await new Promise((r) => setTimeout(r, 300));
      const queued = notSent(sender);
      stop();
      sender.destroy();
      receiver.destroy();
      await closed;
      return queued;
    };
    const fd = openSync(file, 'r');
    try {
      const viaAddon = await stalled((sender) => {
        const send = zc!.send(sender, fd, 0, content.length);
        send.done.catch(() => {});
        return () => send.cancel();
      });
      const viaWrite = await stalled((sender) => {
        sender.write(content);
        return () => {};
      });
      expect(viaAddon).toBeLessThanOrEqual(128 * 1024);
      expect(viaWrite).toBeGreaterThan(1024 * 1024);
    } finally {
      closeSync(fd);
    }
    expect(zc!.active()).toBe(0);
  });

  it.each(['sendfile', 'copy'] as const)('a file truncated during the send rejects instead of hanging (%s)', async (way) => {
    const copy = join(dir, 'shrinks.bin');
    writeFileSync(copy, content);
    const { sender, receiver, closed } = await pair();
    receiver.pause();
    const fd = openSync(copy, 'r');
    const send = zc!.send(sender, fd, 0, content.length, way);
    const outcome = send.done.then(
      () => undefined,
      (e: NodeJS.ErrnoException) => e.code,
    );
    await new Promise((r) => setTimeout(r, 100));
    truncateSync(copy, 1024 * 1024);
    receiver.resume();
    expect(await outcome).toBe('ERR_FILE_TRUNCATED');
    closeSync(fd);
    sender.destroy();
    await closed;
    expect(zc!.active()).toBe(0);
  });

  it.each(['sendfile', 'copy'] as const)('a peer that resets mid-send rejects with a network error, even after Node destroyed its socket (%s)', async (way) => {
    const before = fdCount();
    const { sender, receiver, closed } = await pair();
    receiver.pause();
    const fd = openSync(file, 'r');
    const send = zc!.send(sender, fd, 0, content.length, way);
    const outcome = send.done.then(
      () => undefined,
      (e: NodeJS.ErrnoException) => e.code,
    );
    await new Promise((r) => setTimeout(r, 100));
    receiver.resetAndDestroy();
    sender.destroy(); // Node closes its descriptor: the send holds its own duplicate
    expect(['ECONNRESET', 'EPIPE']).toContain(await outcome);
    closeSync(fd);
    expect(zc!.active()).toBe(0);
    await closed;
    expect(fdCount()).toBe(before);
  });

  it('200 concurrent sends of the same file all arrive intact', async () => {
    const before = fdCount();
    const small = content.subarray(0, 256 * 1024);
    const expected = sha(small);
    const fd = openSync(file, 'r');
    const results = await Promise.all(
      Array.from({ length: 200 }, async () => {
        const { sender, received, closed } = await pair();
        await zc!.send(sender, fd, 0, small.length).done;
        sender.end();
        await closed;
        return sha(received());
      }),
    );
    closeSync(fd);
    expect(results.every((h) => h === expected)).toBe(true);
    expect(zc!.active()).toBe(0);
    expect(fdCount()).toBe(before);
  });
});

describe.runIf(required)('zero-copy receives (the addon splices the socket into the file)', () => {
  // Past the first trial of splice against read + write (native/zero-copy.cc), so both ways write.
  const content = randomBytes(20 * 1024 * 1024 + 77);
  const prefix = randomBytes(1000);

  beforeAll(() => {
    expect(zc, `addon unavailable: ${zeroCopyUnavailableReason()}`).toBeDefined();
    mkdirSync(dir, { recursive: true });
  });
  afterAll(() => {
    rmSync(dir, { recursive: true, force: true });
  });

  /**
   * Receives what the peer sends into `fd` (the addon reads the accepted socket), then closes
   * fd. `queued`: the peer's bytes wait in the kernel before the receive starts (its first
   * splice moves a whole pipe's worth).
   */
  async function receiveInto(fd: number, position: number | null, body: Buffer, opts: { limit?: number; queued?: boolean } = {}): Promise<number> {
    const { sender: socket, receiver: peer, closed } = await pair({ paused: true });
    if (opts.queued) {
      peer.end(body);
      await new Promise((r) => setTimeout(r, 100));
    }
    const job = zc!.receive(socket, fd, position, opts.limit);
    if (!opts.queued) peer.end(body);
    try {
      return await job.done;
    } finally {
      closeSync(fd);
      socket.destroy();
      peer.destroy();
      await closed;
    }
  }

  /** 'resolved', or a rejection's code and syscall ('ENOSPC write'). */
  const outcome = (job: Promise<number>): Promise<string> =>
    job.then(
      () => 'resolved',
      (e: NodeJS.ErrnoException) => `${e.code} ${e.syscall}`,
    );

  it('at a position, after what the file holds, byte for byte', async () => {
    const before = fdCount();
    const path = join(dir, 'at.bin');
    writeFileSync(path, prefix);
    const got = await receiveInto(openSync(path, 'r+'), prefix.length, content);
    expect(got).toBe(content.length);
    expect(sha(readFileSync(path))).toBe(sha(Buffer.concat([prefix, content])));
    expect(zc!.active()).toBe(0);
    expect(fdCount()).toBe(before);
  });

  it('into a file opened to append, which takes no splice (read and write instead)', async () => {
    const path = join(dir, 'append.bin');
    writeFileSync(path, prefix);
    const got = await receiveInto(openSync(path, constants.O_WRONLY | constants.O_APPEND), null, content);
    expect(got).toBe(content.length);
    expect(sha(readFileSync(path))).toBe(sha(Buffer.concat([prefix, content])));
  });

  it('stops at a limit, writing exactly that many bytes', async () => {
    const path = join(dir, 'limit.bin');
    const limit = 3 * 1024 * 1024 + 5;
    const got = await receiveInto(openSync(path, 'w'), 0, content, { limit });
    expect(got).toBe(limit);
    expect(sha(readFileSync(path))).toBe(sha(content.subarray(0, limit)));
  });

  it('a file without splice that fails (/dev/full): ENOSPC as a write error', async () => {
    expect(await outcome(receiveInto(openSync('/dev/full', 'w'), null, content, { queued: true }))).toBe('ENOSPC write');
    expect(zc!.active()).toBe(0);
  });

  // Needs root with mount rights: CI runs as root, so there a refusal fails the test.
  const canMount = process.env.CI === 'true' || (process.getuid?.() === 0 && spawnSync('mount', ['--version']).status === 0);
  it.skipIf(!canMount)('a file system that fills mid-splice (1 MiB tmpfs): ENOSPC; what the failed job left in its pipe never reaches the next files', async () => {
    const small = join(dir, 'small-fs');
    mkdirSync(small, { recursive: true });
    const mount = spawnSync('mount', ['-t', 'tmpfs', '-o', 'size=1m', 'tmpfs', small], { encoding: 'utf8' });
    expect(mount.status, `cannot mount a 1 MiB tmpfs for this test: ${mount.stderr}`).toBe(0);
    try {
      // Several, so every worker thread has had a failure (jobs take turns over the threads).
      for (let i = 0; i < 4; i++) {
        expect(await outcome(receiveInto(openSync(join(small, `full-${i}.bin`), 'w'), 0, content))).toBe('ENOSPC write');
        rmSync(join(small, `full-${i}.bin`));
      }
    } finally {
      spawnSync('umount', [small]);
    }
    for (let i = 0; i < 4; i++) {
      const path = join(dir, `after-${i}.bin`);
      const body = randomBytes(200_000 + i);
      expect(await receiveInto(openSync(path, 'w'), 0, body, { queued: true })).toBe(body.length);
      expect(sha(readFileSync(path))).toBe(sha(body));
    }
    expect(zc!.active()).toBe(0);
  });
});
