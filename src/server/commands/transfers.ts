import { randomBytes } from 'node:crypto';
import { joinVirtual, virtualBasename, virtualDirname } from '../../storage/path.js';
import type { CommandSpec, LoggedInContext } from '../command.js';
import { lockFor, releaseQuietly, shared } from '../locks/index.js';
import type { Session } from '../session.js';
import { refuseReplace } from '../permissions.js';
import { openUpload } from '../upload.js';
import { mediaTypeOf } from '../../protocol/media-types.js';
import { wireCoding } from '../wire-mode.js';
import { openDownload, type Download } from '../../data/download.js';

function modeName(session: Session): string {
  return session.type === 'A' ? 'ASCII' : 'BINARY';
}

export const RETR: CommandSpec = {
  verbs: ['RETR'],
  help: 'RETR <path>',
  login: true,
  arg: 'path',
  missing: 'RETR needs a path',
  perm: 'r',
  restart: true, // REST's offset, or RANG's range (range.ts)
  async handler(ctx) {
    const { session, storage, path, restart: offset, rangeEnd } = ctx;
    if (rangeEnd !== undefined && session.type !== 'I') return session.reply(551, 'RANG needs TYPE I');
    // Readers share the file; in direct upload mode they keep writers out (and wait for them).
    const lock = await lockFor(session, 'RETR', [shared(path)]);
    if (!lock) return;
    const refuse = async (code: number, text: string): Promise<void> => {
      await releaseQuietly(session, lock);
      session.reply(code, text);
    };
    let download: Download;
    let size: number;
    let length: number;
    try {
      const stat = await storage.stat(path);
      if (stat.type !== 'file') return await refuse(550, `${path}: Not a regular file`);
      size = stat.size;
      if (offset > size) return await refuse(554, `Restart offset ${offset} is beyond the end of the file (${size} bytes)`);
      if (rangeEnd !== undefined && offset >= size) return await refuse(554, `Range start ${offset} is beyond the end of the file (${size} bytes)`);
      // A range ending past the file is cut at its last byte (draft-bryan-ftp-range 4.3).
      const last = rangeEnd === undefined ? undefined : Math.min(rangeEnd, size - 1);
      const read = { start: offset, ...(last === undefined ? {} : { end: last }) };
      length = (last === undefined ? size : last + 1) - offset;
      download = await openDownload(storage, path, read, length, {
        coding: wireCoding(session),
        paced: Boolean(ctx.account?.download),
        pace: (r, signal) => session.throttle(r, 'down', signal), // the user's downloadRate
        exact: last !== undefined, // a range must arrive whole: a file shrinking meanwhile answers 451
        zeroCopy: session.host.options.zeroCopy,
      });
    } catch (err) {
      await releaseQuietly(session, lock);
      return session.fail(err, path, 550);
    }
    await session.runTransfer({
      command: 'RETR',
      path,
      opening: `Opening ${modeName(session)} mode data connection for ${virtualBasename(path)} (${length} bytes)`,
      direction: 'out',
      size: size - offset,
      mediaType: mediaTypeOf(path),
      pump: (socket, signal) => download.send(socket, signal),
      dispose: async () => {
        // The lock first: the reply is already out and no byte read from now on is sent.
        await releaseQuietly(session, lock);
        await download.close();
      },
    });
  },
};

/** STOR, APPE and STOU share this: open the target first, so errors come before any 150. */
async function store(ctx: LoggedInContext, path: string, mode: 'STOR' | 'APPE' | 'STOU'): Promise<void> {
  const { session } = ctx;
  // RANG + STOR would rewrite bytes inside a file (draft 4.3); not offered, so refused like ProFTPD.
  if (ctx.rangeEnd !== undefined) return session.reply(554, `RANG applies to RETR only; ${mode} not started`);
  if (mode !== 'STOU' && (await refuseReplace(ctx, path))) return;
  // Locks, the atomic temporary and resume live in upload.ts.
  const upload = await openUpload(ctx, path, mode, ctx.restart, wireCoding(session));
  if (!upload) return;
  const name = virtualBasename(path);
  await session.runTransfer({
    command: mode,
    path,
    opening: mode === 'STOU' ? `FILE: ${name}` : `Opening ${modeName(session)} mode data connection for ${name}`,
    direction: 'in',
    // STOU's name is the suggested one plus random hex: its type is the suggested name's.
    mediaType: mediaTypeOf(mode === 'STOU' ? path.replace(/\.[0-9a-f]{16}$/, '') : path),
    adopt: (socket, plain) => upload.adopt(socket, plain),
    pump: (socket, signal) => upload.run(socket, signal),
    dispose: () => upload.dispose(),
    ...(mode === 'STOU' ? { success: `Transfer complete (unique file name: ${name})` } : {}),
  });
}

/** STOR and APPE differ only in how the target is opened. */
function storeCommand(mode: 'STOR' | 'APPE'): CommandSpec {
  return {
    verbs: [mode],
    help: `${mode} <path>`,
    login: true,
    arg: 'path',
    missing: `${mode} needs a path`,
    perm: mode === 'APPE' ? 'a' : 'w',
    restart: true,
    handler: (ctx) => store(ctx, ctx.path, mode),
  };
}

export const STOR = storeCommand('STOR');
export const APPE = storeCommand('APPE');

/**
 * STOU: store under a name the server picks, in the cwd or next to the suggested name. The name
 * is always the stem plus 64 random bits, whether or not the suggested name exists: a reply that
 * kept a free name as it is would tell a client that may store but not list (an anonymous
 * "incoming" folder) which names exist.
 */
export const STOU: CommandSpec = {
  verbs: ['STOU'],
  help: 'STOU [suggested-name]',
  login: true,
  arg: 'optional',
  pathIn: (arg) => (arg === '' ? null : arg), // no name: ftpkit.<random> in the cwd
  pathWhere: 'the suggested name, when given',
  perm: 'w',
  permOn: 'folder', // the name is picked below; its folder's letters are its letters
  restart: true,
  async handler(ctx) {
    const { session, storage, path: base } = ctx;
    const dir = base ? virtualDirname(base) : session.cwd;
    const stem = base ? virtualBasename(base) : 'ftpkit';
    for (let i = 0; i < 16; i++) {
      const candidate = joinVirtual(dir, `${stem}.${randomBytes(8).toString('hex')}`);
      try {
        await storage.stat(candidate);
      } catch (err) {
        if ((err as NodeJS.ErrnoException).code === 'ENOENT') {
          ctx.actOn(candidate);
          return store(ctx, candidate, 'STOU');
        }
        return session.fail(err, candidate, 550);
      }
    }
    session.reply(452, 'Could not find a unique file name');
  },
};

export const ABOR: CommandSpec = {
  verbs: ['ABOR'],
  help: 'ABOR',
  login: true,
  arg: 'none',
  duringTransfer: true,
  async handler({ session }) {
    const transfer = session.transfer;
    if (!transfer) {
      session.data.close();
      return session.reply(225, 'No transfer to abort');
    }
    transfer.abort();
    await transfer.done; // the transfer answers 426 first (RFC 959 section 4.1.3)
    session.reply(226, 'ABOR successful');
  },
};
