import fs from 'node:fs/promises';
import type { FileClient, OperationOptions } from './client.js';
import { checkInteger, FtpError } from '../errors.js';
import { localFileError } from './local-file.js';
import { checkLocalPath, checkOptions, checkRemotePath } from './validate.js';
import { linkSignal } from './queue.js';

export interface SegmentedOptions extends OperationOptions {
  /** The remote size (from SIZE); required, since the ranges are cut from it. */
  size: number;
  /** Smallest range worth its own connection. Default 1 MiB. */
  minSegment?: number;
}

/**
 * lftp's pget: one file cut into ranges, one per client. Each client sends
 * REST to its range's start and reads exactly the range (the last one reads
 * to the end), writing into the preallocated local file at the same offset.
 */
export async function downloadSegmented(clients: readonly FileClient[], remotePath: string, localPath: string, opts: SegmentedOptions): Promise<{ bytes: number; segments: number }> {
  checkOptions(opts, ['signal', 'size', 'minSegment'], 'downloadSegmented()');
  checkRemotePath(remotePath);
  checkLocalPath(localPath, 'localPath');
  const { size } = opts;
  if (!Number.isSafeInteger(size) || size < 0) throw new FtpError('FTPKIT_ERR_INVALID_ARGUMENT', 'size must be a non-negative integer');
  if (!Array.isArray(clients) || clients.length === 0) throw new FtpError('FTPKIT_ERR_INVALID_ARGUMENT', 'at least one client is needed');
  const minSegment = checkInteger('minSegment', opts.minSegment ?? 1024 * 1024, 1);
  const count = Math.max(1, Math.min(clients.length, Math.floor(size / minSegment)));
  const step = Math.ceil(size / count);
  const file = await fs.open(localPath, 'w').catch((err: unknown) => {
    throw localFileError(err, localPath, 'open');
  });
  try {
    await file.truncate(size);
  } catch (err) {
    throw localFileError(err, localPath, 'write');
  } finally {
    await file.close();
  }
  let bytes = 0;
  const linked = linkSignal(opts.signal);
  await Promise.all(Array.from({ length: count }, async (_, i) => {
    const start = i * step;
    const last = i === count - 1;
    const handle = await fs.open(localPath, 'r+').catch((err: unknown) => {
      throw localFileError(err, localPath, 'open');
    });
    const out = handle.createWriteStream({ start });
    const result = await clients[i]!.download(remotePath, out, {
      signal: linked.signal,
      startAt: start,
      total: size,
      ...(last ? {} : { length: Math.min(step, size - start) }),
    }).catch((err: unknown) => {
      out.destroy();
      throw err;
    });
    bytes += result.bytes;
  })).finally(() => linked.dispose());
  if (bytes !== size) {
    throw new FtpError('FTPKIT_ERR_INCOMPLETE', `segmented download of ${remotePath} got ${bytes} of ${size} bytes`);
  }
  return { bytes, segments: count };
}
