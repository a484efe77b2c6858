import { createServer, type AddressInfo, type Server, type Socket } from 'node:net';
import type { SecureContextOptions } from 'node:tls';
import { pino, type Logger } from 'pino';
import { typedEmitter } from '../util/typed-emitter.js';
import { FtpError } from '../errors.js';
import { formatReply } from '../protocol/index.js';
import { buildCommandRegistry } from './commands/index.js';
import type { ServerEvents } from './events.js';
import { prepareDataLayer } from '../data/index.js';
import { resolveServerOptions, type FileServerOptions, type ResolvedServerOptions } from './options.js';
import { PassivePortPool } from './port-pool.js';
import { ConnectionLimits } from './abuse/limits.js';
import { LoginGuard } from './abuse/login-guard.js';
import { normalizeIp } from '../protocol/index.js';
import { Session, type SessionHost, type SessionOrigin } from './session.js';
import { sweepAfterCrash } from './upload.js';
import type { LockManager } from './locks/index.js';
import type { Storage } from '../storage/types.js';
import { refuseInTls, TlsBindings } from './tls-bindings.js';
import { zeroCopy } from '../data/zero-copy.js';
import type { AbuseStore } from './abuse/store.js';
import { closeOnUntrustedHeader, isTrustedProxy, readProxyHeader } from './proxy-protocol.js';
import { RedisLockManager } from './redis/lock-manager.js';
import { RedisAbuseStore } from './redis/abuse-store.js';
import { attachAuditLog } from './logging/audit.js';
import { StatsCollector, type ServerStats } from './logging/stats.js';

/** How long listen() waits for Redis to answer before listening without it. */
const REDIS_STARTUP_WAIT = 5000;

/** The private host of a server's sessions, for tests that look inside (not exported by the package). */
let hostOf: (server: FileServer) => SessionHost;

/**
 * An FTP server. Each control connection becomes a Session; commands live in commands/.
 *
 *   const server = new FileServer({ anonymous: { root: '/srv/ftp' } });
 *   const { port } = await server.listen();
 *
 * Its internals (options, command table, passive ports, limits, login guard, TLS bindings) are
 * private: sessions get them through a host object of their own, never through the server.
 */
export class FileServer extends typedEmitter<ServerEvents>() {
  readonly #options: ResolvedServerOptions;
  /** What sessions see of the server. */
  readonly #host: SessionHost;
  /** Sessions per address and per user, transfers and rate limits per user. */
  readonly #limits = new ConnectionLimits();
  /** Failed-login delays and bans (undefined with `loginGuard: false`). */
  readonly #loginGuard: LoginGuard | undefined;
  /** One TLS binding per control connection (data connections must resume its session); undefined without `tls`. */
  readonly #tls: TlsBindings | undefined;
  readonly #log: Logger;
  readonly #sessions = new Set<Session>();
  #server: Server | undefined;
  #implicit: Server | undefined;
  #closing: Promise<void> | undefined;
  /** Roots whose crash leftovers were swept (upload.ts). */
  readonly #swept = new Set<string | Storage>();
  /** Implicit-FTPS refusals whose 421 is still being sent inside TLS. */
  #refusing = 0;
  /** Connections from a trusted proxy whose PROXY header has not arrived yet. */
  readonly #awaitingHeader = new Set<Socket>();
  /**
   * Every event again, for the server's own counters (stats()): they hear the events without
   * listening on the server, so its public listener lists stay the embedder's.
   */
  readonly #internal = new (typedEmitter<ServerEvents>())();
  readonly #stats = new StatsCollector(this.#internal);

  static {
    hostOf = (server) => server.#host;
  }

