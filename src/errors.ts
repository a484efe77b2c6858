/**
 * Every error ftpkit raises is an FtpError with a stable `code` users match on.
 * The table of codes lives in the README ("Errors").
 */
export type FtpErrorCode =
  | 'FTPKIT_ERR_INVALID_ARGUMENT' // a programmer mistake: bad or unknown option, bad argument (thrown by constructors, a rejection from methods that return a promise)
  | 'FTPKIT_ERR_PROTOCOL' // the peer broke the protocol (malformed reply, garbage)
  | 'FTPKIT_ERR_REPLY_TOO_LARGE' // a reply exceeded maxReplyBytes
  | 'FTPKIT_ERR_LISTING_TOO_LARGE' // a listing exceeded maxListingBytes
  | 'FTPKIT_ERR_REPLY' // the server answered with a 4xx/5xx code (see replyCode)
  | 'FTPKIT_ERR_TIMEOUT' // a wait ran past its timeout
  | 'FTPKIT_ERR_ABORTED' // an AbortSignal fired
  | 'FTPKIT_ERR_CONNECTION_CLOSED' // the peer closed the connection early
  | 'FTPKIT_ERR_UNSAFE_PATH' // a path or argument carries CR, LF or NUL, or escapes a jail
  | 'FTPKIT_ERR_DATA_CONNECTION' // the data connection could not be made or failed
  | 'FTPKIT_ERR_INTEGRITY' // a file's hash differs between client and server (--verify), or cannot be compared
  | 'FTPKIT_ERR_TLS' // the TLS handshake failed or the server's certificate was refused (expired, untrusted, wrong host, pin mismatch)
  | 'FTPKIT_ERR_BUSY' // a bounded queue is full (password verifications waiting for the thread pool): try again later
  | 'FTPKIT_ERR_LOCAL_FILE' // a local file (or the stream given in its place) could not be opened, read or written; `cause` has the errno error
  | 'FTPKIT_ERR_CLOSED' // the client or server was already closed
  // Server side and shared (issue 13): one code per condition.
  | 'FTPKIT_ERR_LOCKED' // a file lock is held by another session (LockConflictError): the server answers 450
  | 'FTPKIT_ERR_LOCK_LOST' // a lease-based lock (RedisLockManager) was lost before its holder was done (LockLostError)
  | 'FTPKIT_ERR_REDIS_UNREACHABLE' // Redis (the `redis` option) did not answer: the server answers 421 or 451 meanwhile
  | 'FTPKIT_ERR_INCOMPLETE' // a transfer ended without error but with fewer bytes than the file has, or a folder transfer finished with some files failed (the error's `result` lists them)
  | 'FTPKIT_ERR_STATE'; // a call that the object's state does not allow (listen() a second time)

export class FtpError extends Error {
  override readonly name = 'FtpError';
  readonly code: FtpErrorCode;
  /** The FTP reply code involved, when one applies. */
  readonly replyCode: number | undefined;

  constructor(code: FtpErrorCode, message: string, options?: { replyCode?: number; cause?: unknown }) {
    super(message, options?.cause === undefined ? undefined : { cause: options.cause });
    this.code = code;
    this.replyCode = options?.replyCode;
  }
}

/** Validates a numeric option at construction; ws's `| 0` bug is why this uses isSafeInteger. */
export function checkInteger(name: string, value: unknown, min: number, max = Number.MAX_SAFE_INTEGER): number {
  if (typeof value !== 'number' || !Number.isSafeInteger(value) || value < min || value > max) {
    throw new FtpError('FTPKIT_ERR_INVALID_ARGUMENT', `${name} must be an integer from ${min} to ${max}, got ${String(value)}`);
  }
  return value;
}
