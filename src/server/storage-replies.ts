/**
 * Maps storage failures to FTP replies. Only the code and the client's virtual path reach the
 * peer: never the error's message, which could name a host path.
 */
const REPLIES: Record<string, [number, string]> = {
  ENOENT: [550, 'No such file or directory'],
  ENOTDIR: [550, 'Not a directory'],
  EISDIR: [550, 'Is a directory'],
  EEXIST: [550, 'File exists'],
  ENOTEMPTY: [550, 'Directory not empty'],
  EACCES: [550, 'Permission denied'],
  EPERM: [550, 'Permission denied'],
  EROFS: [550, 'Read-only file system'],
  ENOSPC: [452, 'Insufficient storage space'],
  EDQUOT: [552, 'Storage quota exceeded'],
  EFBIG: [552, 'File too large'],
  EINVAL: [550, 'Invalid argument'],
  EXDEV: [550, 'Cannot move across file systems'],
  ENAMETOOLONG: [550, 'File name too long'],
  ELOOP: [550, 'Too many symbolic links'],
  // MODE Z uploads (data/mode-z.ts): the client's data, not the storage, failed.
  FTPKIT_ERR_MODE_Z_INVALID: [451, 'Invalid compressed data; transfer aborted'],
  FTPKIT_ERR_MODE_Z_TRUNCATED: [451, 'Compressed stream ended early; transfer aborted'],
};

export function replyForError(err: unknown, path: string, fallback = 451): [number, string] {
  const code = (err as NodeJS.ErrnoException | undefined)?.code;
  const known = code ? REPLIES[code] : undefined;
  if (known) return [known[0], `${path}: ${known[1]}`];
  return [fallback, fallback === 451 ? 'Local error in processing' : `${path}: Requested action not taken`];
}
