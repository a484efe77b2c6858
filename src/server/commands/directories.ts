import { quotePath } from '../../protocol/index.js';
import type { CommandSpec } from '../command.js';
import { exclusive, withLock } from '../locks/index.js';
import { discardHiddenPartials, refuseTemporary } from '../upload.js';

export const MKD: CommandSpec = {
  verbs: ['MKD', 'XMKD'],
  help: 'MKD <path>',
  async handler(session, arg) {
    if (arg === '') return session.reply(501, 'MKD needs a path');
    const path = session.resolve(arg);
    if (path === undefined || !session.allowed('m', path)) return;
    if (path === '/') return session.reply(550, '/: File exists');
    if (refuseTemporary(session, path)) return;
    try {
      await session.storage!.mkdir(path);
    } catch (err) {
      return session.fail(err, path, 550);
    }
    session.reply(257, `${quotePath(path)} created`);
  },
};

export const RMD: CommandSpec = {
  verbs: ['RMD', 'XRMD'],
  help: 'RMD <path>',
  async handler(session, arg) {
    if (arg === '') return session.reply(501, 'RMD needs a path');
    const path = session.resolve(arg);
    if (path === undefined || !session.allowed('d', path)) return;
    if (path === '/') return session.reply(550, '/: Cannot remove the root directory');
    // Exclusive on the folder covers everything under it: no upload or download inside meanwhile.
    await withLock(session, 'RMD', [exclusive(path)], async () => {
      try {
        await discardHiddenPartials(session.storage!, path); // a folder that looks empty must be removable
        await session.storage!.rmdir(path);
      } catch (err) {
        return session.fail(err, path, 550);
      }
      session.reply(250, `${path}: Directory removed`);
    });
  },
};
