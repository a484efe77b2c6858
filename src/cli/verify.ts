import { FtpError, localHash, pickHashAlgorithm, type FileClient } from '../index.js';

/**
 * --verify: hashes `local` and asks the server for the same hash of `remote` (the strongest
 * algorithm it offers); a difference, or a server with no hash command, fails loudly.
 */
export async function verifyFile(client: FileClient, remote: string, local: string, signal?: AbortSignal): Promise<void> {
  const algorithm = pickHashAlgorithm(client.features);
  if (!algorithm) throw new FtpError('FTPKIT_ERR_INTEGRITY', `cannot verify ${remote}: the server offers no HASH, XSHA256, XSHA512, XSHA1, XMD5 or XCRC`);
  const [theirs, ours] = await Promise.all([client.hash(remote, algorithm, { signal }), localHash(local, algorithm)]);
  if (theirs !== ours) {
    throw new FtpError('FTPKIT_ERR_INTEGRITY', `${remote}: ${algorithm} mismatch after transfer: local ${ours}, server ${theirs}`);
  }
}
