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
import type { Readable } from 'node:stream';
import { setTimeout as sleep } from 'node:timers/promises';
import { CommandPacer, type AccountState, type ConnectionLimits } from './abuse/limits.js';
import type { LoginGuard } from './abuse/login-guard.js';
import type { AbuseStore } from './abuse/store.js';
import type { AuthGrant } from './options.js';
import { ALL_PERMISSIONS, PERMISSION_LETTERS, Permissions, READ_ONLY_PERMISSIONS, type PermissionLetter } from './permissions.js';
import { throttle } from './throttle.js';
import type { TlsBinding, TlsBindings } from './tls-bindings.js';
import { checkInteger } from '../errors.js';
import type { SessionTotals } from './events.js';
import { CommandProbes } from './logging/probe.js';
import { emitSecurity } from './logging/security.js';
import { maskArgument } from './logging/text.js';
import { resetWireMode } from './wire-mode.js';

/** What a Session needs from its FileServer. */
export interface SessionHost {
  readonly options: ResolvedServerOptions;
  readonly commands: ReadonlyMap<string, CommandSpec>;
  readonly ports: PassivePortPool;
  /** Sessions per address and per user, transfers and rate limits per user. */
  readonly limits: ConnectionLimits;
  /** Failed-login delays and bans; undefined when turned off. */
  readonly loginGuard: LoginGuard | undefined;
  /** Bans and per-user session counts shared with other servers, if configured. */
  readonly abuseStore: AbuseStore | undefined;
  /** Gives each AUTH TLS its own TLS binding, when FTPS is configured. */
  readonly tls: TlsBindings | undefined;
  emit<E extends keyof ServerEvents>(event: E, ...args: Parameters<ServerEvents[E]>): boolean;
}

/** Who is really on the other end when the control connection came through a trusted proxy. */
export interface SessionOrigin {
  /** The client's address, from the PROXY header. */
  remoteAddress: string;
  /** The proxy's address (the socket's peer): passive data connections may come from it too. */
  proxyAddress: string;
}

/** Commands parsed and waiting; past this, received bytes stay unparsed and the socket is paused. */
const QUEUE_HIGH_WATER = 16;
/** Bytes parsed at a time, so one 64 KiB packet of one-byte lines cannot queue 64 K commands. */
const PARSE_STEP = 512;
/**
 * Reply bytes the peer has not taken yet. Above this no further command runs until it reads
 * (and so, with the queue full, nothing more is read from it): a client pipelining HELP and
 * never reading costs one socket buffer, not memory without end.
 */
export const REPLY_HIGH_WATER = 64 * 1024;
/** Unsent reply bytes past which the peer is disconnected: nothing a command writes at once comes near. */
export const REPLY_CAP = 256 * 1024;

/** One control connection: reads commands in order, keeps the session's state, writes replies. */
export class Session {
  readonly id = randomBytes(6).toString('hex');
  /** The control connection: a TLSSocket after AUTH TLS or on the implicit port. */
  socket: Socket;
  /** The control connection's TLS binding; PROT P data connections must resume one of its sessions. */
  tls: TlsBinding | undefined;
  /** PBSZ seen (RFC 4217: required before PROT). */
  pbsz = false;
  /** Data channel protection: C (clear) or P (private). */
  prot: 'C' | 'P' = 'C';
  readonly host: SessionHost;
  readonly remoteAddress: string;
  readonly localAddress: string;
  readonly log: Logger;
  readonly data: DataChannel;
  /** When the control connection was accepted (Date.now()). */
  readonly connectedAt = Date.now();
  /** What this connection's data connections moved (transfer.ts counts, `disconnect` reports). */
  readonly totals: SessionTotals = { filesIn: 0, filesOut: 0, bytesIn: 0, bytesOut: 0 };
  /** The code of the last reply written. */
  lastReplyCode = 0;

