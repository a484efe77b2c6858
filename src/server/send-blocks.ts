import type { Socket } from 'node:net';
import type { BlockReader } from '../storage/index.js';
import { pumpBlocks } from '../util/block-pump.js';
import { downloadBlocks } from './block-pool.js';
import { canSendZeroCopy, sendFileZeroCopy } from '../data/send-file.js';

/** Per transfer: one block filling from the file while the other drains into the socket. */
const BLOCKS_PER_TRANSFER = 2;
/** What a transfer uses when the shared pool is lent out (or the file is small). */
const OWN_BLOCK_SIZE = 256 * 1024;

/**
 * RETR's fast path: file -> socket through two reused buffers (block-pump.ts),
 * borrowed from the process's pool when the file is large.
 */
export async function sendBlocks(reader: BlockReader, socket: Socket, signal: AbortSignal, remaining: number, options: { zeroCopy?: boolean } = {}): Promise<void> {
  // A local file to a plain TCP socket: sendfile(2), no copy at all (data/send-file.ts).
  if (options.zeroCopy !== false && reader.file && canSendZeroCopy(socket)) return sendFileZeroCopy(reader.file, socket, signal);
  const pooled = remaining > OWN_BLOCK_SIZE ? downloadBlocks.borrow(BLOCKS_PER_TRANSFER) : undefined;
  const size = Math.max(1, Math.min(OWN_BLOCK_SIZE, remaining));
  const free = pooled ? [...pooled] : Array.from({ length: BLOCKS_PER_TRANSFER }, () => Buffer.allocUnsafe(size));
  try {
    await pumpBlocks(reader, socket, signal, free);
  } finally {
    // `free` now holds exactly the blocks no read or write still uses.
    if (pooled) downloadBlocks.giveBack(pooled.length, free);
  }
}
