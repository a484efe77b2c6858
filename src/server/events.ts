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
  /** A command arrived (PASS's argument is masked). */
  command: (info: { sessionId: string; verb: string; arg: string }) => void;
  'transfer-start': (info: TransferInfo) => void;
  'transfer-end': (info: TransferEndInfo) => void;
  /** A command found its file busy and was answered 450. */
  'lock-conflict': (info: LockConflictInfo) => void;
  /** A control connection closed. */
  disconnect: (info: SessionInfo & { username: string | undefined }) => void;
  /** A server-level failure (the listener); session errors are logged, not emitted. */
  error: (err: Error) => void;
};
