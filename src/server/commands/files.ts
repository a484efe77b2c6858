import { formatMlsdTime, parseMlsdTime } from '../../protocol/index.js';
import type { CommandSpec, PathContext, RenameCommandSpec } from '../command.js';
import type { Refusal } from '../permissions.js';
import type { Session } from '../session.js';
import type { StorageStat } from '../../storage/types.js';
import { exclusive, lockFor, releaseQuietly, withLock } from '../locks/index.js';
import { pendingUpload, temporaryFor } from '../upload.js';

/** Stats the command's path; answers the failure itself and returns undefined. */
async function statPath({ session, storage, path }: PathContext): Promise<StorageStat | undefined> {
  try {
    return await storage.stat(path);
  } catch (err) {
    session.fail(err, path, 550);
    return undefined;
  }
}

export const DELE: CommandSpec = {
  verbs: ['DELE'],
  help: 'DELE <path>',
  login: true,
  arg: 'path',
  perm: 'd',
  async handler(ctx) {
    const { session, storage, path } = ctx;
    const stat = await statPath(ctx);
    if (!stat) return;
    if (stat.type === 'dir') return session.reply(550, `${path}: Is a directory`);
    // The target and its partial upload (atomic mode) go together.
    const temp = temporaryFor(path);
    await withLock(session, 'DELE', [exclusive(path), exclusive(temp)], path, async () => {
      try {
        await storage.delete(path);
      } catch (err) {
        return session.fail(err, path, 550);
      }
      if (await pendingUpload(ctx, path)) await storage.delete(temp).catch(() => {});
      session.reply(250, `${path}: File deleted`);
    });
  },
};

export const RNFR: CommandSpec = {
  verbs: ['RNFR'],
  help: 'RNFR <path>',
  login: true,
  arg: 'path',
  perm: 'f',
  async handler(ctx) {
    const { session, path } = ctx;
    if (refusePinned(ctx, path)) return;
    if (!(await statPath(ctx))) return;
    if (path === '/') return session.reply(550, '/: Cannot rename the root directory');
    // A busy source is reported now; RNTO takes the real locks (source and target together).
    const probe = await lockFor(session, 'RNFR', [exclusive(path)]);
    if (!probe) return;
    await releaseQuietly(session, probe);
    session.setRenameFrom(path);
    session.reply(350, 'Ready for RNTO');
  },
};

/**
 * RNTO checks what the rename would change (Permissions.checkRename): which rules apply to what
 * moves, and what it replaces. Source and target are looked at under their locks, so what was
 * checked is what gets renamed. The table checked 'f' at the target; checkRename checks it
 * again at both ends with the rest.
 */
