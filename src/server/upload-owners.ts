import { LocalStorage } from '../storage/local-storage.js';
import type { Storage } from '../storage/types.js';
import type { Session } from './session.js';

/**
 * Who made each partial upload, so that only they continue it: per storage root (or Storage
 * object), temporary path -> user name. Without this, a user allowed only to append ('a') could
 * APPE onto another user's pending upload and have it replace the file. Anonymous sessions
 * cannot be told apart, so their interrupted uploads are not kept at all (upload.ts).
 * A partial with no entry (a Storage made anew per login) stays open to every named user.
 */
const ownersByRoot = new Map<string, Map<string, string>>();
const ownersByStorage = new WeakMap<Storage, Map<string, string>>();

export function partialOwners(storage: Storage): Map<string, string> {
  const key = storage instanceof LocalStorage ? storage.root : undefined;
  let owners = key === undefined ? ownersByStorage.get(storage) : ownersByRoot.get(key);
  if (!owners) {
    owners = new Map();
    if (key === undefined) ownersByStorage.set(storage, owners);
    else ownersByRoot.set(key, owners);
  }
  return owners;
}

/** Anonymous sessions (USER anonymous/ftp with the server's anonymous grant). */
export function isAnonymous(session: Session): boolean {
  const anonymous = session.host.options.anonymous;
  return anonymous !== false && session.grant === anonymous;
}
