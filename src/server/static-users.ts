import { createHash, timingSafeEqual } from 'node:crypto';
import type { Authenticate, AuthGrant } from './options.js';

export interface StaticUser {
  username: string;
  password: string;
}

const digest = (s: string): Buffer => createHash('sha256').update(s, 'utf8').digest();

/**
 * An authenticate hook for a fixed list of users sharing one grant (ftp-serve's --user).
 * Passwords are compared as SHA-256 digests with timingSafeEqual, and an unknown user costs the
 * same comparison, so timing tells nothing about which names exist.
 */
export function createStaticAuthenticator(users: readonly StaticUser[], grant: AuthGrant): Authenticate {
  const table = new Map(users.map((u) => [u.username, digest(u.password)]));
  const dummy = digest('\0no such user');
  return ({ username, password }) => {
    const expected = table.get(username);
    const ok = timingSafeEqual(expected ?? dummy, digest(password));
    return ok && expected !== undefined ? grant : false;
  };
}
