// `ftp-serve users ...`: argument parsing and password input for the users subcommands.
// The bin calls runUsersCommand; the work itself is in manage.ts.
import { parseArgs, type ParseArgsConfig } from 'node:util';
import { FtpError } from '../../errors.js';
import { resolve } from 'node:path';
import { ALL_PERMISSIONS, PERMISSION_LETTERS, parsePermissions } from '../permissions.js';
import { checkHome, checkUserName } from './schema.js';
import { addUser, deleteUser, listUsers, setUserPassword } from './manage.js';
import { MAX_PASSWORD_BYTES, checkPassword } from './password.js';

export const USERS_HELP = `Usage: ftp-serve [--users FILE] users COMMAND

Manage the users file (default ./ftp-users.json; written atomically, mode 0600).

Commands:
  add NAME [--home DIR] [--perms LETTERS] [--max-sessions N] [--upload-rate BYTES] [--download-rate BYTES]
                  add a user; home defaults to the current folder, perms to elradfmwMT
  passwd NAME     set a user's password
  del NAME        remove a user
  list            show the users (never their hashes)

Passwords are read without echo from a terminal, or as the first line of stdin.
Permission letters: ${Object.entries(PERMISSION_LETTERS).map(([l, what]) => `${l} ${what}`).join(', ')}.
`;

/** A usage mistake: the bin prints it with "(see --help)" and exits 2. */
export class UsageError extends Error {}

export interface UsersIo {
  stdin: NodeJS.ReadStream;
  stdout: NodeJS.WritableStream;
  stderr: NodeJS.WritableStream;
}

function count(text: string | undefined, flag: string): number | undefined {
  if (text === undefined) return undefined;
  const m = /^(\d{1,15})([kKmMgG]?)$/.exec(text);
  if (!m) throw new UsageError(`${flag} takes a number (optionally with k, M or G), got '${text}'`);
  const scale = { '': 1, k: 1024, m: 1024 ** 2, g: 1024 ** 3 }[m[2]!.toLowerCase() as '' | 'k' | 'm' | 'g'];
  return Number(m[1]) * scale;
}

/** Runs `users <args>` against `file`. Resolves when done; throws UsageError or FtpError. */
export async function runUsersCommand(args: string[], file: string, io: UsersIo): Promise<void> {
  const [command, ...rest] = args;
  const parse = (options: ParseArgsConfig['options'], names: number): { values: Record<string, string | boolean | undefined>; name: string } => {
    let parsed;
    try {
      parsed = parseArgs({ args: rest, options: options ?? {}, allowPositionals: true, strict: true });
    } catch (err) {
      throw new UsageError((err as Error).message);
    }
    if (parsed.positionals.length !== names) throw new UsageError(`users ${command} takes ${names === 1 ? 'a user NAME' : 'no arguments'}`);
    return { values: parsed.values as Record<string, string | boolean | undefined>, name: parsed.positionals[0] ?? '' };
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
      const home = resolve((values.home as string | undefined) ?? process.cwd());
      // Everything checkable is checked before the password is asked for.
      checkUserName(name, 'NAME');
      parsePermissions(values.perms ?? ALL_PERMISSIONS, '--perms');
      await checkHome(home, undefined, '--home');
      const options = {
        home,
        permissions: values.perms as string | undefined,
        maxSessions: count(values['max-sessions'] as string | undefined, '--max-sessions'),
        uploadRate: count(values['upload-rate'] as string | undefined, '--upload-rate'),
        downloadRate: count(values['download-rate'] as string | undefined, '--download-rate'),
      };
      const password = await readNewPassword(io);
      const user = await addUser(file, name, password, options as Parameters<typeof addUser>[3]);
      io.stdout.write(`added ${user.name} (home ${user.home}, permissions ${user.permissions}) to ${file}\n`);
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

/** A new password: asked twice without echo on a terminal, else the first line of stdin. */
async function readNewPassword(io: UsersIo): Promise<string> {
  let password: string;
  if (io.stdin.isTTY) {
    password = await promptHidden(io, 'Password: ');
    const again = await promptHidden(io, 'Retype password: ');
    if (again !== password) throw new FtpError('FTPKIT_ERR_INVALID_ARGUMENT', 'the passwords do not match');
  } else {
    password = await firstLine(io.stdin);
  }
  return checkPassword(password);
}

/** Reads stdin up to the first line end (or EOF); refuses input past the password cap early. */
function firstLine(stdin: NodeJS.ReadStream): Promise<string> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    const done = (err?: Error): void => {
      stdin.off('data', onData);
      stdin.off('end', onEnd);
      stdin.off('error', done);
      stdin.pause();
      if (err) return reject(err);
      const text = Buffer.concat(chunks).toString('utf8');
      const nl = text.search(/\r?\n/);
      resolve(nl < 0 ? text : text.slice(0, nl));
    };
    const onData = (chunk: Buffer): void => {
      chunks.push(chunk);
      size += chunk.length;
      if (chunk.includes(10)) return done();
      if (size > MAX_PASSWORD_BYTES + 2) done(new FtpError('FTPKIT_ERR_INVALID_ARGUMENT', `password must be at most ${MAX_PASSWORD_BYTES} bytes`));
    };
    const onEnd = (): void => done();
    stdin.on('data', onData);
    stdin.once('end', onEnd);
    stdin.once('error', done);
  });
}

/** Reads one line from a terminal in raw mode, echoing nothing. Ctrl-C cancels. */
function promptHidden(io: UsersIo, prompt: string): Promise<string> {
  const stdin = io.stdin;
  io.stderr.write(prompt);
  return new Promise((resolve, reject) => {
    let text = '';
    stdin.setRawMode(true);
    stdin.resume();
    stdin.setEncoding('utf8');
    const finish = (err?: Error): void => {
      stdin.off('data', onData);
      stdin.setRawMode(false);
      stdin.pause();
      io.stderr.write('\n');
      if (err) reject(err);
      else resolve(text);
    };
    const onData = (chunk: string): void => {
      for (const ch of chunk) {
        if (ch === '\r' || ch === '\n' || ch === '\u0004') return finish();
        if (ch === '\u0003') return finish(new FtpError('FTPKIT_ERR_ABORTED', 'cancelled'));
        if (ch === '\u007f' || ch === '\b') text = text.slice(0, -1);
        else text += ch;
        if (Buffer.byteLength(text) > MAX_PASSWORD_BYTES) return finish(new FtpError('FTPKIT_ERR_INVALID_ARGUMENT', `password must be at most ${MAX_PASSWORD_BYTES} bytes`));
      }
    };
    stdin.on('data', onData);
  });
}
