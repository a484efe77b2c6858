import { performance } from 'node:perf_hooks';
import type { FtpCommand } from '../../protocol/index.js';
import { resolveVirtualPath } from '../../storage/path.js';
import type { Session } from '../session.js';
import { climbsAboveRoot, emitSecurity } from './security.js';
import { maskArgument } from './text.js';

/** Verbs whose whole argument is a path (optional for the listings). */
const PATH_VERBS = new Set([
  'RETR', 'STOR', 'APPE', 'STOU', 'DELE', 'RNFR', 'RNTO', 'MKD', 'XMKD', 'RMD', 'XRMD', 'CWD', 'XCWD',
  'SIZE', 'MDTM', 'MLST', 'MLSD', 'LIST', 'NLST', 'STAT', 'HASH', 'XCRC', 'XMD5', 'XSHA1', 'XSHA256', 'XSHA512',
]);

/** The path part of a command's argument, or undefined when it names none. */
function pathArgument(verb: string, arg: string): string | undefined {
  if (PATH_VERBS.has(verb)) return arg === '' || (verb === 'LIST' || verb === 'NLST') && arg.startsWith('-') ? undefined : arg;
  if (verb === 'MFMT') return arg.slice(arg.indexOf(' ') + 1) || undefined; // MFMT time path
  if (verb === 'SITE' && /^CHMOD\s/i.test(arg)) return arg.split(' ').slice(2).join(' ') || undefined; // SITE CHMOD mode path
  return undefined;
}

/** One command being run: when it started, where the session stood, the last reply it wrote. */
export class CommandProbe {
  readonly verb: string;
  readonly arg: string;
  readonly urgent: boolean;
  readonly #started = performance.now();
  readonly #paths: string[] = [];
  code = 0;
  reply = '';

  constructor(session: Session, command: FtpCommand, urgent: boolean) {
    this.verb = command.verb;
    this.arg = maskArgument(command.verb, command.arg);
    this.urgent = urgent;
    const target = pathArgument(this.verb, command.arg);
    if (target === undefined) return;
    try {
      // RNTO acted on RNFR's path too (#execute clears renameFrom for any other verb).
      if (this.verb === 'RNTO' && session.renameFrom !== undefined) this.#paths.push(session.renameFrom);
      this.#paths.push(resolveVirtualPath(session.cwd, target));
    } catch {
      return; // NUL, CR or LF: the command answers 501
    }
    if (climbsAboveRoot(session.cwd, target)) emitSecurity(session, 'traversal', `${this.verb} ${target}`);
  }

  /** Emits `command-end` with the last reply written for this command. */
  end(session: Session): void {
    session.host.emit('command-end', {
      sessionId: session.id,
      remoteAddress: session.remoteAddress,
      username: session.loggedIn ? session.username : undefined,
      verb: this.verb,
      arg: this.arg,
      paths: this.#paths,
      code: this.code,
      reply: this.reply,
      durationMs: Math.round(performance.now() - this.#started),
      secure: session.secure,
    });
  }
}

/**
 * Which running command a reply belongs to. Commands run one at a time, except ABOR, STAT,
 * NOOP and QUIT heard during a transfer (urgent): then two run at once, and the transfer's
 * final reply (the queued command's) may be written while the urgent one runs:
 *
 *   RETR f  -> 150 ................ 426 (the transfer's: RETR's)
 *   ABOR    ->     (waits for it)       226 (ABOR's, once the transfer is over)
 *   STAT    ->     213 (STAT's, written at once; a final transfer reply after it is RETR's)
 *
 * So while a transfer runs, a reply is the urgent command's only if it is its first and it is
 * not ABOR (which writes nothing until the transfer is over).
 */
export class CommandProbes {
  #queued: CommandProbe | undefined;
  #urgent: CommandProbe | undefined;

  begin(session: Session, command: FtpCommand, urgent: boolean): CommandProbe {
    const probe = new CommandProbe(session, command, urgent);
    if (urgent) this.#urgent = probe;
    else this.#queued = probe;
    return probe;
  }

  end(session: Session, probe: CommandProbe): void {
    if (this.#urgent === probe) this.#urgent = undefined;
    if (this.#queued === probe) this.#queued = undefined;
    probe.end(session);
  }

  note(code: number, text: string, transferRunning: boolean): void {
    const urgent = this.#urgent;
    const owner = urgent && (!transferRunning || (urgent.code === 0 && urgent.verb !== 'ABOR')) ? urgent : this.#queued;
    if (!owner) return;
    owner.code = code;
    const nl = text.indexOf('\n');
    owner.reply = nl < 0 ? text : text.slice(0, nl);
  }
}
