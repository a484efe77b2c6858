import type { Readable, Writable } from 'node:stream';
import type { FtpReply } from '../protocol/index.js';
import type { FileClientOptions } from './options.js';
import type { TreeOptions } from './tree.js';

// The argument and option types of FileClient's methods.

export interface OperationOptions {
  signal?: AbortSignal;
}

export interface DownloadOptions extends OperationOptions {
  /** Resume: REST to this byte; a path destination must hold at least this many bytes and is cut to it, then written from there. */
  startAt?: number;
  /** Read only this many bytes, then stop (a segment of a parallel download). */
  length?: number;
  /** TYPE A: CRLF becomes LF. */
  ascii?: boolean;
  /** Size for progress events; when omitted and someone listens for progress, SIZE is asked. */
  total?: number;
}

/** `download({ from, to })`: the remote file, then where it goes (a local path or a Writable, which is ended). */
export interface DownloadArgs extends DownloadOptions {
  from: string;
  to: string | Writable;
}

/** What an upload reads: a local file's path, bytes in memory, or a Readable. */
export type UploadSource = string | Uint8Array | Readable;

export interface UploadOptions extends OperationOptions {
  /** REST + STOR from this offset; a path or Buffer source is read from this byte too. */
  startAt?: number;
  /** TYPE A: LF becomes CRLF. */
  ascii?: boolean;
  /** Size for progress events (a path or Buffer source is measured). */
  total?: number;
}

/** `upload({ from, to })`: the local source, then the remote path. */
export interface UploadArgs extends UploadOptions {
  from: UploadSource;
  to: string;
}

export interface AppendOptions extends Omit<UploadOptions, 'startAt'> {
  /** Where reading a path or Buffer source starts (the remote size, to resume). Default 0. */
  localStart?: number;
}

/** `append({ from, to })`: the local source, then the remote file it is added to. */
export interface AppendArgs extends AppendOptions {
  from: UploadSource;
  to: string;
}

/** Options of FileClient.connect(url, options): the client's options except what the URL says, plus `signal`. */
export interface ConnectUrlOptions extends Omit<FileClientOptions, 'host' | 'port'>, OperationOptions {}

/** A folder transfer as a method: the folders, then the TreeOptions. */
export interface TreeArgs extends TreeOptions {
  from: string;
  to: string;
}

/** createReadStream() and read(): a byte range, both ends inclusive (as fs.createReadStream). */
export interface ReadRangeOptions extends OperationOptions {
  /** First byte. Default 0. */
  start?: number;
  /** Last byte, inclusive. Default: the end of the file (createReadStream only; read() needs it). */
  end?: number;
  /** createReadStream(): the stream's buffer in bytes before the data connection is paused. Default 64 KiB. */
  highWaterMark?: number;
}

export interface TransferResult {
  /** Bytes moved over the data connection. */
  bytes: number;
  reply: FtpReply;
}
