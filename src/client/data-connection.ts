import net from 'node:net';
import type { Readable } from 'node:stream';
import type tls from 'node:tls';
import { FtpError } from '../errors.js';
import {
  encodeHostPort,
  formatEprtArg,
  isNegative,
  normalizeIp,
  parseEpsvText,
  parsePasvText,
  type HostPort,
} from '../protocol/index.js';
import { connectWithLargeReads, type ReadTarget } from '../data/large-reads.js';
import { expect, protocolError, replyError, type ControlSession } from './control-session.js';
import { handshake, secureData, type ControlTls } from './tls.js';

/** A connected data connection: write to `socket`, read from `readable` (the socket itself, or a large-read view of it). */
export interface DataConnection {
  socket: net.Socket;
  readable: Readable;
  /** Large-read connections only: take the reads over with recycled buffers (data/receive-blocks.ts). */
  attach?: (target: ReadTarget) => void;
  /** Large-read connections only: stop Node's reads so the addon's thread reads the socket (true), or keep reading (false). */
  handOver?: () => boolean;
  /** Large-read connections only: stop Node's reads until the handler takes them (before the transfer command). */
  hold?: () => void;
}

/** A data connection being set up: connected already (passive) or awaiting the server (active). */
export interface PendingDataConnection {
  /** The connection; for active mode this waits for the server to connect. */
  socket(): Promise<DataConnection>;
  /** Idempotent; `error` (if given) becomes the reason a pending `socket()` rejects. */
  destroy(error?: Error): void;
}

/** Deeper buffers on accepted (active mode) sockets: the data path is where throughput is won or lost. */
const DATA_HIGH_WATER_MARK = 1024 * 1024;

export async function openDataConnection(session: ControlSession): Promise<PendingDataConnection> {
  const channel = session.options.active ? await openActive(session) : await openPassive(session);
  const control = session.control.tls;
  return control ? protectPending(channel, control, session.options.timeout) : channel;
}

/**
 * PROT P: the data connection becomes a TLS client resuming the control
 * session. The handshake starts as soon as the TCP connection exists (the
 * server answers it once the transfer command arrives) and `socket()`
 * resolves only when it is secure, so the transfer never moves clear bytes.
 */
function protectPending(channel: PendingDataConnection, control: ControlTls, timeout: number): PendingDataConnection {
  let secure: tls.TLSSocket | undefined;
  let destroyed: Error | undefined;
  const ready = channel.socket().then(async ({ socket }) => {
    if (destroyed) throw destroyed;
    secure = secureData(socket, control);
    secure.on('error', ignore);
    await handshake(secure, control.settings, timeout, 'data connection');
    return { socket: secure as net.Socket, readable: secure as Readable };
  });
  ready.catch(ignore);
  return {
    socket: () => ready,
    destroy: (error) => {
      destroyed ??= error ?? new FtpError('FTPKIT_ERR_DATA_CONNECTION', 'data connection closed');
      channel.destroy(error);
      secure?.destroy(error);
    },
  };
}

/**
 * Passive (RFC 2428 EPSV, then RFC 959 PASV): we connect to the server.
 * PASV names a host; a hostile server can name someone else's and make us
 * its proxy (RFC 2577 bounce), so unless the caller opts in we keep the port
 * and use the control connection's host.
 */
async function openPassive(session: ControlSession): Promise<PendingDataConnection> {
  let target: HostPort | null = null;
  if (!session.epsvRefused) {
    const reply = await session.control.request('EPSV', session.options.timeout);
    if (reply.code === 229) {
      const port = parseEpsvText(reply.text);
      if (port === null) throw protocolError('malformed EPSV reply', reply);
      target = { host: session.peerHost, port };
    } else if (isNegative(reply.code)) {
      session.epsvRefused = true;
    } else {
      throw protocolError('unexpected reply to EPSV', reply);
    }
  }
  if (target === null) {
    const reply = await session.control.request('PASV', session.options.timeout);
    if (reply.code !== 227) {
      throw isNegative(reply.code) ? replyError(reply, 'PASV') : protocolError('unexpected reply to PASV', reply);
    }
    const named = parsePasvText(reply.text);
    if (named === null) throw protocolError('malformed PASV reply', reply);
    target = named;
    if (normalizeIp(named.host) !== session.peerHost && !session.options.allowPasvHostChange) {
      if (named.host !== '0.0.0.0') {
        session.warn(`PASV named ${named.host}, connecting to ${session.peerHost} instead (set allowPasvHostChange to trust it)`);
      }
      target = { host: session.peerHost, port: named.port };
    }
  }
  // Large reads take over the socket's reads, which TLS needs for itself.
  const conn = await connectData(target, session.options.timeout, session.control.tls === undefined);
  armDataTimeout(conn.socket, session.options.dataTimeout);
  conn.readable.on('error', ignore);
  return {
    socket: () => Promise.resolve(conn),
    destroy: (error) => {
      if (error) reset(conn.socket);
      conn.readable.destroy(error);
    },
  };
}

