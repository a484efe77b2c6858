import type { Session } from './session.js';

/**
 * One FTP command (or a family sharing a handler). Each module under commands/ exports these;
 * FEAT and HELP are generated from them, so a verb's code and metadata live in one place.
 */
export interface CommandSpec {
  /** Verbs handled, upper case; the first is the name shown by HELP. */
  verbs: readonly string[];
  /** HELP syntax line, e.g. 'RETR <path>'. */
  help: string;
  /** Lines this command adds to FEAT (without the leading space); a function for per-session lines. */
  feat?: readonly string[] | ((session: Session) => readonly string[]);
  /** Allowed before login. Default false. */
  public?: boolean;
  /** Handled at once even while a transfer runs (ABOR, STAT, NOOP, QUIT). */
  duringTransfer?: boolean;
  /** Recognised but not implemented: answered 502. */
  notImplemented?: boolean;
  /** Answers `OPTS <verb> <value>` for this command (RFC 2389 section 4), e.g. OPTS HASH. */
  opts?(session: Session, value: string): void;
  handler(session: Session, arg: string, verb: string): Promise<void> | void;
}
