// The one socket -> file receiver (server uploads, client downloads) over a real loopback
// socket, taken over with adoptWithLargeReads or connected with connectWithLargeReads: bytes by
// hash into a file (through a stream and through a descriptor), the pool's loan back to zero
// after every ending (complete, a full disk, the peer gone, an abort, a bounded segment), and
// the takeover refused when it would lose bytes.
import { createHash, randomBytes } from 'node:crypto';
import { createWriteStream, type WriteStream } from 'node:fs';
import { open, readFile } from 'node:fs/promises';
import net from 'node:net';
import { join } from 'node:path';
import { PassThrough } from 'node:stream';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { uploadBlocks } from '../../../src/data/block-pool.js';
import { adoptWithLargeReads, connectWithLargeReads } from '../../../src/data/large-reads.js';
import { fdSink, receiveBlocks, streamSink } from '../../../src/data/receive-blocks.js';
import { receiveFileZeroCopy } from '../../../src/data/receive-file.js';
import { zeroCopy } from '../../../src/data/zero-copy.js';
import { makeTempDir, type TempDir } from '../../helpers/tmp.js';

const sha = (b: Buffer): string => createHash('sha256').update(b).digest('hex');
let tmp: TempDir;
beforeAll(async () => {
  tmp = await makeTempDir('ftpkit-recv-');
});
afterAll(() => tmp.cleanup());
afterEach(() => {
  expect(uploadBlocks.lent).toBe(0);
});

/** An accepted socket (paused, as passive data connections are) and the client that sends. */
async function pair(pauseOnConnect = true): Promise<{ accepted: net.Socket; client: net.Socket }> {
  const listener = net.createServer({ pauseOnConnect });
  await new Promise<void>((r) => listener.listen(0, '127.0.0.1', r));
  const accepted = new Promise<net.Socket>((r) => listener.once('connection', r));
  const client = net.connect((listener.address() as net.AddressInfo).port, '127.0.0.1');
  client.on('error', () => {});
  const socket = await accepted;
  socket.on('error', () => {});
  listener.close();
  return { accepted: socket, client };
}

/** Borrows like the upload does and gives back what receiveBlocks reports idle. */
async function receive(accepted: net.Socket, sink: WriteStream, signal = new AbortController().signal): Promise<void> {
  const reads = adoptWithLargeReads(accepted);
  expect(reads).toBeDefined();
  const blocks = uploadBlocks.borrow(8)!;
  const idle: Buffer[] = [];
  try {
    expect(await receiveBlocks(reads!, streamSink(sink), { signal, blocks, idle })).toBe('complete');
    sink.end();
  } finally {
    uploadBlocks.giveBack(blocks.length, idle);
    reads!.socket.destroy();
  }
}

