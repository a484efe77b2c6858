import type { ControlConnection } from './control.js';
import type { ResolvedOptions } from './options.js';
import { FtpError } from '../errors.js';
import { isNegative, type FtpReply } from '../protocol/index.js';
import { printable } from '../util/printable.js';

/**
 * One logged-in control connection and what was negotiated on it, shared by
 * the client's parts (data connections, transfers, listings). Only the
 * FileClient creates it; the parts are plain functions over it. (The server's
 * per-connection class is `Session` in src/server/session.ts.)
 */
export interface ControlSession {
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
  /** MODE Z in force: every transfer is one zlib stream (data/mode-z.ts). */
  modeZ: boolean;
  warn(message: string): void;
}

/**
 * FTPKIT_ERR_REPLY for a 4xx/5xx reply; the message is the reply as the server
 * wrote it, on one line, control characters shown as '?' (bins print it).
 */
export function replyError(reply: FtpReply, context?: string): FtpError {
  const text = replyText(reply);
  const message = context ? `${reply.code} ${context}: ${text}` : `${reply.code} ${text}`;
  return new FtpError('FTPKIT_ERR_REPLY', message, { replyCode: reply.code });
}

export function protocolError(message: string, reply?: FtpReply): FtpError {
  return new FtpError('FTPKIT_ERR_PROTOCOL', reply ? `${message}: ${reply.code} ${replyText(reply)}` : message, reply ? { replyCode: reply.code } : undefined);
}

/** A reply's text on one line, safe to print. */
export function replyText(reply: FtpReply): string {
  return printable(reply.text.split('\n').join(' ').trim(), 512);
}

/** Sends a command and demands a reply in `accept` (or any 2xx when omitted). */
export async function expect(session: ControlSession, line: string, accept?: readonly number[]): Promise<FtpReply> {
  const reply = await session.control.request(line, session.options.timeout);
  const ok = accept ? accept.includes(reply.code) : reply.code >= 200 && reply.code < 300;
  if (ok) return reply;
  if (isNegative(reply.code)) throw replyError(reply);
  throw protocolError(`unexpected reply to ${line.split(' ')[0]}`, reply);
}

/** TYPE I or A, sent only when it changes; a refusal rejects and leaves the recorded type as it was. */
export async function setType(session: ControlSession, type: 'I' | 'A'): Promise<void> {
  if (session.type === type) return;
  await expect(session, `TYPE ${type}`);
  session.type = type;
}

/**
 * `compress`: MODE Z when FEAT lists it, else plain transfers (FileClient.compressed tells
 * which). A server that lists MODE Z and then refuses it also gets a 'warning'.
 */
export async function negotiateModeZ(session: ControlSession): Promise<void> {
  const offered = (session.features.get('MODE') ?? '').toUpperCase().split(/[\s,;]+/).includes('Z');
  if (!offered) return;
  const reply = await session.control.request('MODE Z', session.options.timeout);
  if (reply.code >= 200 && reply.code < 300) {
    session.modeZ = true;
    return;
  }
  session.warn(`the server refused MODE Z (${reply.code} ${replyText(reply)}): transfers are not compressed`);
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
