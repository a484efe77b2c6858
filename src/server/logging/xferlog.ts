import type { ServerEvents, TransferEndInfo } from '../events.js';
import type { ServerEventSource } from './stats.js';

/**
 * The wu-ftpd transfer log, as vsftpd writes it with `xferlog_std_format` and ProFTPD with
 * `TransferLog`: one line per file transfer, read by webalizer, AWStats and the like.
 *
 *   current-time  transfer-time remote-host file-size filename transfer-type special-action-flag
 *   direction access-mode username service-name authentication-method authenticated-user-id
 *   completion-status
 *
 *   Tue Dec  1 23:44:09 2026 1 127.0.0.1 1000 /a.txt b _ i r alice ftp 0 * c
 *
 * Fields are separated by single spaces, so whitespace (and any control character) in a file or
 * user name becomes '_', as ProFTPD does. The time is local, as in wu-ftpd and ProFTPD; the
 * transfer time is in whole seconds, at least 1. Anonymous users are logged with access mode
 * `a` and the name they logged in with: wu-ftpd logged the password they gave (an email
 * address), which ftpkit never logs.
 */

const DAYS = ['Sun', 'Mon', 'Tue', 'Wed', 'Thu', 'Fri', 'Sat'];
const MONTHS = ['Jan', 'Feb', 'Mar', 'Apr', 'May', 'Jun', 'Jul', 'Aug', 'Sep', 'Oct', 'Nov', 'Dec'];
const FILE_COMMANDS = new Set(['RETR', 'STOR', 'APPE', 'STOU']);

/** `Tue Dec  1 23:44:09 2026`: ctime(3) without its newline, local time. */
export function ctime(date: Date): string {
  const two = (n: number): string => String(n).padStart(2, '0');
  return `${DAYS[date.getDay()]} ${MONTHS[date.getMonth()]} ${String(date.getDate()).padStart(2, ' ')} ${two(date.getHours())}:${two(date.getMinutes())}:${two(date.getSeconds())} ${date.getFullYear()}`;
}

/** One field: never empty, no whitespace or control characters. */
function field(text: string): string {
  // eslint-disable-next-line no-control-regex
  return text.replace(/[\s\x00-\x1f\x7f]/g, '_') || '_';
}

/** The xferlog line (with its newline) for a finished file transfer. */
export function xferLine(t: TransferEndInfo, anonymous: boolean, now: Date = new Date()): string {
  const seconds = Math.max(1, Math.round(t.durationMs / 1000));
  const direction = t.command === 'RETR' ? 'o' : 'i';
  return [
    ctime(now),
    seconds,
    t.remoteAddress,
    t.bytes,
    field(t.path),
    t.type === 'A' ? 'a' : 'b',
    '_', // special action: none (no on-the-fly compression or tar)
    direction,
    anonymous ? 'a' : 'r',
    field(t.username ?? ''),
    'ftp',
    '0', // authentication method: none (no RFC 931 lookup)
    '*', // authenticated user id: none
    t.ok ? 'c' : 'i',
  ].join(' ') + '\n';
}

/** Where xferlog lines go: a file (pino.destination() has reopen() for log rotation), a stream. */
export interface LineSink {
  write(line: string): unknown;
}

/** Writes an xferlog line for each file transfer of a server (listings are not logged). close() stops it. */
export class XferLog {
  readonly #source: ServerEventSource;
  readonly #anonymous = new Set<string>();
  readonly #listeners: { [E in keyof ServerEvents]?: ServerEvents[E] };

  constructor(source: ServerEventSource, sink: LineSink) {
    this.#source = source;
    this.#listeners = {
      login: (e) => {
        if (e.anonymous) this.#anonymous.add(e.sessionId);
        else this.#anonymous.delete(e.sessionId);
      },
      'transfer-end': (e) => {
        if (FILE_COMMANDS.has(e.command)) sink.write(xferLine(e, this.#anonymous.has(e.sessionId)));
      },
      disconnect: (e) => void this.#anonymous.delete(e.sessionId),
    };
    for (const [event, listener] of Object.entries(this.#listeners)) source.on(event as keyof ServerEvents, listener as never);
  }

  close(): void {
    for (const [event, listener] of Object.entries(this.#listeners)) this.#source.off(event as keyof ServerEvents, listener as never);
    this.#anonymous.clear();
  }
}

/** Writes a server's xferlog to `sink` (see XferLog). */
export function attachXferLog(server: ServerEventSource, sink: LineSink): XferLog {
  return new XferLog(server, sink);
}
