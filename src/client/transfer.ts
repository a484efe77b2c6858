import { FtpError } from '../errors.js';
import { isNegative, isPositivePreliminary, type FtpReply } from '../protocol/index.js';
import { openDataConnection, type PendingDataConnection, type DataConnection } from './data-connection.js';
import { raceAbort, withTimeout } from './queue.js';
import { isPeerGone } from '../util/peer-gone.js';
import { expect, protocolError, replyError, type ControlSession } from './control-session.js';

/**
 * What moves the bytes once the data connection is up. Resolves 'complete'
 * when the stream ended, or 'stopped' when it deliberately stopped early
 * (a bounded read for segmented downloads), which we settle with ABOR.
 */
export type DataHandler = (conn: DataConnection, signal: AbortSignal) => Promise<'complete' | 'stopped'>;

export interface TransferSpec {
  /** The full command line, for example `RETR /a.txt`. */
  command: string;
  /** Sent as REST first when > 0. */
  restart?: number;
  handle: DataHandler;
  /**
   * The handler may hand the socket's reads to the data layer (a download into a file): Node
   * stops reading as soon as the connection exists, before the command goes out, so the bytes
   * wait in the kernel for whoever the handler picks.
   */
  holdReads?: boolean;
}

/**
 * One transfer, start to end:
 *
 *   client                         server
 *   EPSV / PASV (or EPRT / PORT) ─▶
 *                               ◀─ 229 / 227 (200)
 *   connect data ────────────────▶ (or accept the server's connect)
 *   RETR path ───────────────────▶
 *                               ◀─ 150 opening data connection
 *             ◀═══ data ═══▶ until one side closes
 *                               ◀─ 226 transfer complete (before or after the data ends)
 *
 * It resolves only when both the data stream ended and the final reply
 * arrived, in either order. On abort or failure after the command went out:
 *
 *   ABOR ────────────────────────▶
 *                               ◀─ 426 (transfer's final) then 226 (ABOR's), or
 *                               ◀─ 226 (transfer done) then 225/226 (ABOR's)
 *
 * Two finals in all, which we drain so the connection stays usable.
 */
export async function runTransfer(session: ControlSession, spec: TransferSpec, signal: AbortSignal): Promise<FtpReply> {
  if (spec.restart !== undefined && spec.restart > 0) {
    await expect(session, `REST ${spec.restart}`, [350]);
  }
  const channel = await openDataConnection(session);
  const { control, options } = session;
  let sent = false;
  let transferFinal: FtpReply | undefined;
  let outstanding: Promise<unknown> | undefined;
  const noteFinal = (reply: FtpReply): FtpReply => {
    if (!isPositivePreliminary(reply.code)) transferFinal = reply;
    return reply;
  };
  try {
    // Passive connections exist already: this runs before the command goes out. Active ones:
    // right when the server's connection is accepted, before any of its bytes is read.
    if (spec.holdReads) channel.socket().then((c) => c.hold?.(), () => {});
    control.send(spec.command);
    sent = true;
    const firstP = control.nextReply(options.timeout).then(noteFinal);
    outstanding = firstP;
    const first = await raceAbort(firstP, signal);
    if (isNegative(first.code)) throw replyError(first);
    if (first.code >= 300) throw protocolError(`unexpected reply to ${spec.command.split(' ')[0]}`, first);
    // Some servers answer 2xx directly (an empty file); otherwise wait for it, untimed while data flows.
    const finalP = transferFinal ? Promise.resolve(transferFinal) : control.nextFinal(null).then(noteFinal);
    outstanding = finalP;
    // A negative final while data is pending (425 can't open, 451 read error) ends the data side at once.
    finalP.then(
      (reply) => { if (isNegative(reply.code)) channel.destroy(replyError(reply)); },
      (err: Error) => channel.destroy(err),
    );
    const conn = await raceAbort(channel.socket(), signal);
    const outcome = await spec.handle(conn, signal);
    if (outcome === 'stopped') {
      channel.destroy();
      await settleAfterAbort(session, transferFinal !== undefined, outstanding);
      return transferFinal ?? { code: 226, text: 'stopped early', lines: ['226 stopped early'] };
    }
    if (transferFinal === undefined) control.armWaiting(options.timeout);
    const final = await raceAbort(finalP, signal);
    if (isNegative(final.code)) throw replyError(final);
    return final;
  } catch (err) {
    // Only a negative reply that came before the failure explains it; one that came
    // after is the server's answer to our own abort (listing cap, local disk full).
    const finalBeforeError = transferFinal;
    channel.destroy(err instanceof Error ? err : undefined);
    if (sent && !control.closed && transferFinal === undefined) {
      await settleAfterAbort(session, false, outstanding).catch(() => undefined);
    } else if (sent && !control.closed && outstanding) {
      await outstanding.catch(() => undefined);
    }
    // A reply error from the server explains more than the data-side symptom it caused.
    if (finalBeforeError && isNegative(finalBeforeError.code) && !(err instanceof FtpError && err.code === 'FTPKIT_ERR_REPLY')) {
      throw replyError(finalBeforeError);
    }
    // So does one that came while settling, when the server cut the data connection (426 behind a reset).
    if (!finalBeforeError && transferFinal && isNegative(transferFinal.code) && isCutConnection(err)) {
      throw replyError(transferFinal);
    }
    throw err;
  }
}

