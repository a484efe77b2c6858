import { quotePath } from '../../protocol/index.js';
import type { CommandSpec, PathContext } from '../command.js';

export const PWD: CommandSpec = {
  verbs: ['PWD', 'XPWD'],
  help: 'PWD',
  login: true,
  arg: 'none',
  handler({ session }) {
    session.reply(257, `${quotePath(session.cwd)} is the current directory`);
  },
};

async function changeDirectory({ session, storage, path }: PathContext): Promise<void> {
  try {
    const stat = await storage.stat(path);
    if (stat.type !== 'dir') return session.reply(550, `${path}: Not a directory`);
  } catch (err) {
    return session.fail(err, path, 550);
  }
  session.setCwd(path);
  session.reply(250, `Directory changed to ${path}`);
}

export const CWD: CommandSpec = {
  verbs: ['CWD', 'XCWD'],
  help: 'CWD <path>',
  feat: ['TVFS'],
  login: true,
  arg: 'path',
  missing: 'CWD needs a path',
  perm: 'e',
  handler: changeDirectory,
};

export const CDUP: CommandSpec = {
  verbs: ['CDUP', 'XCUP'],
  help: 'CDUP',
  login: true,
  arg: 'path',
  pathIn: () => '..',
  pathWhere: 'the parent folder, `..`',
  perm: 'e',
  handler: changeDirectory,
};
