import { printable } from '../util/printable.js';
import { randomBytes } from 'node:crypto';
import type { Socket } from 'node:net';
import type { Readable } from 'node:stream';
import { setTimeout as sleep } from 'node:timers/promises';
import type { Logger } from 'pino';
import { ControlLineParser, parseCommand, formatReply, normalizeIp, type FtpCommand } from '../protocol/index.js';
import { resolveVirtualPath, virtualDirname } from '../storage/path.js';
import type { Storage } from '../storage/types.js';
import { DEFAULT_MISSING, type CommandSpec, type LoggedInContext } from './command.js';
import { DataChannel } from './data-channel.js';
import type { PassivePortPool } from './port-pool.js';
import type { AuthGrant, ResolvedServerOptions } from './options.js';
import type { ServerEvents } from './events.js';
import { replyForError } from './storage-replies.js';
import { runTransfer, type ActiveTransfer, type TransferPlan } from './transfer.js';
import { CommandPacer, type AccountState, type ConnectionLimits } from './abuse/limits.js';
import type { LoginGuard } from './abuse/login-guard.js';
import type { AbuseStore } from './abuse/store.js';
import { allowed, type Permissions } from './permissions.js';
import { throttle } from './throttle.js';
import type { TlsBinding, TlsBindings } from './tls-bindings.js';
import { refuseTemporary } from './upload.js';
import { checkInteger } from '../errors.js';
import type { SessionTotals } from './events.js';
import { climbsAboveRoot, emitSecurity } from './logging/security.js';
import { maskArgument } from './logging/text.js';
import { resetWireMode } from './wire-mode.js';

/*
 * One control connection: reads commands in order, keeps the session's state, writes replies.
 * Its state, and what moves it:
 *
 *   login                                         lifecycle
 *
 *   awaiting-user --USER--> awaiting-pass         open --QUIT, hangUp()--> quitting
 *     ^   ^                      |                  |                         |
 *     |   +---PASS refused (530)-+                  | socket closed,          | socket ended
 *     |                          | PASS ok (230)    | destroy()               | (after a running
 *     |                          v                  v                         |  transfer), destroy()
 *     +------REIN, USER------ logged-in           closed <--------------------+
 *                             {storage, permissions, grant, account}
 *
 * Only a logged-in session has storage and permissions, and only the dispatcher (#execute)
 * hands them to commands, as a LoggedInContext (command.ts). A transfer runs inside its
 * command (runTransfer); the session holds it while it runs, so ABOR, STAT, the idle timer and
 * shutdown see it. Everything here is private; other modules read it through getters and move
 * it through the methods below.
 */

/** Where the login stands; storage and permissions exist only once logged in. */
export type LoginState =
  | { readonly state: 'awaiting-user' }
  | { readonly state: 'awaiting-pass'; readonly username: string }
  | {
      readonly state: 'logged-in';
      readonly username: string;
      readonly storage: Storage;
      readonly permissions: Permissions;
      readonly grant: AuthGrant;
      /** Counters and rate limits shared with the user's other sessions. */
      readonly account: AccountState | undefined;
    };

export type Lifecycle = 'open' | 'quitting' | 'closed';

/** What a Session needs from its FileServer: a private object, never the FileServer itself. */
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
  /** A session logged in (before its 230): the server sweeps crash leftovers of its root once. */
  loggedIn(session: Session): void;
}

/** One command as it runs, for 'command-end': its last reply and the paths it acted on. */
interface Running {
  code: number;
  /** The last reply's text (its first line). */
  reply: string;
  paths: string[];
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

export class Session {
  readonly id = randomBytes(6).toString('hex');
  readonly host: SessionHost;
  readonly remoteAddress: string;
  readonly localAddress: string;
  readonly log: Logger;
  readonly data: DataChannel;
  /** When the control connection was accepted (Date.now()). */
  readonly connectedAt = Date.now();
  /** What this connection's data connections moved (transfer.ts counts, `disconnect` reports). */
  readonly totals: SessionTotals = { filesIn: 0, filesOut: 0, bytesIn: 0, bytesOut: 0 };

