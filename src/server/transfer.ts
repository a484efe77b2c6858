import type { Socket } from 'node:net';
import type { TLSSocket } from 'node:tls';
import { tlsCarrier } from './data-end.js';
import { REUSE_REFUSAL, secureDataConnection, TlsReuseRefused } from './data-tls.js';
import type { Session } from './session.js';
import { zeroCopyBytes } from '../data/zero-copy-job.js';
import { paceInbound } from './throttle.js';
import { emitSecurity } from './logging/security.js';
import { isPeerGone } from '../util/peer-gone.js';

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
  /** Moves the bytes over `socket`; resolves when the last byte is handed over. */
  pump(socket: Socket, signal: AbortSignal): Promise<void>;
  /**
   * Uploads: the data connection as accepted (paused, unread), before TLS and pacing; `plain`
   * when neither applies. Returns the socket to go on with when the data layer took its reads
   * over (data/upload.ts), else undefined.
   */
  adopt?(socket: Socket, plain: boolean): Socket | undefined;
  /** Releases what the command prepared (open files, locks). Always called, once; awaited before the transfer counts as done. */
  dispose?(): void | Promise<void>;
  /** Text of the 226 reply. */
  success?: string;
  /** File transfers: the file's media type, passed on in the transfer-end event. */
  mediaType?: string;
}

/** How a transfer tells its session what happens (Session.runTransfer): the session owns the transfer. */
export interface TransferHooks {
  /** Answers the command that runs the transfer. */
  reply(code: number, text: string): void;
  /** Answers a storage failure for that command (storage-replies.ts); returns the reply code. */
  fail(err: unknown, path: string): number;
  /** The transfer is under way: the session holds it (ABOR, STAT, shutdown see it). */
  begin(transfer: ActiveTransfer): void;
  /** Its final reply is out and what it held is released. */
  end(): void;
}

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
export async function runTransfer(session: Session, plan: TransferPlan, hooks: TransferHooks): Promise<void> {
  let finalCode = 0; // the last reply's code, for transfer-end
  const reply = (code: number, text: string): void => {
    finalCode = code;
    hooks.reply(code, text);
  };
  if (session.tlsRequired && session.prot !== 'P') {
    emitSecurity(session, 'tls-required', `${plan.command} over a clear data connection`);
    plan.dispose?.();
    reply(521, 'Data connections must be encrypted: send PBSZ 0 and PROT P');
    return;
  }
  // maxTransfersPerUser: counted on the user's account, across all their sessions.
  const account = session.account;
  const maxTransfers = session.host.options.maxTransfersPerUser;
  if (account && maxTransfers > 0 && account.transfers >= maxTransfers) {
    await Promise.resolve(plan.dispose?.()).catch(() => {});
    session.data.close();
    reply(450, `Too many concurrent transfers for this user (at most ${maxTransfers}), try again later`);
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
    bytes: () => (socket ? (plan.direction === 'out' ? socket.bytesWritten : socket.bytesRead) + zeroCopyBytes(socket) : 0),
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
  hooks.begin(transfer);
  session.host.emit('transfer-start', info);
  reply(150, plan.opening);
  const started = Date.now();
  let failure: string | undefined;
  /** The transfer's final reply, sent after its cleanup (see the finally block). */
  let answer: (() => void) | undefined;
  try {
    try {
      socket = await session.data.open(controller.signal);
    } catch {
      failure = aborted ? 'aborted' : 'data-connection';
      answer = () => reply(aborted ? 426 : 425, aborted ? 'Transfer aborted' : "Can't open data connection");
      return;
    }
    // Uploads: the data layer may read a clear connection without an upload rate itself.
    const adopted = plan.adopt?.(socket, session.prot !== 'P' && !account?.upload);
    if (adopted) socket = adopted;
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
        const reuse = err instanceof TlsReuseRefused;
        session.log.warn({ err }, 'data connection TLS refused');
        answer = () => reply(aborted ? 426 : 522, aborted ? 'Transfer aborted' : reuse ? REUSE_REFUSAL : 'Data connection TLS handshake failed');
        return;
      }
    }
    const timeout = session.host.options.timeouts.data;
    const s = socket;
    // The user's uploadRate (downloads are paced in RETR's pump, on the file stream).
    unpace = plan.direction === 'in' && account?.upload ? paceInbound(s, account.upload) : undefined;
    s.setTimeout(timeout, () => s.destroy(Object.assign(new Error('data connection stalled'), { code: 'ETIMEDOUT' })));
    try {
      await plan.pump(s, controller.signal);
      answer = () => reply(226, plan.success ?? 'Transfer complete');
    } catch (err) {
      const code = (err as NodeJS.ErrnoException).code ?? '';
      if (aborted) {
        failure = 'aborted';
        answer = () => reply(426, 'Transfer aborted');
      } else if (code === 'ETIMEDOUT') {
        failure = 'timeout';
        answer = () => reply(426, 'Data connection timed out; transfer aborted');
      } else if (isPeerGone(err)) {
        failure = 'data-connection';
        answer = () => reply(426, 'Connection closed; transfer aborted');
      } else {
        failure = 'storage';
        answer = () => void (finalCode = hooks.fail(err, plan.path));
      }
    }
  } finally {
    unpace?.();
    await Promise.resolve(plan.dispose?.()).catch((err: unknown) => session.log.warn({ err }, 'transfer cleanup failed'));
    socket?.destroy();
    plain?.destroy();
    // The final reply only once the file is closed and its lock released: a client that acts
    // on a 226 at once (another session's RETR of the file just stored) must not meet them.
    answer?.();
    const code = finalCode;
    if (account) {
      account.transfers--;
      session.host.limits.release(account.name);
    }
    const bytes = transfer.bytes();
    countTransfer(session, plan, bytes);
    session.host.emit('transfer-end', { ...info, bytes, durationMs: Date.now() - started, ok: failure === undefined, ...(failure ? { failure } : {}), code, ...(plan.mediaType ? { mediaType: plan.mediaType } : {}) });
    resolveDone();
    hooks.end();
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
