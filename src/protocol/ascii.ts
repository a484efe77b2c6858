import { Transform, type TransformCallback } from 'node:stream';

const CR = 0x0d;
const LF = 0x0a;

/**
 * TYPE A sending (RFC 959 §3.1.1.1): every LF goes out as CRLF. A CRLF already
 * in the data is not doubled and a bare CR is kept. Whether the byte before a
 * LF was a CR is remembered across chunks, so any chunking gives the same bytes.
 */
export function createAsciiEncoder(): Transform {
  let prevCr = false;
  return new Transform({
    transform(chunk: Buffer, _enc: BufferEncoding, cb: TransformCallback): void {
      const parts: Buffer[] = [];
      let start = 0;
      let lf = chunk.indexOf(LF);
      while (lf !== -1) {
        const before = lf > 0 ? chunk[lf - 1] === CR : prevCr;
        if (!before) {
          parts.push(chunk.subarray(start, lf), CRLF);
          start = lf + 1;
        }
        lf = chunk.indexOf(LF, lf + 1);
      }
      if (chunk.length > 0) prevCr = chunk[chunk.length - 1] === CR;
      if (start === 0) {
        cb(null, chunk);
        return;
      }
      parts.push(chunk.subarray(start));
      cb(null, Buffer.concat(parts));
    },
  });
}

const CRLF = Buffer.from('\r\n');

/**
 * TYPE A receiving: CRLF becomes LF, a bare CR is kept. A CR at the end of a
 * chunk is held until the next chunk shows whether a LF follows (or until the
 * stream ends, when it is flushed as-is).
 */
export function createAsciiDecoder(): Transform {
  let heldCr = false;
  return new Transform({
    transform(chunk: Buffer, _enc: BufferEncoding, cb: TransformCallback): void {
      if (chunk.length === 0) {
        cb();
        return;
      }
      const parts: Buffer[] = [];
      let start = 0;
      if (heldCr) {
        heldCr = false;
        // The held CR is dropped when this chunk starts with LF, else emitted.
        if (chunk[0] !== LF) parts.push(CR_BUF);
      }
      let cr = chunk.indexOf(CR);
      while (cr !== -1) {
        if (cr === chunk.length - 1) {
          parts.push(chunk.subarray(start, cr));
          heldCr = true;
          start = chunk.length;
          break;
        }
        if (chunk[cr + 1] === LF) {
          parts.push(chunk.subarray(start, cr));
          start = cr + 1; // keep the LF
        }
        cr = chunk.indexOf(CR, cr + 1);
      }
      if (start < chunk.length) parts.push(chunk.subarray(start));
      cb(null, parts.length === 1 ? parts[0] : Buffer.concat(parts));
    },
    flush(cb: TransformCallback): void {
      cb(null, heldCr ? CR_BUF : undefined);
    },
  });
}

const CR_BUF = Buffer.from('\r');
