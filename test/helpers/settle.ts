// After-test checks for the locking and upload suites: no lock held, no descriptor leaked.
import { expect } from 'vitest';
import type { FileServer } from '../../src/index.js';
import { readdirSync, readlinkSync } from 'node:fs';
import { countFds } from './tmp.js';

function describeFds(): string[] {
  return readdirSync('/proc/self/fd').map((f) => {
    try {
      return `${f} -> ${readlinkSync(`/proc/self/fd/${f}`)}`;
    } catch {
      return f;
    }
  });
}

/** Waits (up to 3 s) for every lock to be released and the fd count to fall back to `fds`. */
export async function expectSettled(server: FileServer, fds: number): Promise<void> {
  for (let i = 0; i < 150; i++) {
    if ((await server.locks.held()).length === 0 && countFds() <= fds) return;
    await new Promise((r) => setTimeout(r, 20));
  }
  expect(await server.locks.held()).toEqual([]);
  if (countFds() > fds) console.log(describeFds());
  expect(countFds()).toBeLessThanOrEqual(fds);
}

export const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));
