import type { CommandSpec } from '../command.js';

export const TYPE: CommandSpec = {
  verbs: ['TYPE'],
  help: 'TYPE A | I | L 8',
  login: true,
  arg: 'required',
  missing: 'TYPE needs an argument',
  handler({ session }, arg) {
    const parts = arg.trim().toUpperCase().split(/\s+/);
    const [kind, param] = parts;
    if (parts.length > 2 || kind === undefined || kind === '') return session.reply(501, 'TYPE needs an argument');
    if (kind === 'A' && (param === undefined || param === 'N')) {
      session.setType('A');
      return session.reply(200, 'Switching to ASCII mode');
    }
    if ((kind === 'I' && param === undefined) || (kind === 'L' && param === '8')) {
      session.setType('I');
      return session.reply(200, 'Switching to Binary mode');
    }
    if (['A', 'E', 'I', 'L'].includes(kind)) return session.reply(504, 'TYPE not supported for that parameter');
    session.reply(501, 'Unknown TYPE');
  },
};

export const STRU: CommandSpec = {
  verbs: ['STRU'],
  help: 'STRU F',
  login: true,
  arg: 'required',
  missing: 'Unknown STRU',
  handler({ session }, arg) {
    const stru = arg.trim().toUpperCase();
    if (stru === 'F') return session.reply(200, 'Structure set to F');
    if (stru === 'R' || stru === 'P') return session.reply(504, `STRU ${stru} not supported`);
    session.reply(501, 'Unknown STRU');
  },
};

export const ALLO: CommandSpec = {
  verbs: ['ALLO'],
  help: 'ALLO <bytes>',
  login: true,
  arg: 'none', // nothing to allocate: any argument is fine
  handler({ session }) {
    session.reply(202, 'No storage allocation necessary');
  },
};

export const REST: CommandSpec = {
  verbs: ['REST'],
  help: 'REST <offset>',
  feat: ['REST STREAM'],
  login: true,
  arg: 'required',
  missing: 'REST needs a non-negative integer offset',
  handler({ session }, arg) {
    const text = arg.trim();
    const offset = /^\d{1,16}$/.test(text) ? Number(text) : NaN;
    if (!Number.isSafeInteger(offset)) return session.reply(501, 'REST needs a non-negative integer offset');
    session.setRestart(offset); // replaces a RANG (range.ts)
    session.reply(350, `Restarting at ${offset}. Send STOR or RETR`);
  },
};
