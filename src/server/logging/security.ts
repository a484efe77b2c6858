import type { SecurityInfo } from '../events.js';
import type { Session } from '../session.js';
import { printable } from './text.js';

/** Emits a `security` event for `session` (the audit log writes it at warn). */
export function emitSecurity(session: Session, kind: SecurityInfo['kind'], detail: string): void {
  session.host.emit('security', {
    sessionId: session.id,
    remoteAddress: session.remoteAddress,
    username: session.loggedIn ? session.username : undefined,
    kind,
    detail: printable(detail),
    secure: session.secure,
  });
}

/**
 * Whether a path argument tries to climb out of the root with `..` (a traversal attempt; the
 * path is clamped at the root, see resolveVirtualPath). `CWD ..` or `CDUP` at the root is what
 * GUI clients do, so one `..` too many that names nothing after it is not counted; two too
 * many, or one followed by a name (`../etc/passwd`), are. Backslashes count as separators, as
 * in resolveVirtualPath.
 */
export function climbsAboveRoot(cwd: string, arg: string): boolean {
  if (!arg.includes('..')) return false;
  const text = arg.replace(/\\/g, '/');
  let depth = text.startsWith('/') ? 0 : cwd.split('/').filter((s) => s !== '' && s !== '.').length;
  let above = 0;
  for (const segment of text.split('/')) {
    if (segment === '' || segment === '.') continue;
    if (segment === '..') {
      if (depth > 0) depth--;
      else if (++above >= 2) return true;
    } else {
      if (above > 0) return true;
      depth++;
    }
  }
  return false;
}
