import { MONTHS, parseMlsdTime } from './listing.js';

/** One entry parsed from a LIST or MLSD listing. */
export interface ListEntry {
  name: string;
  type: 'file' | 'dir' | 'link' | 'unknown';
  size?: number;
  modified?: Date;
  permissions?: string;
  /** Symlink target from a Unix "name -> target" line. */
  target?: string;
  /** MLSx facts, keys lower-cased, values verbatim. */
  facts?: Record<string, string>;
  /** The RFC 3659 `media-type` fact (`video/mp4`), lower-cased, when the server sent a well-formed one. */
  mediaType?: string;
}

export type ListingFormat = 'auto' | 'unix' | 'dos' | 'mlsd';

// Every parser here scans by index over a bounded number of tokens, so each
// is linear in the line length whatever the input (basic-ftp's listing
// regexes were a ReDoS vector). No regex with nested or unbounded
// quantifiers is used on untrusted text.

interface Span {
  start: number;
  end: number;
}

/** Up to `max` space/tab-separated tokens; scanning stops after the last one. */
function tokenize(line: string, max: number): Span[] {
  const out: Span[] = [];
  let i = 0;
  const n = line.length;
  while (out.length < max) {
    while (i < n && isBlank(line.charCodeAt(i))) i++;
    if (i >= n) break;
    const start = i;
    while (i < n && !isBlank(line.charCodeAt(i))) i++;
    out.push({ start, end: i });
  }
  return out;
}

function isBlank(c: number): boolean {
  return c === 0x20 || c === 0x09;
}

function isDigit(c: number): boolean {
  return c >= 0x30 && c <= 0x39;
}

/** Decimal digits in s[start, end), at most maxLen of them; -1 otherwise. */
function digits(s: string, start: number, end: number, maxLen = 15): number {
  if (end <= start || end - start > maxLen) return -1;
  let v = 0;
  for (let i = start; i < end; i++) {
    const c = s.charCodeAt(i);
    if (!isDigit(c)) return -1;
    v = v * 10 + (c - 0x30);
  }
  return v;
}

function stripCr(line: string): string {
  return line.endsWith('\r') ? line.slice(0, -1) : line;
}

const TYPE_CHARS = '-dlbcpsDn';
const PERM_CHARS = 'rwxsStTlL-';

function monthIndex(s: string, span: Span): number {
  if (span.end - span.start !== 3) return -1;
  const m = s.slice(span.start, span.end).toLowerCase();
  for (let i = 0; i < 12; i++) if (MONTHS[i]!.toLowerCase() === m) return i;
  return -1;
}

/** "H:MM"/"HH:MM" -> minutes since midnight, or -1. */
function clock(s: string, start: number, end: number): number {
  const colon = s.indexOf(':', start);
  if (colon === -1 || colon >= end) return -1;
  const h = digits(s, start, colon, 2);
  const m = end - colon === 3 ? digits(s, colon + 1, end, 2) : -1;
  if (h === -1 || m === -1 || h > 23 || m > 59) return -1;
  return h * 60 + m;
}

/**
 * A Unix `ls -l` line, as most servers send for LIST:
 *   drwxr-xr-x  2 owner group   4096 Jan  5 13:04 name
 *   -rw-r--r--  1 1000  1000      12 Mar 12  2020 name with spaces
 *   lrwxrwxrwx  1 owner group      7 Jan 05 13:04 link -> target
 * The group (or link count) may be missing, so the date is located by shape:
 * a month name, a day and a time or year, after a numeric size.
 * `now` decides the year of "Mon DD HH:MM" dates (UTC, as ls prints them here).
 */
export function parseUnixListLine(line: string, now: Date = new Date()): ListEntry | null {
  line = stripCr(line);
  const t = tokenize(line, 10);
  if (t.length < 5) return null;
  const p = t[0]!.start;
  if (t[0]!.end - p < 10 || !TYPE_CHARS.includes(line[p]!)) return null;
  for (let i = p + 1; i < p + 10; i++) if (!PERM_CHARS.includes(line[i]!)) return null;

  for (let k = 2; k + 2 < t.length; k++) {
    const month = monthIndex(line, t[k]!);
    if (month === -1) continue;
    const sizeSpan = t[k - 1]!;
    const size = digits(line, sizeSpan.start, sizeSpan.end);
    const daySpan = t[k + 1]!;
    const day = digits(line, daySpan.start, daySpan.end, 2);
    if (size === -1 || day < 1 || day > 31) continue;
    const ts = t[k + 2]!;
    const modified = unixDate(line, ts, month, day, now);
    if (!modified) continue;

    // ls puts exactly one space before the name; keep any further spaces.
    const nameStart = ts.end + 1;
    if (nameStart >= line.length) return null;
    let name = line.slice(nameStart);
    const typeChar = line[p]!;
    const entry: ListEntry = {
      name,
      type: typeChar === 'd' ? 'dir' : typeChar === 'l' ? 'link' : typeChar === '-' ? 'file' : 'unknown',
      size,
      modified,
      permissions: line.slice(p + 1, p + 10),
    };
    if (entry.type === 'link') {
      const arrow = name.indexOf(' -> ');
      if (arrow > 0) {
        entry.target = name.slice(arrow + 4);
        name = name.slice(0, arrow);
        entry.name = name;
      }
    }
    return entry;
  }
  return null;
}