  /** The control connection: a TLSSocket after AUTH TLS or on the implicit port. */
  #socket: Socket;
  /** The control connection's TLS binding; PROT P data connections must resume one of its sessions. */
  #tls: TlsBinding | undefined;
  /** PBSZ seen (RFC 4217: required before PROT). */
  #pbsz = false;
  /** Data channel protection: C (clear) or P (private). */
  #prot: 'C' | 'P' = 'C';
  #login: LoginState = { state: 'awaiting-user' };
  /** Failed PASS on this connection. */
  #loginFailures = 0;
  #lifecycle: Lifecycle = 'open';
  /** Replies written while TLS starts, sent once the control connection is a TLSSocket. */
  #heldReplies: string[] | undefined;
  // Transfer parameters.
  #cwd = '/';
  #type: 'A' | 'I' = 'A';
  /** REST's offset, or RANG's first byte, until a transfer command takes it. */
  #restOffset = 0;
  /** RANG's last byte (inclusive), until a transfer command takes it (commands/range.ts). */
  #rangeEnd: number | undefined;
  /** RNFR's path: RNTO must come next. */
  #renameFrom: string | undefined;
  #epsvAll = false;
  #mlstFacts: ReadonlySet<string> = new Set(['type', 'size', 'modify', 'perm', 'unix.mode', 'media-type']);
  #transfer: ActiveTransfer | undefined;

  #parser = new ControlLineParser();
  /** Received bytes not parsed yet: at most one packet, the socket is paused meanwhile. */
  readonly #unparsed: Buffer[] = [];
  /** Commands in the order sent, run one at a time by #drain. */
  readonly #queue: FtpCommand[] = [];
  #busy = false;
  /** ABOR, STAT, NOOP, QUIT heard while a transfer holds the queue, run in order by #runUrgent. */
  readonly #urgent: FtpCommand[] = [];
  #urgentRun: Promise<void> | undefined;
  /** The command #drain is running, and the one #runUrgent runs beside it: replies are theirs. */
  #queued: Running | undefined;
  #beside: Running | undefined;
  readonly #lifetime = new AbortController();
  #loginTimer: NodeJS.Timeout | undefined;
  #idleTimer: NodeJS.Timeout | undefined;
  readonly #closedPromise: Promise<void>;
  #resolveClosed!: () => void;
  #pacer: CommandPacer | undefined;

