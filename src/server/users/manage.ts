import { resolve } from 'node:path';
import { FtpError } from '../../errors.js';
import { ALL_PERMISSIONS, parsePermissions } from '../permissions.js';
import { loadUsersFile, saveUsersFile } from './file.js';
import { hashPassword } from './password.js';
import { checkHome, checkUserName, type UserRecord } from './schema.js';

/** What `users add` takes besides the name and password. */
export interface NewUser {
  /** Folder the user is jailed under; must exist. */
  home: string;
  /** Permission letters. Default 'elradfmwMT' (everything, inside their home). */
  permissions?: string;
  maxSessions?: number;
  uploadRate?: number;
  downloadRate?: number;
}

function notFound(path: string, name: string): FtpError {
  return new FtpError('FTPKIT_ERR_INVALID_ARGUMENT', `${path}: no user named '${name}'`);
}

/** Adds a user (the file is created when missing). Refuses a name that exists. */
export async function addUser(path: string, name: string, password: string, options: NewUser): Promise<UserRecord> {
  checkUserName(name);
  const permissions = parsePermissions(options.permissions ?? ALL_PERMISSIONS, 'perms');
  const file = await loadUsersFile(path, { allowMissing: true, checkHomes: false });
  if (file.users.some((u) => u.name === name)) throw new FtpError('FTPKIT_ERR_INVALID_ARGUMENT', `${path}: user '${name}' exists already`);
  const home = resolve(options.home);
  await checkHome(home, file.homeRoot);
  const record: UserRecord = { name, password: await hashPassword(password), home, permissions };
  if (options.maxSessions) record.maxSessions = options.maxSessions;
  if (options.uploadRate) record.uploadRate = options.uploadRate;
  if (options.downloadRate) record.downloadRate = options.downloadRate;
  file.users.push(record);
  await saveUsersFile(path, file);
  return record;
}

export async function setUserPassword(path: string, name: string, password: string): Promise<void> {
  const file = await loadUsersFile(path, { checkHomes: false });
  const user = file.users.find((u) => u.name === name);
  if (!user) throw notFound(path, name);
  user.password = await hashPassword(password);
  await saveUsersFile(path, file);
}

export async function deleteUser(path: string, name: string): Promise<void> {
  const file = await loadUsersFile(path, { checkHomes: false });
  const index = file.users.findIndex((u) => u.name === name);
  if (index < 0) throw notFound(path, name);
  file.users.splice(index, 1);
  await saveUsersFile(path, file);
}

/** The users without their hashes. */
export async function listUsers(path: string): Promise<Omit<UserRecord, 'password'>[]> {
  const file = await loadUsersFile(path, { allowMissing: true, checkHomes: false });
  return file.users.map(({ password: _, ...rest }) => rest);
}
