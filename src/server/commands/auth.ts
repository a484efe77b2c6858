import { constants as fsConstants } from 'node:fs';
import { access, stat } from 'node:fs/promises';
import { resolve as resolvePath } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import type { Storage } from '../../storage/types.js';
import type { CommandSpec } from '../command.js';
import { FtpError, checkInteger } from '../../errors.js';
import type { AccountState } from '../abuse/limits.js';
import type { LoginAttempt } from '../abuse/login-guard.js';
import { shareFailure } from '../abuse/store.js';
import { grantPermissions, storageForRoot, type AuthGrant } from '../options.js';
import type { Permissions } from '../permissions.js';
import type { Session } from '../session.js';
import { emitSecurity } from '../logging/security.js';

const ANONYMOUS_NAMES = new Set(['anonymous', 'ftp']);
const MAX_USERNAME = 256;

export const USER: CommandSpec = {
  verbs: ['USER'],
  help: 'USER <username>',
  public: true,
  handler(session, arg) {
    if (arg === '' || arg.length > MAX_USERNAME || /[\0\r\n]/.test(arg)) return session.reply(501, 'Invalid user name');
    // No password may cross in clear when TLS is required (RFC 4217 section 4).
    if (session.host.options.requireTls && !session.secure) {
      emitSecurity(session, 'tls-required', 'USER before AUTH TLS');
      return session.reply(530, 'TLS required: send AUTH TLS first');
    }
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
    // scrypt hashes 'pw\0' exactly like 'pw' (see checkPassword): no password holds a NUL.
    if (arg.includes('\0')) return session.reply(501, 'Invalid password: NUL is not allowed');
    if (refuseBanned(session, username)) return;
    const guard = session.host.loginGuard;
    const gone = watchClose(session);
    let attempt: LoginAttempt | undefined;
    try {
      if (guard) {
        // Counted toward the ban from here until verified: parallel guesses cannot pass it.
        attempt = await guard.admit(session.remoteAddress, gone.signal);
        if (!attempt) return void refuseBanned(session, username); // banned while waiting, or gone
      }
      await verifyLogin(session, username, arg, attempt, gone.closed);
    } finally {
      attempt?.release(); // a no-op after attempt.fail()
      gone.stop();
    }
  },
};

async function verifyLogin(
  session: Session,
  username: string,
  password: string,
  attempt: LoginAttempt | undefined,
  closed: Promise<typeof CLOSED>,
): Promise<void> {
  const user = printableName(username);
  const outcome = await authenticate(session, username, password, closed);
  if (outcome.kind === 'closed' || session.socket.destroyed) return;
  if (outcome.kind === 'refused') return loginFailed(session, username, attempt);
  // Server-side trouble is not a wrong password: 421, logged, never counted toward a ban.
  if (outcome.kind === 'busy') {
    session.log.info({ user }, 'login refused: too many password verifications waiting');
    return session.hangUp(421, 'Too many logins in progress, try again later');
  }
  if (outcome.kind === 'error') {
    session.log.error({ err: outcome.err, user }, 'authenticate hook failed');
    // Answered after the base delay, the address's slot held: a hook that throws on bad
    // credentials (it should return false) still cannot be asked faster than that.
    const delay = session.host.loginGuard?.options.delay ?? 0;
    if (delay > 0) await sleep(delay);
    return session.hangUp(421, 'Login service unavailable, try again later');
  }
  const grant = outcome.grant as AuthGrant;
  const checked = checkGrant(session, user, grant);
  if (!checked) return session.hangUp(421, 'Login service misconfigured, try again later');
  if (!(await rootReady(session, user, grant))) return session.hangUp(421, 'Home folder unavailable, try again later');
  if (session.socket.destroyed) return;
  // A ban that landed while this login was verified: a banned address never gets 230.
  if (refuseBanned(session, username)) return;
  if (grant.requireTls && !session.secure) {
    emitLoginFailed(session, username, 'tls-required'); // the audit log records it (logging/audit.ts)
    return session.reply(530, 'This account requires TLS: send AUTH TLS first');
  }
  const account = await joinAccount(session, username, grant);
  if (!account) return;
  session.login(username, checked.storage, checked.permissions, grant, account);
  const anonymous = account.name === 'anonymous';
  session.host.emit('login', { sessionId: session.id, remoteAddress: session.remoteAddress, username, anonymous, secure: session.secure });
  session.reply(230, 'User logged in');
}

