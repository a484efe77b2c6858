import type { Socket } from 'node:net';
import { Transform, type Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import type { BlockReader, ReadOptions, Storage } from '../storage/index.js';
import { sendEncoded, type WireCoding } from './mode-z.js';
import { sendBlocks } from './send-blocks.js';

/**
 * A file being downloaded (the server's RETR): the data layer picks how its bytes reach the
 * socket. Binary, MODE S and unpaced, from a storage with a block reader: the file -> socket
 * sender (zero-copy or reused blocks, send-blocks.ts). Otherwise the storage's stream, encoded
 * (TYPE A, MODE Z) and paced.
 */
export interface Download {
  /** Sends the bytes; resolves once the socket has ended after the last one. */
  send(socket: Socket, signal: AbortSignal): Promise<void>;
  /** Closes the file (its reader or stream); safe to call again. */
  close(): Promise<void>;
}

export interface DownloadOptions {
  coding: WireCoding;
  /** The user's download rate applies: the stream goes through `pace`, never a fast path. */
  paced: boolean;
  pace(source: Readable, signal: AbortSignal): Readable;
  /** A range: the bytes must arrive whole; a file that shrinks meanwhile fails (451), not a short 226. */
  exact: boolean;
  /** The `zeroCopy` option. */
  zeroCopy: boolean;
}

/** Opens `path`'s bytes `read.start`..`read.end` (inclusive; `length` of them) for sending. */
export async function openDownload(storage: Storage, path: string, read: ReadOptions & { start: number }, length: number, opts: DownloadOptions): Promise<Download> {
  const fast = !opts.coding.ascii && opts.coding.deflateLevel === undefined && !opts.paced && storage.openReader !== undefined;
  if (fast) {
    const opened = await storage.openReader!(path, read);
    const reader = opts.exact ? exactReader(opened, length) : opened;
    let closed: Promise<void> | undefined;
    return {
      send: (socket, signal) => sendBlocks(reader, socket, signal, length, { zeroCopy: opts.zeroCopy }),
      close: () => (closed ??= opened.close()),
    };
  }
  const stream = await storage.createReadStream(path, read);
  stream.on('error', () => {}); // surfaces through the pipeline
  return {
    send(socket, signal) {
      // A range's bytes are counted before any encoding (TYPE A, MODE Z).
      let source: Readable = stream;
      if (opts.exact) {
        const counted = lengthCheck(length);
        pipeline(stream, counted).catch(() => {}); // an error destroys both; sendEncoded sees it
        source = counted;
      }
      return sendEncoded(source, opts.coding, socket, signal, (r) => opts.pace(r, signal));
    },
    close: async () => void stream.destroy(),
  };
}

/** The error a read that came up short fails with (a file shrinking meanwhile): answered 451. */
export function truncatedError(got: number, wanted: number): Error {
  return Object.assign(new Error(`file ended after ${got} of ${wanted} bytes (truncated during the transfer)`), { code: 'ERR_FILE_TRUNCATED' });
}

/**
 * A reader that must deliver exactly `length` bytes: one that ends sooner fails, so the
 * transfer answers 451 instead of 226 over a short file (the zero-copy sender does the same).
 */
function exactReader(reader: BlockReader, length: number): BlockReader {
  let got = 0;
  const wrapped: BlockReader = {
    read: async (into) => {
      const n = await reader.read(into.length > length - got ? into.subarray(0, Math.max(0, length - got)) : into);
      got += n;
      if (n === 0 && got < length) throw truncatedError(got, length);
      return n;
    },
    close: () => reader.close(),
  };
  if (reader.file) Object.defineProperty(wrapped, 'file', { value: reader.file, enumerable: true });
  return wrapped;
}

/** The stream twin of exactReader, as a pipeline stage: fails at the end when fewer than `length` bytes passed. */
function lengthCheck(length: number): Transform {
  let got = 0;
  return new Transform({
    transform(chunk: Buffer, _encoding, callback) {
      got += chunk.length;
      callback(null, chunk);
    },
    flush(callback) {
      callback(got < length ? truncatedError(got, length) : null);
    },
  });
}
