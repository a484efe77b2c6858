import { LocalStorage } from '../../storage/local-storage.js';
import type { CommandSpec } from '../command.js';
import { setTimeout as sleep } from 'node:timers/promises';
import { checkInteger } from '../../errors.js';
import type { AccountState } from '../abuse/limits.js';
import { grantPermissions, type AuthGrant } from '../options.js';
import type { Permissions } from '../permissions.js';
import type { Session } from '../session.js';

const ANONYMOUS_NAMES = new Set(['anonymous', 'ftp']);
const MAX_USERNAME = 256;

export const USER: CommandSpec = {
  verbs: ['USER'],
  help: 'USER <username>',
  public: true,
  handler(session, arg) {
    if (arg === '' || arg.length > MAX_USERNAME || /[\0\r\n]/.test(arg)) return session.reply(501, 'Invalid user name');
    // No password may cross in clear when TLS is required (RFC 4217 section 4).
    if (session.host.options.requireTls && !session.secure) return session.reply(530, 'TLS required: send AUTH TLS first');
    if (refuseBanned(session, arg)) return;
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
    if (refuseBanned(session, username)) return;
    const grant = await authenticate(session, username, arg);
    const info = { sessionId: session.id, remoteAddress: session.remoteAddress, username };
    const permissions = grant ? checkGrant(session, grant) : undefined;
    const { protectedPaths, dotfiles } = session.host.options;
    const storage = grant ? (grant.storage ?? (grant.root !== undefined ? new LocalStorage(grant.root, { protectedPaths, dotfiles }) : undefined)) : undefined;
    if (!grant || !storage) return loginFailed(session, username);
    if (!permissions) return session.reply(530, 'Login incorrect');
    if (grant.requireTls && !session.secure) {
      session.log.info({ user: username }, 'login refused: this user requires TLS');
      return session.reply(530, 'This account requires TLS: send AUTH TLS first');
    }
    const account = joinAccount(session, username, grant);
    if (!account) return;
    session.login(username, storage, permissions, grant, account);
    session.log.info('login');
    session.host.emit('login', info);
    session.reply(230, 'User logged in');
  },
};

/** A banned address gets 421 and the connection ends (it may have been banned while connected). */
function refuseBanned(session: Session, username: string): boolean {
  const left = session.host.loginGuard?.bannedFor(session.remoteAddress) ?? 0;
  if (left <= 0) return false;
  session.log.info({ user: printableName(username) }, 'login from a banned address refused');
  session.hangUp(421, `Too many failed logins from your address, try again in ${Math.ceil(left / 1000)} s`);
  return true;
}

/**
 * A refused login. Unknown users and wrong passwords take this same path, and the delay grows
 * with the address's recent failures (RFC 2577 section 5; vsftpd's delay_failed_login). Past
 * loginGuard.maxTries on one connection it is closed; past banAfter the address is banned.
 */
async function loginFailed(session: Session, username: string): Promise<void> {
  const user = printableName(username);
  session.host.emit('login-failed', { sessionId: session.id, remoteAddress: session.remoteAddress, username });
  const guard = session.host.loginGuard;
  session.loginFailures++;
  const verdict = guard?.failure(session.remoteAddress);
  session.log.info({ user, failures: verdict?.failures }, 'login failed');
  if (verdict && verdict.delay > 0) await sleep(verdict.delay);
  if (guard && verdict?.banned) {
    const until = new Date(Date.now() + guard.options.banDuration);
    session.log.warn({ user, failures: verdict.failures, until }, 'address banned after repeated failed logins');
    session.host.emit('ban', { sessionId: session.id, remoteAddress: session.remoteAddress, username, failures: verdict.failures, until });
    return session.hangUp(421, 'Too many failed logins from your address, closing control connection');
  }
  session.reply(530, 'Login incorrect');
  if (guard && session.loginFailures >= guard.options.maxTries) {
    session.log.info({ user }, 'too many failed logins on one connection, closing');
    session.hangUp();
  }
}

/** Checks what a hook returned; a bad grant is a server-side mistake: logged, login refused. */
function checkGrant(session: Session, grant: AuthGrant): Permissions | undefined {
  try {
    for (const key of ['maxSessions', 'uploadRate', 'downloadRate'] as const) {
      if (grant[key] !== undefined) checkInteger(key, grant[key], 0);
    }
    return grantPermissions(grant);
  } catch (err) {
    session.log.error({ err }, 'authenticate returned an invalid grant');
    return undefined;
  }
}

/** Counts the session on its user's account; past the grant's maxSessions: 421. */
function joinAccount(session: Session, username: string, grant: AuthGrant): AccountState | undefined {
  const name = ANONYMOUS_NAMES.has(username.toLowerCase()) && grant === session.host.options.anonymous ? 'anonymous' : username;
  const limits = session.host.limits;
  const account = limits.account(name);
  const max = grant.maxSessions ?? 0;
  if (max > 0 && account.sessions >= max) {
    limits.release(name);
    session.log.info({ user: printableName(username), limit: max }, 'too many sessions for one user');
    session.hangUp(421, `Too many sessions for this user (at most ${max}), try again later`);
    return undefined;
  }
  account.sessions++;
  account.setRates(grant.uploadRate, grant.downloadRate);
  return account;
}

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
