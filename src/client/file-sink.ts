import fs from 'node:fs';
import type { FileHandle } from 'node:fs/promises';
import type net from 'node:net';
import type { ReadTarget } from './data-reader.js';
import type { ProgressTracker } from './progress.js';
import { abortError } from './queue.js';

/**
 * Size of each read, and of the blocks recycled between the socket and the file.
 * Measured on loopback: 64 KiB blocks beat 128 KiB and 1 MiB ones by 10-20%
 * (a block still in cache when its write copies it out).
 */
const BLOCK_SIZE = 64 * 1024;
/** Blocks per download (2 MiB): reads fill some while the file writes others. */
const BLOCKS = 32;

export interface FileSinkOptions {
  /** Where the first byte goes; null writes at the descriptor's position (pipes, devices). */
  position: number | null;
  /** Stop after this many bytes (a segment). */
  length: number | undefined;
  tracker: ProgressTracker;
}

/**
 * Socket reads straight into recycled blocks, written to the file by one
 * writer that batches whatever has queued into one writev (off the main
 * thread). Each block goes back to the pool once its write completes, so a
 * download allocates nothing per chunk: fresh 1 MiB buffers cost a page fault
 * per 4 KiB and ran downloads at about half speed. Reading pauses while every
 * spare block is queued.
 *
 * Resolves 'complete' when the stream ended, 'stopped' once `length` bytes are
 * written, and only after every write has settled, so the caller may close the
 * file; rejects with the write error (the socket is then destroyed) or with
 * the connection's error.
 */
export function writeToFile(
  conn: { socket: net.Socket; attach(target: ReadTarget): void },
  file: FileHandle,
  opts: FileSinkOptions,
  signal: AbortSignal,
): Promise<'complete' | 'stopped'> {
  const { socket } = conn;
  const own = new Map<ArrayBufferLike, Buffer>();
  const free: Buffer[] = [];
  for (let i = 0; i < BLOCKS; i++) {
    const block = Buffer.allocUnsafeSlow(BLOCK_SIZE);
    own.set(block.buffer, block);
    free.push(block);
  }
  const queue: Buffer[] = [];
  let position = opts.position;
  let remaining = opts.length;
  let writing = false;
  let paused = false;
  let outcome: 'complete' | 'stopped' | undefined;
  let failure: Error | undefined;

  return new Promise((resolve, reject) => {
    const settle = (): void => {
      if (writing || (failure === undefined && (outcome === undefined || queue.length > 0))) return;
      signal.removeEventListener('abort', onAbort);
      if (failure) reject(failure);
      else resolve(outcome!);
    };
    const fail = (err: Error): void => {
      failure ??= err;
      queue.length = 0;
      socket.destroy();
      settle();
    };
    const onAbort = (): void => fail(abortError(signal));

    const write = (): void => {
      if (writing || queue.length === 0 || failure) return;
      writing = true;
      const batch = queue.splice(0);
      const done = (err: Error | null, bytesWritten: number): void => {
        writing = false;
        if (err) return fail(err);
        if (position !== null) position += bytesWritten;
        // A short write (rare; a full disk reports ENOSPC on the next one) keeps the rest queued.
        let skip = bytesWritten;
        const rest: Buffer[] = [];
        for (const chunk of batch) {
          if (skip >= chunk.length) {
            skip -= chunk.length;
            const block = own.get(chunk.buffer);
            if (block) free.push(block);
          } else {
            rest.push(skip > 0 ? chunk.subarray(skip) : chunk);
            skip = 0;
          }
        }
        queue.unshift(...rest);
        if (paused && outcome === undefined && free.length > 1) {
          paused = false;
          socket.resume();
        }
        write();
        settle();
      };
      if (position === null) fs.writev(file.fd, batch, done);
      else fs.writev(file.fd, batch, position, done);
    };

    conn.attach({
      // After a pause the last spare block waits here for the next read (see onRead).
      buffer: () => free.pop() ?? Buffer.allocUnsafe(BLOCK_SIZE),
      onRead: (n, buf) => {
        if (outcome !== undefined || failure) return false;
        let length = n;
        if (remaining !== undefined) {
          length = Math.min(n, remaining);
          remaining -= length;
        }
        opts.tracker.add(length);
        queue.push(Buffer.from(buf.buffer, buf.byteOffset, length));
        write();
        if (remaining === 0) {
          outcome = 'stopped';
          settle();
          return false;
        }
        // Keep one block back for the read Node arms right after this callback.
        if (free.length <= 1) {
          paused = true;
          return false;
        }
        return true;
      },
      end: () => {
        outcome ??= 'complete';
        settle();
      },
      fail: (err) => {
        if (outcome === undefined) fail(err);
      },
    });
    signal.addEventListener('abort', onAbort, { once: true });
    if (signal.aborted) onAbort();
  });
}
