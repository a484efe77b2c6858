import net from 'node:net';
import { FtpError } from '../errors.js';
import { ReplyParser, isPositivePreliminary, type FtpReply } from '../protocol/index.js';
import type { TlsSettings } from './options.js';
import { assertSafeArgument } from './safety.js';
import { secureControl, type ControlTls } from './tls.js';

/** Hooks the client uses to log the dialogue; both run inside socket callbacks, so they are guarded. */
export interface ControlHooks {
  onCommand?(line: string): void;
  onReply?(reply: FtpReply): void;
  onClose?(error: FtpError | undefined): void;
}

interface Waiter {
  resolve(reply: FtpReply): void;
  reject(error: Error): void;
  timer: NodeJS.Timeout | undefined;
  /** Passes over 1xx replies (they still reach the hooks) and takes the first final one. */
  finalOnly: boolean;
}

/** Replies may arrive before anyone asks for them (a 421 on idle), but never without bound. */
const MAX_UNCLAIMED_REPLIES = 32;

/**
 * The control channel: one socket, a streaming reply parser, and a FIFO of
 * waiters. Reply i goes to waiter i, so a caller that sends two commands
 * (a transfer, then ABOR) simply waits twice. A timed-out wait means we no
 * longer know which reply answers what, so it closes the connection.
 */
export class ControlConnection {
  #socket: net.Socket;
  #parser: ReplyParser;
  #unclaimed: FtpReply[] = [];
  #waiters: Waiter[] = [];
  #closed: FtpError | undefined;
  #hooks: ControlHooks;
  #tls: ControlTls | undefined;

  private constructor(socket: net.Socket, maxReplyBytes: number, hooks: ControlHooks) {
    this.#socket = socket;
    this.#parser = new ReplyParser({ maxReplyBytes });
    this.#hooks = hooks;
    socket.setNoDelay(true);
    this.#attach(socket);
  }