  constructor(socket: Socket, host: SessionHost, log: Logger, origin?: SessionOrigin) {
    this.#socket = socket;
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

  // ---- What other modules read --------------------------------------------------------------

  /** The control connection: a TLSSocket after AUTH TLS or on the implicit port. */
  get socket(): Socket {
    return this.#socket;
  }

  /** The control connection's TLS binding, once TLS. */
  get tls(): TlsBinding | undefined {
    return this.#tls;
  }

  /** True once the control connection is TLS. */
  get secure(): boolean {
    return this.#tls !== undefined;
  }

  get pbsz(): boolean {
    return this.#pbsz;
  }

  /** Data connection protection (PROT): C clear, P private. */
  get prot(): 'C' | 'P' {
    return this.#prot;
  }

  /** Whether this session's data connections must be TLS: the user's policy, else the server's. */
  get tlsRequired(): boolean {
    return this.grant?.requireTls ?? this.host.options.requireTls;
  }

  get loginState(): LoginState {
    return this.#login;
  }

  get loggedIn(): boolean {
    return this.#login.state === 'logged-in';
  }

  /** The user named by USER (awaiting PASS) or logged in. */
  get username(): string | undefined {
    return this.#login.state === 'awaiting-user' ? undefined : this.#login.username;
  }

  get storage(): Storage | undefined {
    return this.#login.state === 'logged-in' ? this.#login.storage : undefined;
  }

  get permissions(): Permissions | undefined {
    return this.#login.state === 'logged-in' ? this.#login.permissions : undefined;
  }

  /** The grant the user logged in with. */
  get grant(): AuthGrant | undefined {
    return this.#login.state === 'logged-in' ? this.#login.grant : undefined;
  }

  get account(): AccountState | undefined {
    return this.#login.state === 'logged-in' ? this.#login.account : undefined;
  }

  get lifecycle(): Lifecycle {
    return this.#lifecycle;
  }

  get cwd(): string {
    return this.#cwd;
  }

  /** TYPE: A (ASCII, line endings converted) or I (binary). */
  get type(): 'A' | 'I' {
    return this.#type;
  }

  /** After EPSV ALL only EPSV may set up data connections (RFC 2428 section 4). */
  get epsvAll(): boolean {
    return this.#epsvAll;
  }

  /** The facts MLSD and MLST show (OPTS MLST). */
  get mlstFacts(): ReadonlySet<string> {
    return this.#mlstFacts;
  }

  /** The transfer running now, if any (STAT shows it, ABOR ends it). */
  get transfer(): ActiveTransfer | undefined {
    return this.#transfer;
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

  // ---- What commands change ------------------------------------------------------------------

  /** CWD, CDUP: the folder is known to exist. */
  setCwd(path: string): void {
    this.#cwd = path;
  }

  setType(type: 'A' | 'I'): void {
    this.#type = type;
  }

  /** REST: the offset the next RETR, STOR, APPE or STOU starts at. */
  setRestart(offset: number): void {
    this.#restOffset = offset;
    this.#rangeEnd = undefined; // REST replaces a RANG
  }

  /** RANG: the next RETR sends bytes start..end, both inclusive (a REST is replaced). */
  setRange(start: number, end: number): void {
    this.#restOffset = start;
    this.#rangeEnd = end;
  }

  /** Forgets a REST or RANG (a refused RANG, RANG 1 0). */
  clearRestart(): void {
    this.#restOffset = 0;
    this.#rangeEnd = undefined;
  }

  /** RNFR: the path the next command, if it is RNTO, renames. */
  setRenameFrom(path: string): void {
    this.#renameFrom = path;
  }

  setEpsvAll(): void {
    this.#epsvAll = true;
  }

  setMlstFacts(facts: Iterable<string>): void {
    this.#mlstFacts = new Set(facts);
  }

  setPbsz(): void {
    this.#pbsz = true;
  }

  setProtection(level: 'C' | 'P'): void {
    this.#prot = level;
  }

  /**
   * Turns the control connection into TLS (AUTH TLS, or at once on the implicit port).
   * Anything the client pipelined after AUTH in clear text is dropped, so no command can be
   * injected in front of the handshake (the STARTTLS command-injection class of bugs).
   */
  startTls(binding: TlsBinding): void {
    const raw = this.#socket;
    raw.removeAllListeners('data');
    this.#queue.length = 0;
    this.#unparsed.length = 0;
    this.#parser = new ControlLineParser();
    this.#tls = binding;
    const wrap = (): void => {
      const held = this.#heldReplies ?? [];
      this.#heldReplies = undefined;
      if (this.#lifecycle === 'closed' || raw.destroyed) return;
      const secure = binding.wrap(raw, 'control');
      this.#socket = secure;
      this.#listen(secure);
      for (const text of held) this.#write(text); // the implicit port's greeting, a timeout's 421
    };
    // Shared ticket keys: the ClientHello says which node's ticket it resumes (tls-tickets.ts).
    const prepared = binding.prepare(raw);
    if (!prepared) return wrap();
    this.#heldReplies = [];
    void prepared.then(wrap);
  }

  start(): void {
    this.#send(220, this.host.options.greeting);
    this.#loginTimer = setTimeout(() => this.#timeout('Login timeout'), this.host.options.timeouts.login);
    this.#armIdle();
  }

  /** Answers the command running now (the one beside a transfer first: ABOR's 226 is ABOR's). */
  reply(code: number, text: string | string[]): void {
    this.#answer(this.#beside ?? this.#queued, code, text);
  }

  #answer(running: Running | undefined, code: number, text: string | string[]): void {
    this.#noteReply(running, code, typeof text === 'string' ? text : (text[0] ?? ''));
    this.#write(formatReply(code, text));
  }

  /** A reply that answers no command: the greeting, timeouts, shutdown. */
  #send(code: number, text: string): void {
    this.#noteReply(undefined, code, text);
    this.#write(formatReply(code, text));
  }

  /** Remembers the reply for `command-end` and logs it at debug (troubleshooting, issue 16). */
  #noteReply(running: Running | undefined, code: number, text: string): void {
    if (running) {
      running.code = code;
      const nl = text.indexOf('\n');
      running.reply = nl < 0 ? text : text.slice(0, nl);
    }
    this.log.debug({ code, reply: text }, 'reply');
  }

