import { crc32 } from '../../util/crc32.js';

/*
 * The on-disk format of CompressedStorage: a sequence of gzip members (RFC 1952), so that
 * `zcat file` / `gzip -dc file` print the original bytes with ftpkit gone. Our bookkeeping lives
 * in FEXTRA subfields (RFC 1952 section 2.3.1.1) with the ids 'F','K' / 'F','I' / 'F','Z', which
 * gzip skips. Integers are little-endian, like the rest of gzip.
 *
 *   +-------------+-------------+-----+-------------+------------+-----+------------+---------+
 *   | data member | data member | ... | data member | index mbr  | ... | index mbr  | footer  |
 *   +-------------+-------------+-----+-------------+------------+-----+------------+---------+
 *   0                                               indexOffset                     size-58   size
 *
 * Data member (a complete gzip member holding 1..blockSize original bytes):
 *   1f 8b 08 04 | mtime 0 (4) | xfl 0 | os ff | XLEN=16 (2)
 *   'F' 'K' | LEN=12 (2) | memberLength u32 | dataLength u32 | blockSize u32     (28-byte header)
 *   raw deflate data | CRC32 u32 | ISIZE u32                                     (from zlib)
 * memberLength counts the whole member, so the members can be walked from the start (what a
 * file without its footer, left by a crash, is recovered by). A member never crosses a multiple
 * of blockSize in the original bytes: original byte `o` lies in logical block floor(o/blockSize),
 * and every logical block starts with a member (appends may add more members to the last one).
 *
 * Index member (an empty gzip member, decompresses to nothing):
 *   1f 8b 08 04 | 0 (4) | 0 | ff | XLEN (2) | 'F' 'I' | LEN (2) | LEN/8 x u64 | 03 00 | 0 (4) | 0 (4)
 * Entry k (k-th over all index members, INDEX_PER_MEMBER per member) is the file offset of the
 * first member of logical block k: a read from original offset `o` starts at entry floor(o/bs).
 *
 * Footer (an empty gzip member of exactly FOOTER_LENGTH = 58 bytes, last in the file):
 *   1f 8b 08 04 | 0 (4) | 0 | ff | XLEN=36 (2) | 'F' 'Z' | LEN=32 (2)
 *   version u8 (1) | flags u8 (0) | reserved u16 (0) | blockSize u32 | size u64 (original bytes)
 *   | indexOffset u64 | blockCount u32 | CRC32 of the 28 bytes before it u32
 *   03 00 | 0 (4) | 0 (4)
 *
 * A file is in our format when its footer is valid (ids, CRC, offsets adding up to the file's
 * length) AND its first member is a 'FK' data member of the same block size (or, for an empty
 * file, the footer is the whole file). A user's own gzip file never has both: it is stored
 * wrapped in our members like any other upload.
 */

export const GZIP_FIXED = 10;
/** gzip header with FEXTRA, our subfield, and the u16 XLEN. */
export const DATA_HEADER_LENGTH = 28;
/** CRC32 + ISIZE after the deflate data of every member. */
export const MEMBER_TRAILER_LENGTH = 8;
export const FOOTER_LENGTH = 58;
export const INDEX_PER_MEMBER = 8000;
/** Bytes before the first entry of an index member. */
export const INDEX_HEAD_LENGTH = 16;
/** Empty deflate (a final fixed-Huffman block holding only end-of-block), CRC32 0, ISIZE 0. */
const EMPTY_TAIL = Buffer.from([0x03, 0x00, 0, 0, 0, 0, 0, 0, 0, 0]);
const FULL_INDEX_MEMBER = INDEX_HEAD_LENGTH + INDEX_PER_MEMBER * 8 + EMPTY_TAIL.length;
const FORMAT_VERSION = 1;

export const MIN_BLOCK_SIZE = 4 * 1024;
export const MAX_BLOCK_SIZE = 16 * 1024 * 1024;

const ID_DATA = [0x46, 0x4b]; // 'FK'
const ID_INDEX = [0x46, 0x49]; // 'FI'
const ID_FOOTER = [0x46, 0x5a]; // 'FZ'

function gzipHead(xlen: number, size: number): Buffer {
  const b = Buffer.alloc(size);
  b[0] = 0x1f;
  b[1] = 0x8b;
  b[2] = 8; // deflate
  b[3] = 4; // FEXTRA
  b[9] = 0xff; // OS unknown; MTIME 0 = none (RFC 1952)
  b.writeUInt16LE(xlen, 10);
  return b;
}