  // Login state.
  username: string | undefined;
  loggedIn = false;
  storage: Storage | undefined;
  /** What the logged-in user may do, and where. */
  permissions: Permissions | undefined;
  /** The grant the user logged in with. */
  grant: AuthGrant | undefined;
  /** Counters and rate limits shared with the user's other sessions. */
  account: AccountState | undefined;
  /** Failed PASS on this connection. */
  loginFailures = 0;
  // Transfer parameters.
  cwd = '/';
  type: 'A' | 'I' = 'A';
  restOffset = 0;
  /** RANG's last byte (inclusive) for the next RETR; restOffset holds its first (commands/range.ts). */
  rangeEnd: number | undefined;
  renameFrom: string | undefined;
  epsvAll = false;
  mlstFacts: Set<string> = new Set(['type', 'size', 'modify', 'perm', 'unix.mode', 'media-type']);
  transfer: ActiveTransfer | undefined;

  #parser = new ControlLineParser();
  /** Received bytes not parsed yet: at most one packet, the socket is paused meanwhile. */
  readonly #unparsed: Buffer[] = [];
  /** Commands in the order sent, run one at a time by #drain. */
  readonly #queue: FtpCommand[] = [];
  #busy = false;
  /** ABOR, STAT, NOOP, QUIT heard while a transfer holds the queue, run in order by #runUrgent. */
  readonly #urgent: FtpCommand[] = [];
  #urgentRun: Promise<void> | undefined;
  readonly #lifetime = new AbortController();
  #closed = false;
  #quitting = false;
  #loginTimer: NodeJS.Timeout | undefined;
  #idleTimer: NodeJS.Timeout | undefined;
  readonly #closedPromise: Promise<void>;
  #resolveClosed!: () => void;
  #pacer: CommandPacer | undefined;
  /** The commands running, for `command-end` (logging/probe.ts). */
  readonly #probes = new CommandProbes();

  constructor(socket: Socket, host: SessionHost, log: Logger, origin?: SessionOrigin) {
    this.socket = socket;
    this.host = host;
    this.remoteAddress = normalizeIp(origin?.remoteAddress ?? socket.remoteAddress ?? '');
    this.localAddress = normalizeIp(socket.localAddress ?? host.options.host);
    this.log = log.child({ session: this.id, remote: this.remoteAddress });
    this.data = new DataChannel({
      remoteAddress: this.remoteAddress,
      ...(origin ? { proxyAddress: normalizeIp(origin.proxyAddress) } : {}),
      localAddress: this.localAddress,
      ports: host.ports,
      timeout: host.options.timeouts.data,
      log: this.log,
      onForeignPeer: (peer) => emitSecurity(this, 'foreign-data-peer', peer),
    });
    this.#closedPromise = new Promise((resolve) => (this.#resolveClosed = resolve));
    const rate = host.options.maxCommandsPerSecond;
    this.#pacer = rate > 0 ? new CommandPacer(rate) : undefined;
    socket.setNoDelay(true);
    this.#listen(socket);
  }

  #listen(socket: Socket): void {
    socket.on('data', (chunk: Buffer) => this.#onData(chunk));
    socket.on('error', (err) => this.log.debug({ err }, 'control connection error'));
    socket.on('close', () => this.destroy());
  }

  /** Whether this session's data connections must be TLS: the user's policy, else the server's. */
  get tlsRequired(): boolean {
    return this.grant?.requireTls ?? this.host.options.requireTls;
  }

  /** True once the control connection is TLS. */
  get secure(): boolean {
    return this.tls !== undefined;
  }

  /**
   * Turns the control connection into TLS (AUTH TLS, or at once on the implicit port).
   * Anything the client pipelined after AUTH in clear text is dropped, so no command can be
   * injected in front of the handshake (the STARTTLS command-injection class of bugs).
   */
  startTls(binding: TlsBinding): void {
    const raw = this.socket;
    raw.removeAllListeners('data');
    this.#queue.length = 0;
    this.#unparsed.length = 0;
    this.#parser = new ControlLineParser();
    const secure = binding.wrap(raw, 'control');
    this.tls = binding;
    this.socket = secure;
    this.#listen(secure);
  }

  /** True when the control peer is on IPv6 (not an IPv4-mapped address). */
  get isIpv6(): boolean {
    return this.remoteAddress.includes(':');
  }

  get closed(): Promise<void> {
    return this.#closedPromise;
  }

