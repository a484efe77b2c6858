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
  /** The logged-in user (the name typed at USER; 'anonymous' or 'ftp' for anonymous). */
  username: string | undefined;
  /** TYPE in force: 'A' (ASCII) or 'I' (binary). */
  type: 'A' | 'I';
  /** The control connection is TLS. */
  secure: boolean;
}

export interface TransferEndInfo extends TransferInfo {
  bytes: number;
  /** Milliseconds from the data connection opening to the end. */
  durationMs: number;
  ok: boolean;
  /** Why it failed: 'aborted', 'data-connection', 'tls', 'storage', 'timeout'. */
  failure?: string;
  /** The transfer's final reply code: 226, or 425, 426, 451, 552... */
  code: number;
  /**
   * RETR, STOR, APPE, STOU: the file's IANA media type from its name (`video/mp4`,
   * `image/jpeg`; `application/octet-stream` when unknown), so uploads can be routed
   * without sniffing their bytes. Absent for listings.
   */
  mediaType?: string;
}

export interface LockConflictInfo extends SessionInfo {
  /** The verb refused (or kept waiting until lockWait ran out). */
  command: string;
  /** The virtual path that was busy. */
  path: string;
  /** The locks in the way: their path, mode, the session holding them and its verb. */
  heldBy: Array<{ path: string; mode: 'shared' | 'exclusive'; sessionId: string; command: string | undefined }>;
}

/** Totals of one control connection, sent with `disconnect`. */
export interface SessionTotals {
  /** Files stored (STOR, APPE, STOU), complete or not. */
  filesIn: number;
  /** Files sent (RETR), complete or not. */
  filesOut: number;
  /** Bytes received over data connections. */
  bytesIn: number;
  /** Bytes sent over data connections, listings included. */
  bytesOut: number;
}

/** What `command-end` reports: one per command, after its final reply. */
export interface CommandEndInfo extends SessionInfo {
  username: string | undefined;
  /** Upper case; '' for a line too long to parse. */
  verb: string;
  /** The argument as sent; PASS and ACCT are masked as '***'. */
  arg: string;
  /** Resolved virtual paths the command acted on; RNTO: [from, to]; [] when none. */
  paths: string[];
  /** The command's final reply code (for transfers 226, 426, 451...). */
  code: number;
  /** The final reply's text (first line): virtual paths only, never a host path or a password. */
  reply: string;
  durationMs: number;
  /** The control connection is TLS. */
  secure: boolean;
}

/**
 * Refusals that may be an attack, each also answered to the client: 'port-refused' (PORT/EPRT
 * to a foreign address or a privileged port), 'foreign-data-peer' (a passive data connection
 * from another address, dropped), 'traversal' (a path climbing above the root with `..`,
 * clamped there), 'tls-required' (USER or a data connection without the TLS the server
 * requires).
 */
export interface SecurityInfo extends SessionInfo {
  username: string | undefined;
  kind: 'port-refused' | 'foreign-data-peer' | 'traversal' | 'tls-required';
  /** What was refused, printable: the PORT target, the foreign peer, the path argument, the verb. */
  detail: string;
  secure: boolean;
}

/** FileServer's events. */
export type ServerEvents = {
  /** The server is accepting connections. */
  listening: (address: AddressInfo) => void;
  /** A control connection was accepted (`secure`: on the implicit FTPS port). */
  connect: (info: SessionInfo & { secure: boolean }) => void;
  /** A user logged in (`anonymous`: with the anonymous grant). */
  login: (info: SessionInfo & { username: string; anonymous: boolean; secure: boolean }) => void;
  /**
   * A login was refused (the password is never included): 'credentials' (unknown user or wrong
   * password, one reason so the log tells no more than the reply) or 'tls-required' (the user
   * may log in over TLS only).
   */
  'login-failed': (info: SessionInfo & { username: string; reason: 'credentials' | 'tls-required'; secure: boolean }) => void;
  /** An address was banned after repeated failed logins (loginGuard). */
  ban: (info: SessionInfo & { username: string; failures: number; until: Date }) => void;
  /** A command arrived (PASS's and ACCT's arguments are masked). */
  command: (info: { sessionId: string; verb: string; arg: string }) => void;
  /** A command was answered: its final reply code, the paths it acted on, how long it took. */
  'command-end': (info: CommandEndInfo) => void;
  /** A refusal that may be an attack (see SecurityInfo); the client was answered. */
  security: (info: SecurityInfo) => void;
  'transfer-start': (info: TransferInfo) => void;
  'transfer-end': (info: TransferEndInfo) => void;
  /** A command found its file busy and was answered 450. */
  'lock-conflict': (info: LockConflictInfo) => void;
  /** A control connection closed (after its last transfer ended): how long it lasted, what it moved. */
  disconnect: (info: SessionInfo & SessionTotals & { username: string | undefined; durationMs: number; secure: boolean }) => void;
  /** A server-level failure (the listener); session errors are logged, not emitted. */
  error: (err: Error) => void;
};
