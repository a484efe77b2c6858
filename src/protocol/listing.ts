import { mediaTypeOf } from './media-types.js';

/** What the server knows about one directory entry (same shape as StorageStat). */
export interface FileFacts {
  name: string;
  type: 'file' | 'dir' | 'link' | 'other';
  size: number;
  mtime: Date;
  mode: number;
}

export const MONTHS = ['Jan', 'Feb', 'Mar', 'Apr', 'May', 'Jun', 'Jul', 'Aug', 'Sep', 'Oct', 'Nov', 'Dec'] as const;

const DAY_MS = 86_400_000;
/** ls shows the time for entries younger than about six months, else the year. */
export const RECENT_MS = 180 * DAY_MS;

const pad2 = (n: number): string => String(n).padStart(2, '0');

/** "rwxr-xr-x" from mode bits, with setuid/setgid/sticky shown like ls. */
export function formatPermissions(mode: number): string {
  const bit = (mask: number, ch: string): string => (mode & mask ? ch : '-');
  const special = (x: number, flag: number, on: string, off: string): string =>
    mode & flag ? (mode & x ? on : off) : bit(x, 'x');
  return (
    bit(0o400, 'r') + bit(0o200, 'w') + special(0o100, 0o4000, 's', 'S') +
    bit(0o040, 'r') + bit(0o020, 'w') + special(0o010, 0o2000, 's', 'S') +
    bit(0o004, 'r') + bit(0o002, 'w') + special(0o001, 0o1000, 't', 'T')
  );
}

/**
 * One `ls -l` line, no CRLF, in UTC:
 *   drwxr-xr-x 1 ftp ftp       4096 Jan 05 13:04 name   (modified within 180 days)
 *   -rw-r--r-- 1 ftp ftp         12 Jan 05  2020 name   (older, or more than a day ahead)
 * Exactly one space precedes the name, so names with leading spaces survive.
 */
export function formatListLine(info: FileFacts, now: Date = new Date()): string {
  const typeChar = info.type === 'dir' ? 'd' : info.type === 'link' ? 'l' : '-';
  const t = info.mtime.getTime();
  const valid = Number.isFinite(t);
  const d = valid ? info.mtime : new Date(0);
  const age = now.getTime() - d.getTime();
  const recent = valid && age < RECENT_MS && age >= -DAY_MS;
  const when = recent
    ? `${pad2(d.getUTCHours())}:${pad2(d.getUTCMinutes())}`
    : ` ${String(d.getUTCFullYear()).padStart(4, '0')}`;
  const size = String(Math.max(0, Math.trunc(info.size) || 0)).padStart(10);
  return `${typeChar}${formatPermissions(info.mode)} 1 ftp ftp ${size} ${MONTHS[d.getUTCMonth()]} ${pad2(d.getUTCDate())} ${when} ${info.name}`;
}

/** YYYYMMDDHHMMSS in UTC (RFC 3659 §2.3). An invalid date formats as the epoch. */
export function formatMlsdTime(date: Date): string {
  const d = Number.isFinite(date.getTime()) ? date : new Date(0);
  return (
    String(d.getUTCFullYear()).padStart(4, '0') + pad2(d.getUTCMonth() + 1) + pad2(d.getUTCDate()) +
    pad2(d.getUTCHours()) + pad2(d.getUTCMinutes()) + pad2(d.getUTCSeconds())
  );
}