  /** Aborted when the session ends: for waits a command may do (a listing slot, a lock). */
  get signal(): AbortSignal {
    return this.#lifetime.signal;
  }

  start(): void {
    this.reply(220, this.host.options.greeting);
    this.#loginTimer = setTimeout(() => this.#timeout('Login timeout'), this.host.options.timeouts.login);
    this.#armIdle();
  }

  reply(code: number, text: string | string[]): void {
    this.#noteReply(code, typeof text === 'string' ? text : (text[0] ?? ''));
    this.#write(formatReply(code, text));
  }

  /** Remembers the reply for `command-end` and logs it at debug (troubleshooting, issue 16). */
  #noteReply(code: number, text: string): void {
    this.lastReplyCode = code;
    this.#probes.note(code, text, this.transfer !== undefined);
    this.log.debug({ code, reply: text }, 'reply');
  }

  /**
   * A multi-line reply written as it is produced (STAT of a folder): `first`, the lines of each
   * batch, then `last`. Each batch waits until the peer has read the previous ones, so a reply
   * of any length holds one batch in memory.
   */
  async replyLines(code: number, first: string, batches: AsyncIterable<readonly string[]>, last: string): Promise<void> {
    checkInteger('code', code, 100, 999);
    if (!this.#write(`${code}-${oneLine(first)}\r\n`)) return;
    try {
      for await (const batch of batches) {
        await this.#writable();
        if (!this.#write(batch.map(middleLine).join(''))) return;
      }
    } catch (err) {
      // Half a reply is out: end it, or the client waits for its last line forever.
      this.log.warn({ err }, 'multi-line reply failed');
      last = 'Incomplete: local error in processing';
    }
    this.#noteReply(code, last);
    this.#write(`${code} ${oneLine(last)}\r\n`);
  }

  /** Writes reply bytes; false once the connection is gone. A peer past REPLY_CAP is let go. */
  #write(text: string): boolean {
    const socket = this.socket;
    if (this.#closed || socket.destroyed || socket.writableEnded) return false;
    socket.write(text);
    if (socket.writableLength <= REPLY_CAP) return true;
    this.log.debug({ unsent: socket.writableLength }, 'peer does not read its replies, closing');
    socket.destroy(); // 'close' ends the session
    return false;
  }

  /** Resolves once unsent reply bytes are at most REPLY_HIGH_WATER, or the connection is gone. */
  #writable(): Promise<void> {
    const socket = this.socket;
    if (this.#closed || socket.destroyed || socket.writableLength <= REPLY_HIGH_WATER) return Promise.resolve();
    return new Promise((resolve) => {
      const done = (): void => {
        socket.off('drain', done);
        socket.off('close', done);
        resolve();
      };
      socket.on('drain', done);
      socket.on('close', done);
    });
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

  /** Checks one permission letter at a virtual path; answers 550 itself when refused. */
  allowed(letter: PermissionLetter, path: string): boolean {
    if (this.permissions?.has(letter, path)) return true;
    this.reply(550, `${path}: Permission denied (${PERMISSION_LETTERS[letter]} not allowed)`);
    return false;
  }

  /**
   * allowed() for a raw client argument, checked before any storage call so a refused user
   * learns nothing about what exists. A path that does not resolve passes: the command's own
   * resolve() answers it with 501.
   */
  allowedFor(letter: PermissionLetter, arg: string): boolean {
    let path: string;
    try {
      path = resolveVirtualPath(this.cwd, arg);
    } catch {
      return true;
    }
    return this.allowed(letter, path);
  }

  /** `source` paced by the user's shared upload or download rate; `source` itself when unlimited. */
  throttle(source: Readable, direction: 'up' | 'down', signal?: AbortSignal): Readable {
    const bucket = direction === 'up' ? this.account?.upload : this.account?.download;
    return bucket ? throttle(source, bucket, signal) : source;
  }

  /** Answers `code text` (when given) and closes the control connection. */
  hangUp(code?: number, text?: string): void {
    if (code !== undefined) this.reply(code, text ?? '');
    this.#quitting = true;
    this.socket.end();
    setTimeout(() => this.destroy(), 1000).unref();
  }

  login(username: string, storage: Storage, permissions: Permissions | boolean, grant: AuthGrant = {}, account?: AccountState): void {
    this.username = username;
    this.loggedIn = true;
    this.storage = storage;
    this.permissions =
      typeof permissions === 'boolean' ? new Permissions(permissions ? ALL_PERMISSIONS : READ_ONLY_PERMISSIONS) : permissions;
    this.grant = grant;
    this.account = account;
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
    this.#leaveAccount();
    this.permissions = undefined;
    this.grant = undefined;
    this.cwd = '/';
    this.type = 'A';
    this.restOffset = 0;
    this.rangeEnd = undefined;
    this.renameFrom = undefined;
    this.epsvAll = false;
    resetWireMode(this);
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
    this.#urgent.length = 0;
    this.#unparsed.length = 0;
    this.#lifetime.abort(new Error('session closed'));
    this.#leaveAccount();
    this.socket.destroy();
    // After the running transfer has counted its bytes (it ends soon: it was aborted above).
    const running = this.transfer?.done;
    if (running) void running.then(() => this.#emitDisconnect());
    else this.#emitDisconnect();
    this.#resolveClosed();
  }

  #emitDisconnect(): void {
    this.host.emit('disconnect', {
      sessionId: this.id,
      remoteAddress: this.remoteAddress,
      username: this.username,
      durationMs: Date.now() - this.connectedAt,
      secure: this.secure,
      ...this.totals,
    });
  }

  #leaveAccount(): void {
    const account = this.account;
    if (!account) return;
    this.account = undefined;
    account.sessions--;
    this.host.limits.release(account.name);
    void this.host.abuseStore?.leaveSession(account.name, this.id).catch(() => {});
  }

  /** A revoked user (removed or disabled, e.g. by a users-file reload) is let go at once. */
  #revoked(): boolean {
    const active = this.grant?.active;
    if (!this.loggedIn || !active) return false;
    let ok: boolean;
    try {
      ok = active() !== false;
    } catch (err) {
      this.log.error({ err }, 'grant.active() failed');
      ok = false;
    }
    if (ok) return false;
    this.log.info({ user: this.username }, 'account no longer active, closing');
    this.hangUp(421, 'Your account is no longer active, closing control connection');
    return true;
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

  /*
   * Commands run one at a time, in the order sent, and their replies go out in that order
   * (RFC 959 section 4.2). A transfer command holds the queue until its final reply; what may
   * be heard meanwhile (ABOR, STAT, NOOP, QUIT) runs beside it, in order among itself, and the
   * queue waits for those before its next command:
   *
   *   RETR f   -> 150 ............................ 426 (aborted)
   *   ABOR     ->      (aborts; waits for the 426)      226
   *   NOOP     ->                                           200
   *
   * Backpressure: bytes are parsed only while the queue has room, and a command runs only
   * once the peer has read most of the earlier replies (#writable). A peer that pipelines
   * and never reads fills the queue, then the socket is paused and nothing more is read.
   */
  #onData(chunk: Buffer): void {
    this.#unparsed.push(chunk);
    this.#parse();
  }

  /** Parses received bytes while the queues have room; pauses the socket when they do not. */
  #parse(): void {
    const parser = this.#parser;
    while (this.#unparsed.length > 0 && this.#queue.length + this.#urgent.length < QUEUE_HIGH_WATER) {
      if (this.#closed || this.#quitting) {
        this.#unparsed.length = 0;
        break;
      }
      const head = this.#unparsed[0]!;
      if (head.length > PARSE_STEP) this.#unparsed[0] = head.subarray(PARSE_STEP);
      else this.#unparsed.shift();
      for (const event of parser.push(head.subarray(0, PARSE_STEP))) {
        if (this.#parser !== parser) return; // AUTH TLS ran: the rest was sent in clear, drop it
        if (event.type === 'overflow') {
          this.#enqueue({ verb: '', arg: '' }); // answered 500 in order with the other commands
          continue;
        }
        const command = parseCommand(event.line);
        if (command) this.#enqueue(command);
      }
    }
    if (this.#unparsed.length > 0) this.socket.pause();
    else if (!this.#closed) this.socket.resume();
  }

  #enqueue(command: FtpCommand): void {
    if (this.#closed || this.#quitting) return;
    const spec = this.host.commands.get(command.verb);
    // ABOR, STAT, NOOP and QUIT must be heard while a transfer holds the queue; behind a
    // command still queued they wait their turn, so replies stay in order.
    if (this.transfer && spec?.duringTransfer && this.#queue.length === 0) {
      // Not queued, so not paced: a client flooding these during a transfer is let go.
      if ((this.#pacer?.take() ?? 0) > 0) {
        this.log.warn('too many commands per second during a transfer, closing');
        return this.hangUp(421, 'Too many commands, closing control connection');
      }
      this.#urgent.push(command);
      this.#urgentRun ??= this.#runUrgent().finally(() => (this.#urgentRun = undefined));
      return;
    }
    this.#queue.push(command);
    if (!this.#busy) void this.#drain();
  }

  async #runUrgent(): Promise<void> {
    while (this.#urgent.length > 0 && !this.#closed) {
      await this.#writable();
      const command = this.#urgent.shift();
      if (!command || this.#closed) break;
      this.#parse(); // room freed: read on
      await this.#execute(command, this.host.commands.get(command.verb), true);
    }
  }

  async #drain(): Promise<void> {
    this.#busy = true;
    try {
      while (this.#queue.length > 0 && !this.#closed) {
        // Replies in command order: what ran beside the last transfer (ABOR's 226) goes first.
        while (this.#urgentRun) await this.#urgentRun;
        await this.#writable(); // the peer takes its replies before it gets more
        const wait = this.#pacer?.take() ?? 0; // maxCommandsPerSecond: slow the client down
        if (wait > 0) await sleep(wait);
        const command = this.#queue.shift();
        if (!command || this.#closed) break;
        this.#parse(); // room freed: read on
        await this.#execute(command, this.host.commands.get(command.verb));
      }
    } finally {
      this.#busy = false;
    }
  }

  /** Runs one command and emits `command-end` once it is answered. */
  async #execute(command: FtpCommand, spec: CommandSpec | undefined, urgent = false): Promise<void> {
    const probe = this.#probes.begin(this, command, urgent);
    try {
      await this.#run(command, spec);
    } finally {
      this.#probes.end(this, probe);
    }
  }

  async #run(command: FtpCommand, spec: CommandSpec | undefined): Promise<void> {
    const { verb } = command;
    if (!this.transfer) this.#armIdle();
    if (verb === '') return this.reply(500, 'Command line too long');
    const arg = maskArgument(verb, command.arg);
    this.log.debug({ verb, arg }, 'command');
    this.host.emit('command', { sessionId: this.id, verb, arg });
    if (!spec) return this.reply(500, `${printable(verb)} not understood`);
    if (spec.notImplemented) return this.reply(502, `${verb} not implemented`);
    if (!spec.public && !this.loggedIn) return this.reply(530, 'Please login with USER and PASS');
    if (this.#revoked()) return;
    if (verb !== 'RNTO') this.renameFrom = undefined; // RNTO must follow RNFR directly
    try {
      await spec.handler(this, command.arg, verb);
    } catch (err) {
      // A handler bug must never reach the socket callbacks or the peer: log, answer 451, go on.
      this.log.error({ err, verb }, 'command failed');
      this.reply(451, 'Local error in processing');
    }
  }
}

/** A middle line of a multi-line reply (RFC 959 section 4.2): one starting with a digit gets a space. */
function middleLine(line: string): string {
  let out = '';
  for (const l of line.split(/\r\n|\r|\n/)) {
    const c = l.charCodeAt(0);
    out += (c >= 0x30 && c <= 0x39 ? ' ' : '') + l + '\r\n';
  }
  return out;
}

/** First and last lines of a streamed reply: CR and LF can never start another reply. */
function oneLine(text: string): string {
  return text.replace(/[\r\n]/g, ' ');
}

/** Verbs echoed in replies: printable ASCII only, bounded. */
function printable(verb: string): string {
  const clean = verb.replace(/[^\x21-\x7e]/g, '?');
  return clean.length > 16 ? `${clean.slice(0, 16)}...` : clean;
}
