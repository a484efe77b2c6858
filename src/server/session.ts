import { randomBytes } from 'node:crypto';
import type { Socket } from 'node:net';
import type { Logger } from 'pino';
import { ControlLineParser, parseCommand, formatReply, normalizeIp, type FtpCommand } from '../protocol/index.js';
import { resolveVirtualPath } from '../storage/path.js';
import type { Storage } from '../storage/types.js';
import type { CommandSpec } from './command.js';
import { DataChannel } from './data-channel.js';
import type { PassivePortPool } from './port-pool.js';
import type { ResolvedServerOptions } from './options.js';
import type { ServerEvents } from './events.js';
import { replyForError } from './storage-replies.js';
import type { ActiveTransfer } from './transfer.js';

/** What a Session needs from its FileServer. */
export interface SessionHost {
  readonly options: ResolvedServerOptions;
  readonly commands: ReadonlyMap<string, CommandSpec>;
  readonly ports: PassivePortPool;
  emit<E extends keyof ServerEvents>(event: E, ...args: Parameters<ServerEvents[E]>): boolean;
}

/** Commands waiting behind a running one; past this the socket is paused (backpressure). */
const QUEUE_HIGH_WATER = 16;

/** One control connection: reads commands in order, keeps the session's state, writes replies. */
export class Session {
  readonly id = randomBytes(6).toString('hex');
  readonly socket: Socket;
  readonly host: SessionHost;
  readonly remoteAddress: string;
  readonly localAddress: string;
  readonly log: Logger;
  readonly data: DataChannel;

  // Login state.
  username: string | undefined;
  loggedIn = false;
  storage: Storage | undefined;
  canWrite = false;
  // Transfer parameters.
  cwd = '/';
  type: 'A' | 'I' = 'A';
  restOffset = 0;
  renameFrom: string | undefined;
  epsvAll = false;
  mlstFacts: Set<string> = new Set(['type', 'size', 'modify', 'perm', 'unix.mode']);
  transfer: ActiveTransfer | undefined;

  readonly #parser = new ControlLineParser();
  readonly #queue: FtpCommand[] = [];
  #busy = false;
  #closed = false;
  #quitting = false;
  #loginTimer: NodeJS.Timeout | undefined;
  #idleTimer: NodeJS.Timeout | undefined;
  readonly #closedPromise: Promise<void>;
  #resolveClosed!: () => void;

