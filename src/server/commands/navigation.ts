import { quotePath } from '../../protocol/index.js';
import type { CommandSpec } from '../command.js';
import type { Session } from '../session.js';

export const PWD: CommandSpec = {
  verbs: ['PWD', 'XPWD'],
  help: 'PWD',
  handler(session) {
    session.reply(257, `${quotePath(session.cwd)} is the current directory`);
  },
};

async function changeDirectory(session: Session, arg: string): Promise<void> {
  const path = session.resolve(arg);
  if (path === undefined || !session.allowed('e', path)) return;
  try {
    const stat = await session.storage!.stat(path);
    if (stat.type !== 'dir') return session.reply(550, `${path}: Not a directory`);
  } catch (err) {
    return session.fail(err, path, 550);
  }
  session.cwd = path;
  session.reply(250, `Directory changed to ${path}`);
}

export const CWD: CommandSpec = {
  verbs: ['CWD', 'XCWD'],
  help: 'CWD <path>',
  feat: ['TVFS'],
  handler(session, arg) {
    if (arg === '') return session.reply(501, 'CWD needs a path');
    return changeDirectory(session, arg);
  },
};

export const CDUP: CommandSpec = {
  verbs: ['CDUP', 'XCUP'],
  help: 'CDUP',
  handler(session) {
    return changeDirectory(session, '..');
  },
};
