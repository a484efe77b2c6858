import { close, read } from 'node:fs';

export interface FdReader {
  read(into: Buffer): Promise<number>;
  close(): Promise<void>;
  /** The descriptor and range, for zero-copy senders (which then replace read()). */
  readonly file: { fd: number; start: number; stop: number };
}

/**
 * Positional reads of bytes [start, stop) of an open descriptor, off the main
 * thread. close() waits for a read in flight (the descriptor must not be
 * reused under it) and is idempotent; `mapError` turns host errors into the
 * caller's (LocalStorage hides host paths); `release` replaces closing the
 * descriptor (a FileHandle owns its own).
 */
export function fdReader(fd: number, start: number, stop: number, opts: {
  mapError?: (err: NodeJS.ErrnoException) => Error;
  release?: () => Promise<void>;
} = {}): FdReader {
  const { mapError = (e) => e, release = () => new Promise<void>((resolve) => close(fd, () => resolve())) } = opts;
  let position = start;
  let closed: Promise<void> | undefined;
  let pending: Promise<unknown> = Promise.resolve();
  return {
    file: { fd, start, stop },
    read: (into) => {
      const length = Math.min(into.length, stop - position);
      if (closed || length <= 0) return Promise.resolve(0);
      const next = new Promise<number>((resolve, reject) => {
        read(fd, into, 0, length, position, (err, n) => {
          if (err) return reject(mapError(err));
          position += n;
          resolve(n);
        });
      });
      pending = next.catch(() => {});
      return next;
    },
    close: () => (closed ??= pending.then(release).catch(() => {})),
  };
}
