import { once } from 'node:events';
import type { Readable, Writable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { FtpError } from '../errors.js';
import { createAsciiDecoder, createAsciiEncoder } from '../protocol/index.js';
import { createModeZDeflate, createModeZInflate, MODE_Z_DEFAULT_LEVEL } from '../data/mode-z.js';
import { pumpBlocks, type BlockSource } from '../util/block-pump.js';
import { reset } from './data-connection.js';
import type { ProgressTracker } from './progress.js';
import type { DataHandler } from './transfer.js';

/**
 * MODE Z: the data connection's bytes inflated. zlib stops while its output is not read, so a
 * bomb costs a few chunks of memory; a stream cut short fails "compressed stream ended early".
 */
function inflated(readable: Readable): Readable {
  const inflate = createModeZInflate();
  readable.once('error', (err) => inflate.destroy(err));
  return readable.pipe(inflate);
}

/**
 * Socket -> (inflate, MODE Z) -> (ASCII decoder) -> destination; with `length`, stops after that
 * many bytes (a segment). Progress and `length` count the file's bytes, not the wire's.
 */
export function receiveInto(dest: Writable, opts: { ascii: boolean; inflate?: boolean; length: number | undefined; tracker: ProgressTracker }): DataHandler {
  return async ({ readable: socket }, signal) => {
    const readable = opts.inflate ? inflated(socket) : socket;
    if (opts.length !== undefined) return receiveBounded(readable, dest, opts.length, opts.tracker, signal);
    const stages: (NodeJS.ReadableStream | NodeJS.ReadWriteStream | NodeJS.WritableStream)[] = [readable];
    if (opts.ascii) stages.push(createAsciiDecoder());
    const done = pipeline([...stages, dest] as unknown as [Readable, Writable], { signal });
    // After pipeline() attached its own reader, so counting never steals data.
    readable.on('data', opts.tracker.add);
    await done;
    return 'complete';
  };
}

/**
 * lftp pget's trick: REST to the segment start, read exactly `length` bytes,
 * then close the data connection and ABOR (the caller settles the replies).
 */
async function receiveBounded(socket: Readable, dest: Writable, length: number, tracker: ProgressTracker, signal: AbortSignal): Promise<'complete' | 'stopped'> {
  let remaining = length;
  const onAbort = (): void => void socket.destroy(new FtpError('FTPKIT_ERR_ABORTED', 'the operation was aborted', { cause: signal.reason }));
  signal.addEventListener('abort', onAbort, { once: true });
  try {
    if (signal.aborted) onAbort();
    for await (const chunk of socket as AsyncIterable<Buffer>) {
      const part = chunk.length > remaining ? chunk.subarray(0, remaining) : chunk;
      remaining -= part.length;
      tracker.add(part.length);
      if (!dest.write(part)) await once(dest, 'drain', { signal });
      if (remaining === 0) break;
    }
    dest.end();
    await once(dest, 'finish', { signal });
  } catch (err) {
    dest.destroy();
    throw err;
  } finally {
    signal.removeEventListener('abort', onAbort);
  }
  return remaining === 0 ? 'stopped' : 'complete';
}

/**
 * Source -> (ASCII encoder) -> socket; the socket's end is the end of the file (MODE S).
 * A source that fails, or an abort, resets the connection first: pipeline() would close it
 * with a FIN, which the server reads as a complete file (see reset() in data-connection.ts).
 */
export function sendFrom(source: Readable, opts: { ascii: boolean; deflate?: boolean; tracker: ProgressTracker }): DataHandler {
  return async ({ socket }, signal) => {
    const broken = (): void => reset(socket);
    // Registered before pipeline's own listeners, so they run first.
    source.once('error', broken);
    signal.addEventListener('abort', broken, { once: true });
    try {
      const stages: (Readable | NodeJS.ReadWriteStream)[] = [source];
      if (opts.ascii) stages.push(createAsciiEncoder());
      if (opts.deflate) stages.push(createModeZDeflate(MODE_Z_DEFAULT_LEVEL)); // compress, then (PROT P) encrypt
      const done = pipeline([...stages, socket] as unknown as [Readable, Writable], { signal });
      source.on('data', opts.tracker.add);
      await done;
      return 'complete';
    } finally {
      source.off('error', broken);
      signal.removeEventListener('abort', broken);
    }
  };
}

/**
 * Blocks per upload and their size: one filling from the file while the other drains into the
 * socket. Measured on loopback: 2 x 2 MiB uploads as fast as curl; 64-256 KiB blocks ran at
 * about half (one thread-pool read per block).
 */
const UPLOAD_BLOCKS = 2;
const UPLOAD_BLOCK_SIZE = 2 * 1024 * 1024;

/**
 * A local file -> socket through two reused blocks (block-pump.ts): a stream
 * would allocate a fresh megabyte per chunk, a page fault per 4 KiB.
 */
export function sendFile(reader: BlockSource, length: number, tracker: ProgressTracker): DataHandler {
  return async ({ socket }, signal) => {
    const size = Math.max(1, Math.min(UPLOAD_BLOCK_SIZE, length));
    const free = Array.from({ length: UPLOAD_BLOCKS }, () => Buffer.allocUnsafeSlow(size));
    await pumpBlocks(reader, socket, signal, free, tracker.add);
    return 'complete';
  };
}

/** Collects a listing, refusing to buffer past `max` bytes (CVE-2026-41324 class): inflated bytes in MODE Z. */
export function collectListing(max: number, chunks: Buffer[], tracker: ProgressTracker, inflate = false): DataHandler {
  return async ({ readable }, signal) => {
    const socket = inflate ? inflated(readable) : readable;
    let total = 0;
    const onAbort = (): void => void socket.destroy(new FtpError('FTPKIT_ERR_ABORTED', 'the operation was aborted', { cause: signal.reason }));
    signal.addEventListener('abort', onAbort, { once: true });
    try {
      if (signal.aborted) onAbort();
      for await (const chunk of socket as AsyncIterable<Buffer>) {
        total += chunk.length;
        if (total > max) {
          throw new FtpError('FTPKIT_ERR_LISTING_TOO_LARGE', `the listing exceeded maxListingBytes (${max})`);
        }
        tracker.add(chunk.length);
        chunks.push(chunk);
      }
    } finally {
      signal.removeEventListener('abort', onAbort);
    }
    return 'complete';
  };
}
