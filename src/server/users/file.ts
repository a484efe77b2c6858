import { randomBytes } from 'node:crypto';
import { chmod, open, readFile, rename, unlink } from 'node:fs/promises';
import { basename, dirname, join } from 'node:path';
import { FtpError } from '../../errors.js';
import { checkHome, validateUsersFile, type UsersFile } from './schema.js';

/** Where ftp-serve looks when --users is not given: ./ftp-users.json. */
export const DEFAULT_USERS_FILE = 'ftp-users.json';

/** A users file past this size is refused before parsing. */
const MAX_FILE_BYTES = 16 * 1024 * 1024;

export interface LoadOptions {
  /** Check that every home exists (and is inside homeRoot). Default true. */
  checkHomes?: boolean;
  /** A missing file reads as an empty one. Default false. */
  allowMissing?: boolean;
}

/** Reads, parses and validates a users file; errors name the file and the bad field. */
export async function loadUsersFile(path: string, options: LoadOptions = {}): Promise<UsersFile> {
  let text: string;
  try {
    const buf = await readFile(path);
    if (buf.length > MAX_FILE_BYTES) throw new FtpError('FTPKIT_ERR_INVALID_ARGUMENT', `${path}: larger than ${MAX_FILE_BYTES} bytes`);
    text = buf.toString('utf8');
  } catch (err) {
    if (err instanceof FtpError) throw err;
    const code = (err as NodeJS.ErrnoException).code;
    if (code === 'ENOENT' && options.allowMissing) return { version: 1, users: [] };
    throw new FtpError('FTPKIT_ERR_INVALID_ARGUMENT', `${path}: cannot read (${code ?? 'error'})`, { cause: err });
  }
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch (err) {
    throw new FtpError('FTPKIT_ERR_INVALID_ARGUMENT', `${path}: not valid JSON (${(err as Error).message})`);
  }
  let file: UsersFile;
  try {
    file = validateUsersFile(json);
    if (options.checkHomes !== false) {
      await Promise.all(file.users.map((u, i) => checkHome(u.home, file.homeRoot, `users[${i}].home`)));
    }
  } catch (err) {
    throw new FtpError('FTPKIT_ERR_INVALID_ARGUMENT', `${path}: ${(err as Error).message}`);
  }
  return file;
}

/**
 * Writes a users file atomically with mode 0600: a temp file in the same folder is written,
 * synced and renamed over the old one, so a reader (SIGHUP) never sees half a file.
 */
export async function saveUsersFile(path: string, file: UsersFile): Promise<void> {
  const data = `${JSON.stringify(validateUsersFile(file), null, 2)}\n`;
  const tmp = join(dirname(path), `.${basename(path)}.${randomBytes(6).toString('hex')}.tmp`);
  const handle = await open(tmp, 'wx', 0o600);
  try {
    await handle.writeFile(data);
    await handle.sync();
  } catch (err) {
    await handle.close();
    await unlink(tmp).catch(() => {});
    throw err;
  }
  await handle.close();
  try {
    await chmod(tmp, 0o600); // the umask cannot widen 0600, but be explicit
    await rename(tmp, path);
  } catch (err) {
    await unlink(tmp).catch(() => {});
    throw err;
  }
}