describe('receiveBlocks', () => {
  it('writes what the peer sent into the file byte for byte', async () => {
    const body = randomBytes(9 * 1024 * 1024 + 5);
    const { accepted, client } = await pair();
    const dest = join(tmp.path, 'up.bin');
    const sink = createWriteStream(dest);
    client.end(body);
    await receive(accepted, sink);
    await new Promise<void>((r) => sink.once('close', () => r()));
    expect(sha(await readFile(dest))).toBe(sha(body));
  });

  it('keeps bytes that arrived before the receiver attached', async () => {
    const body = randomBytes(3 * 1024 * 1024);
    const { accepted, client } = await pair();
    const reads = adoptWithLargeReads(accepted)!;
    client.end(body);
    await new Promise((r) => setTimeout(r, 100)); // bytes and the end land in reads.readable first
    const dest = join(tmp.path, 'early.bin');
    const sink = createWriteStream(dest);
    const blocks = uploadBlocks.borrow(8)!;
    const idle: Buffer[] = [];
    await receiveBlocks(reads, streamSink(sink), { signal: new AbortController().signal, blocks, idle }).finally(() => uploadBlocks.giveBack(8, idle));
    sink.end();
    await new Promise<void>((r) => sink.once('close', () => r()));
    expect(sha(await readFile(dest))).toBe(sha(body));
    reads.socket.destroy();
  });

  it('rejects with the disk error (ENOSPC) and lends no block a write still held', async () => {
    const { accepted, client } = await pair();
    const sink = createWriteStream('/dev/full');
    sink.on('error', () => {});
    client.write(randomBytes(4 * 1024 * 1024));
    await expect(receive(accepted, sink)).rejects.toMatchObject({ code: 'ENOSPC' });
    client.destroy();
  });

  it('rejects when the peer resets mid-upload, with only bytes it sent in the file', async () => {
    // Node's read reports a reset that comes with the last bytes as an end of file; the end is
    // checked (peer-end.ts), so this rejects every time instead of passing for a finished upload.
    const body = randomBytes(2 * 1024 * 1024);
    const { accepted, client } = await pair();
    const dest = join(tmp.path, 'cut.bin');
    const sink = createWriteStream(dest);
    client.write(body, () => client.resetAndDestroy());
    await expect(receive(accepted, sink)).rejects.toMatchObject({ code: expect.stringMatching(/^(ECONNRESET|EPIPE)$/) });
    sink.destroy();
    await new Promise<void>((r) => sink.once('close', () => r()));
    const got = await readFile(dest);
    expect(got.length).toBeLessThanOrEqual(body.length);
    expect(got.equals(body.subarray(0, got.length))).toBe(true);
  });

  it('rejects on abort while the peer stalls', async () => {
    const { accepted, client } = await pair();
    const sink = createWriteStream(join(tmp.path, 'stall.bin'));
    client.write(Buffer.alloc(1000));
    const ac = new AbortController();
    setTimeout(() => ac.abort(Object.assign(new Error('transfer aborted'), { code: 'ABORT_ERR' })), 50);
    await expect(receive(accepted, sink, ac.signal)).rejects.toMatchObject({ code: 'ABORT_ERR' });
    sink.destroy();
    client.destroy();
  });
});

/** A listener that sends `body` to whoever connects (the client's downloads connect out). */
async function sender(body: Buffer, how: 'end' | 'reset'): Promise<{ port: number; close: () => void }> {
  const listener = net.createServer((s) => {
    s.on('error', () => {});
    if (how === 'end') s.end(body);
    else s.write(body, () => s.resetAndDestroy());
  });
  await new Promise<void>((r) => listener.listen(0, '127.0.0.1', r));
  return { port: (listener.address() as net.AddressInfo).port, close: () => listener.close() };
}

describe('receiveBlocks into a descriptor (the client side)', () => {
  const own = (): Buffer[] => Array.from({ length: 8 }, () => Buffer.allocUnsafe(256 * 1024));

  it('writes the whole stream at a position, counting every byte', async () => {
    const body = randomBytes(5 * 1024 * 1024 + 3);
    const src = await sender(body, 'end');
    const dest = join(tmp.path, 'down.bin');
    const file = await open(dest, 'w');
    await file.write(Buffer.from('HEAD'));
    const conn = connectWithLargeReads({ host: '127.0.0.1', port: src.port });
    let counted = 0;
    const outcome = await receiveBlocks(conn, fdSink(file.fd, 4), { signal: new AbortController().signal, blocks: own(), onBytes: (n) => (counted += n) });
    await file.close();
    conn.socket.destroy();
    src.close();
    expect(outcome).toBe('complete');
    expect(counted).toBe(body.length);
    expect(sha(await readFile(dest))).toBe(sha(Buffer.concat([Buffer.from('HEAD'), body])));
  });

  it("stops after `length` bytes (a segment) and writes nothing past it", async () => {
    const body = randomBytes(3 * 1024 * 1024);
    const src = await sender(body, 'end');
    const dest = join(tmp.path, 'segment.bin');
    const file = await open(dest, 'w');
    const conn = connectWithLargeReads({ host: '127.0.0.1', port: src.port });
    const length = 1024 * 1024 + 17;
    const outcome = await receiveBlocks(conn, fdSink(file.fd, 0), { signal: new AbortController().signal, blocks: own(), length });
    await file.close();
    conn.socket.destroy();
    src.close();
    expect(outcome).toBe('stopped');
    expect(sha(await readFile(dest))).toBe(sha(body.subarray(0, length)));
  });

  it('rejects when the sender resets, never reporting a clean end', async () => {
    const body = randomBytes(2 * 1024 * 1024);
    const src = await sender(body, 'reset');
    const dest = join(tmp.path, 'reset.bin');
    const file = await open(dest, 'w');
    const conn = connectWithLargeReads({ host: '127.0.0.1', port: src.port });
    conn.socket.on('error', () => {});
    const done = receiveBlocks(conn, fdSink(file.fd, 0), { signal: new AbortController().signal, blocks: own() });
    await expect(done).rejects.toMatchObject({ code: expect.stringMatching(/^(ECONNRESET|EPIPE)$/) });
    await file.close();
    src.close();
    const got = await readFile(dest);
    expect(got.equals(body.subarray(0, got.length))).toBe(true);
  });
});

