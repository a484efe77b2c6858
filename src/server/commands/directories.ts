import { quotePath } from '../../protocol/index.js';
import type { CommandSpec } from '../command.js';
import { exclusive, withLock } from '../locks/index.js';
import { discardHiddenPartials } from '../upload.js';

export const MKD: CommandSpec = {
  verbs: ['MKD', 'XMKD'],
  help: 'MKD <path>',
  login: true,
  arg: 'path',
  missing: 'MKD needs a path',
  perm: 'm',
  async handler({ session, storage, path }) {
    if (path === '/') return session.reply(550, '/: File exists');
    try {
      await storage.mkdir(path);
    } catch (err) {
      return session.fail(err, path, 550);
    }
    session.reply(257, `${quotePath(path)} created`);
  },
};

export const RMD: CommandSpec = {
  verbs: ['RMD', 'XRMD'],
  help: 'RMD <path>',
  login: true,
  arg: 'path',
  missing: 'RMD needs a path',
  perm: 'd',
  async handler({ session, storage, path }) {
    if (path === '/') return session.reply(550, '/: Cannot remove the root directory');
    // Exclusive on the folder covers everything under it: no upload or download inside meanwhile.
    await withLock(session, 'RMD', [exclusive(path)], async () => {
      try {
        await discardHiddenPartials(storage, path); // a folder that looks empty must be removable
        await storage.rmdir(path);
      } catch (err) {
        return session.fail(err, path, 550);
      }
      session.reply(250, `${path}: Directory removed`);
    });
  },
};
