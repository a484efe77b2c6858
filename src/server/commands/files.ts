import { formatMlsdTime, parseMlsdTime } from '../../protocol/index.js';
import type { CommandSpec } from '../command.js';
import type { Refusal } from '../permissions.js';
import type { Session } from '../session.js';
import { resolveVirtualPath } from '../../storage/path.js';
import type { StorageStat } from '../../storage/types.js';
import { exclusive, lockFor, releaseQuietly, withLock } from '../locks/index.js';
import { pendingUpload, refuseTemporary, temporaryFor } from '../upload.js';

/** Resolves and stats `arg`; answers the failure itself and returns undefined. */
async function statArg(session: Session, arg: string): Promise<{ path: string; stat: StorageStat } | undefined> {
  if (arg === '') {
    session.reply(501, 'A path is required');
    return undefined;
  }
  const path = session.resolve(arg);
  if (path === undefined || refuseTemporary(session, path)) return undefined;
  try {
    return { path, stat: await session.storage!.stat(path) };
  } catch (err) {
    session.fail(err, path, 550);
    return undefined;
  }
}

export const DELE: CommandSpec = {
  verbs: ['DELE'],
  help: 'DELE <path>',
  async handler(session, arg) {
    if (!session.allowedFor('d', arg)) return;
    const found = await statArg(session, arg);
    if (!found) return;
    if (found.stat.type === 'dir') return session.reply(550, `${found.path}: Is a directory`);
    // The target and its partial upload (atomic mode) go together.
    const temp = temporaryFor(found.path);
    await withLock(session, 'DELE', [exclusive(found.path), exclusive(temp)], found.path, async () => {
      try {
        await session.storage!.delete(found.path);
      } catch (err) {
        return session.fail(err, found.path, 550);
      }
      if (await pendingUpload(session, found.path)) await session.storage!.delete(temp).catch(() => {});
      session.reply(250, `${found.path}: File deleted`);
    });
  },
};

export const RNFR: CommandSpec = {
  verbs: ['RNFR'],
  help: 'RNFR <path>',
  async handler(session, arg) {
    if (!session.allowedFor('f', arg) || refusePinned(session, arg)) return;
    const found = await statArg(session, arg);
    if (!found) return;
    if (found.path === '/') return session.reply(550, '/: Cannot rename the root directory');
    // A busy source is reported now; RNTO takes the real locks (source and target together).
    const probe = await lockFor(session, 'RNFR', [exclusive(found.path)]);
    if (!probe) return;
    await releaseQuietly(session, probe);
    session.renameFrom = found.path;
    session.reply(350, 'Ready for RNTO');
  },
};

/**
 * RNTO checks what the rename would change (Permissions.checkRename): which rules apply to what
 * moves, and what it replaces. Source and target are looked at under their locks, so what was
 * checked is what gets renamed.
 */
export const RNTO: CommandSpec = {
  verbs: ['RNTO'],
  help: 'RNTO <path>',
  async handler(session, arg) {
    const from = session.renameFrom;
    session.renameFrom = undefined;
    if (from === undefined) return session.reply(503, 'RNFR required first');
    if (arg === '') return session.reply(501, 'RNTO needs a path');
    const to = session.resolve(arg);
    if (to === undefined || !session.allowed('f', to)) return;
    if (to === '/' || to.startsWith(`${from}/`)) return session.reply(553, `${to}: Invalid rename target`);
    if (refuseTemporary(session, to) || refusePinned(session, to)) return;
    await withLock(session, 'RNTO', [exclusive(from), exclusive(to)], async () => {
      const storage = session.storage!;
      let moved: StorageStat;
      try {
        moved = await storage.stat(from);
      } catch (err) {
        return session.fail(err, from, 550);
      }
      // Anything but a folder at the target is replaced like a file (ENOENT and the like: nothing is).
      const replaced = from === to ? undefined : await storage.stat(to).catch(() => undefined);
      // Logged in, so permissions are set (allowed() above refused otherwise).
      const refusal = session.permissions!.checkRename({
        from,
        to,
        moved: moved.type === 'dir' ? 'dir' : 'file',
        replaced: replaced && (replaced.type === 'dir' ? 'dir' : 'file'),
        storeMayReplace: session.account?.name !== 'anonymous', // as refuseReplace() for STOR
      });
      if (refusal) return deny(session, refusal);
      try {
        await storage.rename(from, to);
      } catch (err) {
        return session.fail(err, to, 550);
      }
      session.reply(250, 'Rename successful');
    });
  },
};