export const RNTO: RenameCommandSpec = {
  verbs: ['RNTO'],
  help: 'RNTO <path>',
  login: true,
  arg: 'path',
  missing: 'RNTO needs a path',
  follows: 'RNFR',
  perm: 'f',
  async handler(ctx) {
    const { session, storage, permissions, renameFrom: from, path: to } = ctx;
    if (to === '/' || to.startsWith(`${from}/`)) return session.reply(553, `${to}: Invalid rename target`);
    if (refusePinned(ctx, to)) return;
    await withLock(session, 'RNTO', [exclusive(from), exclusive(to)], async () => {
      let moved: StorageStat;
      try {
        moved = await storage.stat(from);
      } catch (err) {
        return session.fail(err, from, 550);
      }
      // Anything but a folder at the target is replaced like a file (ENOENT and the like: nothing is).
      const replaced = from === to ? undefined : await storage.stat(to).catch(() => undefined);
      const refusal = permissions.checkRename({
        from,
        to,
        moved: moved.type === 'dir' ? 'dir' : 'file',
        replaced: replaced && (replaced.type === 'dir' ? 'dir' : 'file'),
        storeMayReplace: ctx.account?.name !== 'anonymous', // as refuseReplace() for STOR
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

/** Refuses (550) renaming a path that is, or holds, a folder with its own permissions, before anything is looked up. */
function refusePinned({ session, permissions }: PathContext, path: string): boolean {
  const refusal = permissions.pinned(path);
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
  login: true,
  arg: 'path',
  perm: 'l',
  async handler(ctx) {
    const { session, path } = ctx;
    const stat = await statPath(ctx);
    if (!stat) return;
    if (stat.type !== 'file') return session.reply(550, `${path}: Not a regular file`);
    // What a resuming client needs: the bytes of a pending (atomic) upload when there is one.
    const pending = await pendingUpload(ctx, path);
    session.reply(213, String((pending ?? stat).size));
  },
};

export const MDTM: CommandSpec = {
  verbs: ['MDTM'],
  help: 'MDTM <path>',
  feat: ['MDTM'],
  login: true,
  arg: 'path',
  perm: 'l',
  async handler(ctx) {
    const stat = await statPath(ctx);
    if (stat) ctx.session.reply(213, formatMlsdTime(stat.mtime));
  },
};

const MFMT_USAGE = 'MFMT needs a time YYYYMMDDHHMMSS and a path';

/** `MFMT YYYYMMDDHHMMSS path`: the time, and where the path starts; undefined when malformed. */
function mfmtArgs(arg: string): { time: Date; path: string } | undefined {
  const space = arg.indexOf(' ');
  const time = space > 0 ? parseMlsdTime(arg.slice(0, space)) : null;
  return time ? { time, path: arg.slice(space + 1) } : undefined;
}

/** MFMT YYYYMMDDHHMMSS path (draft-somers-ftp-mfxx). */
export const MFMT: CommandSpec = {
  verbs: ['MFMT'],
  help: 'MFMT <YYYYMMDDHHMMSS> <path>',
  feat: ['MFMT'],
  login: true,
  arg: 'path',
  pathIn: (arg) => mfmtArgs(arg)?.path ?? { malformed: MFMT_USAGE },
  pathWhere: 'after the time',
  perm: 'T',
  async handler(ctx, arg) {
    const { session, storage, path } = ctx;
    const time = mfmtArgs(arg)?.time;
    if (!time) return session.reply(501, MFMT_USAGE); // pathIn let it through: never
    if (!(await statPath(ctx))) return;
    await withLock(session, 'MFMT', [exclusive(path)], async () => {
      try {
        await storage.setMtime(path, time);
      } catch (err) {
        return session.fail(err, path, 550);
      }
      session.reply(213, `Modify=${formatMlsdTime(time)}; ${path}`);
    });
  },
};

const CHMOD_USAGE = 'SITE CHMOD needs an octal mode up to 777 and a path';

/** `SITE CHMOD mode path` (permission bits only) or `SITE HELP`; the 501 text when it is neither. */
function siteArgs(arg: string): { name: 'HELP' } | { name: 'CHMOD'; mode: number; path: string } | string {
  const [sub = '', ...rest] = arg.split(' ');
  const name = sub.toUpperCase();
  if (name === 'HELP') return { name };
  if (name !== 'CHMOD') return 'Unknown SITE command';
  const modeText = rest[0] ?? '';
  // Permission bits only: setuid, setgid and sticky are refused, not silently dropped (issue 12).
  if (!/^0?[0-7]{1,3}$/.test(modeText) || rest.length < 2) return CHMOD_USAGE;
  return { name, mode: parseInt(modeText, 8), path: rest.slice(1).join(' ') };
}

export const SITE: CommandSpec = {
  verbs: ['SITE'],
  help: 'SITE CHMOD <mode> <path> | SITE HELP',
  login: true,
  arg: 'optional', // SITE alone is 'Unknown SITE command', as any other
  pathIn(arg) {
    const site = siteArgs(arg);
    if (typeof site === 'string') return { malformed: site };
    return site.name === 'CHMOD' ? site.path : null;
  },
  pathWhere: 'SITE CHMOD: after the mode',
  perm: 'M',
  async handler(ctx, arg) {
    const { session, storage, path } = ctx;
    const site = siteArgs(arg);
    if (typeof site === 'string') return session.reply(501, site); // pathIn refused it already
    if (site.name === 'HELP') return session.reply(214, ['The following SITE commands are recognized:', ' CHMOD HELP', 'Help OK']);
    if (path === undefined || !(await statPath({ ...ctx, path }))) return;
    await withLock(session, 'SITE CHMOD', [exclusive(path)], async () => {
      try {
        await storage.chmod(path, site.mode);
      } catch (err) {
        return session.fail(err, path, 550);
      }
      session.reply(200, 'SITE CHMOD command successful');
    });
  },
};