function unixDate(line: string, ts: Span, month: number, day: number, now: Date): Date | null {
  const len = ts.end - ts.start;
  if (len === 4) {
    const year = digits(line, ts.start, ts.end, 4);
    if (year === -1) return null;
    return utc(year, month, day, 0, 0);
  }
  const minutes = clock(line, ts.start, ts.end);
  if (minutes === -1) return null;
  // "Mon DD HH:MM" has no year: it is within the last six months, so take
  // this year unless that lands more than a day in the future.
  let year = now.getUTCFullYear();
  let d = utc(year, month, day, Math.floor(minutes / 60), minutes % 60);
  if (!d || d.getTime() > now.getTime() + 86_400_000) {
    year--;
    d = utc(year, month, day, Math.floor(minutes / 60), minutes % 60);
  }
  return d;
}

function utc(year: number, month: number, day: number, h: number, m: number): Date | null {
  const d = new Date(Date.UTC(year, month, day, h, m));
  d.setUTCFullYear(year);
  return d.getUTCDate() === day ? d : null;
}

/**
 * A DOS/IIS line:
 *   01-05-24  01:04PM       <DIR>          name
 *   01-05-24  01:04PM                 1234 name
 *   01-05-2024  13:04              1,234 name
 * Dates are month-day-year (IIS's default), read as UTC.
 */
export function parseDosListLine(line: string): ListEntry | null {
  line = stripCr(line);
  const t = tokenize(line, 4);
  if (t.length < 4) return null;
  const date = dosDate(line, t[0]!);
  if (!date) return null;

  let idx = 1;
  let timeEnd = t[1]!.end;
  let suffix = '';
  const tail = line.slice(Math.max(t[1]!.start, timeEnd - 2), timeEnd).toUpperCase();
  if (tail === 'AM' || tail === 'PM') {
    suffix = tail;
    timeEnd -= 2;
  } else {
    const next = line.slice(t[2]!.start, t[2]!.end).toUpperCase();
    if (next === 'AM' || next === 'PM') {
      suffix = next;
      idx++;
    }
  }
  let minutes = clock(line, t[1]!.start, timeEnd);
  if (minutes === -1) return null;
  if (suffix) {
    const h = Math.floor(minutes / 60);
    if (h < 1 || h > 12) return null;
    minutes = ((h % 12) + (suffix === 'PM' ? 12 : 0)) * 60 + (minutes % 60);
  }
  date.setUTCHours(Math.floor(minutes / 60), minutes % 60);

  // Re-tokenize when "AM"/"PM" was its own token, so the size field is found.
  const all = idx === 1 ? t : tokenize(line, 5);
  const field = all[idx + 1];
  if (!field) return null;
  let nameStart = field.end;
  while (nameStart < line.length && isBlank(line.charCodeAt(nameStart))) nameStart++;
  if (nameStart >= line.length) return null;
  const name = line.slice(nameStart);

  const text = line.slice(field.start, field.end);
  if (text.toUpperCase() === '<DIR>') return { name, type: 'dir', modified: date };
  const size = dosSize(text);
  if (size === -1) return null;
  return { name, type: 'file', size, modified: date };
}

function dosDate(line: string, span: Span): Date | null {
  const s = line.slice(span.start, span.end);
  const sep = s[2];
  if ((sep !== '-' && sep !== '/') || s[5] !== sep || (s.length !== 8 && s.length !== 10)) return null;
  const mo = digits(s, 0, 2, 2);
  const d = digits(s, 3, 5, 2);
  let y = digits(s, 6, s.length, 4);
  if (mo < 1 || mo > 12 || d < 1 || y === -1) return null;
  if (s.length === 8) y += y < 70 ? 2000 : 1900;
  return utc(y, mo - 1, d, 0, 0);
}

