import { isIPv4 } from 'node:net';
import { decodeHostPort, formatEpsvText, formatPasvText, parseEprtArg } from '../../protocol/index.js';
import type { CommandSpec } from '../command.js';
import type { Session } from '../session.js';
import { emitSecurity } from '../logging/security.js';

/** The address PASV advertises: the configured one (NAT), else the address the client reached. */
function advertisedAddress(session: Session): string {
  const option = session.host.options.pasvAddress;
  if (typeof option === 'function') return option(session.remoteAddress);
  return option ?? session.localAddress;
}

async function openPassive(session: Session): Promise<number | undefined> {
  try {
    return await session.data.listenPassive();
  } catch (err) {
    session.log.warn({ err }, 'passive listen failed');
    session.reply(425, 'No passive port available');
    return undefined;
  }
}

export const PASV: CommandSpec = {
  verbs: ['PASV'],
  help: 'PASV',
  feat: ['PASV'],
  async handler(session) {
    if (session.epsvAll) return session.reply(503, 'Only EPSV is allowed after EPSV ALL');
    if (session.isIpv6) return session.reply(522, 'PASV works only over IPv4; use EPSV');
    let host: string;
    try {
      host = advertisedAddress(session);
    } catch (err) {
      session.log.error({ err }, 'pasvAddress failed');
      return session.reply(425, 'Cannot determine the passive address');
    }
    if (!isIPv4(host)) return session.reply(425, 'Passive address is not IPv4; use EPSV');
    const port = await openPassive(session);
    if (port !== undefined) session.reply(227, formatPasvText(host, port));
  },
};

export const EPSV: CommandSpec = {
  verbs: ['EPSV'],
  help: 'EPSV [1 | 2 | ALL]',
  feat: ['EPSV'],
  async handler(session, arg) {
    const param = arg.trim().toUpperCase();
    if (param === 'ALL') {
      session.epsvAll = true;
      return session.reply(200, 'EPSV ALL ok');
    }
    const family = session.isIpv6 ? '2' : '1';
    if (param !== '' && param !== family) {
      if (param === '1' || param === '2') return session.reply(522, `Network protocol not supported, use (${family})`);
      return session.reply(501, 'EPSV takes 1, 2 or ALL');
    }
    const port = await openPassive(session);
    if (port !== undefined) session.reply(229, formatEpsvText(port));
  },
};

/** RFC 2577: data connections go only to the control peer, and never to a privileged port. */
function checkActiveTarget(session: Session, host: string, port: number): boolean {
  if (host !== session.remoteAddress) {
    emitSecurity(session, 'port-refused', `${host} port ${port}: not the client's address`); // the audit log records it
    session.reply(500, 'Illegal PORT command: address differs from the control connection');
    return false;
  }
  if (port < 1024) {
    emitSecurity(session, 'port-refused', `${host} port ${port}: privileged port`);
    session.reply(500, 'Illegal PORT command: privileged port refused');
    return false;
  }
  return true;
}

export const PORT: CommandSpec = {
  verbs: ['PORT'],
  help: 'PORT h1,h2,h3,h4,p1,p2',
  handler(session, arg) {
    if (session.epsvAll) return session.reply(503, 'Only EPSV is allowed after EPSV ALL');
    if (session.isIpv6) return session.reply(522, 'PORT works only over IPv4; use EPRT');
    const target = decodeHostPort(arg);
    if (!target) return session.reply(501, 'Invalid PORT argument');
    if (!checkActiveTarget(session, target.host, target.port)) return;
    session.data.setActive(target.host, target.port);
    session.reply(200, 'PORT command successful');
  },
};

export const EPRT: CommandSpec = {
  verbs: ['EPRT'],
  help: 'EPRT |proto|address|port|',
  feat: ['EPRT'],
  handler(session, arg) {
    if (session.epsvAll) return session.reply(503, 'Only EPSV is allowed after EPSV ALL');
    const target = parseEprtArg(arg);
    if (!target) {
      const proto = arg.length > 1 ? arg.split(arg[0]!)[1] : undefined;
      if (proto !== undefined && /^\d+$/.test(proto) && proto !== '1' && proto !== '2') {
        return session.reply(522, 'Network protocol not supported, use (1,2)');
      }
      return session.reply(501, 'Invalid EPRT argument');
    }
    if ((target.family === 6) !== session.isIpv6) {
      return session.reply(522, `Network protocol not supported, use (${session.isIpv6 ? 2 : 1})`);
    }
    if (!checkActiveTarget(session, target.host, target.port)) return;
    session.data.setActive(target.host, target.port);
    session.reply(200, 'EPRT command successful');
  },
};
