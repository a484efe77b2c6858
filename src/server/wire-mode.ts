import type { WireCoding } from '../data/mode-z.js';
import type { Session } from './session.js';

/**
 * The session's transfer mode (MODE S or MODE Z) and its OPTS MODE Z LEVEL choice. Kept out
 * of Session like OPTS HASH's choice: only MODE, the transfers and the listings ask.
 */
interface WireMode {
  mode: 'S' | 'Z';
  /** OPTS MODE Z LEVEL, already capped at the server's maxLevel; undefined: the server's level. */
  level: number | undefined;
}

const modes = new WeakMap<Session, WireMode>();

function stateOf(session: Session): WireMode {
  let state = modes.get(session);
  if (!state) modes.set(session, (state = { mode: 'S', level: undefined }));
  return state;
}

export function setWireMode(session: Session, mode: 'S' | 'Z'): void {
  stateOf(session).mode = mode;
}

export function setModeZLevel(session: Session, level: number): void {
  stateOf(session).level = level;
}

/** REIN: back to MODE S at the server's level. */
export function resetWireMode(session: Session): void {
  modes.delete(session);
}

/** True while the session is in MODE Z. */
export function inModeZ(session: Session): boolean {
  return modes.get(session)?.mode === 'Z' && session.host.options.modeZ !== undefined;
}

/** How the session's next transfer represents its bytes on the wire (TYPE and MODE). */
export function wireCoding(session: Session, ascii = session.type === 'A'): WireCoding {
  const state = modes.get(session);
  const modeZ = session.host.options.modeZ;
  const deflateLevel = state?.mode === 'Z' && modeZ ? (state.level ?? modeZ.level) : undefined;
  return { ascii, deflateLevel };
}
