// RETR's block pump over a real loopback socket: bytes by hash, the pool's loan back to
// zero after every ending (complete, read error, peer gone, abort), and blocks a pending
// read or write may still touch never handed to the next borrower.
import { createHash, randomBytes } from 'node:crypto';
import net from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { BlockPool, configureMemory, DEFAULT_POOL_BYTES, downloadBlocks } from '../../../src/data/block-pool.js';
import { sendBlocks } from '../../../src/data/send-blocks.js';
import type { BlockReader } from '../../../src/storage/index.js';

const sha = (b: Buffer): string => createHash('sha256').update(b).digest('hex');

/** A reader over `body` that fails with `failAt` once that many bytes were read. */
function bufferReader(body: Buffer, opts: { failAt?: number; delayMs?: number } = {}): BlockReader & { closed: boolean } {
  let pos = 0;
  const r = {
    closed: false,
    async read(into: Buffer): Promise<number> {
      if (opts.delayMs) await new Promise((res) => setTimeout(res, opts.delayMs));
      if (opts.failAt !== undefined && pos >= opts.failAt) throw Object.assign(new Error('EIO: /f'), { code: 'EIO' });
      const n = body.copy(into, 0, pos, Math.min(body.length, pos + into.length));
      pos += n;
      return n;
    },
    async close(): Promise<void> {
      r.closed = true;
    },
  };
  return r;
}

/** A connected pair: `server` is what sendBlocks writes to, `received` what the peer got. */
async function pair(opts: { readPaused?: boolean } = {}): Promise<{ server: net.Socket; client: net.Socket; received: Promise<Buffer> }> {
  const listener = net.createServer();
  await new Promise<void>((r) => listener.listen(0, '127.0.0.1', r));
  const accepted = new Promise<net.Socket>((r) => listener.once('connection', r));
  const client = net.connect((listener.address() as net.AddressInfo).port, '127.0.0.1');
  const server = await accepted;
  listener.close();
  server.on('error', () => {});
  client.on('error', () => {});
  const received = new Promise<Buffer>((resolve) => {
    const chunks: Buffer[] = [];
    if (!opts.readPaused) client.on('data', (c: Buffer) => chunks.push(c));
    client.on('end', () => resolve(Buffer.concat(chunks)));
    client.on('close', () => resolve(Buffer.concat(chunks)));
  });
  return { server, client, received };
}

afterEach(() => {
  expect(downloadBlocks.lent).toBe(0);
});

describe('sendBlocks', () => {
  it('sends a file of several blocks byte for byte and ends the socket', async () => {
    const body = randomBytes(9 * 1024 * 1024 + 17);
    const { server, received } = await pair();
    await sendBlocks(bufferReader(body), server, new AbortController().signal, body.length);
    expect(sha(await received)).toBe(sha(body));
  });

  it('sends small and empty files with buffers of their own', async () => {
    for (const size of [0, 1, 1000, 256 * 1024]) {
      const body = randomBytes(size);
      const { server, received } = await pair();
      await sendBlocks(bufferReader(body), server, new AbortController().signal, size);
      expect(sha(await received)).toBe(sha(body));
    }
  });

  it('rejects with the read error', async () => {
    const body = randomBytes(8 * 1024 * 1024);
    const { server } = await pair();
    await expect(sendBlocks(bufferReader(body, { failAt: 4 * 1024 * 1024 }), server, new AbortController().signal, body.length))
      .rejects.toMatchObject({ code: 'EIO' });
    server.destroy();
  });

  it('rejects when the peer goes away mid-transfer', async () => {
    const body = randomBytes(64 * 1024 * 1024);
    const { server, client } = await pair({ readPaused: true });
    client.pause();
    setTimeout(() => client.destroy(), 50);
    await expect(sendBlocks(bufferReader(body), server, new AbortController().signal, body.length)).rejects.toBeInstanceOf(Error);
    server.destroy();
  });

  it('rejects on abort while the peer is not reading', async () => {
    const body = randomBytes(64 * 1024 * 1024);
    const { server, client } = await pair({ readPaused: true });
    client.pause();
    const ac = new AbortController();
    setTimeout(() => ac.abort(Object.assign(new Error('transfer aborted'), { code: 'ABORT_ERR' })), 50);
    await expect(sendBlocks(bufferReader(body), server, ac.signal, body.length)).rejects.toMatchObject({ code: 'ABORT_ERR' });
    server.destroy();
    client.destroy();
  });

  it('does not pool a block whose read was still in flight at the end', async () => {
    const body = randomBytes(16 * 1024 * 1024);
    const { server, client } = await pair();
    const reader = bufferReader(body, { delayMs: 30 });
    const reads: Buffer[] = [];
    const read = reader.read.bind(reader);
    reader.read = (into) => {
      reads.push(into);
      return read(into);
    };
    const ac = new AbortController();
    const sending = sendBlocks(reader, server, ac.signal, body.length);
    setTimeout(() => ac.abort(new Error('stop')), 10); // during the first read
    await expect(sending).rejects.toThrow('stop');
    expect(reads).toHaveLength(1);
    const next = downloadBlocks.borrow(2)!;
    expect(next).not.toContain(reads[0]);
    downloadBlocks.giveBack(2, next);
    server.destroy();
    client.destroy();
  });
});

describe('BlockPool', () => {
  afterEach(() => configureMemory());

  it('lends up to its limit, then refuses; keeps the idle blocks given back, never one still in use', () => {
    const pool = new BlockPool(1024, 4);
    const a = pool.borrow(2)!;
    const b = pool.borrow(2)!;
    expect(pool.canLend(1)).toBe(false);
    expect(pool.borrow(1)).toBeUndefined();
    expect(pool.lent).toBe(4);
    pool.giveBack(2, [a[0]!]); // a[1] was still in a write: not kept
    pool.giveBack(2, b);
    expect(pool.lent).toBe(0);
    expect(pool.kept).toBe(3);
    const again = pool.borrow(3)!;
    expect(again).toEqual(expect.arrayContaining([a[0], b[0], b[1]]));
    expect(again).not.toContain(a[1]);
    pool.giveBack(3, again);
    pool.release();
  });

  it('drops its idle blocks once nothing borrowed for idleReleaseMs', async () => {
    configureMemory({ idleReleaseMs: 20 });
    const pool = new BlockPool(1024, 4);
    pool.giveBack(2, pool.borrow(2)!);
    expect(pool.kept).toBe(2);
    while (pool.kept > 0) await new Promise((r) => setTimeout(r, 10));
    expect(pool.lent).toBe(0);
    // A new loan cuts fresh blocks.
    expect(pool.borrow(4)).toHaveLength(4);
  });

  it('memory.poolBytes caps what the pools lend (0: nothing)', () => {
    configureMemory({ poolBytes: DEFAULT_POOL_BYTES / 2 });
    expect(downloadBlocks.canLend(32)).toBe(true);
    expect(downloadBlocks.canLend(33)).toBe(false);
    configureMemory({ poolBytes: 0 });
    expect(downloadBlocks.borrow(1)).toBeUndefined();
    configureMemory();
    expect(downloadBlocks.canLend(64)).toBe(true);
  });
});
