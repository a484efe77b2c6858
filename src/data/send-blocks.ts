import type { Socket } from 'node:net';
import { pumpBlocks, type BlockSource } from './block-pump.js';
import { downloadBlocks } from './block-pool.js';
import { canSendZeroCopy, sendFileZeroCopy, type FileRange } from './send-file.js';

/** Per transfer: one block filling from the file while the other drains into the socket. */
const BLOCKS_PER_TRANSFER = 2;
/** What a transfer uses when the shared pool is lent out (or the file is small). */
const OWN_BLOCK_SIZE = 256 * 1024;

/** What the sender reads: a block source, maybe backed by a plain file range (zero-copy). */
export interface FileSource extends BlockSource {
  readonly file?: FileRange;
}

export interface SendOptions {
  /** false keeps to the copying path (the `zeroCopy` option). */
  zeroCopy?: boolean;
  /** Sees the bytes handed to the socket as they go (progress). */
  onSent?: (n: number) => void;
}

/**
 * The file -> socket sender of the server's RETR and the client's uploads: a
 * local file to a plain TCP socket goes with sendfile(2), no copy at all
 * (send-file.ts); anything else through two reused buffers (block-pump.ts),
 * borrowed from the process's pool when the file is large. Resolves once the
 * socket has ended after the last byte.
 */
export async function sendBlocks(reader: FileSource, socket: Socket, signal: AbortSignal, remaining: number, options: SendOptions = {}): Promise<void> {
  if (options.zeroCopy !== false && reader.file && canSendZeroCopy(socket)) return sendFileZeroCopy(reader.file, socket, signal, options.onSent);
  const pooled = remaining > OWN_BLOCK_SIZE ? downloadBlocks.borrow(BLOCKS_PER_TRANSFER) : undefined;
  const size = Math.max(1, Math.min(OWN_BLOCK_SIZE, remaining));
  const free = pooled ? [...pooled] : Array.from({ length: BLOCKS_PER_TRANSFER }, () => Buffer.allocUnsafe(size));
  try {
    await pumpBlocks(reader, socket, signal, free, options.onSent);
  } finally {
    // `free` now holds exactly the blocks no read or write still uses.
    if (pooled) downloadBlocks.giveBack(pooled.length, free);
  }
}
