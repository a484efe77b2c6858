import type { AddressInfo } from 'node:net';

export interface SessionInfo {
  sessionId: string;
  remoteAddress: string;
}

export interface TransferInfo extends SessionInfo {
  /** RETR, STOR, APPE, STOU, LIST, NLST or MLSD. */
  command: string;
  /** Virtual path. */
  path: string;
}

export interface TransferEndInfo extends TransferInfo {
  bytes: number;
  /** Milliseconds from the data connection opening to the end. */
  durationMs: number;
  ok: boolean;
  /** Why it failed: 'aborted', 'data-connection', 'tls', 'storage', 'timeout'. */
  failure?: string;
}

export interface LockConflictInfo extends SessionInfo {
  /** The verb refused (or kept waiting until lockWait ran out). */
  command: string;
  /** The virtual path that was busy. */
  path: string;
  /** The locks in the way: their path, mode, the session holding them and its verb. */
  heldBy: Array<{ path: string; mode: 'shared' | 'exclusive'; sessionId: string; command: string | undefined }>;
}

/**
 * One command as it ended ('command-end'): emitted by the session's dispatcher after every
 * command it read (each 'command' event is followed by one), refused ones included.
 */
export interface CommandEndInfo extends SessionInfo {
  /** The user named by USER or logged in, when there is one (after the command, else before it). */
  username: string | undefined;
  /** As sent, upper case; unknown verbs too. */
  verb: string;
  /** The argument as sent; '***' for PASS and ACCT, whatever they carried. */
  arg: string;
  /**
   * The virtual paths the command acted on, resolved against the cwd, also when it was refused
   * on them: [path] for one, [from, to] for RNTO, the picked name for STOU, the folder listed
   * when ls flags or a wildcard changed it; [] when it named none (or its path was invalid).
   */
  paths: string[];
  /** The last reply code the command wrote (a transfer's 226, 426, 451...); 0 when it wrote none (the connection closed first). */
  code: number;
  /** From the dispatcher taking the command up to its last reply, in ms (a transfer's included). */
  durationMs: number;
  /** Whether the command arrived over TLS (AUTH TLS itself did not). */
  secure: boolean;
}

/** FileServer's events. */
export type ServerEvents = {
  /** The server is accepting connections. */
  listening: (address: AddressInfo) => void;
  /** A control connection was accepted. */
  connect: (info: SessionInfo) => void;
  /** A user logged in. */
  login: (info: SessionInfo & { username: string }) => void;
  /** A login was refused (the password is never included). */
  'login-failed': (info: SessionInfo & { username: string }) => void;
  /** An address was banned after repeated failed logins (loginGuard). */
  ban: (info: SessionInfo & { username: string; failures: number; until: Date }) => void;
  /** A command arrived (PASS's and ACCT's arguments are masked). */
  command: (info: { sessionId: string; verb: string; arg: string }) => void;
  /** A command ended, refused or not: its last reply code, the paths it acted on, its duration. */
  'command-end': (info: CommandEndInfo) => void;
  'transfer-start': (info: TransferInfo) => void;
  'transfer-end': (info: TransferEndInfo) => void;
  /** A command found its file busy and was answered 450. */
  'lock-conflict': (info: LockConflictInfo) => void;
  /** A control connection closed. */
  disconnect: (info: SessionInfo & { username: string | undefined }) => void;
  /** A server-level failure (the listener); session errors are logged, not emitted. */
  error: (err: Error) => void;
};