const CLOSED = Symbol('closed');

/**
 * Watches the control connection during one PASS: a login waiting for its turn gives it up
 * when the connection closes, and a hook still running is no longer waited for. stop()
 * removes the listener, so many PASS on one connection leave nothing behind.
 */
function watchClose(session: Session): { signal: AbortSignal; closed: Promise<typeof CLOSED>; stop(): void } {
  const controller = new AbortController();
  const socket = session.socket;
  const onClose = (): void => controller.abort();
  const closed = new Promise<typeof CLOSED>((resolve) => controller.signal.addEventListener('abort', () => resolve(CLOSED), { once: true }));
  if (socket.destroyed) controller.abort();
  else socket.once('close', onClose);
  return { signal: controller.signal, closed, stop: () => socket.off('close', onClose) };
}

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
async function loginFailed(session: Session, username: string, attempt: LoginAttempt | undefined): Promise<void> {
  const user = printableName(username);
  emitLoginFailed(session, username, 'credentials'); // the audit log records it and the ban (logging/audit.ts)
  const guard = session.host.loginGuard;
  session.loginFailures++;
  const local = attempt?.fail();
  // Counted on every node too (abuseStore): the ban and the delay follow the cluster's count.
  const store = session.host.abuseStore;
  const verdict = local && guard && store ? await shareFailure(guard, store, session.remoteAddress, local) : local;
  if (verdict && verdict.delay > 0) await sleep(verdict.delay);
  if (guard && verdict?.banned) {
    const until = new Date(Date.now() + guard.options.banDuration);
    session.host.emit('ban', { sessionId: session.id, remoteAddress: session.remoteAddress, username, failures: verdict.failures, until });
    return session.hangUp(421, 'Too many failed logins from your address, closing control connection');
  }
  session.reply(530, 'Login incorrect');
  if (guard && session.loginFailures >= guard.options.maxTries) {
    session.log.info({ user }, 'too many failed logins on one connection, closing');
    session.hangUp();
  }
}

function emitLoginFailed(session: Session, username: string, reason: 'credentials' | 'tls-required'): void {
  session.host.emit('login-failed', { sessionId: session.id, remoteAddress: session.remoteAddress, username, reason, secure: session.secure });
}

interface CheckedGrant {
  permissions: Permissions;
  storage: Storage;
}

/**
 * Checks what a hook returned. A bad grant is a server-side mistake, not a wrong password:
 * logged as an error naming the field, the login refused with 421, no failure counted.
 */
function checkGrant(session: Session, user: string, grant: unknown): CheckedGrant | undefined {
  try {
    if (typeof grant !== 'object' || grant === null || Array.isArray(grant)) {
      throw invalidGrant(`authenticate returned ${describe(grant)}: expected a grant object with root or storage, or false`);
    }
    const g = grant as AuthGrant;
    for (const key of ['maxSessions', 'uploadRate', 'downloadRate'] as const) {
      if (g[key] !== undefined) checkInteger(`grant.${key}`, g[key], 0);
    }
    if (g.active !== undefined && typeof g.active !== 'function') throw invalidGrant('grant.active must be a function');
    if (g.requireTls !== undefined && typeof g.requireTls !== 'boolean') throw invalidGrant('grant.requireTls must be a boolean');
    const permissions = grantPermissions(g);
    let storage: Storage;
    if (g.storage !== undefined) {
      const st = g.storage as Partial<Storage> | null;
      if (typeof st !== 'object' || st === null || typeof st.stat !== 'function' || typeof st.list !== 'function') {
        throw invalidGrant('grant.storage must implement Storage (stat, list, createReadStream, ...)');
      }
      storage = g.storage;
    } else if (g.root !== undefined) {
      if (typeof g.root !== 'string' || g.root === '' || g.root.includes('\0')) {
        throw invalidGrant('grant.root must be a host folder path (a non-empty string)');
      }
      storage = storageForRoot(session.host.options, g.root);
    } else {
      throw invalidGrant('grant has neither root nor storage');
    }
    return { permissions, storage };
  } catch (err) {
    const problem = (err as Error).message;
    session.log.error({ user, problem }, `authenticate returned an invalid grant: ${problem}`);
    return undefined;
  }
}

