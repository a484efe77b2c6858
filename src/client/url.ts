import { FtpError } from '../errors.js';
import { FILE_CLIENT_OPTIONS, type FileClientOptions } from './options.js';
import { assertSafeArgument } from './safety.js';
import { checkOptions, describe } from './validate.js';

export interface FtpUrl {
  host: string;
  port: number;
  /** Decoded; undefined when the URL carries none. */
  user: string | undefined;
  password: string | undefined;
  /**
   * Decoded path as given after the host: '/' + path, so `ftp://h/a/b` -> `/a/b`.
   * Kept absolute: each peer maps '/' to the login folder for chrooted users.
   */
  path: string;
  /** True when the URL ends in '/': a folder (curl lists it). */
  isFolder: boolean;
  /** `ftps://` implicit TLS, `ftpes://` explicit (AUTH TLS); false for `ftp://`. */
  tls: 'implicit' | 'explicit' | false;
}

/** lftp's and FileZilla's convention: ftps = implicit (port 990), ftpes = explicit (port 21). */
const SCHEMES: Record<string, { tls: FtpUrl['tls']; port: number }> = {
  'ftp:': { tls: false, port: 21 },
  'ftps:': { tls: 'implicit', port: 990 },
  'ftpes:': { tls: 'explicit', port: 21 },
};

/**
 * `ftp://[user[:password]@]host[:port]/path` (RFC 1738 3.2), percent-decoded;
 * also `ftps://` (implicit TLS) and `ftpes://` (explicit TLS).
 * Decoded CR/LF/NUL are refused here, before they can reach a command line.
 */
export function parseFtpUrl(input: string): FtpUrl {
  if (typeof input !== 'string') throw new FtpError('FTPKIT_ERR_INVALID_ARGUMENT', `the URL must be a string, got ${describe(input)}`);
  let url: URL;
  try {
    url = new URL(input);
  } catch {
    throw new FtpError('FTPKIT_ERR_INVALID_ARGUMENT', `not a URL: ${redactUrl(input)}`);
  }
  const scheme = SCHEMES[url.protocol];
  if (scheme === undefined) {
    throw new FtpError('FTPKIT_ERR_INVALID_ARGUMENT', `not an ftp://, ftps:// or ftpes:// URL: ${redactUrl(input)}`);
  }
  if (url.hostname === '') throw new FtpError('FTPKIT_ERR_INVALID_ARGUMENT', `no host in URL: ${redactUrl(input)}`);
  const decode = (s: string, what: string): string => {
    let out: string;
    try {
      out = decodeURIComponent(s);
    } catch {
      throw new FtpError('FTPKIT_ERR_INVALID_ARGUMENT', `bad percent-encoding in the URL ${what}`);
    }
    return assertSafeArgument(out, `URL ${what}`);
  };
  // WHATWG URL keeps the brackets of an IPv6 literal.
  const host = url.hostname.startsWith('[') ? url.hostname.slice(1, -1) : url.hostname;
  const rawPath = url.pathname === '' ? '/' : url.pathname;
  // ;type=a|i (RFC 1738) is not a path: drop it.
  const pathOnly = rawPath.replace(/;type=[aid]$/i, '');
  const path = decode(pathOnly, 'path');
  return {
    host,
    port: url.port === '' ? scheme.port : Number(url.port),
    user: url.username === '' ? undefined : decode(url.username, 'user'),
    // `user:@host` means an empty password, `user@host` none (so netrc or a prompt may supply it).
    password: url.password !== '' ? decode(url.password, 'password') : hasPasswordSeparator(input) ? '' : undefined,
    path,
    isFolder: path.endsWith('/'),
    tls: scheme.tls,
  };
}

/** `user[:password]` as given to -u; the password may itself contain ':'. */
export function parseUserOption(value: string): { user: string; password: string | undefined } {
  const colon = value.indexOf(':');
  const user = colon === -1 ? value : value.slice(0, colon);
  const password = colon === -1 ? undefined : value.slice(colon + 1);
  assertSafeArgument(user, 'user');
  if (password !== undefined) assertSafeArgument(password, 'password');
  return { user, password };
}

function hasPasswordSeparator(input: string): boolean {
  const afterScheme = input.slice(input.indexOf('//') + 2);
  const slash = afterScheme.indexOf('/');
  const authority = slash === -1 ? afterScheme : afterScheme.slice(0, slash);
  const at = authority.lastIndexOf('@');
  return at !== -1 && authority.slice(0, at).includes(':');
}

/** The URL with its password replaced by '***', for messages. */
export function redactUrl(input: string): string {
  return input.replace(/^([a-z][a-z0-9+.-]*:\/\/[^/@:]*:)[^/@]*@/i, '$1***@');
}

/** FileClient.connect(url, options): options for the constructor, the folder to enter, the signal. */
export function clientOptionsFromUrl(input: string | URL, options: unknown): { clientOptions: FileClientOptions; folder: string | undefined; signal: AbortSignal | undefined } {
  const known = [...FILE_CLIENT_OPTIONS.filter((k) => k !== 'host' && k !== 'port'), 'signal'];
  if (options !== undefined && options !== null && typeof options === 'object') {
    for (const key of ['host', 'port'] as const) {
      if (Object.hasOwn(options, key)) throw new FtpError('FTPKIT_ERR_INVALID_ARGUMENT', `FileClient.connect(): ${key} comes from the URL, not the options`);
    }
  }
  checkOptions(options, known, 'FileClient.connect()');
  const o = (options ?? {}) as Omit<FileClientOptions, 'host' | 'port'> & { signal?: AbortSignal };
  const url = parseFtpUrl(input instanceof URL ? input.href : input);
  for (const [key, fromUrl] of [['user', url.user], ['password', url.password]] as const) {
    if (fromUrl !== undefined && o[key] !== undefined && o[key] !== fromUrl) {
      throw new FtpError('FTPKIT_ERR_INVALID_ARGUMENT', `FileClient.connect(): the URL and the options both give a ${key}; give it once`);
    }
  }
  // ftp:// may be upgraded to explicit TLS by the options (as --tls does); ftps:// and ftpes:// say it already.
  if (url.tls !== false && o.tls !== undefined && o.tls !== url.tls) {
    throw new FtpError('FTPKIT_ERR_INVALID_ARGUMENT', `FileClient.connect(): the URL asks for ${url.tls} TLS but the options say tls: ${String(o.tls)}`);
  }
  if (url.tls === false && o.tls === 'implicit') {
    throw new FtpError('FTPKIT_ERR_INVALID_ARGUMENT', "FileClient.connect(): implicit TLS is an ftps:// URL (port 990); tls: 'explicit' upgrades an ftp:// one");
  }
  if (url.path !== '/' && !url.isFolder) {
    throw new FtpError('FTPKIT_ERR_INVALID_ARGUMENT', `FileClient.connect() wants a server or folder URL, and ${redactUrl(String(input))} names a file: end it with '/' for a folder`);
  }
  const { signal, ...rest } = o;
  const clientOptions: FileClientOptions = {
    ...rest,
    host: url.host,
    port: url.port,
    ...(url.user !== undefined ? { user: url.user } : {}),
    ...(url.password !== undefined ? { password: url.password } : {}),
    tls: url.tls || rest.tls || false,
  };
  const folder = url.path.replace(/\/+$/, '');
  return { clientOptions, folder: folder === '' ? undefined : folder, signal };
}