  constructor(options: FileServerOptions = {}) {
    super();
    const resolved = resolveServerOptions(options);
    prepareDataLayer(resolved);
    this.#options = resolved;
    this.#loginGuard = resolved.loginGuard ? new LoginGuard(resolved.loginGuard) : undefined;
    this.#tls = resolved.tls ? new TlsBindings(resolved.tls) : undefined;
    this.#log = options.logger ?? pino({ level: 'silent' });
    const redis = resolved.redis;
    if (redis) {
      redis.setLogger(this.#log);
      if (resolved.locks instanceof RedisLockManager) resolved.locks.setLogger(this.#log);
    }
    if (options.audit !== undefined && typeof options.audit !== 'boolean') throw new FtpError('FTPKIT_ERR_INVALID_ARGUMENT', 'audit must be a boolean');
    if (options.logger && options.audit !== false) attachAuditLog(this, options.logger);
    // Loaded now, not at the first download: its thread and epoll descriptor live as long as the process.
    if (resolved.zeroCopy) zeroCopy();
    this.#host = {
      options: resolved,
      commands: buildCommandRegistry(),
      ports: new PassivePortPool(resolved.pasvPortRange),
      limits: this.#limits,
      loginGuard: this.#loginGuard,
      abuseStore: resolved.abuseStore,
      tls: this.#tls,
      emit: (event, ...args) => this.#emit(event, ...args),
      // The first login into a root sweeps what a crash left there (upload.ts).
      loggedIn: (session) => sweepAfterCrash(this.#swept, session),
    };
  }

  /** Emits `event` to the server's own counters, then to the embedder's listeners. */
  #emit<E extends keyof ServerEvents>(event: E, ...args: Parameters<ServerEvents[E]>): boolean {
    this.#internal.emit(event, ...args);
    return this.emit(event, ...args);
  }

  /**
   * Swaps the certificate (SIGHUP in ftp-serve) without dropping anyone: new handshakes use the
   * new one; open sessions keep the context they started with, so their data connections still
   * resume. Throws on a bad certificate, keeping the old one.
   */
  setTls(tls: SecureContextOptions): void {
    if (!this.#tls) throw new FtpError('FTPKIT_ERR_INVALID_ARGUMENT', 'the server was created without tls');
    this.#tls.setOptions(tls);
  }

  /** The implicit FTPS address, once listening (with implicitTlsPort). */
  implicitAddress(): AddressInfo | undefined {
    const addr = this.#implicit?.address();
    return addr && typeof addr === 'object' ? addr : undefined;
  }

  /**
   * Lifts the failed-login ban on `address` (IPv4, IPv6 or IPv4-mapped), or on every address
   * when none is given, and forgets their failures. Returns how many bans were lifted; 0 with
   * `loginGuard: false`. ftp-serve calls it to lift bans without a restart.
   */
  unban(address?: string): number {
    const ip = address === undefined ? undefined : normalizeIp(address);
    // A shared store lifts it for every node (they check it at each connection); in the background.
    this.#options.abuseStore?.unban(ip).catch((err: unknown) => this.#log.warn({ err }, 'unban in the shared store failed'));
    return this.#loginGuard?.unban(ip) ?? 0;
  }

  /** The shared ban and session store (options.abuseStore, or the Redis one `redis` made). */
  get abuseStore(): AbuseStore | undefined {
    return this.#options.abuseStore;
  }

  /**
   * Counters since the server was created: sessions, logins, failed logins, bans, transfers
   * (running, done, failed), bytes in and out, final replies by class, security events.
   * ftp-serve's `--metrics` serves them to Prometheus (see serveMetrics).
   */
  stats(): ServerStats {
    return this.#stats.snapshot();
  }

  /** The lock manager shared by the sessions (options.locks, or the in-memory default). */
  get locks(): LockManager {
    return this.#options.locks;
  }

  /** Open control connections. */
  get connections(): number {
    return this.#sessions.size;
  }

  /** The bound address, once listening. */
  address(): AddressInfo | undefined {
    const addr = this.#server?.address();
    return addr && typeof addr === 'object' ? addr : undefined;
  }

  /** Starts accepting connections; resolves with the bound address (read the port when 0 was asked). */
  listen(): Promise<AddressInfo> {
    if (this.#server) return Promise.reject(new FtpError('FTPKIT_ERR_STATE', 'listen() was already called'));
    if (this.#closing) return Promise.reject(new FtpError('FTPKIT_ERR_CLOSED', 'the server is closed'));
    const server = createServer({ noDelay: true }, (socket) => this.#accept(socket, false));
    this.#server = server;
    const implicitPort = this.#options.implicitTlsPort;
    const implicit = implicitPort === undefined ? undefined : createServer({ noDelay: true }, (socket) => this.#accept(socket, true));
    this.#implicit = implicit;
    return (async () => {
      try {
        // Loads ioredis and gives Redis a few seconds to answer; unreachable, the server listens
        // anyway and answers logins 421 until it comes (the outage is logged).
        await this.#options.redis?.ready(REDIS_STARTUP_WAIT).catch(() => {});
        const address = await this.#bind(server, this.#options.port);
        if (implicit) {
          const tlsAddress = await this.#bind(implicit, implicitPort!);
          this.#log.info({ address: tlsAddress }, 'listening (implicit FTPS)');
        }
        this.#log.info({ address }, 'listening');
        this.#emit('listening', address);
        return address;
      } catch (err) {
        server.close();
        implicit?.close();
        this.#server = undefined;
        this.#implicit = undefined;
        throw err;
      }
    })();
  }

  #bind(server: Server, port: number): Promise<AddressInfo> {
    return new Promise((resolve, reject) => {
      server.once('error', reject);
      server.listen({ host: this.#options.host, port, backlog: 1024 }, () => {
        server.off('error', reject);
        server.on('error', (err) => {
          this.#log.error({ err }, 'server error');
          if (this.listenerCount('error') > 0) this.emit('error', err);
        });
        resolve(server.address() as AddressInfo);
      });
    });
  }

  /**
   * Graceful stop: no new connections; idle sessions get 421 now; running transfers may finish
   * until closeTimeout, then end. Resolves when no socket, timer or file is left. Idempotent.
   */
  close(): Promise<void> {
    this.#closing ??= this.#close();
    return this.#closing;
  }

  async #close(): Promise<void> {
    const stopped = Promise.all(
      [this.#server, this.#implicit].map((server) => server && new Promise<void>((resolve) => server.close(() => resolve()))),
    );
    const deadline = Date.now() + this.#options.closeTimeout;
    await Promise.all([...this.#sessions].map((s) => s.shutdown(deadline)));
    for (const socket of this.#awaitingHeader) socket.destroy();
    await stopped;
    if (this.#options.redis) {
      // What `redis` made: their keys expire on their own if Redis cannot be told.
      const { locks, abuseStore } = this.#options;
      if (locks instanceof RedisLockManager && locks.connection === this.#options.redis) await locks.close();
      if (abuseStore instanceof RedisAbuseStore && abuseStore.connection === this.#options.redis) await abuseStore.close();
      await this.#options.redis.close();
    }
    this.#log.info('closed');
  }

  /** Why a new connection gets 421 at once: closing, too many connections, or a banned address. */
  #refusal(address: string): string | undefined {
    if (this.#closing) return 'Service closing';
    if (this.#sessions.size >= this.#options.maxConnections) return 'Too many connections, try again later';
    const banned = this.#loginGuard?.bannedFor(address) ?? 0;
    if (banned > 0) {
      this.#log.debug({ remote: address }, 'connection from a banned address refused'); // debug: a flood must not flood the log
      return `Too many failed logins from your address, try again in ${Math.ceil(banned / 1000)} s`;
    }
    const perAddress = this.#options.maxConnectionsPerAddress;
    if (perAddress > 0 && this.#limits.sessionsFrom(address) >= perAddress) {
      this.#log.debug({ remote: address, limit: perAddress }, 'too many connections from one address');
      return `Too many connections from your address (at most ${perAddress}), try again later`;
    }
    return undefined;
  }

  /**
   * The shared store's word (abuseStore): a ban from any node, or 421 while the store is
   * unreachable (the outage itself is logged once by the Redis connection, not per refusal).
   */
  async #sharedRefusal(store: AbuseStore, address: string): Promise<string | undefined> {
    const unavailable = 'Service temporarily unavailable, try again later';
    if (this.#closing) return 'Service closing';
    if (!store.available) {
      this.#log.debug({ remote: address }, 'connection refused: shared store unreachable');
      return unavailable;
    }
    if (!this.#loginGuard) return this.#refusal(address);
    let left: number;
    try {
      left = await store.bannedFor(address);
    } catch {
      this.#log.debug({ remote: address }, 'connection refused: shared store unreachable');
      return unavailable;
    }
    this.#loginGuard.syncBan(address, left);
    return this.#refusal(address);
  }

  /**
   * A new control connection. From a trusted proxy (proxyProtocol) it must first send a PROXY
   * header naming the client; the session then uses the client's address for everything
   * (bans, limits, logs, events, PORT/EPRT) and accepts passive data connections from the
   * client or from that proxy.
   */
  #accept(socket: Socket, implicitTls: boolean): void {
    socket.on('error', () => {}); // until (and besides) the session's own handler
    const proxy = this.#options.proxyProtocol;
    const peer = normalizeIp(socket.remoteAddress ?? '');
    if (proxy && isTrustedProxy(proxy, peer)) {
      this.#awaitingHeader.add(socket);
      void readProxyHeader(socket, proxy.timeout).then((outcome) => {
        this.#awaitingHeader.delete(socket);
        if (!outcome.ok) {
          this.#log.info({ proxy: peer, reason: outcome.reason }, 'connection from a trusted proxy without a valid PROXY header closed');
          socket.destroy();
          return;
        }
        const h = outcome.header;
        // LOCAL: the proxy's own connection (a health check): its address is the real one.
        const origin = h.command === 'local' ? undefined : { remoteAddress: normalizeIp(h.source.address), proxyAddress: peer };
        void this.#admit(socket, implicitTls, origin);
      });
      return;
    }
    if (proxy) {
      closeOnUntrustedHeader(socket, () => this.#log.info({ remote: peer }, 'PROXY header from an untrusted address: connection closed'));
    }
    void this.#admit(socket, implicitTls, undefined);
  }

  async #admit(socket: Socket, implicitTls: boolean, origin: SessionOrigin | undefined): Promise<void> {
    const address = origin?.remoteAddress ?? normalizeIp(socket.remoteAddress ?? '');
    const store = this.#options.abuseStore;
    // With a shared store its word comes first: a ban lifted on another node is lifted here.
    const refusal = store ? await this.#sharedRefusal(store, address) : this.#refusal(address);
    if (socket.destroyed) return;
    if (refusal) {
      socket.on('error', () => {});
      if (implicitTls) this.#refuseImplicit(socket, refusal);
      else socket.end(formatReply(421, refusal));
      return;
    }
    let session: Session;
    try {
      session = new Session(socket, this.#host, this.#log, origin);
    } catch (err) {
      // A socket that died before we saw it (no remote address) must not take the server down.
      this.#log.debug({ err }, 'connection dropped before setup');
      socket.destroy();
      return;
    }
    this.#sessions.add(session);
    this.#limits.addAddress(session.remoteAddress);
    void session.closed.then(async () => {
      this.#sessions.delete(session);
      this.#limits.removeAddress(session.remoteAddress);
      await session.transfer?.done; // its data connection is over before the TLS binding is re-keyed and reused
      session.tls?.release();
    });
    session.log.debug(origin ? { proxy: origin.proxyAddress } : {}, 'connect');
    this.#emit('connect', { sessionId: session.id, remoteAddress: session.remoteAddress, secure: implicitTls });
    if (implicitTls && this.#tls) session.startTls(this.#tls.acquire());
    session.start();
    if (socket.isPaused()) socket.resume(); // paused while the PROXY header was read
  }

  /**
   * The implicit port speaks only TLS, so its 421 goes inside TLS, never in clear. A handshake
   * costs CPU, and refusals are what floods get: past a few at once the connection is just closed.
   */
  #refuseImplicit(socket: Socket, text: string): void {
    if (this.#refusing >= IMPLICIT_REFUSALS) {
      socket.destroy();
      return;
    }
    this.#refusing++;
    if (!this.#tls) return void socket.destroy(); // (no implicit port without tls)
    refuseInTls(socket, this.#tls, formatReply(421, text), Math.min(IMPLICIT_REFUSAL_TIMEOUT, this.#options.timeouts.login)).finally(() => this.#refusing--);
  }
}

export { hostOf };

/** Implicit-FTPS refusals answered inside TLS at the same time; later ones are closed without a word. */
const IMPLICIT_REFUSALS = 16;
/** How long such a refusal may take (handshake and 421), in ms. */
const IMPLICIT_REFUSAL_TIMEOUT = 5000;