/** A data socket the peer reset or closed under us (not our abort, not a local file error). */
function isCutConnection(err: unknown): boolean {
  return !(err instanceof FtpError) && isPeerGone(err);
}

/** How long to wait for a second reply after ABOR before asking with a marker. */
const ABOR_GRACE_MS = 500;

/**
 * Sends ABOR and reads replies until the stream is back in step. Servers
 * disagree on how many replies that takes: vsftpd sends 426 + 225, pyftpdlib
 * 426 + 226, pure-ftpd sometimes a single 226 for both (and it discards
 * commands sent right behind ABOR). So: take the transfer's final reply (if
 * not yet seen) and ABOR's; if the second does not come within a short grace,
 * send PWD and read up to its 257, a code only PWD and MKD produce. If the
 * server will not settle within abortTimeout the connection is closed rather
 * than left to pair later replies wrongly.
 */
async function settleAfterAbort(session: ControlSession, finalSeen: boolean, outstanding: Promise<unknown> | undefined): Promise<void> {
  const { control, options } = session;
  try {
    control.send('ABOR');
    let need = finalSeen ? 1 : 2;
    // A wait already queued for the transfer's reply takes the first one, in FIFO order. When
    // that final was already seen, the wait has resolved with it: counting it again would stop
    // before ABOR's own reply, which then answers the next command.
    if (outstanding && !finalSeen) {
      const first = (await withTimeout(outstanding, options.abortTimeout, 'settling after ABOR')) as FtpReply;
      if (!isPositivePreliminary(first.code)) need--;
    }
    while (need > 0) {
      const reply = await control.nextFinalOrNull(need === 2 ? options.abortTimeout : Math.min(ABOR_GRACE_MS, options.abortTimeout));
      if (reply === null) break;
      need--;
    }
    if (need === 2) throw new FtpError('FTPKIT_ERR_TIMEOUT', `no reply to ABOR within ${options.abortTimeout} ms`);
    if (need === 0) return;
    control.send('PWD');
    for (let i = 0; i < 8; i++) {
      const reply = await control.nextFinal(options.abortTimeout);
      if (reply.code === 257) return;
    }
    throw new FtpError('FTPKIT_ERR_PROTOCOL', 'the server did not settle after ABOR');
  } catch (err) {
    control.destroy(err instanceof FtpError ? err : new FtpError('FTPKIT_ERR_PROTOCOL', 'the connection fell out of step after ABOR'));
    throw err;
  }
}