/** "1234" or "1,234" (some IIS setups group digits). */
function dosSize(s: string): number {
  let v = 0;
  let seen = false;
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    if (c === 0x2c && seen) continue;
    if (!isDigit(c)) return -1;
    v = v * 10 + (c - 0x30);
    seen = true;
  }
  return seen && Number.isSafeInteger(v) ? v : -1;
}

/**
 * An MLSD line / MLST fact line (RFC 3659 §7): "fact=value;...; name".
 * The facts end at the first space; the name is everything after it.
 * Types cdir and pdir come back as 'dir' with facts.type kept: callers skip them.
 */
export function parseMlsxLine(line: string): ListEntry | null {
  line = stripCr(line);
  // An MLST reply indents its fact line with one space (RFC 3659 §7.2); an
  // MLSD line with no facts is " name". Strip the indent only before facts.
  if (line.startsWith(' ')) {
    const sp = line.indexOf(' ', 1);
    if (sp > 1 && line[sp - 1] === ';' && line.lastIndexOf('=', sp) > 0) line = line.slice(1);
  }
  const space = line.indexOf(' ');
  if (space === -1 || space === line.length - 1) return null;
  const name = line.slice(space + 1);
  const facts: Record<string, string> = Object.create(null) as Record<string, string>;
  let i = 0;
  while (i < space) {
    let semi = line.indexOf(';', i);
    if (semi === -1 || semi > space) semi = space; // tolerate a missing final ';'
    const eq = line.indexOf('=', i);
    if (eq <= i || eq >= semi) return null;
    facts[line.slice(i, eq).toLowerCase()] = line.slice(eq + 1, semi);
    i = semi + 1;
  }

  const entry: ListEntry = { name, type: mlsxType(facts['type']), facts };
  const size = facts['size'] ?? facts['sizd'];
  if (size !== undefined) {
    const n = digits(size, 0, size.length);
    if (n !== -1) entry.size = n;
  }
  if (facts['modify'] !== undefined) {
    const d = parseMlsdTime(facts['modify']);
    if (d) entry.modified = d;
  }
  if (facts['perm'] !== undefined) entry.permissions = facts['perm'];
  const media = facts['media-type'];
  // type/subtype in RFC 6838 restricted-name characters, and short: anything else is dropped.
  if (media !== undefined && media.length <= 255 && /^[a-z0-9][a-z0-9!#$&^_.+-]*\/[a-z0-9][a-z0-9!#$&^_.+-]*$/i.test(media)) entry.mediaType = media.toLowerCase();
  return entry;
}

function mlsxType(type: string | undefined): ListEntry['type'] {
  if (type === undefined) return 'unknown';
  const t = type.toLowerCase();
  if (t === 'file') return 'file';
  if (t === 'dir' || t === 'cdir' || t === 'pdir') return 'dir';
  // "OS.unix=slink" or "OS.unix=symlink", sometimes with ":target" appended.
  if (t.startsWith('os.unix=slink') || t.startsWith('os.unix=symlink')) return 'link';
  return 'unknown';
}

const PARSERS = {
  mlsd: (l: string) => parseMlsxLine(l),
  unix: (l: string, now: Date) => parseUnixListLine(l, now),
  dos: (l: string) => parseDosListLine(l),
} as const;

/**
 * Parses a whole listing. Skips blank lines, "total N" and lines that do not
 * parse. With 'auto', the first line that any parser accepts fixes the format
 * for the rest of the listing.
 */
export function parseListing(text: string, format: ListingFormat = 'auto', now: Date = new Date()): ListEntry[] {
  const out: ListEntry[] = [];
  let parser: ((l: string, now: Date) => ListEntry | null) | undefined = format === 'auto' ? undefined : PARSERS[format];
  for (const raw of text.split('\n')) {
    const line = stripCr(raw);
    if (line.trim() === '' || isTotalLine(line)) continue;
    if (parser) {
      const e = parser(line, now);
      if (e) out.push(e);
      continue;
    }
    for (const key of ['mlsd', 'unix', 'dos'] as const) {
      const e = PARSERS[key](line, now);
      if (e) {
        parser = PARSERS[key];
        out.push(e);
        break;
      }
    }
  }
  return out;
}

function isTotalLine(line: string): boolean {
  if (line.slice(0, 6).toLowerCase() !== 'total ') return false;
  return digits(line.trim(), 6, line.trim().length) !== -1;
}
