/**
 * Text from a peer or a file name, made safe to put in a message, a log line
 * or a terminal: control characters (C0, DEL, C1: ANSI escapes start there)
 * and the bidirectional overrides that reorder what a reader sees become '?';
 * longer than `max` characters ends in '...'. Other Unicode is kept.
 */
export function printable(text: string, max = 256): string {
  // eslint-disable-next-line no-control-regex
  const clean = text.replace(/[\u0000-\u001f\u007f-\u009f\u202a-\u202e\u2066-\u2069]/g, '?');
  return clean.length > max ? `${clean.slice(0, max)}...` : clean;
}
