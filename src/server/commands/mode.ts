import type { CommandSpec } from '../command.js';
import type { Session } from '../session.js';
import { setModeZLevel, setWireMode } from '../wire-mode.js';

/**
 * MODE S (stream, RFC 959) and MODE Z (each transfer one zlib stream, draft-preston-ftpext-
 * deflate; the transform itself is data/mode-z.ts). MODE Z is offered unless the server's
 * `modeZ` option is false; `OPTS MODE Z LEVEL n` picks the compression level, capped at the
 * server's `modeZ.maxLevel`.
 */
export const MODE: CommandSpec = {
  verbs: ['MODE'],
  help: 'MODE S | Z',
  feat: (session) => (session.host.options.modeZ ? ['MODE Z'] : []),
  login: true,
  arg: 'required',
  missing: 'Unknown MODE',
  handler({ session }, arg) {
    const mode = arg.trim().toUpperCase();
    if (mode === 'S') {
      setWireMode(session, 'S');
      return session.reply(200, 'Mode set to S');
    }
    if (mode === 'Z' && session.host.options.modeZ) {
      setWireMode(session, 'Z');
      return session.reply(200, 'Mode set to Z');
    }
    if (mode === 'B' || mode === 'C' || mode === 'Z') return session.reply(504, `MODE ${mode} not supported`);
    session.reply(501, 'Unknown MODE');
  },
  opts: modeOptions,
};

/** OPTS MODE Z LEVEL n (0-9): the level of this session's MODE Z transfers. */
function modeOptions(session: Session, value: string): void {
  const limits = session.host.options.modeZ;
  if (!limits) return session.reply(501, 'MODE Z not supported');
  const m = /^Z\s+LEVEL\s+(\S+)$/i.exec(value.trim());
  if (!m) return session.reply(501, 'OPTS MODE takes Z LEVEL <0-9>');
  if (!/^\d$/.test(m[1]!)) return session.reply(501, 'MODE Z LEVEL must be a number from 0 to 9');
  const level = Math.min(Number(m[1]), limits.maxLevel);
  setModeZLevel(session, level);
  const capped = level < Number(m[1]) ? ` (the server's maximum)` : '';
  session.reply(200, `MODE Z LEVEL set to ${level}${capped}`);
}
