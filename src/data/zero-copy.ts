import { existsSync } from 'node:fs';
import { createRequire } from 'node:module';
import type { Socket } from 'node:net';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { FtpError } from '../errors.js';

/**
 * Zero-copy sends (sendfile(2)) through the optional native addon in native/sendfile.cc.
 * Loaded once, lazily; when it is missing (no compiler at install, another OS, a failed
 * load) or FTPKIT_ZERO_COPY=0, `zeroCopy()` returns undefined and callers use the JS path.
 */
export interface ZeroCopy {
  /** Sends `length` bytes of the open file `fd` from `start` to `socket`. */
  send(socket: Socket, fd: number, start: number, length: number): ZeroCopySend;
  /** Sends still running (tests check it returns to zero). */
  active(): number;
  /** Sends started since the process began (tests check which path a transfer took). */
  started(): number;
  /** Returns freed heap pages to the system (glibc malloc_trim); false when nothing went back or unsupported. */
  trim(): boolean;
  /**
   * The kernel's view of a socket's peer: 'open', 'closed' (FIN or reset, nothing unread), or
   * 'closed-after-data' (it sent bytes we have not read, then closed). Sees a close that Node's
   * loop has not delivered yet.
   */
  peerState(socket: Socket): 'open' | 'closed' | 'closed-after-data' | undefined;
}

export interface ZeroCopySend {
  /** Resolves with the byte count when all was sent; rejects when the file ended early, the peer went away, or on cancel(). */
  readonly done: Promise<number>;
  /** Bytes handed to the socket so far. */
  progress(): number;
  /** Stops at once; when it returns no byte more is written. `done` rejects with an AbortError. */
  cancel(): void;
}

interface Addon {
  init(onComplete: (id: number, status: number, sent: number, errno: number) => void): void;
  start(socketFd: number, fileFd: number, offset: number, length: number): number;
  progress(id: number): number;
  cancel(id: number): number;
  active(): number;
  /** Older builds of the addon lack it. */
  trim?(): boolean;
  peerClosed?(fd: number): number;
}

const STATUS_DONE = 1;
const STATUS_EOF = 2;

let loaded: ZeroCopy | null | undefined;
let loadError: string | undefined;

/** The zero-copy sender, or undefined where it cannot run. */
export function zeroCopy(): ZeroCopy | undefined {
  if (loaded === undefined) loaded = load();
  return loaded ?? undefined;
}

/** Why zeroCopy() is undefined (for one debug line), if it is. */
export function zeroCopyUnavailableReason(): string | undefined {
  zeroCopy();
  return loadError;
}

/** The descriptor of a plain TCP socket Node owns, when it has one. */
export function socketFd(socket: Socket): number | undefined {
  const fd = (socket as unknown as { _handle?: { fd?: unknown } })._handle?.fd;
  return typeof fd === 'number' && fd >= 0 ? fd : undefined;
}

/** The TCP descriptor under a socket, also under a TLSSocket wrapping one (its `_parent`). */
function rawSocketFd(socket: Socket): number | undefined {
  const own = socketFd(socket);
  if (own !== undefined) return own;
  const parent = (socket as unknown as { _parent?: Socket | null })._parent;
  return parent ? socketFd(parent) : undefined;
}

function packageRoot(): string | undefined {
  let here: string;
  try {
    here = typeof __dirname === 'string' ? __dirname : dirname(fileURLToPath(import.meta.url));
  } catch {
    return undefined;
  }
  for (let i = 0; i < 6; i++) {
    if (existsSync(join(here, 'package.json'))) return here;
    const up = dirname(here);
    if (up === here) break;
    here = up;
  }
  return undefined;
}

function load(): ZeroCopy | null {
  if (process.env.FTPKIT_ZERO_COPY === '0') {
    loadError = 'turned off by FTPKIT_ZERO_COPY=0';
    return null;
  }
  if (process.platform !== 'linux') {
    loadError = `not available on ${process.platform}`;
    return null;
  }
  const root = packageRoot();
  const file = root && join(root, 'build', 'Release', 'ftpkit_sendfile.node');
  if (!file || !existsSync(file)) {
    loadError = 'addon not built';
    return null;
  }
  let addon: Addon;
  try {
    addon = createRequire(file)(file) as Addon;
  } catch (err) {
    loadError = `addon failed to load: ${(err as Error).message}`;
    return null;
  }
  const waiting = new Map<number, { resolve: (n: number) => void; reject: (e: Error) => void }>();
  addon.init((id, status, sent, errno) => {
    const w = waiting.get(id);
    if (!w) return;
    waiting.delete(id);
    if (status === STATUS_DONE) w.resolve(sent);
    else if (status === STATUS_EOF) w.reject(Object.assign(new Error(`file ended after ${sent} bytes (truncated during the transfer)`), { code: 'ERR_FILE_TRUNCATED' }));
    else w.reject(errnoError(errno, sent));
  });
  let started = 0;
  return {
    active: () => addon.active(),
    trim: () => addon.trim?.() ?? false,
    peerState(socket) {
      const fd = rawSocketFd(socket);
      if (fd === undefined || !addon.peerClosed) return undefined;
      const state = addon.peerClosed(fd);
      return state === 0 ? 'open' : state === 1 ? 'closed' : 'closed-after-data';
    },
    started: () => started,
    send(socket, fd, start, length) {
      const sockFd = socketFd(socket);
      if (sockFd === undefined) throw new FtpError('FTPKIT_ERR_INVALID_ARGUMENT', 'zero-copy needs a plain TCP socket');
      let settle!: { resolve: (n: number) => void; reject: (e: Error) => void };
      const done = new Promise<number>((resolve, reject) => (settle = { resolve, reject }));
      if (length === 0) {
        settle.resolve(0);
        return { done, progress: () => 0, cancel: () => {} };
      }
      const id = addon.start(sockFd, fd, start, length);
      started++;
      let last = 0;
      waiting.set(id, {
        resolve: (n) => settle.resolve((last = n)),
        reject: (e) => settle.reject(e),
      });
      return {
        done,
        progress() {
          const n = addon.progress(id);
          if (n >= 0) last = n;
          return last;
        },
        cancel() {
          const n = addon.cancel(id);
          if (n < 0) return; // already finished: its completion is on its way
          last = n;
          waiting.delete(id);
          settle.reject(Object.assign(new Error('zero-copy send cancelled'), { name: 'AbortError', code: 'ABORT_ERR' }));
        },
      };
    },
  };
}

const ERRNO_CODES: Record<number, string> = { 32: 'EPIPE', 104: 'ECONNRESET', 103: 'ECONNABORTED', 9: 'EBADF', 5: 'EIO', 110: 'ETIMEDOUT' };

function errnoError(errno: number, sent: number): Error {
  const code = ERRNO_CODES[errno] ?? `ERRNO_${errno}`;
  return Object.assign(new Error(`sendfile failed after ${sent} bytes: ${code}`), { code, errno: -errno });
}