  /**
   * A multi-line reply written as it is produced (STAT of a folder): `first`, the lines of each
   * batch, then `last`. Each batch waits until the peer has read the previous ones, so a reply
   * of any length holds one batch in memory.
   */
  async replyLines(code: number, first: string, batches: AsyncIterable<readonly string[]>, last: string): Promise<void> {
    checkInteger('code', code, 100, 999);
    const running = this.#beside ?? this.#queued;
    if (running) running.code = code;
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
    this.#noteReply(running, code, last);
    this.#write(`${code} ${oneLine(last)}\r\n`);
  }

  /** Writes reply bytes; false once the connection is gone. A peer past REPLY_CAP is let go. */
  #write(text: string): boolean {
    const socket = this.#socket;
    if (this.#lifecycle === 'closed' || socket.destroyed || socket.writableEnded) return false;
    if (this.#heldReplies) {
      // TLS is starting (its ClientHello is being read): nothing may go out in clear now.
      this.#heldReplies.push(text);
      return true;
    }
    socket.write(text);
    if (socket.writableLength <= REPLY_CAP) return true;
    this.log.debug({ unsent: socket.writableLength }, 'peer does not read its replies, closing');
    socket.destroy(); // 'close' ends the session
    return false;
  }

  /** Resolves once unsent reply bytes are at most REPLY_HIGH_WATER, or the connection is gone. */
  #writable(): Promise<void> {
    const socket = this.#socket;
    if (this.#lifecycle === 'closed' || socket.destroyed || socket.writableLength <= REPLY_HIGH_WATER) return Promise.resolve();
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
      return resolveVirtualPath(this.#cwd, arg);
    } catch {
      this.reply(501, 'Invalid path');
      return undefined;
    }
  }

  /** Answers a failed storage call with the right code, naming only the virtual path. */
  fail(err: unknown, path: string, fallback?: number): void {
    this.#fail(this.#beside ?? this.#queued, err, path, fallback);
  }

  #fail(running: Running | undefined, err: unknown, path: string, fallback?: number): number {
    const [code, text] = replyForError(err, path, fallback);
    if (code === 451) this.log.warn({ err, path }, 'storage error');
    this.#answer(running, code, text);
    return code;
  }

  /** `source` paced by the user's shared upload or download rate; `source` itself when unlimited. */
  throttle(source: Readable, direction: 'up' | 'down', signal?: AbortSignal): Readable {
    const bucket = direction === 'up' ? this.account?.upload : this.account?.download;
    return bucket ? throttle(source, bucket, signal) : source;
  }

  /** Answers `code text` (when given) and closes the control connection. */
  hangUp(code?: number, text?: string): void {
    if (code !== undefined) this.reply(code, text ?? '');
    this.#hangUp();
  }

  #hangUp(): void {
    if (this.#lifecycle === 'open') this.#lifecycle = 'quitting';
    this.#socket.end();
    setTimeout(() => this.destroy(), 1000).unref();
  }