  readonly #onSocketData = (chunk: Buffer): void => this.#onData(chunk);
  readonly #onSocketError = (err: Error): void => {
    this.destroy(new FtpError('FTPKIT_ERR_CONNECTION_CLOSED', `control connection failed: ${err.message}`, { cause: err }));
  };
  readonly #onSocketClose = (): void => {
    this.destroy(new FtpError('FTPKIT_ERR_CONNECTION_CLOSED', 'the server closed the control connection'));
  };

  #attach(socket: net.Socket): void {
    socket.on('data', this.#onSocketData);
    socket.on('error', this.#onSocketError);
    socket.on('close', this.#onSocketClose);
  }

  /**
   * Connects and reads the greeting (a 120 "wait" is followed by the real 220).
   * With implicit TLS the handshake comes first, so the greeting is already encrypted.
   */
  static async connect(host: string, port: number, opts: { timeout: number; maxReplyBytes: number; signal?: AbortSignal | undefined; hooks?: ControlHooks; tls?: TlsSettings | undefined }): Promise<{ control: ControlConnection; greeting: FtpReply }> {
    const socket = net.connect({ host, port });
    const control = new ControlConnection(socket, opts.maxReplyBytes, opts.hooks ?? {});
    const onAbort = (): void => control.destroy(new FtpError('FTPKIT_ERR_ABORTED', 'connect aborted', { cause: opts.signal?.reason }));
    opts.signal?.addEventListener('abort', onAbort, { once: true });
    try {
      if (opts.signal?.aborted) onAbort();
      if (opts.tls?.mode === 'implicit') {
        await control.#connected(opts.timeout);
        await control.startTls(host, opts.tls, opts.timeout);
      }
      let greeting = await control.nextReply(opts.timeout);
      while (isPositivePreliminary(greeting.code)) greeting = await control.nextReply(opts.timeout);
      return { control, greeting };
    } catch (err) {
      control.destroy(err instanceof FtpError ? err : undefined);
      throw err;
    } finally {
      opts.signal?.removeEventListener('abort', onAbort);
    }
  }

  /** The TLS state once the control connection is secure (data connections resume its session). */
  get tls(): ControlTls | undefined {
    return this.#tls;
  }

  get socket(): net.Socket {
    return this.#socket;
  }

  /** Waits for the TCP connection (implicit TLS must not start its handshake on a connecting socket). */
  #connected(timeout: number): Promise<void> {
    const socket = this.#socket;
    if (this.#closed) return Promise.reject(this.#closed);
    if (!socket.connecting) return Promise.resolve();
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => this.destroy(new FtpError('FTPKIT_ERR_TIMEOUT', `connecting took longer than ${timeout} ms`)), timeout);
      const finish = (): void => {
        clearTimeout(timer);
        socket.off('connect', finish);
        socket.off('close', finish);
        if (this.#closed) reject(this.#closed);
        else resolve();
      };
      socket.once('connect', finish);
      // destroy() (error, abort, timeout) ends in 'close'; it runs after our own close listener.
      socket.once('close', finish);
    });
  }

  /**
   * Runs the TLS handshake over the current socket (after 234 to AUTH TLS, or
   * at once for implicit TLS) and reads replies from the secure socket from
   * then on. A failure closes the connection with that error.
   */
  async startTls(host: string, settings: TlsSettings, timeout: number): Promise<ControlTls> {
    if (this.#closed) throw this.#closed;
    const raw = this.#socket;
    raw.off('data', this.#onSocketData);
    raw.off('error', this.#onSocketError);
    raw.off('close', this.#onSocketClose);
    raw.on('error', ignore);
    let state: ControlTls;
    // While the handshake runs, destroy() (abort, close) destroys the raw socket and so fails it.
    try {
      state = await secureControl(raw, host, settings, timeout);
    } catch (err) {
      this.destroy(err instanceof FtpError ? err : new FtpError('FTPKIT_ERR_TLS', String(err), { cause: err }));
      throw this.#closed ?? err;
    }
    if (this.#closed) {
      state.socket.destroy();
      throw this.#closed;
    }
    this.#socket = state.socket;
    this.#tls = state;
    this.#attach(state.socket);
    return state;
  }

  get closed(): boolean {
    return this.#closed !== undefined;
  }

  /** The address we actually reached; data connections go here too unless told otherwise. */
  get remoteAddress(): string | undefined {
    return this.#socket.remoteAddress;
  }

  get localAddress(): string | undefined {
    return this.#socket.localAddress;
  }

  /** Writes one command line. Throws (synchronously) for CR/LF/NUL or a closed connection. */
  send(line: string): void {
    assertSafeArgument(line, 'command');
    if (this.#closed) throw this.#closed;
    this.#safeHook(() => this.#hooks.onCommand?.(line));
    this.#socket.write(line + '\r\n');
  }

  /**
   * The next reply in order. `timeout` null means no timer: used while a data
   * transfer runs, since only the active channel's timer should run.
   */
  nextReply(timeout: number | null): Promise<FtpReply> {
    return this.#wait(timeout, false);
  }

  /**
   * The next reply that is not 1xx. One waiter for the whole wait, so replies
   * still pair with waiters in FIFO order when a caller queues another wait behind it.
   */
  nextFinal(timeout: number | null): Promise<FtpReply> {
    return this.#wait(timeout, true);
  }

  #wait(timeout: number | null, finalOnly: boolean): Promise<FtpReply> {
    if (this.#waiters.length === 0) {
      while (this.#unclaimed.length > 0) {
        const reply = this.#unclaimed.shift()!;
        if (!finalOnly || !isPositivePreliminary(reply.code)) return Promise.resolve(reply);
      }
    }
    if (this.#closed) return Promise.reject(this.#closed);
    return new Promise((resolve, reject) => {
      const waiter: Waiter = { resolve, reject, timer: undefined, finalOnly };
      if (timeout !== null) waiter.timer = this.#armTimer(timeout);
      this.#waiters.push(waiter);
    });
  }

  /**
   * Like nextFinal, but when `ms` pass first it withdraws from the queue and
   * resolves null, leaving the connection as it was: for "is another reply
   * coming?" after ABOR.
   */
  nextFinalOrNull(ms: number): Promise<FtpReply | null> {
    if (this.#waiters.length === 0) {
      while (this.#unclaimed.length > 0) {
        const reply = this.#unclaimed.shift()!;
        if (!isPositivePreliminary(reply.code)) return Promise.resolve(reply);
      }
    }
    if (this.#closed) return Promise.reject(this.#closed);
    return new Promise((resolve, reject) => {
      const waiter: Waiter = { resolve, reject, timer: undefined, finalOnly: true };
      waiter.timer = setTimeout(() => {
        const i = this.#waiters.indexOf(waiter);
        if (i !== -1) this.#waiters.splice(i, 1);
        resolve(null);
      }, ms);
      this.#waiters.push(waiter);
    });
  }

  /** Starts the timer of a wait begun with `timeout: null` (the oldest untimed waiter). */
  armWaiting(timeout: number): void {
    const waiter = this.#waiters.find((w) => w.timer === undefined);
    if (waiter) waiter.timer = this.#armTimer(timeout);
  }

  async request(line: string, timeout: number): Promise<FtpReply> {
    this.send(line);
    return this.nextFinal(timeout);
  }

  /** Immediate close; pending waits reject with `error` (idempotent). */
  destroy(error?: FtpError): void {
    if (this.#closed) return;
    this.#closed = error ?? new FtpError('FTPKIT_ERR_CLOSED', 'the client was closed');
    for (const w of this.#waiters.splice(0)) {
      clearTimeout(w.timer);
      w.reject(this.#closed);
    }
    this.#socket.destroy();
    this.#safeHook(() => this.#hooks.onClose?.(error));
  }

  #armTimer(timeout: number): NodeJS.Timeout {
    return setTimeout(() => {
      this.destroy(new FtpError('FTPKIT_ERR_TIMEOUT', `no reply from the server within ${timeout} ms`));
    }, timeout);
  }

  // Runs inside a socket callback: nothing may escape (CVE-2026-126346 class).
  #onData(chunk: Buffer): void {
    let replies: FtpReply[];
    try {
      replies = this.#parser.push(chunk);
    } catch (err) {
      const e = err instanceof FtpError ? err : new FtpError('FTPKIT_ERR_PROTOCOL', String(err), { cause: err });
      this.destroy(e);
      return;
    }
    for (const reply of replies) {
      if (this.#closed) return;
      this.#safeHook(() => this.#hooks.onReply?.(reply));
      const head = this.#waiters[0];
      if (head?.finalOnly && isPositivePreliminary(reply.code)) continue;
      const waiter = this.#waiters.shift();
      if (waiter) {
        clearTimeout(waiter.timer);
        waiter.resolve(reply);
      } else if (this.#unclaimed.push(reply) > MAX_UNCLAIMED_REPLIES) {
        this.destroy(new FtpError('FTPKIT_ERR_PROTOCOL', 'the server sent replies nobody asked for'));
      }
    }
  }

  #safeHook(fn: () => void): void {
    try {
      fn();
    } catch {
      // A throwing log listener must not break the protocol state.
    }
  }
}

function ignore(): void {}
