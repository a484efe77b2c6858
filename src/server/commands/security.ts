import type { CommandSpec } from '../command.js';
import type { Session } from '../session.js';

// FTP over TLS, RFC 4217: AUTH upgrades the control connection, PBSZ 0 then PROT P protects data.

const tlsFeatures = (session: Session): string[] => (session.host.tls ? ['AUTH TLS', 'PBSZ', 'PROT'] : []);

export const AUTH: CommandSpec = {
  verbs: ['AUTH'],
  help: 'AUTH TLS',
  login: false,
  arg: 'optional', // checked after whether TLS is on at all
  feat: tlsFeatures,
  handler(session, arg) {
    const bindings = session.host.tls;
    if (!bindings) return session.reply(502, 'TLS is not configured on this server');
    if (session.secure) return session.reply(503, 'Already using TLS');
    const mechanism = arg.trim().toUpperCase();
    if (!['TLS', 'TLS-C', 'SSL', 'TLS-P'].includes(mechanism)) return session.reply(504, `AUTH ${mechanism} not supported`);
    session.reply(234, `AUTH ${mechanism} successful`);
    session.startTls(bindings.acquire());
    // AUTH SSL and TLS-P historically imply protected data (what such clients expect).
    if (mechanism === 'SSL' || mechanism === 'TLS-P') session.setProtection('P');
  },
};

export const PBSZ: CommandSpec = {
  verbs: ['PBSZ'],
  help: 'PBSZ 0',
  login: false,
  arg: 'optional', // checked after AUTH
  handler(session, arg) {
    if (!session.secure) return session.reply(503, 'PBSZ requires AUTH first');
    if (!/^\d{1,10}$/.test(arg.trim())) return session.reply(501, 'PBSZ needs a number');
    session.setPbsz();
    session.reply(200, 'PBSZ=0');
  },
};

export const PROT: CommandSpec = {
  verbs: ['PROT'],
  help: 'PROT C | P',
  login: false,
  arg: 'optional', // checked after AUTH and PBSZ
  handler(session, arg) {
    if (!session.secure) return session.reply(503, 'PROT requires AUTH first');
    if (!session.pbsz) return session.reply(503, 'PROT requires PBSZ first');
    const level = arg.trim().toUpperCase();
    if (level === 'P') {
      session.setProtection('P');
      return session.reply(200, 'Protection level set to P');
    }
    if (level === 'C') {
      if (session.tlsRequired) return session.reply(534, 'Clear data connections are refused by policy');
      session.setProtection('C');
      return session.reply(200, 'Protection level set to C');
    }
    if (level === 'S' || level === 'E') return session.reply(536, `PROT ${level} not supported`);
    session.reply(504, 'PROT takes C or P');
  },
};
