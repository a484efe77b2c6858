import type { FileHandle } from 'node:fs/promises';
import type { Readable, Writable } from 'node:stream';
import { FtpError } from '../errors.js';
import type { FtpReply } from '../protocol/index.js';
import { setType, type ControlSession } from './control-session.js';
import { asLocalFileError, bufferSource, localFileError, openDownloadFile, openUploadFile, type LocalSource } from './local-file.js';
import { ProgressTracker, type TransferProgress } from './progress.js';
import { receiveInto, receiveToFile, sendFile, sendFrom } from './stream-io.js';
import { runTransfer } from './transfer.js';

/**
 * RETR, STOR and APPE between the server and a local file, stream or Buffer.
 * Whatever fails, the caller gets an FtpError: the server's reply, the data
 * connection's failure, or FTPKIT_ERR_LOCAL_FILE for the local side (the
 * path as given, the errno error as `cause`).
 */

export interface DownloadJob {
  remote: string;
  to: string | Writable;
  startAt: number;
  length: number | undefined;
  ascii: boolean;
  total: number | undefined;
  /** Refuse a symlink at the destination's last component (tree downloads). */
  noFollow: boolean;
}

export interface UploadJob {
  verb: 'STOR' | 'APPE';
  from: string | Uint8Array | Readable;
  remote: string;
  /** REST offset (STOR only). */
  restart: number;
  /** Where reading the local source starts. */
  localStart: number;
  ascii: boolean;
  total: number | undefined;
}

export interface FileTransferResult {
  bytes: number;
  reply: FtpReply;
}

type Emit = (p: TransferProgress) => void;

/** Records the first 'error' of a caller's stream (and keeps it from going unhandled). */
function watch(stream: { once(event: 'error', fn: (err: Error) => void): unknown }): () => Error | undefined {
  let error: Error | undefined;
  stream.once('error', (err) => {
    error = err;
  });
  return () => error;
}

/** Anything not yet an FtpError: a local file error, the caller's stream, or the data connection. */
function classify(err: unknown, local: { path?: string | undefined; action: string; streamError?: (() => Error | undefined) | undefined; role: string }): unknown {
  if (err instanceof FtpError) return err;
  const streamError = local.streamError?.();
  if (streamError !== undefined) {
    return new FtpError('FTPKIT_ERR_LOCAL_FILE', `the ${local.role} stream failed: ${streamError.message}`, { cause: streamError });
  }
  if (local.path !== undefined) {
    const mapped = asLocalFileError(err, local.path, local.action);
    if (mapped instanceof FtpError) return mapped;
  }
  const message = err instanceof Error ? err.message : String(err);
  return new FtpError('FTPKIT_ERR_DATA_CONNECTION', `the data connection failed: ${message}`, { cause: err });
}

export async function downloadFile(s: ControlSession, job: DownloadJob, signal: AbortSignal, emit: Emit, total: number | undefined): Promise<FileTransferResult> {
  await setType(s, job.ascii ? 'A' : 'I');
  const tracker = new ProgressTracker(emit, s.options.progressInterval, { name: job.remote, direction: 'download', total, startAt: job.startAt });
  const receive = { ascii: job.ascii, inflate: s.modeZ, length: job.length, tracker };
  const command = `RETR ${job.remote}`;
  if (typeof job.to !== 'string') {
    const dest = job.to;
    const streamError = watch(dest);
    const reply = await runTransfer(s, { command, restart: job.startAt, handle: receiveInto(dest, receive) }, signal).catch((err: unknown) => {
      dest.destroy();
      throw classify(err, { action: 'write', streamError, role: 'destination' });
    });
    tracker.finish();
    return { bytes: tracker.moved, reply };
  }
  const path = job.to;
  const handle: FileHandle = await openDownloadFile(path, job.startAt, job.noFollow);
  let reply: FtpReply;
  try {
    // Pipes and devices have no positions: their writes go in order at the descriptor's.
    const position = (await handle.stat()).isFile() ? job.startAt : null;
    reply = await runTransfer(s, {
      command,
      restart: job.startAt,
      holdReads: !job.ascii && !s.modeZ,
      // Large reads write the socket's bytes straight into the file: MODE S binary only.
      handle: (conn, sig) => conn.attach && !job.ascii && !s.modeZ
        ? receiveToFile(handle.fd, { position, length: job.length, tracker })(conn, sig)
        : receiveInto(handle.createWriteStream({ start: job.startAt }), receive)(conn, sig),
    }, signal);
  } catch (err) {
    await handle.close().catch(() => undefined);
    throw classify(err, { path, action: 'write', role: 'destination' });
  }
  try {
    await handle.close();
  } catch (err) {
    throw localFileError(err, path, 'write'); // a late ENOSPC/EIO shows at close on some file systems
  }
  tracker.finish();
  return { bytes: tracker.moved, reply };
}

async function openSource(job: UploadJob, modeZ: boolean): Promise<LocalSource> {
  const from = job.localStart;
  // TYPE A and MODE Z transform the bytes: a stream through the stages, not blocks to the socket.
  if (typeof job.from === 'string') return openUploadFile(job.from, from, job.ascii || modeZ, (e) => localFileError(e, job.from as string, 'read'));
  if (job.from instanceof Uint8Array) return bufferSource(job.from, from);
  return { kind: 'stream', stream: job.from, size: undefined, path: undefined };
}

export async function uploadFile(s: ControlSession, job: UploadJob, signal: AbortSignal, emit: Emit): Promise<FileTransferResult> {
  await setType(s, job.ascii ? 'A' : 'I');
  const local = await openSource(job, s.modeZ);
  const caller = local.kind === 'stream' && local.path === undefined && !(job.from instanceof Uint8Array);
  const streamError = local.kind === 'stream' && caller ? watch(local.stream) : undefined;
  const tracker = new ProgressTracker(emit, s.options.progressInterval, {
    name: job.remote, direction: 'upload', total: job.total ?? local.size, startAt: job.localStart,
  });
  try {
    const reply = await runTransfer(s, {
      command: `${job.verb} ${job.remote}`,
      restart: job.restart,
      handle: local.kind === 'file' ? sendFile(local.reader, local.size - job.localStart, tracker) : sendFrom(local.stream, { ascii: job.ascii, deflate: s.modeZ, tracker }),
    }, signal);
    tracker.finish();
    return { bytes: tracker.moved, reply };
  } catch (err) {
    if (local.kind === 'stream') local.stream.destroy();
    throw classify(err, { path: typeof job.from === 'string' ? job.from : undefined, action: 'read', streamError, role: 'source' });
  } finally {
    if (local.kind === 'file') await local.reader.close();
  }
}

