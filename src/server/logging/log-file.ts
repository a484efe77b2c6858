import { EventEmitter } from 'node:events';
import { closeSync, openSync, writeSync } from 'node:fs';

export interface LogFileOptions {
  /** The longest a record waits in memory before it is written, in ms. Default 100; 0 writes each record at once. */
  flushMs?: number;
}

/** Gathered records are written once they reach this many characters (~40 audit records). */
const GATHER_CHARS = 16 * 1024;

/** Files with records waiting: the process's exit writes them. */
const pending = new Set<LogFile>();
let exitHook = false;

/**
 * A file a pino logger (or an xferlog) appends lines to. Records are gathered and written
 * together, at the latest `flushMs` after the first of them: a write(2) per record cost a login
 * storm more CPU than everything else logging does (a login writes three records). Writes are
 * synchronous (no thread-pool hand-off per record). The process's exit, reopen() and close()
 * write what is gathered, so only a kill -9 loses records: those of the last `flushMs`.
 *
 * A write that fails (disk full, file system gone) is reported as an 'error' event and its
 * records are dropped; logging never stops the server.
 */
export class LogFile extends EventEmitter {
  readonly path: string;
  readonly #flushMs: number;
  #fd: number;
  #chunks: string[] = [];
  #chars = 0;
  #timer: NodeJS.Timeout | undefined;
  #closed = false;

  /** Opens `path` for appending, now: throws (with the errno code) when it cannot. */
  constructor(path: string, options: LogFileOptions = {}) {
    super();
    this.path = path;
    this.#flushMs = options.flushMs ?? 100;
    this.#fd = openSync(path, 'a', 0o640);
  }

  /** One or more whole lines (pino writes a record at a time). */
  write(chunk: string): boolean {
    if (this.#closed) return false;
    this.#chunks.push(chunk);
    this.#chars += chunk.length;
    if (this.#flushMs <= 0 || this.#chars >= GATHER_CHARS) {
      this.flushSync();
    } else if (!this.#timer) {
      this.#timer = setTimeout(() => this.flushSync(), this.#flushMs).unref();
      pending.add(this);
      if (!exitHook) {
        exitHook = true;
        process.once('exit', () => {
          for (const file of pending) file.flushSync();
        });
      }
    }
    return true;
  }

  /** Writes what is gathered now. */
  flushSync(): void {
    if (this.#timer) clearTimeout(this.#timer);
    this.#timer = undefined;
    pending.delete(this);
    if (this.#chunks.length === 0) return;
    const text = this.#chunks.length === 1 ? this.#chunks[0]! : this.#chunks.join('');
    this.#chunks = [];
    this.#chars = 0;
    try {
      // A string goes to write(2) without a Buffer of its own; a short write (rare on a file) finishes from one.
      const written = writeSync(this.#fd, text);
      const bytes = Buffer.byteLength(text);
      if (written < bytes) {
        const rest = Buffer.from(text).subarray(written);
        for (let off = 0; off < rest.length; ) off += writeSync(this.#fd, rest, off);
      }
    } catch (err) {
      this.emit('error', err);
    }
  }

  /**
   * Opens the path again (logrotate moved the file; SIGUSR1 in ftp-serve): what was gathered goes
   * to the moved file first. A path that cannot be opened keeps the old file and emits 'error'.
   */
  reopen(): void {
    if (this.#closed) return;
    this.flushSync();
    let fd: number;
    try {
      fd = openSync(this.path, 'a', 0o640);
    } catch (err) {
      this.emit('error', err);
      return;
    }
    closeSync(this.#fd);
    this.#fd = fd;
  }

  /** Writes what is gathered and closes the file. Idempotent. */
  close(): void {
    if (this.#closed) return;
    this.flushSync();
    this.#closed = true;
    closeSync(this.#fd);
  }
}

/** Opens `path` for appending log lines (see LogFile); throws when it cannot be opened. */
export function openLogFile(path: string, options: LogFileOptions = {}): LogFile {
  return new LogFile(path, options);
}
