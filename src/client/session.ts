import type { ControlConnection } from './control.js';
import type { ResolvedOptions } from './options.js';
import { FtpError } from '../errors.js';
import { isNegative, type FtpReply } from '../protocol/index.js';

/**
 * State shared by the client's parts (data connections, transfers, listings).
 * Only the FileClient creates it; the parts are plain functions over it.
 */
export interface Session {
  readonly control: ControlConnection;
  readonly options: ResolvedOptions;
  /** FEAT lines: upper-case feature name -> its parameters ('' when none). */
  readonly features: Map<string, string>;
  /** The control connection's peer, where data connections go by default. */
  readonly peerHost: string;
  /** Remembered after the first 5xx so later transfers skip straight to PASV / PORT. */
  epsvRefused: boolean;
  eprtRefused: boolean;
  /** TYPE currently in force ('I' or 'A'). */
  type: 'I' | 'A';
  warn(message: string): void;
}

/** FTPKIT_ERR_REPLY for a 4xx/5xx reply; the message is the reply as the server wrote it. */
export function replyError(reply: FtpReply, context?: string): FtpError {
  const text = reply.text.split('\n').join(' ').trim();
  const message = context ? `${reply.code} ${context}: ${text}` : `${reply.code} ${text}`;
  return new FtpError('FTPKIT_ERR_REPLY', message, { replyCode: reply.code });
}

export function protocolError(message: string, reply?: FtpReply): FtpError {
  return new FtpError('FTPKIT_ERR_PROTOCOL', reply ? `${message}: ${reply.code} ${reply.text}` : message, reply ? { replyCode: reply.code } : undefined);
}

/** Sends a command and demands a reply in `accept` (or any 2xx when omitted). */
export async function expect(session: Session, line: string, accept?: readonly number[]): Promise<FtpReply> {
  const reply = await session.control.request(line, session.options.timeout);
  const ok = accept ? accept.includes(reply.code) : reply.code >= 200 && reply.code < 300;
  if (ok) return reply;
  if (isNegative(reply.code)) throw replyError(reply);
  throw protocolError(`unexpected reply to ${line.split(' ')[0]}`, reply);
}

/** FEAT (RFC 2389): lines between the first and last, each " NAME params". */
export function parseFeatures(reply: FtpReply): Map<string, string> {
  const features = new Map<string, string>();
  if (reply.code !== 211) return features;
  for (const line of reply.lines.slice(1, -1)) {
    const trimmed = line.trim();
    if (trimmed === '') continue;
    const space = trimmed.indexOf(' ');
    const name = (space === -1 ? trimmed : trimmed.slice(0, space)).toUpperCase();
    features.set(name, space === -1 ? '' : trimmed.slice(space + 1).trim());
  }
  return features;
}
