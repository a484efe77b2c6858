import type { Socket } from 'node:net';

/** What a block pump reads from: a file, or anything shaped like one. */
export interface BlockSource {
  /** Fills `into` from where the last read stopped; resolves the byte count, 0 at the end. */
  read(into: Buffer): Promise<number>;
}

/**
 * Source -> socket through a few reused buffers. A block is read again only
 * once the socket has taken all of it (the write's callback), which is also
 * the backpressure: at most `free.length` blocks are ever in flight. Resolves
 * when the socket has ended; rejects on a read error, a socket error or
 * close, or an abort. When it settles, `free` holds exactly the blocks no
 * read or write still uses (the others must not be reused). `onSent` sees
 * each block's byte count as it is queued on the socket.
 */
export function pumpBlocks(source: BlockSource, socket: Socket, signal: AbortSignal, free: Buffer[], onSent?: (n: number) => void): Promise<void> {
  return new Promise((resolve, reject) => {
    let reading = false;
    let writing = 0;
    let eof = false;
    let settled = false;
    const finish = (err?: Error): void => {
      if (settled) return;
      settled = true;
      socket.off('close', onClose);
      socket.off('error', finish);
      signal.removeEventListener('abort', onAbort);
      if (err) reject(err);
      else resolve();
    };
    const onClose = (): void => {
      const err = socket.errored;
      finish(err instanceof Error ? err : Object.assign(new Error('the data connection closed early'), { code: 'ERR_STREAM_PREMATURE_CLOSE' }));
    };
    const onAbort = (): void => finish(signal.reason instanceof Error ? signal.reason : new Error('aborted'));
    const next = (): void => {
      if (settled || reading || eof || free.length === 0) return;
      reading = true;
      const block = free.pop()!;
      source.read(block).then((n) => {
        reading = false;
        if (settled) return; // the block stays out of `free`: see above
        if (n === 0) {
          free.push(block);
          eof = true;
          if (writing === 0) end();
          return;
        }
        writing++;
        onSent?.(n);
        // The callback fires once the socket handed the bytes to the kernel: the block is free again.
        socket.write(block.subarray(0, n), (err) => {
          writing--;
          if (err) return finish(err);
          free.push(block);
          if (eof && writing === 0) end();
          else next();
        });
        next();
      }, (err: Error) => {
        reading = false;
        finish(err);
      });
    };
    const end = (): void => {
      socket.end((err?: Error | null) => finish(err ?? undefined));
    };
    socket.once('close', onClose);
    socket.once('error', finish);
    signal.addEventListener('abort', onAbort, { once: true });
    if (signal.aborted) onAbort();
    else next();
  });
}
