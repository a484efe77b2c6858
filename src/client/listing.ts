import { parseListing, type ListEntry } from '../protocol/index.js';
import { FtpError } from '../errors.js';
import { ProgressTracker, type TransferProgress } from './progress.js';
import { setType, type ControlSession } from './control-session.js';
import { collectListing } from './stream-io.js';
import { runTransfer } from './transfer.js';

/**
 * Lists a folder: MLSD when FEAT offered MLST (RFC 3659 machine-readable
 * facts), else LIST parsed as Unix `ls -l` or DOS lines. The data is capped
 * at maxListingBytes before it is buffered.
 */
export async function readListing(session: ControlSession, path: string, signal: AbortSignal, onProgress: (p: TransferProgress) => void): Promise<ListEntry[]> {
  await setType(session, 'I');
  const mlsd = session.features.has('MLST') || session.features.has('MLSD');
  // Servers that parse LIST arguments like `ls` would read "-x" as flags.
  const listArg = path.startsWith('-') ? `./${path}` : path;
  const command = mlsd ? joinCommand('MLSD', path) : joinCommand('LIST', listArg);
  const chunks: Buffer[] = [];
  const tracker = new ProgressTracker(onProgress, session.options.progressInterval, { name: path, direction: 'list', total: undefined });
  try {
    await runTransfer(session, { command, handle: collectListing(session.options.maxListingBytes, chunks, tracker, session.modeZ) }, signal);
  } catch (err) {
    // A server that advertises MLST but not MLSD: fall back once to LIST.
    if (mlsd && err instanceof FtpError && (err.replyCode === 500 || err.replyCode === 502)) {
      chunks.length = 0;
      await runTransfer(session, { command: joinCommand('LIST', listArg), handle: collectListing(session.options.maxListingBytes, chunks, tracker, session.modeZ) }, signal);
      return clean(parseListing(Buffer.concat(chunks).toString('utf8'), 'auto'));
    }
    throw err;
  }
  tracker.finish();
  const text = Buffer.concat(chunks).toString('utf8');
  return clean(parseListing(text, mlsd ? 'mlsd' : 'auto'));
}

function joinCommand(verb: string, path: string): string {
  return path === '' ? verb : `${verb} ${path}`;
}

/** Drops the folder's own entries: '.', '..' and MLSD's cdir/pdir facts. */
function clean(entries: ListEntry[]): ListEntry[] {
  return entries.filter((e) => {
    if (e.name === '.' || e.name === '..') return false;
    const t = e.facts?.type?.toLowerCase();
    return t !== 'cdir' && t !== 'pdir';
  });
}
