import { checkInteger, FtpError } from '../errors.js';
import { assertSafeArgument } from './safety.js';

/**
 * Argument checks for FileClient's public methods. A misspelt option is a
 * silent bug otherwise (`{ username: 'alice' }` logged in as anonymous, and
 * basic-ftp's `{ secure: true }` sent the password in clear: issue 17), so
 * every options object is held to the names its method knows.
 */

function invalid(message: string): FtpError {
  return new FtpError('FTPKIT_ERR_INVALID_ARGUMENT', message);
}

/** Names other FTP clients use for our options, with what to write instead. */
const FOREIGN_NAMES: Record<string, { name: string; hint?: string }> = {
  username: { name: 'user' },
  login: { name: 'user' },
  pass: { name: 'password' },
  secure: { name: 'tls', hint: "basic-ftp's secure: true is tls: 'explicit', secure: 'implicit' is tls: 'implicit'" },
  secureOptions: { name: 'tls', hint: "certificate options are flat here: ca, rejectUnauthorized, servername, minVersion, fingerprint256" },
  passive: { name: 'active', hint: 'passive is the default; active: true for EPRT/PORT' },
  connTimeout: { name: 'timeout' },
  pasvTimeout: { name: 'dataTimeout' },
  keepalive: { name: 'keepAlive' },
};

/** For download({ from, to }): the names people reach for first. */
export const DOWNLOAD_ALIASES: Record<string, string> = { remote: 'from', remotePath: 'from', source: 'from', src: 'from', local: 'to', localPath: 'to', destination: 'to', dest: 'to' };
/** For upload({ from, to }). */
export const UPLOAD_ALIASES: Record<string, string> = { local: 'from', localPath: 'from', source: 'from', src: 'from', remote: 'to', remotePath: 'to', destination: 'to', dest: 'to' };

/** Levenshtein distance, case-insensitive; names are short, so the plain table is fine. */
function distance(a: string, b: string): number {
  a = a.toLowerCase();
  b = b.toLowerCase();
  let prev = Array.from({ length: b.length + 1 }, (_, j) => j);
  for (let i = 1; i <= a.length; i++) {
    const row = [i];
    for (let j = 1; j <= b.length; j++) {
      row[j] = Math.min(prev[j]! + 1, row[j - 1]! + 1, prev[j - 1]! + (a[i - 1] === b[j - 1] ? 0 : 1));
    }
    prev = row;
  }
  return prev[b.length]!;
}

/** The known name closest to `name`, when one is close enough to be a likely slip. */
export function nearestName(name: string, known: readonly string[]): string | undefined {
  let best: string | undefined;
  let bestScore = Infinity;
  for (const candidate of known) {
    const d = distance(name, candidate);
    const lower = name.toLowerCase();
    const cand = candidate.toLowerCase();
    // 'username' -> 'user', 'passwd' -> 'password': one contains the other's start.
    const related = d <= Math.max(2, Math.floor(candidate.length / 3)) || (cand.length >= 3 && (lower.startsWith(cand) || cand.startsWith(lower)));
    if (related && d < bestScore) {
      best = candidate;
      bestScore = d;
    }
  }
  return best;
}

/** "unknown option 'username' (did you mean 'user'?)" */
export function unknownName(kind: string, name: string, known: readonly string[], aliases: Record<string, string> = {}): FtpError {
  const foreign = Object.hasOwn(aliases, name) ? { name: aliases[name]! } : Object.hasOwn(FOREIGN_NAMES, name) ? FOREIGN_NAMES[name] : undefined;
  const suggestion = foreign && known.includes(foreign.name) ? foreign.name : nearestName(name, known);
  let message = `unknown ${kind} '${String(name).slice(0, 64)}'`;
  if (suggestion !== undefined) message += ` (did you mean '${suggestion}'?${foreign?.hint && suggestion === foreign.name ? ` ${foreign.hint}` : ''})`;
  else message += ` (known: ${known.join(', ')})`;
  return invalid(message);
}

/** A plain `{...}` object (not a stream, Buffer, array or class instance). */
export function isPlainObject(value: unknown): value is Record<string, unknown> {
  if (value === null || typeof value !== 'object') return false;
  const proto = Object.getPrototypeOf(value) as unknown;
  return proto === Object.prototype || proto === null;
}

/**
 * Holds `options` (undefined allowed) to the names in `known` and checks
 * `signal` when allowed. `what` names the method in messages; `aliases` maps
 * names a caller may reach for to the right one.
 */
export function checkOptions(options: unknown, known: readonly string[], what: string, aliases?: Record<string, string>): void {
  if (options === undefined) return;
  if (!isPlainObject(options)) throw invalid(`${what}: options must be an object, got ${describe(options)}`);
  for (const key of Object.keys(options)) {
    if (!known.includes(key)) throw unknownName('option', key, known, aliases);
  }
  if (known.includes('signal')) checkSignal(options['signal'], what);
}

export function checkSignal(signal: unknown, what: string): void {
  if (signal !== undefined && !(signal instanceof AbortSignal)) throw invalid(`${what}: signal must be an AbortSignal, got ${describe(signal)}`);
}

