import type { CommandSpec } from '../command.js';

const RANG_SYNTAX = 'RANG needs two byte positions: RANG <start> <end>';

/**
 * RANG (draft-bryan-ftp-range-08), as ProFTPD implements it: the next RETR sends bytes
 * start..end, both inclusive, and the data connection closes after them, so a client reads
 * a slice without ABOR.
 *
 *   RANG 1000 1999  ->  350 Transferring bytes 1000-1999 (1000 bytes). Send RETR
 *   RETR clip.mp4   ->  150 ... (1000 bytes)  ==== 1000 bytes ====  226
 *
 * `RANG 1 0` resets (draft section 3). REST replaces a RANG and RANG a REST: both are the
 * session's restart selection (Session.setRestart, setRange), which the next RETR, STOR, APPE
 * or STOU takes (their `restart` rule) as ctx.restart and ctx.rangeEnd. Out-of-file ranges are
 * refused by the RETR (draft 4.3: errors other than syntax come with the transfer command): a
 * start past the end answers 554 like REST does; an end past it is cut at the last byte
 * (draft 4.3).
 */
export const RANG: CommandSpec = {
  verbs: ['RANG'],
  help: 'RANG <start> <end>',
  feat: ['RANG STREAM'],
  login: true,
  arg: 'required',
  missing: RANG_SYNTAX,
  handler({ session }, arg) {
    const m = /^(\d{1,20}) +(\d{1,20})$/.exec(arg.trim());
    const start = m ? Number(m[1]) : NaN;
    const end = m ? Number(m[2]) : NaN;
    // A refused RANG leaves the whole file selected (draft section 3).
    session.clearRestart();
    if (!Number.isSafeInteger(start) || !Number.isSafeInteger(end)) return session.reply(501, RANG_SYNTAX);
    if (start === 1 && end === 0) return session.reply(350, 'Byte range reset');
    if (end < start) return session.reply(501, 'RANG end must not be before its start');
    // Draft section 5: byte positions mean nothing once TYPE A rewrites line ends.
    if (session.type !== 'I') return session.reply(551, 'RANG needs TYPE I');
    session.setRange(start, end);
    session.reply(350, `Transferring bytes ${start}-${end} (${end - start + 1} bytes). Send RETR`);
  },
};