function isOurHead(b: Buffer, id: readonly number[], xlen: number): boolean {
  return (
    b.length >= 16 &&
    b[0] === 0x1f &&
    b[1] === 0x8b &&
    b[2] === 8 &&
    b[3] === 4 &&
    b.readUInt16LE(10) === xlen &&
    b[12] === id[0] &&
    b[13] === id[1] &&
    b.readUInt16LE(14) === xlen - 4
  );
}

export interface DataHeader {
  memberLength: number;
  dataLength: number;
  blockSize: number;
}

export function dataHeader(h: DataHeader): Buffer {
  const b = gzipHead(16, DATA_HEADER_LENGTH);
  b[12] = ID_DATA[0]!;
  b[13] = ID_DATA[1]!;
  b.writeUInt16LE(12, 14);
  b.writeUInt32LE(h.memberLength, 16);
  b.writeUInt32LE(h.dataLength, 20);
  b.writeUInt32LE(h.blockSize, 24);
  return b;
}

/** The data member header at the start of `b`, if it is one of ours and plausible. */
export function parseDataHeader(b: Buffer): DataHeader | undefined {
  if (b.length < DATA_HEADER_LENGTH || !isOurHead(b, ID_DATA, 16)) return undefined;
  const h = { memberLength: b.readUInt32LE(16), dataLength: b.readUInt32LE(20), blockSize: b.readUInt32LE(24) };
  if (!validBlockSize(h.blockSize) || h.dataLength < 1 || h.dataLength > h.blockSize) return undefined;
  // The smallest deflate stream is 2 bytes (fixed-Huffman block holding only end-of-block).
  if (h.memberLength < DATA_HEADER_LENGTH + 2 + MEMBER_TRAILER_LENGTH) return undefined;
  return h;
}

export function validBlockSize(n: number): boolean {
  return Number.isSafeInteger(n) && n >= MIN_BLOCK_SIZE && n <= MAX_BLOCK_SIZE;
}

/**
 * A data member from zlib's gzip output for `dataLength` bytes: zlib's plain 10-byte header is
 * replaced by ours. Returned as [header, body] to spare a copy.
 */
export function dataMember(gz: Buffer, dataLength: number, blockSize: number): [Buffer, Buffer] {
  if (gz[3] !== 0) throw new Error('unexpected gzip header flags from zlib');
  const body = gz.subarray(GZIP_FIXED);
  return [dataHeader({ memberLength: DATA_HEADER_LENGTH + body.length, dataLength, blockSize }), body];
}

/**
 * zlib's gzip output shape (10-byte header, deflate, CRC32, ISIZE) for `data` in stored
 * deflate blocks (RFC 1951 section 3.2.4): what incompressible data is kept as. Built here
 * rather than by zlib level 0: a memory copy and a CRC, no zlib stream per block.
 */
export function storedGzip(data: Buffer, crc: (b: Buffer) => number): Buffer {
  const blocks = Math.max(1, Math.ceil(data.length / 65535));
  const out = Buffer.allocUnsafe(GZIP_FIXED + data.length + blocks * 5 + MEMBER_TRAILER_LENGTH);
  out.fill(0, 0, GZIP_FIXED);
  out[0] = 0x1f;
  out[1] = 0x8b;
  out[2] = 8;
  out[9] = 0xff;
  let at = GZIP_FIXED;
  for (let i = 0; i < blocks; i++) {
    const part = data.subarray(i * 65535, (i + 1) * 65535);
    out[at] = i === blocks - 1 ? 1 : 0; // BFINAL on the last, BTYPE 00 (stored)
    out.writeUInt16LE(part.length, at + 1);
    out.writeUInt16LE(~part.length & 0xffff, at + 3);
    at += 5;
    at += part.copy(out, at);
  }
  out.writeUInt32LE(crc(data) >>> 0, at);
  out.writeUInt32LE(data.length >>> 0, at + 4);
  return out;
}

/** Total length of the index members for `blockCount` entries. */
export function indexLength(blockCount: number): number {
  const full = Math.floor(blockCount / INDEX_PER_MEMBER);
  const rest = blockCount % INDEX_PER_MEMBER;
  return full * FULL_INDEX_MEMBER + (rest > 0 ? INDEX_HEAD_LENGTH + rest * 8 + EMPTY_TAIL.length : 0);
}

