import { existsSync } from 'node:fs';
import { createRequire } from 'node:module';
import { constants } from 'node:os';
import type { Socket } from 'node:net';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { FtpError } from '../errors.js';

/**
 * Zero-copy sends (sendfile(2)) and one-thread receives through the optional native addon in
 * native/zero-copy.cc. Loaded once, lazily; when it is missing (no compiler at install, another
 * OS, a failed load) or FTPKIT_ZERO_COPY=0, `zeroCopy()` returns undefined and callers use the
 * JS path.
 */
export interface ZeroCopy {
  /**
   * Sends `length` bytes of the open file `fd` from `start` to `socket`. `way` (tests): 'auto'
   * tries sendfile and a copy by turns on a long send and keeps the faster (the default);
   * 'sendfile' and 'copy' use only that one.
   */
  send(socket: Socket, fd: number, start: number, length: number, way?: SendWay): ZeroCopySend;
  /**
   * Writes what `socket` brings into the open file `fd`, from `position` on (null: at the
   * descriptor's own position), until the peer's FIN (a reset after it fails the job) or
   * `limit` bytes. `done` resolves with the bytes written; progress() counts them. The socket
   * must not be read by Node meanwhile. A failed write rejects with the file's errno code.
   */
  receive(socket: Socket, fd: number, position: number | null, limit?: number): ZeroCopySend;
  /** Sends still running (tests check it returns to zero). */
  active(): number;
  /** Sends started since the process began (tests check which path a transfer took). */
  started(): number;
  /** Receives started since the process began. */
  receivesStarted(): number;
  /** Bytes that sends moved by copy rather than sendfile since the process began (tests check a trial ran). */
  copied(): number;
  /** The addon can receive (an older build cannot). */
  readonly canReceive: boolean;
  /** Returns freed heap pages to the system (glibc malloc_trim); false when nothing went back or unsupported. */
  trim(): boolean;
  /**
   * The kernel's view of a socket's peer: 'open', 'closed' (FIN or reset, nothing unread), or
   * 'closed-after-data' (it sent bytes we have not read, then closed). Sees a close that Node's
   * loop has not delivered yet.
   */
  peerState(socket: Socket): 'open' | 'closed' | 'closed-after-data' | undefined;
}

export type SendWay = 'auto' | 'sendfile' | 'copy';
const SEND_WAYS: Record<SendWay, number> = { auto: 0, sendfile: 1, copy: 2 };

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
  start(socketFd: number, fileFd: number, offset: number, length: number, way?: number): number;
  /** Older builds of the addon lack it. */
  receive?(socketFd: number, fileFd: number, position: number, limit: number): number;
  progress(id: number): number;
  cancel(id: number): number;
  active(): number;
  /** Older builds of the addon lack it. */
  trim?(): boolean;
  /** Older builds of the addon lack it. */
  copied?(): number;
  peerClosed?(fd: number): number;
}

const STATUS_DONE = 1;
const STATUS_EOF = 2;
const STATUS_LIMIT = 5;
const STATUS_FILE_ERROR = 6;

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
    if (status === STATUS_DONE || status === STATUS_LIMIT) w.resolve(sent);
    else if (status === STATUS_EOF) w.reject(Object.assign(new Error(`file ended after ${sent} bytes (truncated during the transfer)`), { code: 'ERR_FILE_TRUNCATED' }));
    else if (status === STATUS_FILE_ERROR) w.reject(errnoError(errno, sent, 'write'));
    else w.reject(errnoError(errno, sent));
  });
  let started = 0;
  let received = 0;
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
    receivesStarted: () => received,
    copied: () => addon.copied?.() ?? 0,
    canReceive: addon.receive !== undefined,
    send(socket, fd, start, length, way = 'auto') {
      const sockFd = socketFd(socket);
      if (sockFd === undefined) throw new FtpError('FTPKIT_ERR_INVALID_ARGUMENT', 'zero-copy needs a plain TCP socket');
      if (length === 0) return { done: Promise.resolve(0), progress: () => 0, cancel: () => {} };
      const id = way === 'auto' ? addon.start(sockFd, fd, start, length) : addon.start(sockFd, fd, start, length, SEND_WAYS[way]);
      started++;
      return track(id, 'send');
    },
    receive(socket, fd, position, limit) {
      const sockFd = socketFd(socket);
      if (sockFd === undefined || !addon.receive) throw new FtpError('FTPKIT_ERR_INVALID_ARGUMENT', 'zero-copy receives need a plain TCP socket and a current addon');
      if (limit === 0) return { done: Promise.resolve(0), progress: () => 0, cancel: () => {} };
      const id = addon.receive(sockFd, fd, position ?? -1, limit ?? -1);
      received++;
      return track(id, 'receive');
    },
  };

  /** The handle of the addon's job `id`: its completion, progress and cancel. */
  function track(id: number, what: 'send' | 'receive'): ZeroCopySend {
    let settle!: { resolve: (n: number) => void; reject: (e: Error) => void };
    const done = new Promise<number>((resolve, reject) => (settle = { resolve, reject }));
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
        settle.reject(Object.assign(new Error(`zero-copy ${what} cancelled`), { name: 'AbortError', code: 'ABORT_ERR' }));
      },
    };
  }
}

/** errno number -> its name (ECONNRESET, ENOSPC...). */
const ERRNO_CODES = new Map<number, string>(Object.entries(constants.errno).map(([name, n]) => [n, name]));

/** `syscall` 'write': the file failed (ENOSPC, EDQUOT, EFBIG...), named like fs errors are. */
function errnoError(errno: number, sent: number, syscall?: 'write'): Error {
  const code = ERRNO_CODES.get(errno) ?? `ERRNO_${errno}`;
  const what = syscall ? `writing the file failed after ${sent} bytes` : `the data connection failed after ${sent} bytes`;
  return Object.assign(new Error(`${what}: ${code}`), { code, errno: -errno, ...(syscall ? { syscall } : {}) });
}
