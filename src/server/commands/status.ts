import type { CommandSpec } from '../command.js';
import { statListing } from './listing.js';
import { transferProgress } from '../logging/text.js';
import { inModeZ } from '../wire-mode.js';

/** STAT: server status; during a transfer, its progress; with a path, a listing on the control connection (listing.ts). */
export const STAT: CommandSpec = {
  verbs: ['STAT'],
  help: 'STAT [path]',
  duringTransfer: true,
  async handler(session, arg) {
    const transfer = session.transfer;
    if (transfer) {
      const progress = transferProgress(transfer.bytes(), transfer.total, Date.now() - transfer.startedAt);
      return session.reply(213, `Status: ${transfer.command} ${transfer.path}, ${progress}`);
    }
    if (arg === '') {
      return session.reply(211, [
        'ftpkit FTP server status:',
        `     Connected to ${session.remoteAddress}`,
        `     Logged in as ${session.username ?? '(nobody)'}`,
        `     TYPE: ${session.type === 'A' ? 'ASCII' : 'BINARY'}, STRUcture: File, MODE: ${inModeZ(session) ? 'Deflate' : 'Stream'}`,
        `     ${session.data.prepared ? 'Data connection prepared' : 'No data connection'}`,
        'End of status',
      ]);
    }
    await statListing(session, arg);
  },
};
