import { FtpError } from '../errors.js';
import { parseMlsdTime, parseMlsxLine, parseQuotedPath, type ListEntry } from '../protocol/index.js';
import { expect, protocolError, replyError, setType, type ControlSession } from './control-session.js';
import { readListing } from './listing.js';

/**
 * What a remote path is, asked the best way the server allows:
 *
 *   1. MLST (RFC 3659 section 7), when FEAT offers it: one reply with the facts.
 *   2. SIZE + MDTM: a 213 to SIZE means a regular file (servers refuse SIZE on folders).
 *   3. The parent's listing, searched for the name: folders and links on servers
 *      without MLST (vsftpd), and servers without SIZE. '/' is probed with CWD.
 *
 * A path that is not there rejects with FTPKIT_ERR_REPLY and replyCode 550,
 * whichever way was used, so `exists()` has one thing to look for.
 */
export async function statPath(s: ControlSession, path: string, signal: AbortSignal): Promise<ListEntry> {
  if (s.features.has('MLST')) {
    const reply = await s.control.request(`MLST ${path}`, s.options.timeout);
    if (reply.code === 250) {
      // 250-Listing path / " type=file;size=12;... /path" / 250 End
      const line = reply.lines.slice(1, -1).find((l) => l.trim() !== '');
      const entry = line === undefined ? null : parseMlsxLine(line);
      if (entry === null) throw protocolError('malformed MLST reply', reply);
      // MLST names the whole path; the other ways give the last segment, as listings do.
      return { ...entry, name: baseName(entry.name) || entry.name };
    }
    // 500/502: offered but not implemented after all; anything else is the answer.
    if (reply.code !== 500 && reply.code !== 502) throw replyError(reply);
  }
  const name = baseName(path);
  if (name !== '') {
    await setType(s, 'I'); // SIZE in TYPE A is refused or wrong on several servers
    const size = await s.control.request(`SIZE ${path}`, s.options.timeout);
    if (size.code === 213) {
      const n = Number(size.text.trim());
      if (!Number.isSafeInteger(n) || n < 0) throw protocolError('malformed SIZE reply', size);
      const entry: ListEntry = { name, type: 'file', size: n };
      const mdtm = await s.control.request(`MDTM ${path}`, s.options.timeout);
      const modified = mdtm.code === 213 ? parseMlsdTime(mdtm.text.trim()) : null;
      if (modified) entry.modified = modified;
      return entry;
    }
    if (size.code !== 550 && size.code !== 500 && size.code !== 502 && size.code !== 501) throw replyError(size);
    const entries = await readListing(s, parentOf(path), signal, () => {});
    const found = entries.find((e) => e.name === name);
    if (found) return found;
    throw notFound(path, `not in the listing of ${parentOf(path) || 'the current folder'}`);
  }
  // '/' (or 'a/b/'): a folder if we can go there.
  const home = parseQuotedPath((await expect(s, 'PWD', [257])).text);
  if (home === null) throw new FtpError('FTPKIT_ERR_PROTOCOL', 'malformed PWD reply');
  const cwd = await s.control.request(`CWD ${path}`, s.options.timeout);
  if (cwd.code !== 250) throw cwd.code === 550 ? replyError(cwd) : notFound(path, 'cannot change into it');
  await expect(s, `CWD ${home}`);
  return { name: path, type: 'dir' };
}

function notFound(path: string, why: string): FtpError {
  return new FtpError('FTPKIT_ERR_REPLY', `550 ${path}: ${why}`, { replyCode: 550 });
}

/** 'a/b/c' -> 'c'; '/a/' -> '' (a folder path: probed with CWD). */
function baseName(path: string): string {
  return path.slice(path.lastIndexOf('/') + 1);
}

/** '/a/b' -> '/a', '/a' -> '/', 'a' -> '' (the current folder). */
function parentOf(path: string): string {
  const slash = path.lastIndexOf('/');
  if (slash === -1) return '';
  return slash === 0 ? '/' : path.slice(0, slash);
}
