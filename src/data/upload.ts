import { WriteStream } from 'node:fs';
import type { Socket } from 'node:net';
import type { Readable, Writable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { confirmPeerEnd } from '../util/peer-end.js';
import { smallUploadBlocks, uploadBlocks, type BlockPool } from './block-pool.js';
import { decodingStages, type WireCoding } from './mode-z.js';
import { receiveBlocks, streamSink } from './receive-blocks.js';
import { fileTarget, ownReads, receiveFileZeroCopy, type OwnedReads } from './receive-file.js';
import { zeroCopy } from './zero-copy.js';

/**
 * An upload's bytes on their way into its sink (the server's STOR, APPE, STOU): the data layer
 * picks how, as openDownload does for RETR. Binary, MODE S, clear and unpaced, into a file
 * stream: the socket -> file receiver (the addon's thread straight into the file, or large
 * reads into pooled blocks, receive-blocks.ts). Otherwise a pipeline through the decoding
 * stages of TYPE A and MODE Z, inflating before the sink, so any size limit of the storage
 * counts inflated bytes.
 */
export interface UploadReceiver {
  /**
   * The data socket as accepted: paused, not read yet, before TLS and pacing. When the bytes
   * may take a fast path (`plain`: a clear connection, no upload rate), the data layer takes
   * its reads over and returns the socket to go on with; undefined leaves it to the caller.
   */
  adopt(socket: Socket, plain: boolean): Socket | undefined;
  /**
   * Moves the bytes from `source` (the adopted socket, or TLS over the accepted one) into the
   * sink and ends it. Resolves only for a connection the peer really ended: the data layer
   * confirms the end of a socket it adopted (a FIN, never a reset: util/peer-end.ts); for any
   * other, `endCheck` is taken before the first read and awaited after the last (the server's
   * FIN or close_notify check). A MODE Z stream must also have reached its zlib end.
   */
  receive(source: Socket, signal: AbortSignal, endCheck: (socket: Socket) => () => Promise<void>): Promise<void>;
}

/** Receives into `sink` the bytes sent as `coding` says; `zeroCopy` is the server's option. */
export function openReceiver(sink: Writable, opts: { coding: WireCoding; zeroCopy: boolean }): UploadReceiver {
  const { coding } = opts;
  const asTheyArrive = !coding.ascii && coding.deflateLevel === undefined;
  let reads: OwnedReads | undefined;
  return {
    adopt(socket, plain) {
      if (!plain || !asTheyArrive || !takesReads(sink, opts.zeroCopy)) return undefined;
      reads = ownReads(socket, { zeroCopy: opts.zeroCopy });
      return reads?.socket;
    },
    async receive(source, signal, endCheck) {
      if (reads) return receiveOwned(reads, sink, signal);
      const confirm = endCheck(source);
      const stages = decodingStages(coding);
      await pipeline([source, ...stages, sink] as unknown as [Readable, Writable], { signal });
      return confirm();
    },
  };
}

/** Blocks one upload reads into while its earlier blocks are written: large ones while they last. */
const LOANS: readonly { pool: BlockPool; count: number }[] = [
  { pool: uploadBlocks, count: 8 },
  { pool: smallUploadBlocks, count: 2 },
];

/** The pool a receive into `sink` may borrow from now: only file streams let go of a block when they call back. */
function loanFor(sink: Writable): { pool: BlockPool; count: number } | undefined {
  return sink instanceof WriteStream ? LOANS.find((l) => l.pool.canLend(l.count)) : undefined;
}

/** Whether the data layer would read the socket itself now: only into a file stream, and only while the addon can receive or the pool has blocks to lend. */
function takesReads(sink: Writable, zeroCopyOn: boolean): boolean {
  return sink instanceof WriteStream && ((zeroCopyOn && zeroCopy()?.canReceive === true) || loanFor(sink) !== undefined);
}

/**
 * A socket whose reads the data layer took over, into `sink`, ended after: in the addon's
 * thread straight into the file, else through pooled blocks, else (no file descriptor yet, the
 * pool ran dry meanwhile) as a stream. The end is confirmed here in every case.
 */
async function receiveOwned(reads: OwnedReads, sink: Writable, signal: AbortSignal): Promise<void> {
  if ('addon' in reads) {
    const file = await fileTarget(sink);
    if (file) {
      file.advance(await receiveFileZeroCopy(reads.socket, file.fd, file.position, signal));
      return endStream(sink);
    }
    // A stream after all: read by Node, its end confirmed like any other.
    reads.socket.allowHalfOpen = true;
    await pipeline(reads.socket, sink, { signal });
    return confirmPeerEnd(reads.socket);
  }
  const loan = loanFor(sink);
  const blocks = loan?.pool.borrow(loan.count);
  // Large reads confirm their own end (large-reads.ts), through the pipeline too.
  if (!loan || !blocks) return pipeline(reads.readable, sink, { signal });
  const idle: Buffer[] = [];
  try {
    await receiveBlocks(reads, streamSink(sink), { signal, blocks, idle });
  } finally {
    loan.pool.giveBack(blocks.length, idle);
  }
  await endStream(sink);
}

function endStream(sink: Writable): Promise<void> {
  return new Promise<void>((resolve, reject) => sink.end((err?: Error | null) => (err ? reject(err) : resolve())));
}
