import { createDeflate, createInflate, constants, type Deflate, type Inflate } from 'node:zlib';
import { Readable, type Transform, type Writable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { createAsciiDecoder, createAsciiEncoder } from '../protocol/index.js';

/**
 * MODE Z (draft-preston-ftpext-deflate): each transfer is one zlib-format stream, RFC 1950's
 * two-byte header, deflate data, then the Adler-32 of the uncompressed bytes. Raw deflate
 * (no header) is what some servers wrongly send and lftp then fails with "incorrect header
 * check"; node:zlib's createDeflate/createInflate are the zlib format.
 *
 * Where the transform sits on the data path (server and client alike):
 *
 *   send:     file -> [TYPE A: LF to CRLF] -> deflate -> [TLS] -> socket
 *   receive:  socket -> [TLS] -> inflate -> [TYPE A: CRLF to LF] -> file
 *
 * so TYPE A converts the uncompressed text (as ProFTPD does), PROT P encrypts the compressed
 * bytes, and REST offsets count uncompressed bytes. zlib's streams work in chunks of
 * `chunkSize` and stop inflating while their output is not read, so a bomb (GiBs of zeros in
 * a few hundred KB) costs a few chunks of memory, never its inflated size.
 */

/** The data did not form a zlib stream (a bad header, an invalid block, a wrong checksum). */
export const MODE_Z_INVALID = 'FTPKIT_ERR_MODE_Z_INVALID';
/** The data ended before the zlib stream did: part of the file is missing. */
export const MODE_Z_TRUNCATED = 'FTPKIT_ERR_MODE_Z_TRUNCATED';

/** Default compression level: zlib's own default, the usual balance of speed and size. */
export const MODE_Z_DEFAULT_LEVEL = 6;

/** zlib's chunk size for the data path: its output arrives in pieces of at most this. */
const CHUNK = 64 * 1024;

/** How one transfer's bytes are represented on the wire. */
export interface WireCoding {
  /** TYPE A: the text is converted to and from CRLF. */
  ascii: boolean;
  /** MODE Z at this level (0-9); undefined in MODE S. */
  deflateLevel: number | undefined;
}

/** A zlib-format compressor at `level`. */
export function createModeZDeflate(level: number): Deflate {
  return createDeflate({ level, chunkSize: CHUNK });
}

/**
 * A zlib-format decompressor whose failures carry MODE_Z_INVALID or MODE_Z_TRUNCATED and a
 * message naming the cause ("invalid compressed data: incorrect header check", "compressed
 * stream ended early"), in place of zlib's own codes. Bytes after the stream's end are ignored.
 */
export function createModeZInflate(): Inflate {
  const inflate = createInflate({ chunkSize: CHUNK });
  // Runs before every other 'error' listener (pipeline's included), so they all see the mapped error.
  inflate.prependListener('error', renameZlibError);
  return inflate;
}

function renameZlibError(err: NodeJS.ErrnoException): void {
  // zlib ends a stream cut short with Z_BUF_ERROR "unexpected end of file".
  if (err.errno === constants.Z_BUF_ERROR) {
    err.code = MODE_Z_TRUNCATED;
    err.message = 'compressed stream ended early';
  } else if (err.code?.startsWith('Z_')) {
    err.message = `invalid compressed data: ${err.message}`;
    err.code = MODE_Z_INVALID;
  }
}

/** The stages between the file and the socket, in order (none in MODE S with TYPE I). */
export function encodingStages(coding: WireCoding): Transform[] {
  const stages: Transform[] = [];
  if (coding.ascii) stages.push(createAsciiEncoder());
  if (coding.deflateLevel !== undefined) stages.push(createModeZDeflate(coding.deflateLevel));
  return stages;
}

/** The stages between the socket and the file, in order. */
export function decodingStages(coding: WireCoding): Transform[] {
  const stages: Transform[] = [];
  if (coding.deflateLevel !== undefined) stages.push(createModeZInflate());
  if (coding.ascii) stages.push(createAsciiDecoder());
  return stages;
}

/** True for the failures of an inflating stage (a corrupt or truncated MODE Z stream). */
export function isModeZError(err: unknown): boolean {
  const code = (err as { code?: unknown } | null)?.code;
  return code === MODE_Z_INVALID || code === MODE_Z_TRUNCATED;
}

/**
 * `source` (a file's bytes, a listing's lines) through the coding's stages into `socket`, with
 * backpressure all the way: zlib compresses only what the socket takes. `pace` (a download
 * rate) slows the bytes on the wire: the file's in MODE S, the compressed ones in MODE Z.
 */
export function sendEncoded(source: Readable, coding: WireCoding, socket: Writable, signal: AbortSignal, pace?: (r: Readable) => Readable): Promise<void> {
  const stages: (Readable | Transform | ((s: AsyncIterable<Buffer>) => Readable))[] = [];
  if (pace && coding.deflateLevel === undefined) stages.push(pace(source));
  else stages.push(source);
  stages.push(...encodingStages(coding));
  if (pace && coding.deflateLevel !== undefined) stages.push((s) => pace(Readable.from(s, { objectMode: false })));
  return pipeline([...stages, socket] as unknown as [Readable, Writable], { signal });
}
