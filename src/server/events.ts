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
  /** Why it failed: 'aborted', 'data-connection', 'storage', 'timeout'. */
  failure?: string;
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
  /** A command arrived (PASS's argument is masked). */
  command: (info: { sessionId: string; verb: string; arg: string }) => void;
  'transfer-start': (info: TransferInfo) => void;
  'transfer-end': (info: TransferEndInfo) => void;
  /** A control connection closed. */
  disconnect: (info: SessionInfo & { username: string | undefined }) => void;
  /** A server-level failure (the listener); session errors are logged, not emitted. */
  error: (err: Error) => void;
};
