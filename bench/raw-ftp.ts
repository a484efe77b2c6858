// A deliberately minimal FTP client on raw sockets for the many-clients scenarios: no
// streams, no per-chunk allocation on downloads (one shared `onread` buffer), so client
// overhead stays small next to the server's at N = 1,000.
import { connect, type Socket } from 'node:net';

export interface Target {
  host: string;
  port: number;
  user: string;
  password: string;
}

interface Reply {
  code: number;
  text: string;
}

/**
 * At most this many PASV-to-connected handshakes in flight per process. The system peers get a
 * 100-port passive window (test/helpers/peers.ts); a passive port is held only from PASV until
 * the client connects, so gating that short window lets N >> 100 transfers run concurrently on
 * every server alike, instead of measuring "500 OOPS: vsf_sysutil_bind".
 */
export const PASV_GATE = 48;
let pasvInFlight = 0;
const pasvQueue: (() => void)[] = [];

async function enterPasv(): Promise<void> {
  if (pasvInFlight < PASV_GATE) {
    pasvInFlight++;
    return;
  }
  await new Promise<void>((resolve) => pasvQueue.push(resolve));
}

function leavePasv(): void {
  const next = pasvQueue.shift();
  if (next) next();
  else pasvInFlight--;
}

// Downloaded bytes are counted and dropped: every data socket may share one buffer.
const SINK = Buffer.allocUnsafe(256 * 1024);

export class RawFtp {
  readonly #socket: Socket;
  #buf = '';
  #multi: string | undefined;
  #replies: Reply[] = [];
  #waiters: { resolve: (r: Reply) => void; reject: (e: Error) => void }[] = [];
  #error: Error | undefined;

  private constructor(socket: Socket) {
    this.#socket = socket;
    socket.setEncoding('latin1');
    socket.setNoDelay(true);
    socket.on('data', (d: string) => this.#onData(d));
    socket.on('error', (err) => this.#fail(err));
    socket.on('close', () => this.#fail(new Error('control connection closed')));
  }

  /** Starts connecting; login() reads the greeting. Synchronous so a caller can destroy() it any time. */
  static connect(t: Target): RawFtp {
    return new RawFtp(connect({ host: t.host, port: t.port }));
  }

  /** Greeting, USER/PASS, TYPE I. */
  async login(t: Target): Promise<void> {
    const greeting = await this.next();
    if (greeting.code !== 220) throw new Error(`greeting ${greeting.code} ${greeting.text}`);
    let r = await this.cmd(`USER ${t.user}`);
    if (r.code === 331) r = await this.cmd(`PASS ${t.password}`);
    if (r.code !== 230) throw new Error(`login: ${r.code} ${r.text}`);
    r = await this.cmd('TYPE I');
    if (r.code !== 200) throw new Error(`TYPE I: ${r.code} ${r.text}`);
  }

  cmd(line: string): Promise<Reply> {
    this.#socket.write(`${line}\r\n`);
    return this.next();
  }

  /** The next complete reply. */
  next(): Promise<Reply> {
    const ready = this.#replies.shift();
    if (ready) return Promise.resolve(ready);
    if (this.#error) return Promise.reject(this.#error);
    return new Promise((resolve, reject) => this.#waiters.push({ resolve, reject }));
  }

  /** RETR into nowhere; resolves with the byte count once the data ended and 226 arrived. */
  async retr(path: string): Promise<number> {
    let bytes = 0;
    const data = await this.#pasv((n) => (bytes += n));
    try {
      const opening = await this.cmd(`RETR ${path}`);
      if (opening.code !== 150 && opening.code !== 125) throw new Error(`RETR: ${opening.code} ${opening.text}`);
      await Promise.all([ended(data), this.#final('RETR')]);
      return bytes;
    } finally {
      data.destroy();
    }
  }

  /** STOR of `buf` repeated `times` times. */
  async stor(path: string, buf: Buffer, times = 1): Promise<void> {
    const data = await this.#pasv();
    try {
      const opening = await this.cmd(`STOR ${path}`);
      if (opening.code !== 150 && opening.code !== 125) throw new Error(`STOR: ${opening.code} ${opening.text}`);
      // 226 means the server has it all; our side of the data socket need not be drained
      await Promise.all([writeAll(data, buf, times), this.#final('STOR')]);
    } finally {
      data.destroy();
    }
  }

  async quit(): Promise<void> {
    const closed = new Promise<void>((resolve) => {
      if (this.#socket.destroyed) resolve();
      else this.#socket.once('close', () => resolve());
    });
    await this.cmd('QUIT');
    await closed;
  }

  destroy(): void {
    this.#socket.destroy();
  }

  async #final(verb: string): Promise<void> {
    const r = await this.next();
    if (r.code !== 226 && r.code !== 250) throw new Error(`${verb} final: ${r.code} ${r.text}`);
  }

  /** PASV, then connects the data socket before the transfer command (like most clients). */
  async #pasv(onBytes?: (n: number) => void): Promise<Socket> {
    await enterPasv();
    try {
      const r = await this.cmd('PASV');
      const m = /(\d+),(\d+),(\d+),(\d+),(\d+),(\d+)/.exec(r.text);
      if (r.code !== 227 || !m) throw new Error(`PASV: ${r.code} ${r.text}`);
      const port = Number(m[5]) * 256 + Number(m[6]);
      const socket = connect({
        host: this.#socket.remoteAddress!,
        port,
        ...(onBytes ? { onread: { buffer: SINK, callback: (n: number) => (onBytes(n), true) } } : {}),
      });
      await new Promise<void>((resolve, reject) => {
        socket.once('connect', resolve);
        socket.once('error', reject);
      });
      socket.on('error', () => {}); // surfaces as a missing 226 or short count
      return socket;
    } finally {
      leavePasv();
    }
  }

  #onData(d: string): void {
    this.#buf += d;
    let nl: number;
    while ((nl = this.#buf.indexOf('\n')) >= 0) {
      const line = this.#buf.slice(0, nl).replace(/\r$/, '');
      this.#buf = this.#buf.slice(nl + 1);
      // RFC 959 4.2: "ddd-" opens a multi-line reply that "ddd " with the same code closes.
      if (this.#multi !== undefined) {
        if (line.startsWith(`${this.#multi} `)) {
          this.#push({ code: Number(this.#multi), text: line.slice(4) });
          this.#multi = undefined;
        }
        continue;
      }
      if (/^\d{3}-/.test(line)) this.#multi = line.slice(0, 3);
      else if (/^\d{3}( |$)/.test(line)) this.#push({ code: Number(line.slice(0, 3)), text: line.slice(4) });
    }
  }

  #push(r: Reply): void {
    const w = this.#waiters.shift();
    if (w) w.resolve(r);
    else this.#replies.push(r);
  }

  #fail(err: Error): void {
    this.#error ??= err;
    for (const w of this.#waiters.splice(0)) w.reject(this.#error);
  }
}

function ended(socket: Socket): Promise<void> {
  return new Promise((resolve, reject) => {
    if (socket.readableEnded || socket.destroyed) return resolve();
    socket.once('end', resolve);
    socket.once('close', resolve);
    socket.once('error', reject);
  });
}

/** Writes buf `times` times honouring backpressure, then half-closes. */
function writeAll(socket: Socket, buf: Buffer, times: number): Promise<void> {
  return new Promise((resolve, reject) => {
    let left = times;
    socket.once('error', reject);
    const pump = (): void => {
      while (left > 0) {
        left--;
        if (!socket.write(buf)) {
          socket.once('drain', pump);
          return;
        }
      }
      socket.end(() => resolve());
    };
    pump();
  });
}
