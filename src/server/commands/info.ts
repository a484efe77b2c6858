import { MLST_FACTS } from '../../protocol/listing.js';
import type { CommandSpec } from '../command.js';
import type { Session } from '../session.js';

export const SYST: CommandSpec = {
  verbs: ['SYST'],
  help: 'SYST',
  public: true,
  handler(session) {
    session.reply(215, 'UNIX Type: L8');
  },
};

export const NOOP: CommandSpec = {
  verbs: ['NOOP'],
  help: 'NOOP',
  public: true,
  duringTransfer: true,
  handler(session) {
    session.reply(200, 'NOOP ok');
  },
};

/** FEAT's lines come from every command's `feat` metadata (RFC 2389). */
export const FEAT: CommandSpec = {
  verbs: ['FEAT'],
  help: 'FEAT',
  public: true,
  handler(session) {
    session.reply(211, ['Features:', ...featureLines(session).map((l) => ` ${l}`), 'End']);
  },
};

export function featureLines(session: Session): string[] {
  const lines = new Set<string>();
  for (const spec of new Set(session.host.commands.values())) {
    const feat = typeof spec.feat === 'function' ? spec.feat(session) : spec.feat;
    for (const line of feat ?? []) lines.add(line);
  }
  return [...lines].sort();
}

const KNOWN_FACTS: readonly string[] = MLST_FACTS.map((f) => f.toLowerCase());

export const OPTS: CommandSpec = {
  verbs: ['OPTS'],
  help: 'OPTS <command> [options]',
  public: true,
  feat: ['UTF8'],
  handler(session, arg) {
    const space = arg.indexOf(' ');
    const name = (space < 0 ? arg : arg.slice(0, space)).toUpperCase();
    const value = space < 0 ? '' : arg.slice(space + 1).trim();
    if (name === 'UTF8' || name === 'UTF-8') {
      // Paths are always UTF-8 (RFC 2640); ON and OFF are both accepted.
      if (/^(ON|OFF|)$/i.test(value)) return session.reply(200, 'Always in UTF8 mode');
      return session.reply(501, 'OPTS UTF8 takes ON or OFF');
    }
    if (name === 'MLST') {
      const wanted = value.split(';').map((f) => f.trim().toLowerCase()).filter((f) => KNOWN_FACTS.includes(f));
      session.mlstFacts = new Set(wanted);
      const shown = wanted.map((f) => MLST_FACTS.find((name) => name.toLowerCase() === f)!);
      return session.reply(200, `MLST OPTS ${shown.map((f) => `${f};`).join('')}`);
    }
    const spec = session.host.commands.get(name);
    if (spec?.opts) return spec.opts(session, value); // OPTS HASH lives with HASH
    session.reply(501, 'Option not understood');
  },
};

export const HELP: CommandSpec = {
  verbs: ['HELP'],
  help: 'HELP [command]',
  public: true,
  handler(session, arg) {
    const commands = session.host.commands;
    if (arg.trim() !== '') {
      const spec = commands.get(arg.trim().toUpperCase());
      if (!spec) return session.reply(502, 'Unknown command');
      return session.reply(214, `Syntax: ${spec.help}`);
    }
    const verbs = [...commands.keys()].sort();
    const rows: string[] = [];
    for (let i = 0; i < verbs.length; i += 8) rows.push(' ' + verbs.slice(i, i + 8).map((v) => v.padEnd(5)).join(' ').trimEnd());
    session.reply(214, ['The following commands are recognized:', ...rows, 'Help OK']);
  },
};
