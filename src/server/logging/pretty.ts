import { formatBytes, formatDuration, formatRate } from './text.js';

/**
 * Readable log lines for a terminal (ftp-serve on a TTY): pino's JSON records, one line each,
 *
 *   2026-12-01 23:44:09 INFO  alice@127.0.0.1 upload /a.txt (226), 1000 B in 3 ms, 325 KiB/s
 *   2026-12-01 23:44:10 WARN  bob@127.0.0.1 upload /b.txt: 550 /b.txt: Permission denied (w not allowed)
 *
 * time, level, user@address (the address alone before login), then what happened. Audit records
 * (with an `event` field, see audit.ts) are told in words; other records show their message and
 * their fields as key=value.
 */

type Record_ = Record<string, unknown>;

const LEVELS: Record<number, [name: string, color: string]> = {
  10: ['TRACE', '90'],
  20: ['DEBUG', '36'],
  30: ['INFO ', '32'],
  40: ['WARN ', '33'],
  50: ['ERROR', '31'],
  60: ['FATAL', '35'],
};

/** Fields shown elsewhere in the line, or noise on a terminal. */
const SHOWN = new Set(['level', 'time', 'msg', 'pid', 'hostname', 'session', 'remote', 'user', 'event', 'secure', 'v']);

function localTime(ms: number): string {
  const d = new Date(ms);
  const two = (n: number): string => String(n).padStart(2, '0');
  return `${d.getFullYear()}-${two(d.getMonth() + 1)}-${two(d.getDate())} ${two(d.getHours())}:${two(d.getMinutes())}:${two(d.getSeconds())}`;
}

function str(value: unknown): string {
  return typeof value === 'string' ? value : String(value);
}

/** ` 1000 B in 3 ms, 325 KiB/s` for a record with bytes and a duration. */
function moved(r: Record_): string {
  if (typeof r.bytes !== 'number') return '';
  const ms = typeof r.durationMs === 'number' ? r.durationMs : 0;
  const rate = typeof r.rate === 'number' ? `, ${formatRate(r.rate)}` : '';
  return `, ${formatBytes(r.bytes)} in ${formatDuration(ms)}${rate}`;
}

const plural = (n: number, word: string): string => `${n} ${word}${n === 1 ? '' : 's'}`;

/** Words for an audit record. */
function describeEvent(r: Record_): string {
  const tls = r.secure === true ? ' (TLS)' : '';
  switch (r.event) {
    case 'connect':
      return `connect${tls}`;
    case 'login':
      return `login${r.anonymous === true ? ' (anonymous)' : ''}${tls}`;
    case 'login-failed':
      return `login failed: ${r.reason === 'tls-required' ? 'this user must use TLS' : 'wrong user name or password'}`;
    case 'ban':
      return `banned after ${str(r.failures)} failed logins, until ${typeof r.until === 'string' ? localTime(Date.parse(r.until)) : '?'}`;
    case 'security':
      return `${str(r.msg)}: ${str(r.detail)}`;
    case 'disconnect': {
      const files = `${plural(Number(r.filesIn), 'file')} in (${formatBytes(Number(r.bytesIn))}), ${Number(r.filesOut)} out (${formatBytes(Number(r.bytesOut))})`;
      return `disconnect after ${formatDuration(Number(r.durationMs))}: ${files}`;
    }
    default: {
      const what = r.event === 'refused' ? str(r.verb) : str(r.event);
      const target = r.from !== undefined ? ` ${str(r.from)}${r.to !== undefined ? ` -> ${str(r.to)}` : ''}` : r.path !== undefined ? ` ${str(r.path)}` : '';
      const mode = r.mode !== undefined ? ` ${str(r.mode)}` : '';
      const code = Number(r.code);
      const busy = Array.isArray(r.heldBy) && r.heldBy.length > 0 ? ` (in use by ${(r.heldBy as Array<{ command?: string }>).map((h) => h.command ?? '?').join(', ')})` : '';
      if (code < 400) return `${what}${mode}${target} (${code})${moved(r)}`;
      return `${what}${mode}${target}: ${code} ${str(r.reply)}${busy}${moved(r)}`;
    }
  }
}

function fieldText(value: unknown): string {
  if (typeof value === 'string') return /[\s"=]/.test(value) || value === '' ? JSON.stringify(value) : value;
  if (typeof value === 'object' && value !== null) {
    const err = value as { message?: unknown; address?: unknown; port?: unknown };
    if (typeof err.message === 'string') return JSON.stringify(err.message);
    if (typeof err.address === 'string' && typeof err.port === 'number') {
      return err.address.includes(':') ? `[${err.address}]:${err.port}` : `${err.address}:${err.port}`; // an AddressInfo
    }
    return JSON.stringify(value);
  }
  return String(value);
}

/** One readable line (no newline) for a pino record. */
export function prettyLine(record: Record_, color = false): string {
  const [name, code] = LEVELS[Number(record.level)] ?? ['?    ', '0'];
  const level = color ? `\x1b[${code}m${name}\x1b[0m` : name;
  const time = localTime(typeof record.time === 'number' ? record.time : Date.now());
  const remote = typeof record.remote === 'string' ? record.remote : undefined;
  const who = remote ? (record.user !== undefined ? `${str(record.user)}@${remote}` : remote) : '-';
  let what: string;
  if (typeof record.event === 'string') {
    what = describeEvent(record);
  } else {
    what = str(record.msg ?? '');
    for (const [key, value] of Object.entries(record)) {
      if (!SHOWN.has(key) && value !== undefined) what += ` ${key}=${fieldText(value)}`;
    }
  }
  // eslint-disable-next-line no-control-regex
  return `${time} ${level} ${who} ${what.replace(/[\x00-\x1f\x7f]/g, '?')}`;
}

/**
 * A pino destination that writes prettyLine()s to `out` (process.stderr in ftp-serve):
 * `pino({ level }, prettyDestination(process.stderr, process.stderr.isTTY))`.
 */
export function prettyDestination(out: { write(text: string): unknown }, color = false): { write(chunk: string): void } {
  return {
    write(chunk: string) {
      let line: string;
      try {
        line = prettyLine(JSON.parse(chunk) as Record_, color);
      } catch {
        line = chunk.trimEnd();
      }
      out.write(`${line}\n`);
    },
  };
}
