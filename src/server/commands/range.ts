import { Transform } from 'node:stream';
import type { BlockReader } from '../../storage/index.js';
import type { CommandSpec } from '../command.js';
import type { Session } from '../session.js';

/**
 * RANG (draft-bryan-ftp-range-08), as ProFTPD implements it: the next RETR sends bytes
 * start..end, both inclusive, and the data connection closes after them, so a client reads
 * a slice without ABOR.
 *
 *   RANG 1000 1999  ->  350 Transferring bytes 1000-1999 (1000 bytes). Send RETR
 *   RETR clip.mp4   ->  150 ... (1000 bytes)  ==== 1000 bytes ====  226
 *
 * `RANG 1 0` resets (draft section 3). REST replaces a RANG and RANG a REST: both set
 * session.restOffset, RANG also session.rangeEnd. Out-of-file ranges are refused by the
 * RETR (draft 4.3: errors other than syntax come with the transfer command): a start past
 * the end answers 554 like REST does; an end past it is cut at the last byte (draft 4.3).
 */
export const RANG: CommandSpec = {
  verbs: ['RANG'],
  help: 'RANG <start> <end>',
  feat: ['RANG STREAM'],
  handler(session, arg) {
    const m = /^(\d{1,20}) +(\d{1,20})$/.exec(arg.trim());
    const start = m ? Number(m[1]) : NaN;
    const end = m ? Number(m[2]) : NaN;
    // A refused RANG leaves the whole file selected (draft section 3).
    clearRange(session);
    if (!Number.isSafeInteger(start) || !Number.isSafeInteger(end)) {
      return session.reply(501, 'RANG needs two byte positions: RANG <start> <end>');
    }
    if (start === 1 && end === 0) return session.reply(350, 'Byte range reset');
    if (end < start) return session.reply(501, 'RANG end must not be before its start');
    // Draft section 5: byte positions mean nothing once TYPE A rewrites line ends.
    if (session.type !== 'I') return session.reply(551, 'RANG needs TYPE I');
    session.restOffset = start;
    session.rangeEnd = end;
    session.reply(350, `Transferring bytes ${start}-${end} (${end - start + 1} bytes). Send RETR`);
  },
};

/** Forgets a REST or RANG selection. */
export function clearRange(session: Session): void {
  session.restOffset = 0;
  session.rangeEnd = undefined;
}

/** The error a read that came up short fails with (a file shrinking meanwhile): answered 451. */
export function truncatedError(got: number, wanted: number): Error {
  return Object.assign(new Error(`file ended after ${got} of ${wanted} bytes (truncated during the transfer)`), { code: 'ERR_FILE_TRUNCATED' });
}

/**
 * A reader that must deliver exactly `length` bytes: one that ends sooner fails, so the
 * transfer answers 451 instead of 226 over a short file (the zero-copy sender does the same).
 */
export function exactReader(reader: BlockReader, length: number): BlockReader {
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
export function lengthCheck(length: number): Transform {
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
