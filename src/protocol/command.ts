/** A parsed control-connection command. */
export interface FtpCommand {
  /** Upper-case ASCII verb as sent (the server decides whether it is known). */
  verb: string;
  /** Everything after the first space, verbatim; '' when there is none. */
  arg: string;
}

/**
 * Splits a command line into verb and argument.
 *
 * The argument is kept verbatim (leading/trailing spaces included) because
 * file names may legitimately start or end with spaces (RFC 959 treats the
 * pathname as everything after the single separating space). Invalid UTF-8
 * becomes U+FFFD instead of throwing: a peer's bad bytes must never crash us.
 */
export function parseCommand(line: Buffer | string): FtpCommand | null {
  let text = typeof line === 'string' ? line : line.toString('utf8');
  // Accept a string that still carries its terminator.
  if (text.endsWith('\n')) text = text.slice(0, text.endsWith('\r\n') ? -2 : -1);

  let start = 0;
  while (start < text.length && (text[start] === ' ' || text[start] === '\t')) start++;
  if (start === text.length) return null;

  const space = text.indexOf(' ', start);
  const rawVerb = space === -1 ? text.slice(start) : text.slice(start, space);
  const arg = space === -1 ? '' : text.slice(space + 1);
  return { verb: asciiUpper(rawVerb), arg };
}

// toUpperCase() alone would turn 'ß' into 'SS' and similar; only fold a-z.
function asciiUpper(s: string): string {
  let out = '';
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    out += c >= 0x61 && c <= 0x7a ? String.fromCharCode(c - 0x20) : s[i];
  }
  return out;
}
