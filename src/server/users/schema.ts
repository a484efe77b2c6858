import { realpath, stat } from 'node:fs/promises';
import { isAbsolute, relative, sep } from 'node:path';
import { FtpError } from '../../errors.js';
import { parseOverrides, parsePermissions } from '../permissions.js';
import { parseHash } from './password.js';

/**
 * The users file (JSON), version 1:
 *
 *   {
 *     "version": 1,
 *     "homeRoot": "/srv/ftp",                  optional: every home must be inside it
 *     "users": [{
 *       "name": "alice",                       letters, digits, . _ @ -; 1-64 chars
 *       "password": "scrypt$32768$8$1$<salt>$<hash>",
 *       "home": "/srv/ftp/alice",              absolute; the user is jailed under it
 *       "permissions": "elradfmwMT",           see PERMISSION_LETTERS
 *       "overrides": { "/pub": "elr" },        optional, per virtual folder; longest match wins
 *       "maxSessions": 4,                      optional, 0 or absent: unlimited
 *       "uploadRate": 1048576,                 optional, bytes/s across the user's transfers
 *       "downloadRate": 5242880,               optional, idem
 *       "requireTls": true,                    optional: over the server's --require-tls (see AuthGrant)
 *       "disabled": false                      optional
 *     }]
 *   }
 */
export interface UserRecord {
  name: string;
  password: string;
  home: string;
  permissions: string;
  overrides?: Record<string, string>;
  maxSessions?: number;
  uploadRate?: number;
  downloadRate?: number;
  requireTls?: boolean;
  disabled?: boolean;
}

export interface UsersFile {
  version: 1;
  homeRoot?: string;
  users: UserRecord[];
}

const USER_FIELDS = new Set(['name', 'password', 'home', 'permissions', 'overrides', 'maxSessions', 'uploadRate', 'downloadRate', 'requireTls', 'disabled']);
const FILE_FIELDS = new Set(['version', 'homeRoot', 'users']);
const NAME = /^[A-Za-z0-9_.@][A-Za-z0-9_.@-]{0,63}$/;
/** Names USER treats as anonymous logins; a users-file account may not take them. */
const RESERVED = new Set(['anonymous', 'ftp']);

function invalid(message: string): FtpError {
  return new FtpError('FTPKIT_ERR_INVALID_ARGUMENT', message);
}

export function checkUserName(name: unknown, field = 'name'): string {
  if (typeof name !== 'string' || !NAME.test(name)) {
    throw invalid(`${field} must be 1-64 letters, digits, '.', '_', '@' or '-' (not first)`);
  }
  if (RESERVED.has(name.toLowerCase())) throw invalid(`${field}: '${name}' is reserved for anonymous logins`);
  return name;
}

function optionalCount(value: unknown, field: string): number | undefined {
  if (value === undefined) return undefined;
  if (typeof value !== 'number' || !Number.isSafeInteger(value) || value < 0) throw invalid(`${field} must be a non-negative integer`);
  return value;
}

/** Checks one user record's shape; returns a clean copy. Throws naming the bad field. */
export function validateUser(value: unknown, field = 'user'): UserRecord {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) throw invalid(`${field} must be an object`);
  const v = value as Record<string, unknown>;
  for (const key of Object.keys(v)) if (!USER_FIELDS.has(key)) throw invalid(`${field}.${key}: unknown field`);
  const user: UserRecord = {
    name: checkUserName(v.name, `${field}.name`),
    password: v.password as string,
    home: v.home as string,
    permissions: parsePermissions(v.permissions, `${field}.permissions`),
  };
  parseHash(v.password, `${field}.password`);
  if (typeof v.home !== 'string' || !isAbsolute(v.home) || v.home.includes('\0')) throw invalid(`${field}.home must be an absolute path`);
  if (v.overrides !== undefined) {
    user.overrides = Object.fromEntries(parseOverrides(v.overrides, `${field}.overrides`));
  }
  const maxSessions = optionalCount(v.maxSessions, `${field}.maxSessions`);
  const uploadRate = optionalCount(v.uploadRate, `${field}.uploadRate`);
  const downloadRate = optionalCount(v.downloadRate, `${field}.downloadRate`);
  if (maxSessions !== undefined) user.maxSessions = maxSessions;
  if (uploadRate !== undefined) user.uploadRate = uploadRate;
  if (downloadRate !== undefined) user.downloadRate = downloadRate;
  for (const flag of ['requireTls', 'disabled'] as const) {
    if (v[flag] === undefined) continue;
    if (typeof v[flag] !== 'boolean') throw invalid(`${field}.${flag} must be true or false`);
    user[flag] = v[flag];
  }
  return user;
}

/** Checks a parsed users file; throws FtpError naming the first bad field (e.g. `users[2].permissions`). */
export function validateUsersFile(value: unknown): UsersFile {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) throw invalid('the users file must hold a JSON object');
  const v = value as Record<string, unknown>;
  for (const key of Object.keys(v)) if (!FILE_FIELDS.has(key)) throw invalid(`${key}: unknown field`);
  if (v.version !== 1) throw invalid('version must be 1');
  if (!Array.isArray(v.users)) throw invalid('users must be an array');
  const file: UsersFile = { version: 1, users: [] };
  if (v.homeRoot !== undefined) {
    if (typeof v.homeRoot !== 'string' || !isAbsolute(v.homeRoot)) throw invalid('homeRoot must be an absolute path');
    file.homeRoot = v.homeRoot;
  }
  const seen = new Set<string>();
  v.users.forEach((u, i) => {
    const user = validateUser(u, `users[${i}]`);
    if (seen.has(user.name)) throw invalid(`users[${i}].name: '${user.name}' appears twice`);
    seen.add(user.name);
    file.users.push(user);
  });
  return file;
}

/**
 * Checks that a home exists, is a folder, and (with `homeRoot`) lies inside it once symlinks are
 * resolved. Returns the real path. Throws naming `field`.
 */
export async function checkHome(home: string, homeRoot: string | undefined, field = 'home'): Promise<string> {
  let real: string;
  try {
    real = await realpath(home);
    if (!(await stat(real)).isDirectory()) throw new Error('not a folder');
  } catch {
    throw invalid(`${field}: ${home} does not exist or is not a folder`);
  }
  if (homeRoot !== undefined) {
    let root: string;
    try {
      root = await realpath(homeRoot);
    } catch {
      throw invalid(`homeRoot: ${homeRoot} does not exist`);
    }
    const rel = relative(root, real);
    if (rel === '..' || rel.startsWith(`..${sep}`) || isAbsolute(rel)) throw invalid(`${field}: ${home} is outside homeRoot ${homeRoot}`);
  }
  return real;
}
