import type { Socket } from 'node:net';
import type { BlockReader } from '../storage/index.js';
import { downloadBlocks } from './block-pool.js';

/** Per transfer: one block filling from the file while the other drains into the socket. */
const BLOCKS_PER_TRANSFER = 2;
/** What a transfer uses when the shared pool is lent out (or the file is small). */
const OWN_BLOCK_SIZE = 256 * 1024;

/**
 * RETR's fast path: file -> socket through two reused buffers. A block is read
 * again only once the socket has taken all of it (the write's callback), which
 * is also the backpressure: at most two blocks are ever in flight. Resolves
 * when the socket has ended; rejects on a read error, a socket error or close,
 * or an abort.
 */
export async function sendBlocks(reader: BlockReader, socket: Socket, signal: AbortSignal, remaining: number): Promise<void> {
  const pooled = remaining > OWN_BLOCK_SIZE ? downloadBlocks.borrow(BLOCKS_PER_TRANSFER) : undefined;
  const size = Math.max(1, Math.min(OWN_BLOCK_SIZE, remaining));
  const free = pooled ? [...pooled] : Array.from({ length: BLOCKS_PER_TRANSFER }, () => Buffer.allocUnsafe(size));
  try {
    await pump(reader, socket, signal, free);
  } finally {
    // `free` now holds exactly the blocks no read or write still uses.
    if (pooled) downloadBlocks.giveBack(pooled.length, free);
  }
}

function pump(reader: BlockReader, socket: Socket, signal: AbortSignal, free: Buffer[]): Promise<void> {
  return new Promise((resolve, reject) => {
    let reading = false;
    let writing = 0;
    let eof = false;
    let settled = false;
    const finish = (err?: Error): void => {
      if (settled) return;
      settled = true;
      socket.off('close', onClose);
      socket.off('error', finish);
      signal.removeEventListener('abort', onAbort);
      if (err) reject(err);
      else resolve();
    };
    const onClose = (): void => {
      const err = socket.errored;
      finish(err instanceof Error ? err : Object.assign(new Error('the data connection closed early'), { code: 'ERR_STREAM_PREMATURE_CLOSE' }));
    };
    const onAbort = (): void => finish(signal.reason instanceof Error ? signal.reason : new Error('aborted'));
    const next = (): void => {
      if (settled || reading || eof || free.length === 0) return;
      reading = true;
      const block = free.pop()!;
      reader.read(block).then((n) => {
        reading = false;
        if (settled) return; // the block stays out of `free`: the pool must not reuse what the loan's end did not count
        if (n === 0) {
          free.push(block);
          eof = true;
          if (writing === 0) end();
          return;
        }
        writing++;
        // The callback fires once the socket handed the bytes to the kernel: the block is free again.
        socket.write(block.subarray(0, n), (err) => {
          writing--;
          if (err) return finish(err);
          free.push(block);
          if (eof && writing === 0) end();
          else next();
        });
        next();
      }, (err: Error) => {
        reading = false;
        finish(err);
      });
    };
    const end = (): void => {
      socket.end((err?: Error | null) => finish(err ?? undefined));
    };
    socket.once('close', onClose);
    socket.once('error', finish);
    signal.addEventListener('abort', onAbort, { once: true });
    if (signal.aborted) onAbort();
    else next();
  });
}
