/**
 * Codes that mean the peer's side of a connection went away: reset (ECONNRESET), written to
 * after it closed (EPIPE), aborted (ECONNABORTED), closed before its stream ended
 * (ERR_STREAM_PREMATURE_CLOSE), or ended in a way that does not count as an end
 * (FTPKIT_ERR_CONNECTION_CLOSED: a TLS data connection cut without close_notify, the control
 * connection lost before an upload commits). The one list server and client use.
 */
const PEER_GONE = new Set(['ECONNRESET', 'EPIPE', 'ECONNABORTED', 'ERR_STREAM_PREMATURE_CLOSE', 'FTPKIT_ERR_CONNECTION_CLOSED']);

/** True when `err` says the peer went away (see PEER_GONE), not that something here failed. */
export function isPeerGone(err: unknown): boolean {
  const code = (err as { code?: unknown } | null | undefined)?.code;
  return typeof code === 'string' && PEER_GONE.has(code);
}
