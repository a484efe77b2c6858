// `ftp-serve [--users FILE] users add|passwd|del|list`: manages a users file with the package's
// users-file functions; passwords come from a no-echo prompt or the first line of stdin.
import { realpath } from 'node:fs/promises';
import { relative, resolve, isAbsolute, sep } from 'node:path';
import {
  ALL_PERMISSIONS,
  FtpError,
  MAX_PASSWORD_BYTES,
  PERMISSION_LETTERS,
  addUser,
  checkHome,
  checkUserName,
  deleteUser,
  listUsers,
  parsePermissions,
  setUserPassword,
  type NewUser,
} from '../index.js';
import { parseFlags } from './args.js';
import { parseSize, parseCount } from './numbers.js';
import { InterruptedError } from './exit.js';
import { PromptCancelledError, promptHidden, readFirstLine } from './prompt.js';
import { UsageError } from './usage-error.js';

export const USERS_HELP = `Usage: ftp-serve [--users FILE] users COMMAND

Manage the users file (default ./ftp-users.json; written atomically, mode 0600).

Commands:
  add NAME [--home DIR] [--perms LETTERS] [--max-sessions N] [--upload-rate BYTES] [--download-rate BYTES]
                  add a user; home defaults to the current folder, perms to ${ALL_PERMISSIONS}
  passwd NAME     set a user's password
  del NAME        remove a user
  list            show the users (never their hashes)

Passwords are read without echo from a terminal, or as the first line of stdin.
Rates take bytes per second, optionally with k, M or G (5M).
Permission letters: ${Object.entries(PERMISSION_LETTERS).map(([l, what]) => `${l} ${what}`).join(', ')}.
ftp-serve never serves its users file, even from inside a home (see README).
`;

export interface UsersIo {
  stdin: NodeJS.ReadStream;
  stdout: NodeJS.WritableStream;
  stderr: NodeJS.WritableStream;
}

/**
 * Runs `users <args>` against `file`. Mistakes in the arguments, the users file or the password
 * are UsageErrors (exit 2); anything else (a disk error) is thrown as it is.
 */
export async function runUsersCommand(args: string[], file: string, io: UsersIo): Promise<void> {
  try {
    await usersCommand(args, file, io);
  } catch (err) {
    // The library names the field (`--home: ...`, `ftp-users.json: users[2].home: ...`).
    if (err instanceof FtpError && err.code === 'FTPKIT_ERR_INVALID_ARGUMENT') throw new UsageError(err.message, { seeHelp: false, cause: err });
    throw err;
  }
}

async function usersCommand(args: string[], file: string, io: UsersIo): Promise<void> {
  const [command, ...rest] = args;
  const parse = <O extends Parameters<typeof parseFlags>[1]>(options: O, names: number) => {
    const parsed = parseFlags(rest, options);
    if (parsed.positionals.length !== names) throw new UsageError(`users ${command} takes ${names === 1 ? 'a user NAME' : 'no arguments'}`);
    return { values: parsed.values, name: parsed.positionals[0] ?? '' };
  };
  switch (command) {
    case 'add': {
      const { values, name } = parse(
        {
          home: { type: 'string' },
          perms: { type: 'string' },
          'max-sessions': { type: 'string' },
          'upload-rate': { type: 'string' },
          'download-rate': { type: 'string' },
        },
        1,
      );
      const home = resolve(values.home ?? process.cwd());
      // Everything checkable is checked before the password is asked for.
      checkUserName(name, 'NAME');
      const permissions = values.perms ?? ALL_PERMISSIONS;
      parsePermissions(permissions, '--perms');
      const realHome = await checkHome(home, undefined, '--home');
      const options: NewUser = { home, permissions };
      if (values['max-sessions'] !== undefined) options.maxSessions = parseCount(values['max-sessions'], '--max-sessions');
      if (values['upload-rate'] !== undefined) options.uploadRate = parseSize(values['upload-rate'], '--upload-rate');
      if (values['download-rate'] !== undefined) options.downloadRate = parseSize(values['download-rate'], '--download-rate');
      const password = await readNewPassword(io);
      const user = await addUser(file, name, password, options);
      io.stdout.write(`added ${user.name} (home ${user.home}, permissions ${user.permissions}) to ${file}\n`);
      if (await isInside(file, realHome)) {
        // Safe with ftp-serve, which never serves its users file (nor the TLS key): say so, so
        // nobody points another FTP server at this folder.
        io.stderr.write(`ftp-serve: warning: ${user.name}'s home contains the users file ${file}; ftp-serve never serves it, but keep it out of homes other servers may share (--home, --users)\n`);
      }
      return;
    }
    case 'passwd': {
      const { name } = parse({}, 1);
      await setUserPassword(file, name, await readNewPassword(io));
      io.stdout.write(`password of ${name} changed in ${file}\n`);
      return;
    }
    case 'del': {
      const { name } = parse({}, 1);
      await deleteUser(file, name);
      io.stdout.write(`removed ${name} from ${file}\n`);
      return;
    }
    case 'list': {
      parse({}, 0);
      for (const u of await listUsers(file)) {
        const extras = [
          u.overrides ? `overrides ${Object.entries(u.overrides).map(([d, l]) => `${d}=${l}`).join(',')}` : '',
          u.maxSessions ? `max-sessions ${u.maxSessions}` : '',
          u.uploadRate ? `upload ${u.uploadRate} B/s` : '',
          u.downloadRate ? `download ${u.downloadRate} B/s` : '',
          u.disabled ? 'disabled' : '',
        ].filter(Boolean);
        io.stdout.write(`${u.name}\t${u.permissions || '-'}\t${u.home}${extras.length ? `\t${extras.join('; ')}` : ''}\n`);
      }
      return;
    }
    case undefined:
      throw new UsageError('users needs a command: add, passwd, del or list');
    default:
      throw new UsageError(`unknown users command '${command}'`);
  }
}

/** True when `file` (once its folder's symlinks are resolved) lies inside the folder `realDir`. */
async function isInside(file: string, realDir: string): Promise<boolean> {
  const real = await realpath(file).catch(() => resolve(file));
  const rel = relative(realDir, real);
  return rel !== '' && rel !== '..' && !rel.startsWith(`..${sep}`) && !isAbsolute(rel);
}

/** A new password: asked twice without echo on a terminal, else the first line of stdin. */
async function readNewPassword(io: UsersIo): Promise<string> {
  try {
    if (!io.stdin.isTTY) return await readFirstLine(io.stdin, MAX_PASSWORD_BYTES);
    const password = await promptHidden('Password: ', io.stdin, io.stderr as NodeJS.WriteStream, MAX_PASSWORD_BYTES);
    const again = await promptHidden('Retype password: ', io.stdin, io.stderr as NodeJS.WriteStream, MAX_PASSWORD_BYTES);
    if (again !== password) throw new Error('the passwords do not match');
    return password;
  } catch (err) {
    if (err instanceof PromptCancelledError) throw new InterruptedError();
    throw new UsageError((err as Error).message, { seeHelp: false });
  }
}
