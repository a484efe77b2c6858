import { Readable, Transform, pipeline, type TransformCallback } from 'node:stream';
import { createGunzip } from 'node:zlib';
import { storageError } from '../types.js';

const OUT_HIGH_WATER_MARK = 64 * 1024;

/**
 * The original bytes from compressed members: `source` holds whole members starting at
 * original offset `base`; the result skips `skip` bytes of their output and gives the next
 * `length`. Node's gunzip reads concatenated members and checks each one's CRC32 and ISIZE.
 * Any failure of the compressed data (bad deflate, CRC, truncation) is EIO for the caller.
 */
export function inflateRange(source: Readable, skip: number, length: number, vpath: string): Readable {
  if (length === 0) {
    source.destroy();
    return Readable.from([]);
  }
  const gunzip = createGunzip({ chunkSize: 64 * 1024 });
  let toSkip = skip;
  let left = length;
  const slicer = new Transform({
    readableHighWaterMark: OUT_HIGH_WATER_MARK,
    transform(chunk: Buffer, _encoding, callback: TransformCallback) {
      let c = chunk;
      if (toSkip > 0) {
        const n = Math.min(toSkip, c.length);
        toSkip -= n;
        c = c.subarray(n);
      }
      if (left > 0 && c.length > 0) {
        const out = c.length > left ? c.subarray(0, left) : c;
        left -= out.length;
        callback(null, out);
        return;
      }
      callback();
    },
    flush(callback: TransformCallback) {
      // Members ended before the bytes the index promised: the file is damaged.
      callback(left > 0 ? storageError('EIO', vpath) : null);
    },
  });
  // Registered before pipeline's own handlers, so the caller sees EIO, not zlib's message.
  gunzip.once('error', () => slicer.destroy(storageError('EIO', vpath)));
  pipeline(source, gunzip, slicer, () => {});
  return slicer;
}
