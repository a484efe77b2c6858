import type { Logger } from 'pino';
import type { CommandEndInfo, LockConflictInfo, SecurityInfo, ServerEvents, TransferEndInfo } from '../events.js';
import type { ServerEventSource } from './stats.js';
import { bytesPerSecond, printable } from './text.js';

/**
 * The audit records (issue 16): one structured pino record per event, each with the session id,
 * the client's address, the user and whether the control connection is TLS:
 *
 *   connect, login, login-failed (reason), disconnect (duration and totals)
 *   download, upload, append, delete, rename (from, to), mkdir, rmdir, chmod, mtime: the path,
 *     the reply code and text, and for transfers the bytes, duration and rate
 *   refused: any other command refused for permission, a busy file, quota or TLS
 *   ban, security (PORT/EPRT refused, a foreign passive peer, a traversal attempt, TLS required)
 *
 * Refusals and security records are at warn, the rest at info. Built from the server's events
 * only, so an embedder's own pipeline can do the same; passwords and ACCT never reach it (the
 * events carry none).
 */

/** What an audit record's `event` field says for the commands that change or move files. */
const FILE_EVENTS: Record<string, string> = {
  RETR: 'download',
  STOR: 'upload',
  STOU: 'upload',
  APPE: 'append',
  DELE: 'delete',
  RNFR: 'rename',
  RNTO: 'rename',
  MKD: 'mkdir',
  XMKD: 'mkdir',
  RMD: 'rmdir',
  XRMD: 'rmdir',
  MFMT: 'mtime',
};

const LOGIN_VERBS = new Set(['USER', 'PASS', 'ACCT']);
const TRANSFER_VERBS = new Set(['RETR', 'STOR', 'STOU', 'APPE', 'LIST', 'NLST', 'MLSD']);

/** The `msg` of security records, by kind. */
const SECURITY_MESSAGES: Record<SecurityInfo['kind'], string> = {
  'port-refused': 'PORT/EPRT refused',
  'foreign-data-peer': 'data connection from a foreign address refused',
  traversal: 'path traversal attempt',
  'tls-required': 'refused without TLS',
};

/** How long a disconnect record waits for its session's last transfer record. */
const DISCONNECT_WAIT = 5000;

/** Why a command was refused, from its reply; undefined when it was not a refusal. */
export function refusal(code: number, reply: string, verb = ''): string | undefined {
  if (code === 530) return LOGIN_VERBS.has(verb) ? undefined : 'not-logged-in'; // a failed login has its own record
  if (code === 450) return 'busy';
  if (code === 452 || code === 552) return 'quota';
  if (code === 521 || code === 522) return 'tls';
  if ((code === 550 || code === 553) && reply.includes('Permission denied')) return 'permission';
  return undefined;
}

interface SessionState {
  /** The last transfer-end, joined to its command's record. */
  transfer?: TransferEndInfo;
  /** A lock conflict met by the running command. */
  lock?: LockConflictInfo;
  /** A transfer command between its transfer-start and its command-end. */
  transferring: boolean;
  /** A disconnect record waiting for that command's record. */
  disconnect?: { write(): void; timer: NodeJS.Timeout };
}

/** Writes audit records for a server's events to a pino logger. close() stops it. */
export class AuditLog {
  readonly #source: ServerEventSource;
  readonly #log: Logger;
  readonly #sessions = new Map<string, SessionState>();
  readonly #listeners: { [E in keyof ServerEvents]?: ServerEvents[E] };

