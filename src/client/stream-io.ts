import { once } from 'node:events';
import type { Readable, Writable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { FtpError } from '../errors.js';
import { createAsciiDecoder, createAsciiEncoder } from '../protocol/index.js';
import { fdSink, receiveBlocks } from '../data/receive-blocks.js';
import { canReceiveZeroCopy, receiveFileZeroCopy } from '../data/receive-file.js';
import { sendBlocks, type FileSource } from '../data/send-blocks.js';
import { createModeZDeflate, createModeZInflate, MODE_Z_DEFAULT_LEVEL } from '../data/mode-z.js';
import { abortError } from './queue.js';
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
 * A local file -> socket through the data layer's one sender (data/send-blocks.ts): sendfile(2)
 * on a clear connection when the addon is there, else two reused blocks (a stream would allocate
 * a fresh megabyte per chunk, a page fault per 4 KiB).
 */
export function sendFile(reader: FileSource, length: number, tracker: ProgressTracker): DataHandler {
  return async ({ socket }, signal) => {
    await sendBlocks(reader, socket, signal, length, { onSent: tracker.add });
    return 'complete';
  };
}

/**
 * Blocks per download and their size. Measured on loopback into /dev/shm: 8 x 256 KiB kept
 * up with curl where 32 x 64 KiB (one read per block) lost a few percent; 2 MiB in all.
 */
const DOWNLOAD_BLOCKS = 8;
const DOWNLOAD_BLOCK_SIZE = 256 * 1024;

/**
 * Socket -> local file through the data layer: on a clear connection the addon's thread reads
 * the socket and writes each read at once (data/receive-file.ts); otherwise reads land in
 * reused blocks and go to the file in batched positional writes (data/receive-blocks.ts).
 * `position` null writes at the descriptor's offset (pipes, devices); `length` stops after a
 * segment. Settles only after every write has, so the caller may close the file.
 */
export function receiveToFile(fd: number, opts: { position: number | null; length: number | undefined; tracker: ProgressTracker }): DataHandler {
  return async (conn, signal) => {
    if (!conn.attach) throw new Error('receiveToFile needs a large-read connection');
    if (canReceiveZeroCopy(conn.socket, { afterHandOver: true }) && conn.handOver?.()) {
      try {
        const n = await receiveFileZeroCopy(conn.socket, fd, opts.position, signal, {
          ...(opts.length !== undefined ? { limit: opts.length } : {}),
          onBytes: opts.tracker.add,
        });
        if (opts.length !== undefined && n >= opts.length) return 'stopped';
        conn.socket.end(); // as Node ends a socket after the peer's end (the server may wait for it)
        return 'complete';
      } catch (err) {
        throw signal.aborted ? abortError(signal) : err;
      }
    }
    const blocks = Array.from({ length: DOWNLOAD_BLOCKS }, () => Buffer.allocUnsafeSlow(DOWNLOAD_BLOCK_SIZE));
    try {
      return await receiveBlocks({ socket: conn.socket, attach: conn.attach }, fdSink(fd, opts.position), {
        signal,
        blocks,
        ...(opts.length !== undefined ? { length: opts.length } : {}),
        onBytes: opts.tracker.add,
      });
    } catch (err) {
      throw signal.aborted ? abortError(signal) : err;
    }
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