  /** USER: awaiting-pass (a logged-in session is reset first: USER starts a new login, RFC 959). */
  expectPassword(username: string): void {
    if (this.#login.state === 'logged-in') this.reset();
    this.#login = { state: 'awaiting-pass', username };
  }

  /** PASS: the user USER named, if any; the login awaits USER again until PASS succeeds. */
  takeUsername(): string | undefined {
    if (this.#login.state !== 'awaiting-pass') return undefined;
    const { username } = this.#login;
    this.#login = { state: 'awaiting-user' };
    return username;
  }

  /** A refused PASS; returns how many this connection has had. */
  loginFailed(): number {
    return ++this.#loginFailures;
  }

  /** PASS verified: logged in, at the root of `storage`. */
  logIn(username: string, storage: Storage, permissions: Permissions, grant: AuthGrant, account: AccountState | undefined): void {
    this.#login = { state: 'logged-in', username, storage, permissions, grant, account };
    this.#cwd = '/';
    clearTimeout(this.#loginTimer);
    this.#loginTimer = undefined;
    this.log.setBindings({ user: username });
    this.host.loggedIn(this);
  }

  /** REIN and USER-after-login: back to the state right after the greeting. */
  reset(): void {
    this.#transfer?.abort();
    this.data.close();
    this.#leaveAccount();
    this.#login = { state: 'awaiting-user' };
    this.#cwd = '/';
    this.#type = 'A';
    this.#restOffset = 0;
    this.#rangeEnd = undefined;
    this.#renameFrom = undefined;
    this.#epsvAll = false;
    resetWireMode(this);
    if (!this.#loginTimer) {
      this.#loginTimer = setTimeout(() => this.#timeout('Login timeout'), this.host.options.timeouts.login);
    }
  }

  /** QUIT: finish the reply, then close once any running transfer is done. */
  quit(): void {
    if (this.#lifecycle === 'open') this.#lifecycle = 'quitting';
    this.reply(221, 'Goodbye');
    if (!this.#transfer) this.#socket.end();
  }

  /**
   * Runs a data transfer for the command running now (transfer.ts): the session holds it
   * while it runs, and its replies are that command's.
   */
  runTransfer(plan: TransferPlan): Promise<void> {
    const running = this.#queued;
    return runTransfer(this, plan, {
      reply: (code, text) => this.#answer(running, code, text),
      fail: (err, path) => this.#fail(running, err, path),
      begin: (transfer) => {
        this.#transfer = transfer;
        clearTimeout(this.#idleTimer); // the idle timer never fires while a transfer runs
        this.#idleTimer = undefined;
      },
      end: () => {
        this.#transfer = undefined;
        if (this.#lifecycle === 'quitting') this.#socket.end();
        else this.#armIdle();
      },
    });
  }

  /** Server shutdown: idle sessions get 421 now; a running transfer may finish until `deadline`. */
  async shutdown(deadline: number): Promise<void> {
    const transfer = this.#transfer;
    if (transfer) {
      const wait = Math.max(0, deadline - Date.now());
      let timer: NodeJS.Timeout | undefined;
      await Promise.race([transfer.done, new Promise((r) => (timer = setTimeout(r, wait)))]);
      clearTimeout(timer);
      if (this.#transfer) {
        this.#transfer.abort();
        await transfer.done; // its 426 goes out before the 421
      }
    }
    this.#send(421, 'Service closing control connection');
    this.#socket.end();
    const timer = setTimeout(() => this.destroy(), 1000);
    await this.#closedPromise;
    clearTimeout(timer);
  }

  /** Ends everything this session holds: timers, data channel, transfer, socket. Idempotent. */
  destroy(): void {
    if (this.#lifecycle === 'closed') return;
    this.#lifecycle = 'closed';
    clearTimeout(this.#loginTimer);
    clearTimeout(this.#idleTimer);
    this.#transfer?.abort();
    this.data.close();
    this.#queue.length = 0;
    this.#urgent.length = 0;
    this.#unparsed.length = 0;
    this.#lifetime.abort(new Error('session closed'));
    this.#leaveAccount();
    this.#socket.destroy();
    // After the running transfer has counted its bytes (it ends soon: it was aborted above).
    const running = this.#transfer?.done;
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

  /** Gives the session's slot on its account back (the login itself stays: disconnect names the user). */
  #leaveAccount(): void {
    const login = this.#login;
    if (login.state !== 'logged-in' || !login.account) return;
    this.#login = { ...login, account: undefined };
    login.account.sessions--;
    this.host.limits.release(login.account.name);
    void this.host.abuseStore?.leaveSession(login.account.name, this.id).catch(() => {});
  }

  /** A revoked user (removed or disabled, e.g. by a users-file reload) is let go at once. */
  #revoked(): boolean {
    const active = this.grant?.active;
    if (!active) return false;
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

  /** A method, not a field read, so TypeScript does not keep a narrowing across an await. */
  #isClosed(): boolean {
    return this.#lifecycle === 'closed';
  }

  #armIdle(): void {
    clearTimeout(this.#idleTimer);
    if (this.#lifecycle === 'closed') return;
    this.#idleTimer = setTimeout(() => this.#timeout('Idle timeout'), this.host.options.timeouts.idle);
  }

  #timeout(why: string): void {
    if (this.#transfer) return; // a running transfer keeps the session alive
    this.log.info(why.toLowerCase());
    this.#send(421, `${why}, closing control connection`);
    this.#hangUp();
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
      if (this.#lifecycle !== 'open') {
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
    if (this.#unparsed.length > 0) this.#socket.pause();
    else if (this.#lifecycle !== 'closed') this.#socket.resume();
  }

  #enqueue(command: FtpCommand): void {
    if (this.#lifecycle !== 'open') return;
    const spec = this.host.commands.get(command.verb);
    // ABOR, STAT, NOOP and QUIT must be heard while a transfer holds the queue; behind a
    // command still queued they wait their turn, so replies stay in order.
    if (this.#transfer && spec?.duringTransfer && this.#queue.length === 0) {
      // Not queued, so not paced: a client flooding these during a transfer is let go.
      if ((this.#pacer?.take() ?? 0) > 0) {
        this.log.warn('too many commands per second during a transfer, closing');
        this.#send(421, 'Too many commands, closing control connection');
        return this.#hangUp();
      }
      this.#urgent.push(command);
      this.#urgentRun ??= this.#runUrgent().finally(() => (this.#urgentRun = undefined));
      return;
    }
    this.#queue.push(command);
    if (!this.#busy) void this.#drain();
  }

  async #runUrgent(): Promise<void> {
    while (this.#urgent.length > 0 && !this.#isClosed()) {
      await this.#writable();
      const command = this.#urgent.shift();
      if (!command || this.#isClosed()) break;
      this.#parse(); // room freed: read on
      await this.#execute(command, 'beside');
    }
  }

  async #drain(): Promise<void> {
    this.#busy = true;
    try {
      while (this.#queue.length > 0 && !this.#isClosed()) {
        // Replies in command order: what ran beside the last transfer (ABOR's 226) goes first.
        while (this.#urgentRun) await this.#urgentRun;
        await this.#writable(); // the peer takes its replies before it gets more
        const wait = this.#pacer?.take() ?? 0; // maxCommandsPerSecond: slow the client down
        if (wait > 0) await sleep(wait);
        const command = this.#queue.shift();
        if (!command || this.#isClosed()) break;
        this.#parse(); // room freed: read on
        await this.#execute(command, 'queued');
      }
    } finally {
      this.#busy = false;
    }
  }

  /**
   * Runs one command: 'command' before, 'command-end' after (with its last reply, the paths it
   * acted on and how long it took), whatever happened between.
   */
  async #execute(command: FtpCommand, lane: 'queued' | 'beside'): Promise<void> {
    const { verb, arg } = command;
    if (!this.#transfer) this.#armIdle();
    if (verb === '') return this.#send(500, 'Command line too long');
    const masked = maskArgument(verb, arg);
    this.log.debug({ verb, arg: masked }, 'command');
    this.host.emit('command', { sessionId: this.id, verb, arg: masked });
    const running: Running = { code: 0, reply: '', paths: [] };
    const started = Date.now();
    const secure = this.secure;
    const userBefore = this.username;
    if (lane === 'queued') this.#queued = running;
    else this.#beside = running;
    try {
      await this.#dispatch(command, running);
    } catch (err) {
      // A handler bug must never reach the socket callbacks or the peer: log, answer 451, go on.
      this.log.error({ err, verb }, 'command failed');
      this.#answer(running, 451, 'Local error in processing');
    } finally {
      if (lane === 'queued') this.#queued = undefined;
      else this.#beside = undefined;
      this.host.emit('command-end', {
        sessionId: this.id,
        remoteAddress: this.remoteAddress,
        username: this.username ?? userBefore,
        verb,
        arg: masked,
        paths: running.paths,
        code: running.code,
        reply: running.reply,
        durationMs: Date.now() - started,
        secure,
      });
    }
  }

  /** Enforces the command's rules (command.ts), then runs its handler. */
  async #dispatch(command: FtpCommand, running: Running): Promise<void> {
    const { verb, arg } = command;
    const spec = this.host.commands.get(verb);
    if (!spec) return this.reply(500, `${printable(verb, 16)} not understood`);
    if (spec.notImplemented) return this.reply(502, `${verb} not implemented`);
    const login = this.#login;
    if (spec.login && login.state !== 'logged-in') return this.reply(530, 'Please login with USER and PASS');
    if (this.#revoked()) return;
    const renameFrom = this.#renameFrom; // RNTO must follow RNFR directly
    this.#renameFrom = undefined;
    if (!spec.login) return spec.handler(this, arg, verb);
    if (login.state !== 'logged-in') return; // (checked above)
    const ctx = this.#context(login, command, spec, running, renameFrom);
    // The spec's own handler type narrows the context; the rules above are what make it hold.
    if (ctx) await (spec.handler as (ctx: LoggedInContext, arg: string, verb: string) => Promise<void> | void)(ctx, arg, verb);
  }

  /**
   * Applies a logged-in command's rules (command.ts): the REST offset, RNFR before RNTO, the
   * argument, the path and its permission. Answers a refusal itself and returns undefined.
   */
  #context(
    login: Extract<LoginState, { state: 'logged-in' }>,
    command: FtpCommand,
    spec: Exclude<CommandSpec, { login: false }>,
    running: Running,
    renameFrom: string | undefined,
  ): LoggedInContext | undefined {
    const { arg } = command;
    const { username, storage, permissions, grant, account } = login;
    const base = {
      session: this,
      username,
      storage,
      permissions,
      grant,
      account,
      restart: 0,
      rangeEnd: undefined as number | undefined,
      actOn: (...paths: string[]) => void (running.paths = paths),
    };
    if (spec.restart) {
      base.restart = this.#restOffset;
      base.rangeEnd = this.#rangeEnd;
      this.#restOffset = 0;
      this.#rangeEnd = undefined;
    }
    // Beside a transfer, ABOR and STAT act on the transfer: no argument or path is looked at.
    if (spec.duringTransfer && this.#transfer) return { ...base, path: undefined };
    if (spec.follows && renameFrom === undefined) return void this.reply(503, 'RNFR required first');
    if (spec.arg === 'required' && arg === '') return void this.reply(501, spec.missing ?? DEFAULT_MISSING);
    let text: string | null = spec.arg === 'path' || spec.arg === 'path-or-cwd' ? arg : null;
    if (spec.pathIn) {
      const picked = spec.pathIn(arg);
      if (picked !== null && typeof picked === 'object') return void this.reply(501, picked.malformed);
      text = picked;
    }
    if (text === null) {
      // No path named (STOU without a name): the folder an entry would go into is the cwd.
      if (spec.perm && spec.permOn === 'folder' && !allowed(this, permissions, spec.perm, this.#cwd)) return undefined;
      return { ...base, path: undefined };
    }
    if (text === '' && spec.arg !== 'path-or-cwd') return void this.reply(501, (spec.arg === 'path' && spec.missing) || DEFAULT_MISSING);
    const path = this.resolve(text);
    if (path === undefined) return undefined;
    // Clamped at the root, answered as for any path, and reported: it may be an attack.
    if (climbsAboveRoot(this.#cwd, text)) emitSecurity(this, 'traversal', `${command.verb} ${text}`);
    base.actOn(...(renameFrom !== undefined && spec.follows ? [renameFrom, path] : [path]));
    if (spec.perm && !allowed(this, permissions, spec.perm, spec.permOn === 'folder' ? virtualDirname(path) : path)) return undefined;
    if (refuseTemporary(this, path)) return undefined;
    return { ...base, path, ...(spec.follows ? { renameFrom } : {}) };
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

