import { createServer, type AddressInfo, type Server, type Socket } from 'node:net';
import { pino, type Logger } from 'pino';
import { typedEmitter } from '../util/typed-emitter.js';
import { FtpError } from '../errors.js';
import { formatReply } from '../protocol/index.js';
import type { CommandSpec } from './command.js';
import { buildCommandRegistry } from './commands/index.js';
import type { ServerEvents } from './events.js';
import { resolveServerOptions, type FileServerOptions, type ResolvedServerOptions } from './options.js';
import { PassivePortPool } from './port-pool.js';
import { Session, type SessionHost } from './session.js';


/**
 * An FTP server. Each control connection becomes a Session; commands live in commands/.
 *
 *   const server = new FileServer({ anonymous: { root: '/srv/ftp' } });
 *   const { port } = await server.listen();
 */
export class FileServer extends typedEmitter<ServerEvents>() implements SessionHost {
  readonly options: ResolvedServerOptions;
  readonly commands: ReadonlyMap<string, CommandSpec> = buildCommandRegistry();
  readonly ports: PassivePortPool;
  readonly #log: Logger;
  readonly #sessions = new Set<Session>();
  #server: Server | undefined;
  #closing: Promise<void> | undefined;

  constructor(options: FileServerOptions = {}) {
    super();
    this.options = resolveServerOptions(options);
    this.ports = new PassivePortPool(this.options.pasvPortRange);
    this.#log = options.logger ?? pino({ level: 'silent' });
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
    if (this.#server) return Promise.reject(new FtpError('FTPKIT_ERR_INVALID_ARGUMENT', 'listen() was already called'));
    if (this.#closing) return Promise.reject(new FtpError('FTPKIT_ERR_CLOSED', 'the server is closed'));
    const server = createServer({ noDelay: true }, (socket) => this.#accept(socket));
    this.#server = server;
    return new Promise((resolve, reject) => {
      const onError = (err: Error): void => {
        this.#server = undefined;
        reject(err);
      };
      server.once('error', onError);
      server.listen({ host: this.options.host, port: this.options.port, backlog: 1024 }, () => {
        server.off('error', onError);
        server.on('error', (err) => {
          this.#log.error({ err }, 'server error');
          if (this.listenerCount('error') > 0) this.emit('error', err);
        });
        const address = server.address() as AddressInfo;
        this.#log.info({ address }, 'listening');
        this.emit('listening', address);
        resolve(address);
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
    const server = this.#server;
    const stopped = server ? new Promise<void>((resolve) => server.close(() => resolve())) : Promise.resolve();
    const deadline = Date.now() + this.options.closeTimeout;
    await Promise.all([...this.#sessions].map((s) => s.shutdown(deadline)));
    await stopped;
    this.#log.info('closed');
  }

  #accept(socket: Socket): void {
    if (this.#closing || this.#sessions.size >= this.options.maxConnections) {
      socket.on('error', () => {});
      socket.end(formatReply(421, this.#closing ? 'Service closing' : 'Too many connections, try again later'));
      return;
    }
    let session: Session;
    try {
      session = new Session(socket, this, this.#log);
    } catch (err) {
      // A socket that died before we saw it (no remote address) must not take the server down.
      this.#log.debug({ err }, 'connection dropped before setup');
      socket.destroy();
      return;
    }
    this.#sessions.add(session);
    void session.closed.then(() => this.#sessions.delete(session));
    session.log.debug('connect');
    this.emit('connect', { sessionId: session.id, remoteAddress: session.remoteAddress });
    session.start();
  }
}
