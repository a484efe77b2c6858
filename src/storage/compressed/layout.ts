import { randomBytes } from 'node:crypto';
import type { Readable } from 'node:stream';
import { createGunzip } from 'node:zlib';
import type { Storage, StorageStat } from '../types.js';
import { storageError } from '../types.js';
import {
  DATA_HEADER_LENGTH,
  FOOTER_LENGTH,
  indexEntryOffset,
  parseDataHeader,
  parseFooter,
  parseIndex,
  readOffset,
} from './format.js';

/** What a file on the inner storage is, seen by CompressedStorage. */
export type Layout =
  | { kind: 'plain'; stat: StorageStat; size: number }
  | Packed
  | Unfinished;

/** In our format with a valid footer. */
export interface Packed {
  kind: 'packed';
  stat: StorageStat;
  size: number;
  blockSize: number;
  blockCount: number;
  /** End of the data members, start of the index. */
  dataEnd: number;
  /** The file's length on the inner storage. */
  length: number;
}

/**
 * Our members without a valid footer: a write in progress, or one a crash interrupted. The
 * members were walked from the start; `dataEnd` is where the last complete one ends.
 */
export interface Unfinished {
  kind: 'partial';
  stat: StorageStat;
  size: number;
  blockSize: number;
  blockCount: number;
  dataEnd: number;
  length: number;
  entries: number[];
}

/** Files up to this length are read whole to find their layout (one read instead of two). */
const SMALL_FILE = 64 * 1024;

/** Bytes [start, start + length) of a file (fewer at its end). */
export async function readRange(inner: Storage, vpath: string, start: number, length: number): Promise<Buffer> {
  if (length <= 0) return Buffer.alloc(0);
  return collect(await inner.createReadStream(vpath, { start, end: start + length - 1 }));
}

export async function collect(stream: Readable): Promise<Buffer> {
  const chunks: Buffer[] = [];
  for await (const chunk of stream) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks);
}

/**
 * The layout of a regular file whose inner stat is `stat`. `walk: false` (listings) does not
 * walk a file without footer: it is reported as plain, at its length on the inner storage.
 */
export async function inspect(inner: Storage, vpath: string, stat: StorageStat, options: { walk?: boolean } = {}): Promise<Layout> {
  const length = stat.size;
  const plain = { kind: 'plain', stat, size: length } as const;
  if (length < Math.min(DATA_HEADER_LENGTH, FOOTER_LENGTH)) return plain;
  let head: Buffer;
  let tail: Buffer;
  if (length <= SMALL_FILE) {
    const whole = await readRange(inner, vpath, 0, length);
    if (whole.length !== length) return plain; // changed meanwhile: take it as it is
    head = whole.subarray(0, DATA_HEADER_LENGTH);
    tail = whole.subarray(Math.max(0, length - FOOTER_LENGTH));
  } else {
    [head, tail] = await Promise.all([readRange(inner, vpath, 0, DATA_HEADER_LENGTH), readRange(inner, vpath, length - FOOTER_LENGTH, FOOTER_LENGTH)]);
  }
  const first = parseDataHeader(head);
  const footer = parseFooter(tail, length);
  if (footer && (footer.blockCount === 0 ? length === FOOTER_LENGTH : first?.blockSize === footer.blockSize)) {
    return { kind: 'packed', stat, size: footer.size, blockSize: footer.blockSize, blockCount: footer.blockCount, dataEnd: footer.indexOffset, length };
  }
  if (!first || options.walk === false) return plain;
  return walk(inner, vpath, stat, first.blockSize);
}

/**
 * Recovers a file without its footer by walking its members from the start (O(file): only
 * for files a crash or a running write left so). The last complete member is decompressed to
 * check it: a write cut by kill -9 may have left it torn.
 */
async function walk(inner: Storage, vpath: string, stat: StorageStat, blockSize: number): Promise<Unfinished> {
  const length = stat.size;
  const entries: number[] = [];
  const header = Buffer.alloc(DATA_HEADER_LENGTH);
  let have = 0;
  let next = 0; // file offset of the next member
  let size = 0;
  let last: { at: number; memberLength: number; dataLength: number } | undefined;
  let stop = false;
  const stream = await inner.createReadStream(vpath, { start: 0, end: length - 1 });
  let pos = 0;
  try {
    for await (const c of stream) {
      const chunk = c as Buffer;
      let i = 0;
      while (i < chunk.length && !stop) {
        const abs = pos + i;
        if (abs < next) {
          i += Math.min(chunk.length - i, next - abs);
          continue;
        }
        const take = Math.min(DATA_HEADER_LENGTH - have, chunk.length - i);
        chunk.copy(header, have, i, i + take);
        have += take;
        i += take;
        if (have < DATA_HEADER_LENGTH) continue;
        have = 0;
        const h = parseDataHeader(header);
        const within = size % blockSize;
        if (!h || h.blockSize !== blockSize || within + h.dataLength > blockSize || next + h.memberLength > length) {
          stop = true;
          break;
        }
        if (within === 0) entries.push(next);
        last = { at: next, memberLength: h.memberLength, dataLength: h.dataLength };
        size += h.dataLength;
        next += h.memberLength;
      }
      pos += chunk.length;
      if (stop) break;
    }
  } finally {
    stream.destroy();
  }
  if (last) {
    const member = await readRange(inner, vpath, last.at, last.memberLength);
    const ok = await gunzipBuffer(member).then(
      (data) => data.length === last.dataLength,
      () => false,
    );
    if (!ok) {
      size -= last.dataLength;
      next = last.at;
      if (entries[entries.length - 1] === last.at) entries.pop();
    }
  }
  return { kind: 'partial', stat, size, blockSize, blockCount: entries.length, dataEnd: next, length, entries };
}

function gunzipBuffer(data: Buffer): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const z = createGunzip();
    const chunks: Buffer[] = [];
    z.on('data', (c: Buffer) => chunks.push(c));
    z.on('error', reject);
    z.on('end', () => resolve(Buffer.concat(chunks)));
    z.end(data);
  });
}

/** Offset of the first member of logical block `k` (k < blockCount). */
export async function entryAt(inner: Storage, vpath: string, layout: Packed | Unfinished, k: number): Promise<number> {
  let at: number;
  if (layout.kind === 'partial') at = layout.entries[k]!;
  else {
    const b = await readRange(inner, vpath, indexEntryOffset(layout.dataEnd, k), 8);
    at = b.length === 8 ? readOffset(b, 0) : -1;
  }
  if (!(at >= 0 && at < layout.dataEnd)) throw storageError('EIO', vpath);
  return at;
}

/** All the index entries. */
export async function readEntries(inner: Storage, vpath: string, layout: Packed | Unfinished): Promise<number[]> {
  if (layout.kind === 'partial') return layout.entries.slice();
  const b = await readRange(inner, vpath, layout.dataEnd, layout.length - FOOTER_LENGTH - layout.dataEnd);
  const entries = parseIndex(b, layout.blockCount);
  if (!entries || entries.some((e, i) => e < 0 || e >= layout.dataEnd || (i > 0 && e <= entries[i - 1]!))) throw storageError('EIO', vpath);
  return entries;
}

/** Name of a rewrite's temporary (hidden from listings). */
export const REWRITE_PREFIX = '.ftpkit-rewrite-';

export function rewriteName(): string {
  return REWRITE_PREFIX + randomBytes(8).toString('hex');
}
