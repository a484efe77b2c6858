// Temp folders, random files with known hashes, free ports and fd counting
// for tests. Nothing here touches the network beyond 127.0.0.1.
import { createHash, randomBytes } from 'node:crypto';
import { createReadStream, createWriteStream, readdirSync, rmSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Readable, Transform } from 'node:stream';
import { pipeline } from 'node:stream/promises';

export interface TempDir {
  /** Absolute path of the folder (mode 0700, owned by the test process). */
  path: string;
  /** Removes the folder recursively. Idempotent; safe to pass to afterAll. */
  cleanup(): Promise<void>;
}

// Folders still alive, so cleanupTempDirs() and the exit hook can remove leftovers.
const live = new Set<string>();
let exitHookInstalled = false;

function installExitHook(): void {
  if (exitHookInstalled) return;
  exitHookInstalled = true;
  // Last resort for a test that forgot its cleanup or a worker that is torn down.
  process.once('exit', () => {
    for (const p of live) rmSync(p, { recursive: true, force: true });
  });
}

/** Creates a fresh folder under os.tmpdir(). */
export async function makeTempDir(prefix = 'ftpkit-'): Promise<TempDir> {
  installExitHook();
  const path = await mkdtemp(join(tmpdir(), prefix));
  live.add(path);
  return {
    path,
    async cleanup() {
      live.delete(path);
      await rm(path, { recursive: true, force: true, maxRetries: 3 });
    },
  };
}

/** Removes every folder made by makeTempDir() that is still there (afterAll-friendly). */
export async function cleanupTempDirs(): Promise<void> {
  const all = [...live];
  live.clear();
  await Promise.all(all.map((p) => rm(p, { recursive: true, force: true, maxRetries: 3 })));
}

const CHUNK = 1024 * 1024;

/**
 * Writes `bytes` random bytes to `path` in 1 MiB chunks (constant memory, so
 * fine for files of hundreds of MB) and returns their sha256 as hex.
 */
export async function randomFile(path: string, bytes: number): Promise<string> {
  if (!Number.isSafeInteger(bytes) || bytes < 0) throw new RangeError(`bytes must be a non-negative integer, got ${bytes}`);
  const hash = createHash('sha256');
  function* chunks(): Generator<Buffer> {
    let left = bytes;
    while (left > 0) {
      const n = Math.min(CHUNK, left);
      left -= n;
      const buf = randomBytes(n);
      hash.update(buf);
      yield buf;
    }
  }
  await pipeline(Readable.from(chunks(), { objectMode: false }), createWriteStream(path));
  return hash.digest('hex');
}

/** sha256 hex of a file, streamed. */
export async function sha256File(path: string): Promise<string> {
  const hash = createHash('sha256');
  await pipeline(
    createReadStream(path, { highWaterMark: CHUNK }),
    new Transform({
      transform(chunk: Buffer, _enc, cb) {
        hash.update(chunk);
        cb();
      },
    }),
  );
  return hash.digest('hex');
}

/** sha256 hex of a buffer or string (UTF-8). */
export function sha256Buffer(buf: Buffer | Uint8Array | string): string {
  return createHash('sha256').update(buf).digest('hex');
}

/**
 * Binds 127.0.0.1:0, reads the port and closes. Racy by nature: use it only
 * for peers that cannot bind port 0 themselves, and retry on EADDRINUSE.
 */
export function freePort(host = '127.0.0.1'): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = createServer();
    srv.unref();
    srv.once('error', reject);
    srv.listen(0, host, () => {
      const addr = srv.address();
      const port = typeof addr === 'object' && addr ? addr.port : 0;
      srv.close(() => (port > 0 ? resolve(port) : reject(new Error('freePort: no port bound'))));
    });
  });
}

/** Number of open file descriptors of this process (entries in /proc/self/fd). */
export function countFds(): number {
  // readdir itself holds one fd while listing; the offset is constant, so
  // before/after comparisons stay exact.
  return readdirSync('/proc/self/fd').length;
}
