import type { Storage } from '../storage/types.js';
import type { AccountState } from './abuse/limits.js';
import type { AuthGrant } from './options.js';
import type { PermissionLetter, Permissions } from './permissions.js';
import type { Session } from './session.js';

/*
 * The command table (pyftpdlib's proto_cmds): each command declares its rules and the session's
 * dispatcher (Session #execute) enforces them once, in this order, before the handler runs:
 *
 *   unknown verb                      500 <verb> not understood
 *   notImplemented                    502 <verb> not implemented
 *   login, not logged in              530 Please login with USER and PASS
 *   account revoked (grant.active)    421, connection closed
 *   follows: 'RNFR', no RNFR before   503 RNFR required first
 *   arg 'required' or 'path', empty   501 <missing>
 *   pathIn() says malformed           501 <its text>
 *   path with NUL, CR or LF           501 Invalid path
 *   perm not granted at the path      550 <path>: Permission denied (<letter's name> not allowed)
 *   path is an upload temporary       550 <path>: No such file or directory
 *
 * All of it before any storage call, so a refused user learns nothing about what exists. A
 * command run beside a transfer (duringTransfer: ABOR, STAT, NOOP, QUIT) skips the argument
 * and path rules: it acts on the transfer, not on a path. What the table cannot say lives in
 * the handler, next to the storage calls it needs: checkRename (RNTO), anonymous uploads not
 * replacing files (refuseReplace), override folders not renamed (RNFR, RNTO), and the folder a
 * listing really lists when ls flags or a wildcard change it.
 */

/**
 * What a command's argument must be:
 *
 *   none         no argument is read (one sent is ignored)
 *   optional     free text, may be empty; the handler parses it
 *   required     free text; empty answers 501 `missing`
 *   path         a path (the argument, or what `pathIn` picks from it); empty answers 501 `missing`
 *   path-or-cwd  a path; empty means the current folder (LIST, NLST, MLSD, MLST)
 */
export type ArgRule = 'none' | 'optional' | 'required' | 'path' | 'path-or-cwd';

/** pathIn's answer for a malformed argument: answered `501 <text>`. */
export interface Malformed {
  malformed: string;
}

/** A logged-in session, as a command handler sees it: storage and permissions always there. */
export interface LoggedInContext {
  readonly session: Session;
  readonly username: string;
  readonly storage: Storage;
  readonly permissions: Permissions;
  readonly grant: AuthGrant;
  /** Counters and rate limits shared with the user's other sessions. */
  readonly account: AccountState | undefined;
  /** The path the command acts on, resolved against the cwd, permitted and not a temporary; undefined when it has none. */
  readonly path: string | undefined;
  /** The REST offset (or RANG's first byte) this command took (specs with `restart`); 0 without one. */
  readonly restart: number;
  /** RANG's last byte, inclusive, when the command took a RANG (specs with `restart`); undefined otherwise. */
  readonly rangeEnd: number | undefined;
  /** Replaces the paths 'command-end' reports (STOU: the name it picked; a listing: the folder it listed). */
  actOn(...paths: string[]): void;
}

/** The context of a command whose rule guarantees a path ('path', 'path-or-cwd'). */
export interface PathContext extends LoggedInContext {
  readonly path: string;
}

/** The context of RNTO: the path RNFR named just before. */
export interface RenameContext extends PathContext {
  readonly renameFrom: string;
}

interface Rules {
  /** Verbs handled, upper case; the first is the name shown by HELP. */
  verbs: readonly string[];
  /** HELP syntax line, e.g. 'RETR <path>'. */
  help: string;
  /** Lines this command adds to FEAT (without the leading space); a function for per-session lines. */
  feat?: readonly string[] | ((session: Session) => readonly string[]);
  /** What the argument must be (see ArgRule). */
  arg: ArgRule;
  /** The 501 text for an empty argument under 'required' and 'path'. Default 'A path is required'. */
  missing?: string;
  /** Handled at once even while a transfer runs (ABOR, STAT, NOOP, QUIT). */
  duringTransfer?: boolean;
  /** Recognised but not implemented: answered 502. */
  notImplemented?: boolean;
  /** Answers `OPTS <verb> <value>` for this command (RFC 2389 section 4), e.g. OPTS HASH. */
  opts?(session: Session, value: string): void;
}

/** Allowed before login: the handler gets the session in whatever login state it is. */
export interface PublicCommandSpec extends Rules {
  login: false;
  handler(session: Session, arg: string, verb: string): Promise<void> | void;
}

interface LoggedInRules extends Rules {
  login: true;
  /**
   * The permission letter the command needs at its path (see PERMISSION_LETTERS); at the folder
   * the entry goes into with `permOn: 'folder'` (STOU, whose name is picked later).
   */
  perm?: PermissionLetter;
  permOn?: 'path' | 'folder';
  /**
   * Where the path is in the argument when it is not the whole of it (MFMT, SITE CHMOD, the
   * XCRC family, CDUP's '..'): the path text, null when this use of the command names no path
   * (SITE HELP, STAT alone), or Malformed. Without it the argument is the path ('path',
   * 'path-or-cwd') or there is none.
   */
  pathIn?(arg: string): string | null | Malformed;
  /** Where pathIn finds the path, in words, for the README's rules table (tested to be there with pathIn). */
  pathWhere?: string;
  /** Takes the REST offset or RANG range (RETR, STOR, APPE, STOU): it applies to this command only, refused or not. */
  restart?: boolean;
}

/** A logged-in command that may name a path only through pathIn. */
export interface LoggedInCommandSpec extends LoggedInRules {
  arg: 'none' | 'optional' | 'required';
  follows?: undefined;
  handler(ctx: LoggedInContext, arg: string, verb: string): Promise<void> | void;
}

/** A logged-in command that always acts on a path. */
export interface PathCommandSpec extends LoggedInRules {
  arg: 'path' | 'path-or-cwd';
  /** Must come right after this verb (RNTO after RNFR): 503 otherwise. Type such a spec as RenameCommandSpec. */
  follows?: 'RNFR';
  handler(ctx: PathContext, arg: string, verb: string): Promise<void> | void;
}

/** RNTO: must come right after RNFR (503 otherwise); 'command-end' reports both paths. */
export interface RenameCommandSpec extends PathCommandSpec {
  arg: 'path';
  follows: 'RNFR';
  handler(ctx: RenameContext, arg: string, verb: string): Promise<void> | void;
}

/**
 * One FTP command (or a family sharing a handler). Each module under commands/ exports these;
 * FEAT, HELP and the README's permission table come from them, so a verb's code, metadata and
 * rules live in one place.
 */
export type CommandSpec = PublicCommandSpec | LoggedInCommandSpec | PathCommandSpec;

export const DEFAULT_MISSING = 'A path is required';
