import type { CommandSpec } from '../command.js';
import { statListing } from './listing.js';
import { transferProgress } from '../logging/text.js';
import { inModeZ } from '../wire-mode.js';

/** STAT: server status; during a transfer, its progress; with a path, a listing on the control connection (listing.ts). */
export const STAT: CommandSpec = {
  verbs: ['STAT'],
  help: 'STAT [path]',
  login: true,
  arg: 'optional',
  pathIn: (arg) => (arg === '' ? null : arg), // STAT alone: the status, no path
  pathWhere: 'the argument, when given',
  perm: 'l',
  duringTransfer: true,
  async handler(ctx, arg) {
    const { session } = ctx;
    const transfer = session.transfer;
    if (transfer) {
      const progress = transferProgress(transfer.bytes(), transfer.total, Date.now() - transfer.startedAt);
      return session.reply(213, `Status: ${transfer.command} ${transfer.path}, ${progress}`);
    }
    if (ctx.path === undefined) {
      return session.reply(211, [
        'ftpkit FTP server status:',
        `     Connected to ${session.remoteAddress}`,
        `     Logged in as ${session.username ?? '(nobody)'}`,
        `     TYPE: ${session.type === 'A' ? 'ASCII' : 'BINARY'}, STRUcture: File, MODE: ${inModeZ(session) ? 'Deflate' : 'Stream'}`,
        `     ${session.data.prepared ? 'Data connection prepared' : 'No data connection'}`,
        'End of status',
      ]);
    }
    await statListing(ctx, arg);
  },
};
