import net from 'node:net';
import { withLargeReads, type LargeReadConnection } from '../util/large-reads.js';

export type { LargeReadConnection, ReadTarget } from '../util/large-reads.js';

/** Connects with large reads (see withLargeReads). */
export function connectWithLargeReads(opts: net.TcpNetConnectOpts): LargeReadConnection {
  return withLargeReads((onread) => net.connect({ ...opts, onread }));
}