  constructor(socket: Socket, host: SessionHost, log: Logger) {
    this.socket = socket;
    this.host = host;
    this.remoteAddress = normalizeIp(socket.remoteAddress ?? '');
    this.localAddress = normalizeIp(socket.localAddress ?? host.options.host);
    this.log = log.child({ session: this.id, remote: this.remoteAddress });
    this.data = new DataChannel({
      remoteAddress: this.remoteAddress,
      localAddress: this.localAddress,
      ports: host.ports,
      timeout: host.options.timeouts.data,
      log: this.log,
    });
    this.#closedPromise = new Promise((resolve) => (this.#resolveClosed = resolve));
    socket.setNoDelay(true);
    socket.on('data', (chunk: Buffer) => this.#onData(chunk));
    socket.on('error', (err) => this.log.debug({ err }, 'control connection error'));
    socket.on('close', () => this.destroy());
  }

  /** True when the control peer is on IPv6 (not an IPv4-mapped address). */
  get isIpv6(): boolean {
    return this.remoteAddress.includes(':');
  }

  get closed(): Promise<void> {
    return this.#closedPromise;
  }

  start(): void {
    this.reply(220, this.host.options.greeting);
    this.#loginTimer = setTimeout(() => this.#timeout('Login timeout'), this.host.options.timeouts.login);
    this.#armIdle();
  }

  reply(code: number, text: string | string[]): void {
    if (this.#closed || this.socket.destroyed) return;
    this.socket.write(formatReply(code, text));
  }

  /** Resolves a client path against cwd; bad paths (NUL, CR, LF) answer 501 and return undefined. */
  resolve(arg: string): string | undefined {
    try {
      return resolveVirtualPath(this.cwd, arg);
    } catch {
      this.reply(501, 'Invalid path');
      return undefined;
    }
  }

  /** Answers a failed storage call with the right code, naming only the virtual path. */
  fail(err: unknown, path: string, fallback?: number): void {
    const [code, text] = replyForError(err, path, fallback);
    if (code === 451) this.log.warn({ err, path }, 'storage error');
    this.reply(code, text);
  }

  /** Checks write access; answers 550 when refused. */
  mayWrite(): boolean {
    if (!this.canWrite) this.reply(550, 'Permission denied');
    return this.canWrite;
  }

  login(username: string, storage: Storage, write: boolean): void {
    this.username = username;
    this.loggedIn = true;
    this.storage = storage;
    this.canWrite = write;
    this.cwd = '/';
    clearTimeout(this.#loginTimer);
    this.#loginTimer = undefined;
    this.log.setBindings({ user: username });
  }

  /** REIN and USER-after-login: back to the state right after the greeting. */
  reset(): void {
    this.transfer?.abort();
    this.data.close();
    this.username = undefined;
    this.loggedIn = false;
    this.storage = undefined;
    this.canWrite = false;
    this.cwd = '/';
    this.type = 'A';
    this.restOffset = 0;
    this.renameFrom = undefined;
    this.epsvAll = false;
    if (!this.#loginTimer) {
      this.#loginTimer = setTimeout(() => this.#timeout('Login timeout'), this.host.options.timeouts.login);
    }
  }

  /** QUIT: finish the reply, then close once any running transfer is done. */
  quit(): void {
    this.#quitting = true;
    this.reply(221, 'Goodbye');
    if (!this.transfer) this.socket.end();
  }

  /** Server shutdown: idle sessions get 421 now; a running transfer may finish until `deadline`. */
  async shutdown(deadline: number): Promise<void> {
    const transfer = this.transfer;
    if (transfer) {
      const wait = Math.max(0, deadline - Date.now());
      let timer: NodeJS.Timeout | undefined;
      await Promise.race([transfer.done, new Promise((r) => (timer = setTimeout(r, wait)))]);
      clearTimeout(timer);
      if (this.transfer) {
        this.transfer.abort();
        await transfer.done; // its 426 goes out before the 421
      }
    }
    this.reply(421, 'Service closing control connection');
    this.socket.end();
    const timer = setTimeout(() => this.destroy(), 1000);
    await this.#closedPromise;
    clearTimeout(timer);
  }

  /** Ends everything this session holds: timers, data channel, transfer, socket. Idempotent. */
  destroy(): void {
    if (this.#closed) return;
    this.#closed = true;
    clearTimeout(this.#loginTimer);
    clearTimeout(this.#idleTimer);
    this.transfer?.abort();
    this.data.close();
    this.#queue.length = 0;
    this.socket.destroy();
    this.host.emit('disconnect', { sessionId: this.id, remoteAddress: this.remoteAddress, username: this.username });
    this.#resolveClosed();
  }

  /** Called by transfers: the idle timer never fires while one runs. */
  transferStarted(): void {
    clearTimeout(this.#idleTimer);
    this.#idleTimer = undefined;
  }

  transferEnded(): void {
    if (this.#quitting) {
      this.socket.end();
      return;
    }
    this.#armIdle();
  }

  #armIdle(): void {
    clearTimeout(this.#idleTimer);
    if (this.#closed) return;
    this.#idleTimer = setTimeout(() => this.#timeout('Idle timeout'), this.host.options.timeouts.idle);
  }

  #timeout(why: string): void {
    if (this.transfer) return; // a running transfer keeps the session alive
    this.log.info(why.toLowerCase());
    this.reply(421, `${why}, closing control connection`);
    this.socket.end();
    setTimeout(() => this.destroy(), 1000).unref();
  }

  #onData(chunk: Buffer): void {
    for (const event of this.#parser.push(chunk)) {
      if (event.type === 'overflow') {
        this.#enqueue({ verb: '', arg: '' }); // answered 500 in order with the other commands
        continue;
      }
      const command = parseCommand(event.line);
      if (command) this.#enqueue(command);
    }
  }

  #enqueue(command: FtpCommand): void {
    if (this.#closed || this.#quitting) return;
    const spec = this.host.commands.get(command.verb);
    // ABOR, STAT, NOOP and QUIT must be heard while a transfer holds the queue.
    if (this.transfer && spec?.duringTransfer) {
      void this.#execute(command, spec);
      return;
    }
    this.#queue.push(command);
    if (this.#queue.length >= QUEUE_HIGH_WATER) this.socket.pause();
    if (!this.#busy) void this.#drain();
  }

  async #drain(): Promise<void> {
    this.#busy = true;
    while (this.#queue.length > 0 && !this.#closed) {
      const command = this.#queue.shift()!;
      if (this.#queue.length < QUEUE_HIGH_WATER / 2) this.socket.resume();
      await this.#execute(command, this.host.commands.get(command.verb));
    }
    this.#busy = false;
  }

  async #execute(command: FtpCommand, spec: CommandSpec | undefined): Promise<void> {
    const { verb, arg } = command;
    if (!this.transfer) this.#armIdle();
    if (verb === '') return this.reply(500, 'Command line too long');
    this.host.emit('command', { sessionId: this.id, verb, arg: verb === 'PASS' ? '***' : arg });
    if (!spec) return this.reply(500, `${printable(verb)} not understood`);
    if (spec.notImplemented) return this.reply(502, `${verb} not implemented`);
    if (!spec.public && !this.loggedIn) return this.reply(530, 'Please login with USER and PASS');
    if (verb !== 'RNTO') this.renameFrom = undefined; // RNTO must follow RNFR directly
    try {
      await spec.handler(this, arg, verb);
    } catch (err) {
      // A handler bug must never reach the socket callbacks or the peer: log, answer 451, go on.
      this.log.error({ err, verb }, 'command failed');
      this.reply(451, 'Local error in processing');
    }
  }
}

/** Verbs echoed in replies: printable ASCII only, bounded. */
function printable(verb: string): string {
  const clean = verb.replace(/[^\x21-\x7e]/g, '?');
  return clean.length > 16 ? `${clean.slice(0, 16)}...` : clean;
}
