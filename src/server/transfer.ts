import type { Socket } from 'node:net';
import type { TLSSocket } from 'node:tls';
import { tlsCarrier, TRUNCATED } from './data-end.js';
import type { LargeReadConnection } from '../data/large-reads.js';
import { REUSE_REFUSAL, secureDataConnection } from './data-tls.js';
import { adoptWithLargeReads } from '../data/large-reads.js';
import type { Session } from './session.js';
import { zeroCopyBytes } from '../data/send-file.js';
import { paceInbound } from './throttle.js';
import { emitSecurity } from './logging/security.js';

/** What STAT and ABOR see of a running transfer. */
export interface ActiveTransfer {
  readonly command: string;
  readonly path: string;
  /** Bytes moved over the data connection so far. */
  bytes(): number;
  /** Bytes the transfer will move, when known (RETR: the file's size past REST). */
  readonly total?: number;
  /** When it started (Date.now()), for STAT's rate. */
  readonly startedAt: number;
  /** Ends the transfer now (ABOR, shutdown, session end); the transfer answers 426. */
  abort(): void;
  /** Settles when the transfer's final reply has been sent. */
  readonly done: Promise<void>;
}

export interface TransferPlan {
  command: string;
  /** Virtual path, for events and replies. */
  path: string;
  /** Text of the 150 reply. */
  opening: string;
  /** 'out' for RETR and listings, 'in' for uploads: which byte counter STAT shows. */
  direction: 'in' | 'out';
  /** Bytes to send, when known (RETR), for STAT. */
  size?: number;
  /**
   * Moves the bytes over `socket`; resolves when the last byte is handed over. `reads` is
   * set when the socket was adopted for large reads (see `largeReads`): read through it.
   */
  pump(socket: Socket, signal: AbortSignal, reads?: LargeReadConnection): Promise<void>;
  /** Uploads into a file: asked once the data connection is up, whether to take its reads in our own large buffers. */
  largeReads?(): boolean;
  /** Releases what the command prepared (open files, locks). Always called, once; awaited before the transfer counts as done. */
  dispose?(): void | Promise<void>;
  /** Text of the 226 reply. */
  success?: string;
  /** File transfers: the file's media type, passed on in the transfer-end event. */
  mediaType?: string;
}

/** Failures that mean the peer's side of the data connection went away. */
const NETWORK_CODES = new Set(['ECONNRESET', 'EPIPE', 'ERR_STREAM_PREMATURE_CLOSE', 'ECONNABORTED', TRUNCATED]);

/**
 * Runs one data transfer:
 *
 *   client                      server
 *   RETR f  ------------------>
 *           <------------------ 150 Opening data connection
 *           <==== data =======  (passive: accepted; active: connected out)
 *           <------------------ 226 Transfer complete
 *
 *   ABOR during it: the server drops the data connection, answers 426 for the transfer,
 *   then 226 for the ABOR (RFC 959 section 4.1.3).
 *
 * The control connection stays readable throughout, so ABOR, STAT and NOOP are heard.
 */
