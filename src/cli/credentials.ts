import { findNetrcEntry, parseUserOption, readNetrc, type FtpUrl } from '../index.js';
import { promptHidden, readFirstLine } from './prompt.js';
import { UsageError } from './usage-error.js';

export interface Credentials {
  user: string;
  password: string;
}

/** The environment variable a password may come from (when a user is named but no password). */
export const PASSWORD_ENV = 'FTPKIT_PASSWORD';

/** A password read from stdin or a prompt is at most this long (as `ftp-serve users`). */
export const MAX_PASSWORD_BYTES = 1024;

export interface CredentialOptions {
  netrcFile?: string | undefined;
  /** Where stdin stands; default process.stdin. */
  stdin?: NodeJS.ReadStream;
  /** True when stdin is what ftp-put uploads (`-`): a password may not be read from it. */
  stdinIsData?: boolean;
  env?: NodeJS.ProcessEnv;
}

/**
 * Where the bins get a login, first match wins (as curl does): the URL, then
 * `-u user[:password]`, then ~/.netrc (or $NETRC) for the host; anonymous when
 * no user is named. A named user without a password gets it from
 * $FTPKIT_PASSWORD, else a no-echo prompt when stdin is a terminal, else the
 * first line of stdin (at most 1024 bytes: `echo secret | ftp-get -u alice URL -`).
 * When stdin is the upload (`ftp-put - URL`) and not a terminal, it cannot
 * also carry the password: that is a usage error.
 */
export async function resolveCredentials(url: FtpUrl, userOption: string | undefined, opts: CredentialOptions = {}): Promise<Credentials> {
  let user = url.user;
  let password = url.password;
  if (user === undefined && userOption !== undefined) {
    const parsed = parseUserOption(userOption);
    user = parsed.user;
    password = parsed.password;
  }
  if (password === undefined) {
    const entry = findNetrcEntry(await readNetrc(opts.netrcFile), url.host);
    if (entry && (user === undefined || entry.login === user)) {
      user ??= entry.login;
      password = entry.password;
    }
  }
  if (user === undefined) return { user: 'anonymous', password: password ?? 'anonymous@' };
  if (password !== undefined) return { user, password };
  const fromEnv = (opts.env ?? process.env)[PASSWORD_ENV];
  if (fromEnv !== undefined) return { user, password: fromEnv };
  const stdin = opts.stdin ?? process.stdin;
  if (stdin.isTTY === true) return { user, password: await promptHidden(`Password for ${user}@${url.host}: `, stdin, process.stderr, MAX_PASSWORD_BYTES) };
  if (opts.stdinIsData) {
    throw new UsageError(`no password for ${user}, and stdin is the upload: give it in the URL, -u ${user}:PASSWORD, ~/.netrc or $${PASSWORD_ENV}`);
  }
  try {
    return { user, password: await readFirstLine(stdin, MAX_PASSWORD_BYTES) };
  } catch (err) {
    throw new UsageError(`cannot read the password from stdin: ${(err as Error).message}`, { seeHelp: false });
  }
}
