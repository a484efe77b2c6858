// A minimal FTP control connection for server tests: send exact bytes, read exact replies.
import { connect, type Socket } from 'node:net';
import { connect as tlsConnect, type ConnectionOptions, type TLSSocket } from 'node:tls';
import { ReplyParser, parseEpsvText, type FtpReply } from '../../src/protocol/index.js';

/**
 * TLS 1.3 tickets arrive after the handshake: waits for one so data connections can resume (a
 * resumed handshake gets none: its data connections resume the same session again). Then yields:
 * a write made in the same tick as the 'session' event stalls (seen on Node 20).
 */
async function ticketReady(socket: TLSSocket, ticket: Promise<unknown>): Promise<void> {
  if (socket.getProtocol() === 'TLSv1.3' && !socket.isSessionReused()) await ticket;
  await new Promise((r) => setImmediate(r));
}

export class RawFtp {
  socket: Socket;
  /** Set once the control connection is TLS: data connections resume its session. */
  tls: TLSSocket | undefined;
  /** Wrap data connections in TLS (after PROT P). */
  protectData = false;
  tlsOptions: ConnectionOptions = { rejectUnauthorized: false };
  readonly #parser = new ReplyParser();
  readonly #replies: FtpReply[] = [];
  #waiters: Array<(r: FtpReply) => void> = [];
  closed = false;
  /** The 220 this connection was greeted with. */
  greeting: FtpReply | undefined;

  private constructor(socket: Socket) {
    this.socket = socket;
    this.#attach(socket);
  }

  #attach(socket: Socket): void {
    socket.on('data', (chunk: Buffer) => {
      for (const reply of this.#parser.push(chunk)) {
        const waiter = this.#waiters.shift();
        if (waiter) waiter(reply);
        else this.#replies.push(reply);
      }
    });
    socket.on('error', () => {});
    socket.on('close', () => {
      this.closed = true;
    });
  }

  /** AUTH TLS has been answered 234: runs the handshake on the control connection. */
  async upgrade(options: ConnectionOptions = {}): Promise<void> {
    const raw = this.socket;
    raw.removeAllListeners('data');
    const secure = tlsConnect({ socket: raw, ...this.tlsOptions, ...options });
    await new Promise<void>((resolve, reject) => {
      secure.once('secureConnect', resolve);
      secure.once('error', reject);
    });
    const ticket = new Promise((r) => secure.once('session', r));
    this.socket = secure;
    this.tls = secure;
    this.#attach(secure);
    await ticketReady(secure, ticket);
  }

  /** Implicit FTPS: TLS from the first byte. */
  static async connectTls(port: number, options: ConnectionOptions = {}): Promise<RawFtp> {
    const socket = tlsConnect({ host: '127.0.0.1', port, rejectUnauthorized: false, ...options });
    await new Promise<void>((resolve, reject) => {
      socket.once('secureConnect', resolve);
      socket.once('error', reject);
    });
    const ticket = new Promise((r) => socket.once('session', r));
    const client = new RawFtp(socket);
    client.tls = socket;
    const greeting = await client.read();
    if (greeting.code !== 220) throw new Error(`greeting ${greeting.code} ${greeting.text}`);
    await ticketReady(socket, ticket);
    return client;
  }

  static async connect(port: number, host = '127.0.0.1', localAddress?: string): Promise<RawFtp> {
    const socket = connect({ port, host, ...(localAddress ? { localAddress } : {}) });
    await new Promise<void>((resolve, reject) => {
      socket.once('connect', resolve);
      socket.once('error', reject);
    });
    const client = new RawFtp(socket);
    const greeting = await client.read();
    if (greeting.code !== 220) throw new Error(`greeting ${greeting.code} ${greeting.text}`);
    client.greeting = greeting;
    return client;
  }

  /** The next reply, or a rejection after `ms`. */
  read(ms = 5000): Promise<FtpReply> {
    const queued = this.#replies.shift();
    if (queued) return Promise.resolve(queued);
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => {
        this.#waiters = this.#waiters.filter((w) => w !== waiter);
        reject(new Error('no reply within timeout'));
      }, ms);
      const waiter = (r: FtpReply): void => {
        clearTimeout(timer);
        resolve(r);
      };
      this.#waiters.push(waiter);
    });
  }

  write(raw: string | Buffer): void {
    this.socket.write(raw);
  }

  async send(line: string): Promise<FtpReply> {
    this.socket.write(`${line}\r\n`);
    return this.read();
  }

  async login(user = 'alice', pass = 'secret'): Promise<void> {
    const u = await this.send(`USER ${user}`);
    if (u.code !== 331) throw new Error(`USER: ${u.code}`);
    const p = await this.send(`PASS ${pass}`);
    if (p.code !== 230) throw new Error(`PASS: ${p.code} ${p.text}`);
  }

  /** EPSV, then connects the data socket; returns it. */
  async passive(localAddress?: string): Promise<Socket> {
    const r = await this.send('EPSV');
    if (r.code !== 229) throw new Error(`EPSV: ${r.code}`);
    const port = parseEpsvText(r.text)!;
    const host = this.socket.remoteAddress!;
    const data = connect({ host, port, ...(localAddress ? { localAddress } : {}) });
    data.on('error', () => {});
    await new Promise<void>((resolve, reject) => {
      data.once('connect', resolve);
      data.once('error', reject);
    });
    if (!this.protectData) return data;
    // The TLS handshake completes only once the server starts the transfer (after RETR/STOR).
    const secure = tlsConnect({ socket: data, ...this.tlsOptions, session: this.tls!.getSession() });
    secure.on('error', () => {});
    return secure;
  }

  /** Runs a download-style command (RETR/LIST/...) over EPSV; returns the bytes and the final reply. */
  async fetch(command: string): Promise<{ data: Buffer; mark: FtpReply; final: FtpReply }> {
    const data = await this.passive();
    const chunks: Buffer[] = [];
    const ended = new Promise<void>((resolve) => {
      data.on('data', (c: Buffer) => chunks.push(c));
      data.on('close', () => resolve());
    });
    const mark = await this.send(command);
    if (mark.code !== 150 && mark.code !== 125) {
      data.destroy();
      return { data: Buffer.alloc(0), mark, final: mark };
    }
    const final = await this.read(30_000);
    await ended;
    return { data: Buffer.concat(chunks), mark, final };
  }

  /** Runs an upload-style command (STOR/APPE/STOU) over EPSV with `body`. */
  async store(command: string, body: Buffer | string): Promise<{ mark: FtpReply; final: FtpReply }> {
    const data = await this.passive();
    const mark = await this.send(command);
    if (mark.code !== 150 && mark.code !== 125) {
      data.destroy();
      return { mark, final: mark };
    }
    data.end(body);
    const final = await this.read(30_000);
    return { mark, final };
  }

  close(): void {
    this.socket.destroy();
  }
}
