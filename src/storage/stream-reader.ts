import type { Readable } from 'node:stream';
import type { BlockReader } from './types.js';

/**
 * A BlockReader over a Readable, copying its chunks into the caller's buffers.
 * LocalStorage uses it when a subclass reshapes createReadStream (filters,
 * decryption), so RETR still sends exactly what that stream gives.
 */
export function readerFromStream(stream: Readable): BlockReader {
  const chunks = stream[Symbol.asyncIterator]() as AsyncIterator<Buffer>;
  let rest: Buffer | undefined;
  let done = false;
  return {
    async read(into) {
      let filled = 0;
      while (filled < into.length && !done) {
        if (!rest) {
          const next = await chunks.next();
          if (next.done) {
            done = true;
            break;
          }
          rest = next.value;
        }
        const n = rest.copy(into, filled);
        filled += n;
        rest = n < rest.length ? rest.subarray(n) : undefined;
      }
      return filled;
    },
    async close() {
      done = true;
      stream.destroy();
    },
  };
}
