import { LocalStorage } from '../../storage/local-storage.js';
import type { CommandSpec } from '../command.js';
import type { AuthGrant } from '../options.js';
import type { Session } from '../session.js';

const ANONYMOUS_NAMES = new Set(['anonymous', 'ftp']);
const MAX_USERNAME = 256;

export const USER: CommandSpec = {
  verbs: ['USER'],
  help: 'USER <username>',
  public: true,
  handler(session, arg) {
    if (arg === '' || arg.length > MAX_USERNAME || /[\0\r\n]/.test(arg)) return session.reply(501, 'Invalid user name');
    if (session.loggedIn) session.reset(); // RFC 959: USER starts a new login
    session.username = arg;
    // Same reply whether the user exists or not (RFC 2577 section 5).
    if (ANONYMOUS_NAMES.has(arg.toLowerCase()) && session.host.options.anonymous) {
      return session.reply(331, 'Anonymous login ok, send your email as password');
    }
    session.reply(331, `Password required for ${printableName(arg)}`);
  },
};

export const PASS: CommandSpec = {
  verbs: ['PASS'],
  help: 'PASS <password>',
  public: true,
  async handler(session, arg) {
    if (session.loggedIn) return session.reply(503, 'Already logged in');
    const username = session.username;
    if (username === undefined) return session.reply(503, 'Login with USER first');
    session.username = undefined;
    const grant = await authenticate(session, username, arg);
    const info = { sessionId: session.id, remoteAddress: session.remoteAddress, username };
    const storage = grant ? (grant.storage ?? (grant.root !== undefined ? new LocalStorage(grant.root) : undefined)) : undefined;
    if (!grant || !storage) {
      session.log.info({ user: username }, 'login failed');
      session.host.emit('login-failed', info);
      return session.reply(530, 'Login incorrect');
    }
    session.login(username, storage, grant.write === true);
    session.log.info('login');
    session.host.emit('login', info);
    session.reply(230, 'User logged in');
  },
};

async function authenticate(session: Session, username: string, password: string): Promise<AuthGrant | false> {
  const { anonymous, authenticate: hook } = session.host.options;
  if (ANONYMOUS_NAMES.has(username.toLowerCase()) && anonymous) return anonymous;
  if (!hook) return false;
  try {
    return (await hook({ username, password, remoteAddress: session.remoteAddress })) || false;
  } catch (err) {
    session.log.error({ err }, 'authenticate hook failed');
    return false;
  }
}

export const ACCT: CommandSpec = {
  verbs: ['ACCT'],
  help: 'ACCT <account>',
  public: true,
  notImplemented: true,
  handler() {},
};

export const REIN: CommandSpec = {
  verbs: ['REIN'],
  help: 'REIN (reinitialize)',
  public: true,
  handler(session) {
    session.reset();
    session.reply(220, 'Service ready for new user');
  },
};

export const QUIT: CommandSpec = {
  verbs: ['QUIT'],
  help: 'QUIT',
  public: true,
  duringTransfer: true,
  handler(session) {
    session.quit();
  },
};

function printableName(name: string): string {
  return name.length > 64 ? `${name.slice(0, 64)}...` : name;
}