describe('adoptWithLargeReads', () => {
  it('refuses a socket that is already reading, so no byte is lost', async () => {
    const { accepted, client } = await pair(false);
    expect(adoptWithLargeReads(accepted)).toBeUndefined();
    const got = new PassThrough();
    accepted.pipe(got);
    client.end('still here');
    let text = '';
    for await (const c of got) text += String(c);
    expect(text).toBe('still here');
  });

  it('moves the connection: writes and bytesRead work on the new socket, the old one is closed', async () => {
    const { accepted, client } = await pair();
    const reads = adoptWithLargeReads(accepted)!;
    expect(accepted.destroyed).toBe(true);
    const echoed = new Promise<string>((resolve) => client.once('data', (d) => resolve(String(d))));
    reads.socket.write('hello');
    expect(await echoed).toBe('hello');
    client.end('abc');
    const chunks: Buffer[] = [];
    for await (const c of reads.readable) chunks.push(c as Buffer);
    expect(Buffer.concat(chunks).toString()).toBe('abc');
    expect(reads.socket.bytesRead).toBe(3);
    reads.socket.destroy();
  });
});

describe('handing a large-read connection to the addon (the client downloads)', () => {
  const zc = zeroCopy();
  const required = zc !== undefined || (process.env.CI === 'true' && process.env.FTPKIT_ZERO_COPY !== '0');
  const connected = (conn: { socket: net.Socket }): Promise<void> => new Promise((r) => (conn.socket.connecting ? conn.socket.once('connect', () => r()) : r()));

  it.runIf(required)('held before the peer sends: handOver() succeeds and the addon writes every byte, up to a limit', async () => {
    const body = randomBytes(3 * 1024 * 1024 + 11);
    const src = await sender(body, 'end');
    const conn = connectWithLargeReads({ host: '127.0.0.1', port: src.port });
    await connected(conn);
    conn.hold();
    await new Promise((r) => setTimeout(r, 50)); // the bytes wait in the kernel meanwhile
    expect(conn.handOver()).toBe(true);
    const dest = join(tmp.path, 'handed.bin');
    const file = await open(dest, 'w');
    const limit = 2 * 1024 * 1024 + 5;
    const n = await receiveFileZeroCopy(conn.socket, file.fd, 0, new AbortController().signal, { limit });
    await file.close();
    conn.socket.destroy();
    src.close();
    expect(n).toBe(limit);
    expect(sha(await readFile(dest))).toBe(sha(body.subarray(0, limit)));
    expect(zc!.active()).toBe(0);
  });

  it('once Node read bytes, handOver() refuses and the block writer still gets every byte', async () => {
    const body = randomBytes(2 * 1024 * 1024);
    const src = await sender(body, 'end');
    const conn = connectWithLargeReads({ host: '127.0.0.1', port: src.port });
    await new Promise((r) => conn.readable.once('readable', r)); // Node has read some
    expect(conn.handOver()).toBe(false);
    const dest = join(tmp.path, 'kept.bin');
    const file = await open(dest, 'w');
    const outcome = await receiveBlocks(conn, fdSink(file.fd, 0), { signal: new AbortController().signal, blocks: [Buffer.allocUnsafe(256 * 1024), Buffer.allocUnsafe(256 * 1024)] });
    await file.close();
    conn.socket.destroy();
    src.close();
    expect(outcome).toBe('complete');
    expect(sha(await readFile(dest))).toBe(sha(body));
  });
});