export function checkBoolean(value: unknown, name: string): void {
  if (value !== undefined && typeof value !== 'boolean') throw invalid(`${name} must be true or false, got ${describe(value)}`);
}

/** A remote path: a non-empty string without CR, LF or NUL. */
export function checkRemotePath(value: unknown, name = 'path'): string {
  if (typeof value !== 'string') throw invalid(`${name} must be a remote path (a string), got ${describe(value)}`);
  if (value === '') throw invalid(`${name} must not be empty`);
  return assertSafeArgument(value, name);
}

/** A local path: a non-empty string (NUL is refused by Node itself, but say so here). */
export function checkLocalPath(value: unknown, name: string): string {
  if (typeof value !== 'string') throw invalid(`${name} must be a local path (a string), got ${describe(value)}`);
  if (value === '') throw invalid(`${name} must not be empty`);
  if (value.includes('\0')) throw new FtpError('FTPKIT_ERR_UNSAFE_PATH', `${name} contains NUL: ${JSON.stringify(value)}`);
  return value;
}

export function isReadableLike(value: unknown): value is NodeJS.ReadableStream & { destroy(): void } {
  const v = value as { pipe?: unknown; on?: unknown; read?: unknown; destroy?: unknown } | null;
  return typeof v === 'object' && v !== null && typeof v.pipe === 'function' && typeof v.on === 'function' && typeof v.read === 'function' && typeof v.destroy === 'function';
}

export function isWritableLike(value: unknown): value is NodeJS.WritableStream & { destroy(): void } {
  const v = value as { write?: unknown; end?: unknown; on?: unknown; destroy?: unknown } | null;
  return typeof v === 'object' && v !== null && typeof v.write === 'function' && typeof v.end === 'function' && typeof v.on === 'function' && typeof v.destroy === 'function';
}

/** A short description of a wrong value for a message: its type, never its content. */
export function describe(value: unknown): string {
  if (value === null) return 'null';
  if (Array.isArray(value)) return 'an array';
  if (Buffer.isBuffer(value)) return 'a Buffer';
  if (typeof value === 'object') return `an object (${(value as object).constructor?.name ?? 'no prototype'})`;
  if (typeof value === 'string') return `the string ${JSON.stringify(value.slice(0, 64))}`;
  return `${typeof value} ${String(value).slice(0, 64)}`;
}

// Option names per FileClient method, and the two call forms of transfers.

export const SIGNAL_ONLY = ['signal'] as const;
export const RECURSIVE = ['signal', 'recursive'] as const;
export const DOWNLOAD_OPTIONS = ['signal', 'startAt', 'length', 'ascii', 'total'] as const;
export const UPLOAD_OPTIONS = ['signal', 'startAt', 'ascii', 'total'] as const;
export const APPEND_OPTIONS = ['signal', 'localStart', 'ascii', 'total'] as const;
export const TREE_OPTIONS = ['signal', 'resume', 'ascii', 'onFile', 'parallel'] as const;

/**
 * The two call forms of a transfer: `(from, to, opts)` or `({ from, to, ...opts })`.
 * Returns the options without from/to, held to `known`.
 */
export function transferArgs<F, T, O>(method: string, a: unknown, b: unknown, c: unknown, known: readonly string[], aliases: Record<string, string>): { from: F; to: T; opts: O } {
  if (isPlainObject(a)) {
    if (b !== undefined || c !== undefined) throw new FtpError('FTPKIT_ERR_INVALID_ARGUMENT', `${method}({ from, to, ...options }) takes one argument`);
    checkOptions(a, ['from', 'to', ...known], `${method}()`, aliases);
    const { from, to, ...opts } = a;
    if (from === undefined || to === undefined) throw new FtpError('FTPKIT_ERR_INVALID_ARGUMENT', `${method}() needs both 'from' and 'to'`);
    return { from: from as F, to: to as T, opts: opts as O };
  }
  checkOptions(c, known, `${method}()`, aliases);
  return { from: a as F, to: b as T, opts: (c ?? {}) as O };
}

export function checkSource(from: unknown, method: string): void {
  if (typeof from === 'string') checkLocalPath(from, 'from');
  else if (!(from instanceof Uint8Array) && !isReadableLike(from)) {
    throw new FtpError('FTPKIT_ERR_INVALID_ARGUMENT', `${method}(): from must be a local path, a Buffer or Uint8Array, or a Readable, got ${describe(from)}`);
  }
}

export function commonUpload(opts: { ascii?: boolean | undefined; total?: number | undefined }): { ascii: boolean; total: number | undefined } {
  checkBoolean(opts.ascii, 'ascii');
  if (opts.total !== undefined) checkInteger('total', opts.total, 0);
  return { ascii: opts.ascii ?? false, total: opts.total };
}

export function checkTreeOptions<T extends { resume?: boolean | undefined; ascii?: boolean | undefined; onFile?: unknown }>(opts: T): T {
  checkBoolean(opts.resume, 'resume');
  checkBoolean(opts.ascii, 'ascii');
  if (opts.onFile !== undefined && typeof opts.onFile !== 'function') throw new FtpError('FTPKIT_ERR_INVALID_ARGUMENT', 'onFile must be a function');
  return opts;
}