/** Parses YYYYMMDDHHMMSS[.sss] (UTC); null when malformed or not a real date. */
export function parseMlsdTime(s: string): Date | null {
  if (s.length < 14) return null;
  for (let i = 0; i < 14; i++) if (!isDigitAt(s, i)) return null;
  let ms = 0;
  if (s.length > 14) {
    // RFC 3659 allows any number of fraction digits; keep milliseconds.
    if (s[14] !== '.' || s.length === 15) return null;
    for (let i = 15; i < s.length; i++) if (!isDigitAt(s, i)) return null;
    ms = Number((s.slice(15, 18) + '00').slice(0, 3));
  }
  const num = (a: number, b: number): number => Number(s.slice(a, b));
  const [y, mo, d, h, mi, sec] = [num(0, 4), num(4, 6), num(6, 8), num(8, 10), num(10, 12), num(12, 14)];
  if (mo < 1 || mo > 12 || d < 1 || d > 31 || h > 23 || mi > 59 || sec > 60) return null;
  const date = new Date(Date.UTC(y, mo - 1, d, h, mi, Math.min(sec, 59), ms));
  date.setUTCFullYear(y); // Date.UTC maps years 0..99 to 1900..1999
  if (date.getUTCMonth() !== mo - 1 || date.getUTCDate() !== d) return null; // Feb 30 and friends
  return date;
}

function isDigitAt(s: string, i: number): boolean {
  const c = s.charCodeAt(i);
  return c >= 0x30 && c <= 0x39;
}

/**
 * The MLST/MLSD facts ftpkit knows (RFC 3659 section 7.5), in the order
 * formatMlsxFacts writes them and FEAT lists them; OPTS MLST matches names
 * case-insensitively (`unix.mode` in a MlsxFactsOptions set).
 */
export const MLST_FACTS = ['type', 'size', 'modify', 'perm', 'UNIX.mode', 'media-type'] as const;

export interface MlsxFactsOptions {
  /** Lower-case names of the enabled facts: type, size, modify, perm, unix.mode, media-type. */
  facts: ReadonlySet<string>;
  /** Override the type fact for the listed directory itself or its parent. */
  type?: 'cdir' | 'pdir';
  /** RFC 3659 §7.5.5 permission letters, e.g. "rwadf" or "elcmp"; omitted when unset. */
  perm?: string;
}

/**
 * One MLSD line / MLST fact line (RFC 3659 §7), no CRLF:
 *   type=file;size=12;modify=20240101120000;perm=rwadf;UNIX.mode=0644;media-type=text/plain; name.txt
 * Facts come in that fixed order, then a single space, then the name verbatim.
 */
export function formatMlsxFacts(info: FileFacts, opts: MlsxFactsOptions): string {
  const { facts } = opts;
  let out = '';
  if (facts.has('type')) out += `type=${opts.type ?? mlsxType(info.type)};`;
  if (facts.has('size')) out += `size=${Math.max(0, Math.trunc(info.size) || 0)};`;
  if (facts.has('modify')) out += `modify=${formatMlsdTime(info.mtime)};`;
  if (facts.has('perm') && opts.perm !== undefined) out += `perm=${opts.perm};`;
  if (facts.has('unix.mode')) out += `UNIX.mode=0${(info.mode & 0o7777).toString(8).padStart(3, '0')};`;
  // RFC 3659 section 7.5.7: files only; a folder has no media type.
  if (facts.has('media-type') && info.type === 'file') out += `media-type=${mediaTypeOf(info.name)};`;
  return `${out} ${info.name}`;
}

function mlsxType(type: FileFacts['type']): string {
  switch (type) {
    case 'dir':
      return 'dir';
    case 'file':
      return 'file';
    case 'link':
      return 'OS.unix=slink'; // the IANA-registered OS-specific form (RFC 3659 §7.5.1)
    default:
      return 'OS.unix=other';
  }
}

/** `"path"` for a 257 reply, embedded quotes doubled (RFC 959 Appendix II). */
export function quotePath(path: string): string {
  return `"${path.replaceAll('"', '""')}"`;
}

/** Reverses quotePath on a 257 reply text ("/a ""b""" created" -> /a "b"); null if unquoted. */
export function parseQuotedPath(text: string): string | null {
  let i = text.indexOf('"');
  if (i === -1) return null;
  let out = '';
  for (i++; i < text.length; i++) {
    const ch = text[i]!;
    if (ch !== '"') {
      out += ch;
    } else if (text[i + 1] === '"') {
      out += '"';
      i++;
    } else {
      return out;
    }
  }
  return null; // no closing quote
}