/** Where entry `k` lies in the file. */
export function indexEntryOffset(indexOffset: number, k: number): number {
  const member = Math.floor(k / INDEX_PER_MEMBER);
  return indexOffset + member * FULL_INDEX_MEMBER + INDEX_HEAD_LENGTH + (k % INDEX_PER_MEMBER) * 8;
}

/** The index members for `entries`, then the footer. */
export function indexAndFooter(entries: readonly number[], footer: Omit<Footer, 'blockCount'>): Buffer {
  const out = Buffer.alloc(indexLength(entries.length) + FOOTER_LENGTH);
  let at = 0;
  for (let first = 0; first < entries.length; first += INDEX_PER_MEMBER) {
    const n = Math.min(INDEX_PER_MEMBER, entries.length - first);
    const xlen = 4 + n * 8;
    const head = gzipHead(xlen, INDEX_HEAD_LENGTH);
    head[12] = ID_INDEX[0]!;
    head[13] = ID_INDEX[1]!;
    head.writeUInt16LE(n * 8, 14);
    at += head.copy(out, at);
    for (let i = 0; i < n; i++) {
      out.writeBigUInt64LE(BigInt(entries[first + i]!), at);
      at += 8;
    }
    at += EMPTY_TAIL.copy(out, at);
  }
  writeFooter(out.subarray(at), { ...footer, blockCount: entries.length });
  return out;
}

/** Parses the index members in `b` (all of them, as written by indexAndFooter). */
export function parseIndex(b: Buffer, blockCount: number): number[] | undefined {
  if (b.length !== indexLength(blockCount)) return undefined;
  const entries: number[] = [];
  let at = 0;
  while (entries.length < blockCount) {
    const n = Math.min(INDEX_PER_MEMBER, blockCount - entries.length);
    if (!isOurHead(b.subarray(at), ID_INDEX, 4 + n * 8)) return undefined;
    at += INDEX_HEAD_LENGTH;
    for (let i = 0; i < n; i++, at += 8) entries.push(readOffset(b, at));
    if (!b.subarray(at, at + EMPTY_TAIL.length).equals(EMPTY_TAIL)) return undefined;
    at += EMPTY_TAIL.length;
  }
  return entries;
}

export function readOffset(b: Buffer, at: number): number {
  const v = b.readBigUInt64LE(at);
  return v > BigInt(Number.MAX_SAFE_INTEGER) ? -1 : Number(v);
}

export interface Footer {
  blockSize: number;
  /** Original bytes. */
  size: number;
  /** File offset of the first index member, which is also the end of the data members. */
  indexOffset: number;
  blockCount: number;
}

function writeFooter(b: Buffer, f: Footer): void {
  gzipHead(36, 16).copy(b);
  b[12] = ID_FOOTER[0]!;
  b[13] = ID_FOOTER[1]!;
  b.writeUInt16LE(32, 14);
  const fields = b.subarray(16, 48);
  fields[0] = FORMAT_VERSION;
  fields.writeUInt32LE(f.blockSize, 4);
  fields.writeBigUInt64LE(BigInt(f.size), 8);
  fields.writeBigUInt64LE(BigInt(f.indexOffset), 16);
  fields.writeUInt32LE(f.blockCount, 24);
  fields.writeUInt32LE(crc32(fields.subarray(0, 28)), 28);
  EMPTY_TAIL.copy(b, 48);
}

/**
 * The footer in the last FOOTER_LENGTH bytes `b` of a file of `fileLength` bytes, when it is
 * valid and consistent with that length.
 */
export function parseFooter(b: Buffer, fileLength: number): Footer | undefined {
  if (b.length !== FOOTER_LENGTH || !isOurHead(b, ID_FOOTER, 36)) return undefined;
  const fields = b.subarray(16, 48);
  if (fields[0] !== FORMAT_VERSION || fields.readUInt32LE(28) !== crc32(fields.subarray(0, 28))) return undefined;
  if (!b.subarray(48).equals(EMPTY_TAIL)) return undefined;
  const f: Footer = {
    blockSize: fields.readUInt32LE(4),
    size: readOffset(fields, 8),
    indexOffset: readOffset(fields, 16),
    blockCount: fields.readUInt32LE(24),
  };
  if (!validBlockSize(f.blockSize) || f.size < 0 || f.indexOffset < 0) return undefined;
  if (f.blockCount !== Math.ceil(f.size / f.blockSize)) return undefined;
  if (f.indexOffset + indexLength(f.blockCount) + FOOTER_LENGTH !== fileLength) return undefined;
  if ((f.blockCount === 0) !== (f.indexOffset === 0)) return undefined;
  return f;
}