/**
 * Refuses (550) renaming a path that is, or holds, a folder with its own permissions, before
 * anything is looked up. A path that does not resolve passes: resolve() answers it.
 */
function refusePinned(session: Session, arg: string): boolean {
  let path: string;
  try {
    path = resolveVirtualPath(session.cwd, arg);
  } catch {
    return false;
  }
  const refusal = session.permissions?.pinned(path);
  if (refusal) deny(session, refusal);
  return refusal !== undefined;
}

function deny(session: Session, refusal: Refusal): void {
  session.reply(550, `${refusal.path}: Permission denied (${refusal.why})`);
}

export const SIZE: CommandSpec = {
  verbs: ['SIZE'],
  help: 'SIZE <path>',
  feat: ['SIZE'],
  async handler(session, arg) {
    if (!session.allowedFor('l', arg)) return;
    const found = await statArg(session, arg);
    if (!found) return;
    if (found.stat.type !== 'file') return session.reply(550, `${found.path}: Not a regular file`);
    // What a resuming client needs: the bytes of a pending (atomic) upload when there is one.
    const pending = await pendingUpload(session, found.path);
    session.reply(213, String((pending ?? found.stat).size));
  },
};

export const MDTM: CommandSpec = {
  verbs: ['MDTM'],
  help: 'MDTM <path>',
  feat: ['MDTM'],
  async handler(session, arg) {
    if (!session.allowedFor('l', arg)) return;
    const found = await statArg(session, arg);
    if (!found) return;
    session.reply(213, formatMlsdTime(found.stat.mtime));
  },
};

/** MFMT YYYYMMDDHHMMSS path (draft-somers-ftp-mfxx). */
export const MFMT: CommandSpec = {
  verbs: ['MFMT'],
  help: 'MFMT <YYYYMMDDHHMMSS> <path>',
  feat: ['MFMT'],
  async handler(session, arg) {
    const space = arg.indexOf(' ');
    const time = space > 0 ? parseMlsdTime(arg.slice(0, space)) : null;
    if (!time) return session.reply(501, 'MFMT needs a time YYYYMMDDHHMMSS and a path');
    if (!session.allowedFor('T', arg.slice(space + 1))) return;
    const found = await statArg(session, arg.slice(space + 1));
    if (!found) return;
    await withLock(session, 'MFMT', [exclusive(found.path)], async () => {
      try {
        await session.storage!.setMtime(found.path, time);
      } catch (err) {
        return session.fail(err, found.path, 550);
      }
      session.reply(213, `Modify=${formatMlsdTime(time)}; ${found.path}`);
    });
  },
};

export const SITE: CommandSpec = {
  verbs: ['SITE'],
  help: 'SITE CHMOD <mode> <path> | SITE HELP',
  async handler(session, arg) {
    const [sub = '', ...rest] = arg.split(' ');
    const name = sub.toUpperCase();
    if (name === 'HELP') return session.reply(214, ['The following SITE commands are recognized:', ' CHMOD HELP', 'Help OK']);
    if (name !== 'CHMOD') return session.reply(501, 'Unknown SITE command');
    const modeText = rest[0] ?? '';
    // Permission bits only: setuid, setgid and sticky are refused, not silently dropped (issue 12).
    if (!/^0?[0-7]{1,3}$/.test(modeText) || rest.length < 2) return session.reply(501, 'SITE CHMOD needs an octal mode up to 777 and a path');
    if (!session.allowedFor('M', rest.slice(1).join(' '))) return;
    const found = await statArg(session, rest.slice(1).join(' '));
    if (!found) return;
    await withLock(session, 'SITE CHMOD', [exclusive(found.path)], async () => {
      try {
        await session.storage!.chmod(found.path, parseInt(modeText, 8));
      } catch (err) {
        return session.fail(err, found.path, 550);
      }
      session.reply(200, 'SITE CHMOD command successful');
    });
  },
};