const invalidGrant = (message: string): FtpError => new FtpError('FTPKIT_ERR_INVALID_ARGUMENT', message);

function describe(value: unknown): string {
  if (typeof value === 'string') return 'a string';
  if (value === null || typeof value !== 'object') return String(value);
  return Array.isArray(value) ? 'an array' : 'an object';
}

/**
 * A grant's `root` must be a folder the server can read, or every command would answer 550
 * with nothing logged. Checked at each login (the folder may go away since); the host path
 * goes to the log, never to the client.
 */
async function rootReady(session: Session, user: string, grant: AuthGrant): Promise<boolean> {
  if (grant.storage !== undefined || grant.root === undefined) return true;
  const root = resolvePath(grant.root);
  let problem: string;
  try {
    if ((await stat(root)).isDirectory()) {
      await access(root, fsConstants.R_OK | fsConstants.X_OK);
      return true;
    }
    problem = 'is not a folder';
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    if (code === 'ENOENT' || code === 'ENOTDIR') problem = 'does not exist';
    else if (code === 'EACCES' || code === 'EPERM') problem = 'cannot be read by the server';
    else problem = `cannot be used (${code ?? (err as Error).message})`;
  }
  session.log.error({ user, root }, `login refused: grant.root ${root} ${problem}`);
  return false;
}

/**
 * Counts the session on its user's account; past the grant's maxSessions: 421. With an
 * abuseStore, maxSessions counts the user's sessions on every node.
 */
async function joinAccount(session: Session, username: string, grant: AuthGrant): Promise<AccountState | undefined> {
  const name = ANONYMOUS_NAMES.has(username.toLowerCase()) && grant === session.host.options.anonymous ? 'anonymous' : username;
  const limits = session.host.limits;
  const max = grant.maxSessions ?? 0;
  const tooMany = (): undefined => {
    session.log.info({ user: printableName(username), limit: max }, 'too many sessions for one user');
    session.hangUp(421, `Too many sessions for this user (at most ${max}), try again later`);
    return undefined;
  };
  if (max > 0 && (limits.peek(name)?.sessions ?? 0) >= max) return tooMany();
  const store = session.host.abuseStore;
  if (store && max > 0) {
    let joined: boolean;
    try {
      joined = await store.joinSession(name, session.id, max);
    } catch {
      session.log.debug({ user: printableName(username) }, 'login refused: shared store unreachable');
      session.hangUp(421, 'Service temporarily unavailable, try again later');
      return undefined;
    }
    if (!joined) return tooMany();
    if (session.socket.destroyed) {
      await store.leaveSession(name, session.id).catch(() => {});
      return undefined;
    }
  }
  const account = limits.account(name);
  account.sessions++;
  account.setRates(grant.uploadRate, grant.downloadRate);
  return account;
}

type AuthOutcome =
  | { kind: 'grant'; grant: unknown }
  | { kind: 'refused' }
  | { kind: 'busy' }
  | { kind: 'error'; err: unknown }
  | { kind: 'closed' };

/**
 * Asks the hook (or takes the anonymous grant). false, null and undefined refuse the password;
 * anything else is a grant for checkGrant. A throw is a server failure, except
 * FTPKIT_ERR_BUSY (verifyPassword's queue is full). A hook still running when the connection
 * closes is left to finish on its own.
 */
async function authenticate(session: Session, username: string, password: string, closed: Promise<typeof CLOSED>): Promise<AuthOutcome> {
  const { anonymous, authenticate: hook } = session.host.options;
  if (ANONYMOUS_NAMES.has(username.toLowerCase()) && anonymous) return { kind: 'grant', grant: anonymous };
  if (!hook) return { kind: 'refused' };
  let result: unknown;
  try {
    const pending = hook({ username, password, remoteAddress: session.remoteAddress });
    result = await Promise.race([pending, closed]);
  } catch (err) {
    if (err instanceof FtpError && err.code === 'FTPKIT_ERR_BUSY') return { kind: 'busy' };
    return { kind: 'error', err };
  }
  if (result === CLOSED) return { kind: 'closed' };
  if (result === false || result === null || result === undefined) return { kind: 'refused' };
  return { kind: 'grant', grant: result };
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