  constructor(source: ServerEventSource, logger: Logger) {
    this.#source = source;
    this.#log = logger;
    this.#listeners = {
      connect: (e) => this.#log.info({ event: 'connect', session: e.sessionId, remote: e.remoteAddress, secure: e.secure }, 'connect'),
      login: (e) =>
        this.#log.info({ event: 'login', session: e.sessionId, remote: e.remoteAddress, user: printable(e.username, 64), secure: e.secure, anonymous: e.anonymous }, 'login'),
      'login-failed': (e) =>
        this.#log.warn(
          { event: 'login-failed', session: e.sessionId, remote: e.remoteAddress, user: printable(e.username, 64), secure: e.secure, reason: e.reason },
          'login failed',
        ),
      ban: (e) =>
        this.#log.warn(
          { event: 'ban', session: e.sessionId, remote: e.remoteAddress, user: printable(e.username, 64), failures: e.failures, until: e.until.toISOString() },
          'address banned after repeated failed logins',
        ),
      security: (e) =>
        this.#log.warn(
          { event: 'security', session: e.sessionId, remote: e.remoteAddress, user: e.username, secure: e.secure, kind: e.kind, detail: e.detail },
          SECURITY_MESSAGES[e.kind] ?? e.kind,
        ),
      'transfer-start': (e) => void (this.#state(e.sessionId).transferring = true),
      'transfer-end': (e) => void (this.#state(e.sessionId).transfer = e),
      'lock-conflict': (e) => void (this.#state(e.sessionId).lock = e),
      'command-end': (e) => this.#commandEnd(e),
      disconnect: (e) => {
        const write = (): void => {
          this.#sessions.delete(e.sessionId);
          this.#log.info(
            {
              event: 'disconnect',
              session: e.sessionId,
              remote: e.remoteAddress,
              user: e.username,
              secure: e.secure,
              durationMs: e.durationMs,
              filesIn: e.filesIn,
              filesOut: e.filesOut,
              bytesIn: e.bytesIn,
              bytesOut: e.bytesOut,
            },
            'disconnect',
          );
        };
        const state = this.#sessions.get(e.sessionId);
        // The transfer command's record comes after the session ends: the disconnect goes after it.
        if (state?.transferring) state.disconnect = { write, timer: setTimeout(write, DISCONNECT_WAIT).unref() };
        else write();
      },
    };
    for (const [event, listener] of Object.entries(this.#listeners)) source.on(event as keyof ServerEvents, listener as never);
  }

  /** Stops writing records (pending disconnect records are written now). */
  close(): void {
    for (const [event, listener] of Object.entries(this.#listeners)) this.#source.off(event as keyof ServerEvents, listener as never);
    for (const state of this.#sessions.values()) {
      if (!state.disconnect) continue;
      clearTimeout(state.disconnect.timer);
      state.disconnect.write();
    }
    this.#sessions.clear();
  }

  #state(sessionId: string): SessionState {
    let state = this.#sessions.get(sessionId);
    if (!state) {
      state = { transferring: false };
      this.#sessions.set(sessionId, state);
    }
    return state;
  }

  #commandEnd(e: CommandEndInfo): void {
    const state = this.#sessions.get(e.sessionId);
    const transfer = state?.transfer?.command === e.verb ? state.transfer : undefined;
    const lock = state?.lock;
    if (state) {
      if (transfer) state.transfer = undefined;
      state.lock = undefined;
    }
    this.#record(e, transfer, lock);
    if (state && TRANSFER_VERBS.has(e.verb)) {
      state.transferring = false;
      const pending = state.disconnect;
      if (pending) {
        clearTimeout(pending.timer);
        pending.write();
      }
    }
  }

  #record(e: CommandEndInfo, transfer: TransferEndInfo | undefined, lock: LockConflictInfo | undefined): void {
    let event = FILE_EVENTS[e.verb];
    if (e.verb === 'SITE' && /^CHMOD\s/i.test(e.arg)) event = 'chmod';
    const why = refusal(e.code, e.reply, e.verb);
    // RNFR alone is half a rename: recorded only when refused (RNTO records the rename).
    if (e.verb === 'RNFR' && !why && e.code < 400) return;
    if (!event) {
      if (!why) return;
      event = 'refused';
    }
    const fields: Record<string, unknown> = {
      event,
      session: e.sessionId,
      remote: e.remoteAddress,
      user: e.username,
      secure: e.secure,
    };
    if (event === 'refused') fields.verb = e.verb;
    if (e.verb === 'RNTO' && e.paths.length === 2) {
      fields.from = e.paths[0];
      fields.to = e.paths[1];
    } else if (e.verb === 'RNFR') {
      fields.from = e.paths[0];
    } else {
      const path = transfer?.path ?? e.paths[0];
      if (path !== undefined) fields.path = path;
    }
    if (event === 'chmod') fields.mode = e.arg.split(' ')[1];
    fields.code = e.code;
    fields.reply = e.reply;
    if (why) fields.refused = why;
    if (transfer) {
      fields.bytes = transfer.bytes;
      fields.durationMs = transfer.durationMs;
      fields.rate = bytesPerSecond(transfer.bytes, transfer.durationMs);
      fields.type = transfer.type;
      if (transfer.failure) fields.failure = transfer.failure;
    } else {
      fields.durationMs = e.durationMs;
    }
    if (lock && e.code === 450) fields.heldBy = lock.heldBy.map((h) => ({ path: h.path, mode: h.mode, session: h.sessionId, command: h.command }));
    if (why) this.#log.warn(fields, event);
    else this.#log.info(fields, event);
  }
}

/**
 * Writes a server's audit records to `logger` (see AuditLog); returns the AuditLog (close() stops
 * it). FileServer does this itself for its own `logger` unless `audit: false`: call it for a
 * second destination, such as an audit trail in its own file.
 */
export function attachAuditLog(server: ServerEventSource, logger: Logger): AuditLog {
  return new AuditLog(server, logger);
}
