import { createServer, connect, type Server, type Socket } from 'node:net';
import { normalizeIp } from '../protocol/index.js';
import type { PassivePortPool } from './port-pool.js';
import type { Logger } from 'pino';

export interface DataChannelContext {
  /** The control connection's peer, normalised: the only address a data connection may use. */
  remoteAddress: string;
  /**
   * The trusted proxy the control connection came through (PROXY protocol), if any: a
   * balancer forwarding the passive range connects from its own address, so that address is
   * accepted too (as SFTPGo and ProFTPD do). Anyone able to connect from the proxy's address
   * is trusted as much as the proxy itself.
   */
  proxyAddress?: string;
  /** The control connection's local address: passive listeners bind here. */
  localAddress: string;
  ports: PassivePortPool;
  timeout: number;
  log: Logger;
  /** A passive data connection from another address was dropped (a `security` event). */
  onForeignPeer?: (peer: string) => void;
}

/**
 * The data connection of one session: at most one prepared at a time, used by one transfer.
 *
 *   passive:  PASV/EPSV -> listen -> 227/229 ... client connects (any time) ... RETR -> open()
 *   active:   PORT/EPRT -> remember target -> 200 ... RETR -> open() connects out
 *
 * A passive connection from any address but the control peer's (or, behind a trusted proxy, the
 * proxy's) is dropped and the listener keeps waiting (port stealing, RFC 2577 section 3). Listeners close once used, on close(), or
 * when the session ends, so thousands of transfers leave no port behind.
 */
export class DataChannel {
  readonly #ctx: DataChannelContext;
  #listener: Server | undefined;
  #accepted: Socket | undefined;
  #waiter: ((socket: Socket) => void) | undefined;
  #active: { host: string; port: number } | undefined;

  constructor(ctx: DataChannelContext) {
    this.#ctx = ctx;
  }

  get prepared(): boolean {
    return this.#listener !== undefined || this.#accepted !== undefined || this.#active !== undefined;
  }

  /** Opens a passive listener; resolves with its port. */
  async listenPassive(): Promise<number> {
    this.close();
    // Accepted paused: an upload may take the socket over before it reads a byte (data/large-reads.ts).
    const listener = createServer({ noDelay: true, pauseOnConnect: true }, (socket) => this.#onConnection(listener, socket));
    listener.on('error', (err) => this.#ctx.log.warn({ err }, 'passive listener error'));
    this.#listener = listener;
    const port = await this.#ctx.ports.listen(listener, this.#ctx.localAddress);
    if (this.#listener !== listener) {
      listener.close();
      throw new Error('passive listener replaced');
    }
    this.#ctx.log.trace({ port }, 'passive data listener open');
    return port;
  }

  setActive(host: string, port: number): void {
    this.close();
    this.#active = { host, port };
    this.#ctx.log.trace({ host, port }, 'active data target set');
  }

  /** Resolves with the connected data socket, or rejects after the data timeout. */
  open(signal: AbortSignal): Promise<Socket> {
    if (this.#active) {
      const target = this.#active;
      this.#active = undefined;
      return this.#connectActive(target, signal);
    }
    if (this.#accepted) {
      const socket = this.#accepted;
      this.#accepted = undefined;
      return Promise.resolve(socket);
    }
    if (!this.#listener) return Promise.reject(new Error('no data connection prepared'));
    return new Promise<Socket>((resolve, reject) => {
      const done = (): void => {
        clearTimeout(timer);
        signal.removeEventListener('abort', onAbort);
        this.#waiter = undefined;
      };
      const timer = setTimeout(() => {
        done();
        this.close();
        reject(Object.assign(new Error('data connection timeout'), { code: 'ETIMEDOUT' }));
      }, this.#ctx.timeout);
      const onAbort = (): void => {
        done();
        this.close();
        reject(signal.reason);
      };
      signal.addEventListener('abort', onAbort, { once: true });
      this.#waiter = (socket) => {
        done();
        resolve(socket);
      };
    });
  }

  /** Drops whatever is prepared: listener, unused socket, active target. */
  close(): void {
    this.#active = undefined;
    if (this.#listener) {
      this.#listener.close();
      this.#listener = undefined;
    }
    if (this.#accepted) {
      this.#accepted.destroy();
      this.#accepted = undefined;
    }
  }

  #onConnection(listener: Server, socket: Socket): void {
    const peer = normalizeIp(socket.remoteAddress ?? '');
    const allowed = peer === this.#ctx.remoteAddress || (this.#ctx.proxyAddress !== undefined && peer === this.#ctx.proxyAddress);
    if (!allowed || listener !== this.#listener) {
      this.#ctx.log.debug({ peer }, 'data connection from a foreign address refused');
      if (!allowed) this.#ctx.onForeignPeer?.(peer);
      socket.destroy();
      return;
    }
    this.#ctx.log.trace({ peer, port: socket.remotePort }, 'passive data connection accepted');
    // One connection per PASV: stop listening as soon as the right peer is in.
    listener.close();
    this.#listener = undefined;
    socket.on('error', () => {}); // errors surface through the transfer's pipeline
    if (this.#waiter) this.#waiter(socket);
    else this.#accepted = socket;
  }

  #connectActive(target: { host: string; port: number }, signal: AbortSignal): Promise<Socket> {
    return new Promise<Socket>((resolve, reject) => {
      const socket = connect({ host: target.host, port: target.port, localAddress: this.#ctx.localAddress, noDelay: true });
      const fail = (err: unknown): void => {
        clearTimeout(timer);
        signal.removeEventListener('abort', onAbort);
        socket.destroy();
        reject(err);
      };
      const timer = setTimeout(() => fail(Object.assign(new Error('data connection timeout'), { code: 'ETIMEDOUT' })), this.#ctx.timeout);
      const onAbort = (): void => fail(signal.reason);
      signal.addEventListener('abort', onAbort, { once: true });
      socket.once('error', fail);
      socket.once('connect', () => {
        this.#ctx.log.trace({ host: target.host, port: target.port }, 'active data connection open');
        clearTimeout(timer);
        signal.removeEventListener('abort', onAbort);
        socket.off('error', fail);
        socket.on('error', () => {});
        resolve(socket);
      });
    });
  }
}
