import { findNetrcEntry, parseUserOption, readNetrc, type FtpUrl } from '../index.js';
import { promptHidden } from './prompt.js';

export interface Credentials {
  user: string;
  password: string;
}

/**
 * Where the bins get a login, first match wins (as curl does): the URL, then
 * `-u user[:password]`, then ~/.netrc (or $NETRC) for the host, then a
 * no-echo prompt when only a user is known and stdin is a terminal, else
 * anonymous.
 */
export async function resolveCredentials(url: FtpUrl, userOption: string | undefined, opts: { netrcFile?: string | undefined; interactive?: boolean } = {}): Promise<Credentials> {
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
  if (password === undefined) {
    const interactive = opts.interactive ?? (process.stdin.isTTY === true);
    password = interactive ? await promptHidden(`Password for ${user}@${url.host}: `) : '';
  }
  return { user, password };
}