export async function runTransfer(session: Session, plan: TransferPlan): Promise<void> {
  if (session.tlsRequired && session.prot !== 'P') {
    emitSecurity(session, 'tls-required', `${plan.command} over a clear data connection`);
    plan.dispose?.();
    session.reply(521, 'Data connections must be encrypted: send PBSZ 0 and PROT P');
    return;
  }
  // maxTransfersPerUser: counted on the user's account, across all their sessions.
  const account = session.account;
  const maxTransfers = session.host.options.maxTransfersPerUser;
  if (account && maxTransfers > 0 && account.transfers >= maxTransfers) {
    await Promise.resolve(plan.dispose?.()).catch(() => {});
    session.data.close();
    session.reply(450, `Too many concurrent transfers for this user (at most ${maxTransfers}), try again later`);
    return;
  }
  if (account) account.transfers++;
  const controller = new AbortController();
  let socket: Socket | undefined;
  /** Under PROT P: the TCP socket below the TLS one. */
  let plain: Socket | undefined;
  let unpace: (() => void) | undefined;
  let aborted = false;
  let resolveDone!: () => void;
  const done = new Promise<void>((resolve) => (resolveDone = resolve));
  const transfer: ActiveTransfer = {
    command: plan.command,
    path: plan.path,
    bytes: () => (socket ? (plan.direction === 'out' ? socket.bytesWritten + zeroCopyBytes(socket) : socket.bytesRead) : 0),
    ...(plan.size !== undefined ? { total: plan.size } : {}),
    startedAt: Date.now(),
    abort: () => {
      aborted = true;
      controller.abort(Object.assign(new Error('transfer aborted'), { code: 'ABORT_ERR' }));
      socket?.destroy();
    },
    done,
  };
  const info = {
    sessionId: session.id,
    remoteAddress: session.remoteAddress,
    command: plan.command,
    path: plan.path,
    username: session.username,
    type: session.type,
    secure: session.secure,
  };
  session.transfer = transfer;
  session.transferStarted();
  session.host.emit('transfer-start', info);
  session.reply(150, plan.opening);
  const started = Date.now();
  let failure: string | undefined;
  try {
    try {
      socket = await session.data.open(controller.signal);
    } catch {
      failure = aborted ? 'aborted' : 'data-connection';
      session.reply(aborted ? 426 : 425, aborted ? 'Transfer aborted' : "Can't open data connection");
      return;
    }
    let reads: LargeReadConnection | undefined;
    // Clear binary uploads without a rate: the data socket reads into the upload's buffers.
    if (session.prot !== 'P' && !account?.upload && plan.largeReads?.()) reads = adoptWithLargeReads(socket);
    if (reads) socket = reads.socket;
    else socket.read(0); // passive sockets are accepted paused: start reading as any socket does
    if (session.prot === 'P') {
      plain = socket;
      // Uploads read TLS through a carrier that tells a close_notify from a bare TCP end (data-end.ts).
      const carried = plan.direction === 'in' ? tlsCarrier(plain) : undefined;
      try {
        socket = await secureDataConnection(session, (carried?.carrier as Socket | undefined) ?? plain, controller.signal);
        carried?.bind(socket as TLSSocket);
      } catch (err) {
        plain.destroy();
        failure = aborted ? 'aborted' : 'tls';
        const reuse = (err as NodeJS.ErrnoException).code === 'ERR_FTPKIT_TLS_REUSE';
        session.log.warn({ err }, 'data connection TLS refused');
        session.reply(aborted ? 426 : 522, aborted ? 'Transfer aborted' : reuse ? REUSE_REFUSAL : 'Data connection TLS handshake failed');
        return;
      }
    }
    const timeout = session.host.options.timeouts.data;
    const s = socket;
    // The user's uploadRate (downloads are paced in RETR's pump, on the file stream).
    unpace = plan.direction === 'in' && account?.upload ? paceInbound(s, account.upload) : undefined;
    s.setTimeout(timeout, () => s.destroy(Object.assign(new Error('data connection stalled'), { code: 'ETIMEDOUT' })));
    try {
      await plan.pump(s, controller.signal, reads);
      session.reply(226, plan.success ?? 'Transfer complete');
    } catch (err) {
      const code = (err as NodeJS.ErrnoException).code ?? '';
      if (aborted) {
        failure = 'aborted';
        session.reply(426, 'Transfer aborted');
      } else if (code === 'ETIMEDOUT') {
        failure = 'timeout';
        session.reply(426, 'Data connection timed out; transfer aborted');
      } else if (NETWORK_CODES.has(code)) {
        failure = 'data-connection';
        session.reply(426, 'Connection closed; transfer aborted');
      } else {
        failure = 'storage';
        session.fail(err, plan.path);
      }
    }
  } finally {
    const code = session.lastReplyCode; // the final reply above: nothing was awaited since
    unpace?.();
    await Promise.resolve(plan.dispose?.()).catch((err: unknown) => session.log.warn({ err }, 'transfer cleanup failed'));
    socket?.destroy();
    plain?.destroy();
    session.transfer = undefined;
    if (account) {
      account.transfers--;
      session.host.limits.release(account.name);
    }
    const bytes = transfer.bytes();
    countTransfer(session, plan, bytes);
    session.host.emit('transfer-end', { ...info, bytes, durationMs: Date.now() - started, ok: failure === undefined, ...(failure ? { failure } : {}), code, ...(plan.mediaType ? { mediaType: plan.mediaType } : {}) });
    resolveDone();
    session.transferEnded();
  }
}

/** Adds a transfer to its session's totals (reported with `disconnect`). */
function countTransfer(session: Session, plan: TransferPlan, bytes: number): void {
  const totals = session.totals;
  if (plan.direction === 'in') {
    totals.bytesIn += bytes;
    totals.filesIn++;
  } else {
    totals.bytesOut += bytes;
    if (plan.command === 'RETR') totals.filesOut++;
  }
}