function connectData(target: HostPort, timeout: number, largeReads: boolean): Promise<DataConnection> {
  return new Promise((resolve, reject) => {
    const conn = largeReads ? connectWithLargeReads({ host: target.host, port: target.port }) : plainConnect(target);
    const { socket } = conn;
    const timer = setTimeout(() => {
      socket.destroy();
      reject(new FtpError('FTPKIT_ERR_TIMEOUT', `data connection to ${target.host}:${target.port} took longer than ${timeout} ms`));
    }, timeout);
    socket.once('connect', () => {
      clearTimeout(timer);
      socket.removeListener('error', onError);
      resolve(conn);
    });
    const onError = (err: Error): void => {
      clearTimeout(timer);
      reject(new FtpError('FTPKIT_ERR_DATA_CONNECTION', `data connection to ${target.host}:${target.port} failed: ${err.message}`, { cause: err }));
    };
    socket.once('error', onError);
  });
}

function plainConnect(target: HostPort): DataConnection {
  const socket = net.connect({ host: target.host, port: target.port });
  return { socket, readable: socket };
}

/**
 * Active (EPRT, then PORT): we listen on the control connection's local
 * address and the server connects. Only a connection from the server's own
 * address is accepted; anyone else racing for the port is dropped (RFC 2577
 * port stealing).
 */
async function openActive(session: ControlSession): Promise<PendingDataConnection> {
  const local = normalizeIp(session.control.localAddress ?? '127.0.0.1');
  const server = net.createServer({ highWaterMark: DATA_HIGH_WATER_MARK } as net.ServerOpts);
  let accepted: net.Socket | undefined;
  let failure: Error | undefined;
  let settle: { resolve(s: DataConnection): void; reject(e: Error): void } | undefined;
  const fail = (err: Error): void => {
    failure ??= err;
    server.close();
    if (accepted) reset(accepted, err);
    settle?.reject(err);
  };
  server.on('error', (err) => fail(new FtpError('FTPKIT_ERR_DATA_CONNECTION', `active data listener failed: ${err.message}`, { cause: err })));
  server.on('connection', (socket) => {
    if (accepted || failure || normalizeIp(socket.remoteAddress ?? '') !== session.peerHost) {
      socket.destroy();
      return;
    }
    accepted = socket;
    server.close();
    armDataTimeout(socket, session.options.dataTimeout);
    settle?.resolve({ socket, readable: socket });
  });
  await new Promise<void>((resolve, reject) => {
    server.once('listening', resolve);
    server.once('error', reject);
    server.listen(0, local);
  });
  try {
    const port = (server.address() as net.AddressInfo).port;
    await sendPortCommand(session, local, port);
  } catch (err) {
    server.close();
    throw err;
  }
  return {
    socket: () => {
      if (accepted) return Promise.resolve({ socket: accepted, readable: accepted });
      if (failure) return Promise.reject(failure);
      return new Promise((resolve, reject) => {
        const timer = setTimeout(() => fail(new FtpError('FTPKIT_ERR_TIMEOUT', `the server did not open the data connection within ${session.options.timeout} ms`)), session.options.timeout);
        settle = {
          resolve: (s) => { clearTimeout(timer); resolve(s); },
          reject: (e) => { clearTimeout(timer); reject(e); },
        };
      });
    },
    destroy: (error) => {
      if (!error) accepted?.destroy(); // a deliberate early stop (a segment): a plain close
      fail(error ?? new FtpError('FTPKIT_ERR_DATA_CONNECTION', 'data connection closed'));
    },
  };
}

async function sendPortCommand(session: ControlSession, local: string, port: number): Promise<void> {
  const ipv6 = net.isIPv6(local);
  if (!session.eprtRefused || ipv6) {
    const reply = await session.control.request(`EPRT ${formatEprtArg(local, port)}`, session.options.timeout);
    if (reply.code >= 200 && reply.code < 300) return;
    if (ipv6 || !isNegative(reply.code)) throw isNegative(reply.code) ? replyError(reply, 'EPRT') : protocolError('unexpected reply to EPRT', reply);
    session.eprtRefused = true;
  }
  await expect(session, `PORT ${encodeHostPort(local, port)}`);
}

function armDataTimeout(socket: net.Socket, ms: number): void {
  // Errors before the pipeline attaches must not go unhandled (that crashes the
  // process); the pipeline still sees them through `socket.errored`.
  socket.on('error', ignore);
  socket.setTimeout(ms, () => {
    socket.destroy(new FtpError('FTPKIT_ERR_TIMEOUT', `the data connection was idle for ${ms} ms`));
  });
}

/**
 * Closes a data socket after a failure or an abort with a TCP reset, not a
 * FIN. In stream mode the FIN is the end of the file (RFC 959 section 3.4.1),
 * so a failed or aborted upload closed with one looks complete to the server,
 * which may then keep a truncated file under the final name; a reset says the
 * transfer broke.
 */
export function reset(socket: net.Socket, error?: Error): void {
  if (socket.destroyed) return;
  try {
    socket.resetAndDestroy();
  } catch {
    socket.destroy(error); // not a TCP handle after all
  }
}

function ignore(): void {}
