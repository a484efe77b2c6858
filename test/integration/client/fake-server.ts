// A scriptable FTP server for hostile-peer tests: it logs in anyone and lets each
// test override any command with raw bytes. Loopback, port 0.
import net from 'node:net';
import { afterEach } from 'vitest';
import { FileClient, type FileClientOptions } from '../../../src/index.js';

export interface FakeSession {
  control: net.Socket;
  /** Writes `code text\r\n` (text may be omitted for a raw line in `code`). */
  reply(code: number, text: string): void;
  write(raw: string | Buffer): void;
  /** The data connection the client opened after EPSV/PASV. */
  dataSocket(): Promise<net.Socket>;
  /** Port of the current passive listener. */
  pasvPort: number | undefined;
  /** Opens a passive listener (on dataHost) and returns its port. */
  openPassive(): Promise<number>;
  /** Set by a RETR/LIST handler while data flows, so ABOR answers 426 + 226. */
  transferring: boolean;
}

export type Handler = (arg: string, s: FakeSession) => void | Promise<void>;

export interface FakeServerOptions {
  /** Raw greeting; default "220 fake\r\n". */
  greeting?: string;
  features?: string[];
  handlers?: Record<string, Handler>;
  /** Address EPSV/PASV listeners bind (default: the control address). */
  dataHost?: string;
  /** Address the control listener binds (default 127.0.0.1). */
  host?: string;
}

export interface FakeServer {
  port: number;
  /** Every command line received, in order, across sessions. */
  commands: string[];
  close(): Promise<void>;
}

export async function startFakeServer(opts: FakeServerOptions = {}): Promise<FakeServer> {
  const commands: string[] = [];
  const sockets = new Set<net.Socket>();
  const listeners = new Set<net.Server>();
  const server = net.createServer((control) => {
    sockets.add(control);
    control.on('close', () => sockets.delete(control));
    control.on('error', () => {});
    let pending: Promise<net.Socket> | undefined;
    const session: FakeSession = {
      control,
      pasvPort: undefined,
      transferring: false,
      reply: (code, text) => void (control.writable && control.write(`${code} ${text}\r\n`)),
      write: (raw) => void (control.writable && control.write(raw)),
      dataSocket: () => pending ?? Promise.reject(new Error('no EPSV/PASV before the transfer')),
      openPassive: () => openPassive(),
    };
    const openPassive = async (): Promise<number> => {
      const l = net.createServer();
      listeners.add(l);
      pending = new Promise((resolve) => l.once('connection', (s) => {
        sockets.add(s);
        s.on('error', () => {});
        s.on('close', () => sockets.delete(s));
        l.close();
        resolve(s);
      }));
      await new Promise<void>((r) => l.listen(0, opts.dataHost ?? opts.host ?? '127.0.0.1', r));
      session.pasvPort = (l.address() as net.AddressInfo).port;
      return session.pasvPort;
    };
    const defaults: Record<string, Handler> = {
      USER: (_a, s) => s.reply(331, 'password please'),
      PASS: (_a, s) => s.reply(230, 'welcome'),
      FEAT: (_a, s) => s.write(`211-Features:\r\n${(opts.features ?? ['SIZE', 'MDTM']).map((f) => ` ${f}\r\n`).join('')}211 End\r\n`),
      TYPE: (_a, s) => s.reply(200, 'type set'),
      PWD: (_a, s) => s.reply(257, '"/" is cwd'),
      CWD: (_a, s) => s.reply(250, 'ok'),
      NOOP: (_a, s) => s.reply(200, 'ok'),
      OPTS: (_a, s) => s.reply(200, 'ok'),
      EPSV: async (_a, s) => s.reply(229, `Entering Extended Passive Mode (|||${await openPassive()}|)`),
      PASV: async (_a, s) => {
        const p = await openPassive();
        s.reply(227, `Entering Passive Mode (127,0,0,1,${p >> 8},${p & 255})`);
      },
      ABOR: (_a, s) => {
        if (s.transferring) s.reply(426, 'aborted');
        s.transferring = false;
        s.reply(226, 'ABOR ok');
      },
      QUIT: (_a, s) => {
        s.reply(221, 'bye');
        control.end();
      },
    };
    const handlers = { ...defaults, ...opts.handlers };
    let buffer = '';
    let chain = Promise.resolve();
    control.on('data', (chunk) => {
      buffer += chunk.toString('utf8');
      let nl: number;
      while ((nl = buffer.indexOf('\r\n')) !== -1) {
        const line = buffer.slice(0, nl);
        buffer = buffer.slice(nl + 2);
        commands.push(line);
        const space = line.indexOf(' ');
        const verb = (space === -1 ? line : line.slice(0, space)).toUpperCase();
        const arg = space === -1 ? '' : line.slice(space + 1);
        const handler = handlers[verb] ?? ((_a: string, s: FakeSession) => s.reply(502, 'not implemented'));
        // ABOR jumps the queue, as real servers watch for it during a transfer.
        if (verb === 'ABOR') void Promise.resolve(handler(arg, session)).catch(() => {});
        else chain = chain.then(() => handler(arg, session)).catch(() => {});
      }
    });
    control.write(opts.greeting ?? '220 fake\r\n');
  });
  await new Promise<void>((r) => server.listen(0, opts.host ?? '127.0.0.1', r));
  return {
    port: (server.address() as net.AddressInfo).port,
    commands,
    async close() {
      for (const s of sockets) s.destroy();
      for (const l of listeners) l.close();
      await new Promise<void>((r) => server.close(() => r()));
    },
  };
}

/** Answers 150, marks the session as transferring (so ABOR gets 426 + 226) and resolves the data socket. */
export async function startSending(s: FakeSession, text = 'sending'): Promise<net.Socket> {
  s.reply(150, text);
  s.transferring = true;
  const data = await s.dataSocket();
  data.on('error', () => {});
  return data;
}

/** Sends a Unix LIST body on the data connection and the 150/226 around it. */
export function listingHandler(lines: string[]): Handler {
  return async (_a, s) => {
    s.reply(150, 'here it comes');
    const data = await s.dataSocket();
    data.end(lines.map((l) => `${l}\r\n`).join(''));
    data.once('close', () => s.reply(226, 'done'));
  };
}

/**
 * For a test file: starts a fake server with a FileClient pointed at it (not yet connected);
 * every server and client started is closed after each test.
 */
export function fakeServerHarness(): (
  opts: FakeServerOptions,
  clientOpts?: Partial<FileClientOptions>,
) => Promise<{ server: FakeServer; client: FileClient }> {
  const servers: FakeServer[] = [];
  const clients: FileClient[] = [];
  afterEach(async () => {
    for (const c of clients.splice(0)) c.destroy();
    await Promise.all(servers.splice(0).map((s) => s.close()));
  });
  return async (opts, clientOpts = {}) => {
    const server = await startFakeServer(opts);
    servers.push(server);
    const client = new FileClient({ host: opts.host ?? '127.0.0.1', port: server.port, timeout: 3000, ...clientOpts });
    clients.push(client);
    return { server, client };
  };
}
