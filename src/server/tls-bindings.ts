import { constants, randomBytes } from 'node:crypto';
import { EventEmitter } from 'node:events';
import type { Server as NetServer, Socket } from 'node:net';
import { createSecureContext, TLSSocket, type SecureContext, type SecureContextOptions } from 'node:tls';
import { FtpError } from '../errors.js';
import { deriveTicketKeys, readClientHello, ticketInClientHello, TICKET_KEYS_BYTES, verifiedTicketName, type DerivedTicketKeys } from './tls-tickets.js';

/** Sessions one control connection may keep for ID resumption (TLS 1.2 gives 1, TLS 1.3 one per ticket). */
const SESSIONS_PER_BINDING = 8;
/**
 * Released contexts kept for the next AUTH TLS: making one costs ~0.5–1 ms of CPU (OpenSSL 3's
 * SSL_CTX_new), reusing one ~0.04 ms. A context is ~28 KB; the pool never holds more than the
 * peak of TLS connections open at once, and at most this many.
 */
const IDLE_CONTEXTS = 128;
/** How long a session may be resumed, in seconds: its control connection ends it long before. */
const SESSION_TIMEOUT = 24 * 3600;

/**
 * What one control connection's TLS is bound to. PROT P data connections must resume a session
 * of this binding, and only this binding can resume them:
 *
 *   - `context` is the control connection's own: fresh ticket keys (a ticket another control
 *     connection was given cannot be decrypted) and its own session ID context (OpenSSL refuses
 *     to resume a session made under another, by ticket or by ID, TLS 1.2 and 1.3);
 *   - sessions for TLS 1.2 resumption by ID are kept per binding (the control connection's
 *     handshake stores them, data connections look them up and store nothing), so no other
 *     connection can evict them or find them.
 *
 * A binding is released when its session ends; its context is re-keyed before anyone else uses it.
 */
export interface TlsBinding {
  /**
   * With shared ticket keys (`tls.ticketKeys`): reads the control connection's ClientHello and,
   * when it presents a ticket made under the shared keys, by any node, takes that ticket's keys
   * so the handshake resumes it. Undefined when there is nothing to wait for: wrap() at once.
   */
  prepare(socket: Socket): Promise<void> | undefined;
  /** Starts the server side of TLS on the control connection or on a PROT P data connection. */
  wrap(socket: Socket, role: 'control' | 'data'): TLSSocket;
  /** The session ended: nothing may resume this binding's sessions again. Idempotent. */
  release(): void;
}

interface PooledContext {
  context: SecureContext;
  generation: number;
}

/**
 * Makes one TLS binding per control connection, from the server's certificate. Contexts are
 * pooled (re-keyed when released), so a binding costs ~0.04 ms, not a new OpenSSL context. No session store is shared between control connections: a flood of other
 * handshakes cannot evict anyone's session.
 */
export class TlsBindings {
  #options: SecureContextOptions;
  /** `tls.ticketKeys`: the secret every node's ticket keys are derived from (tls-tickets.ts). */
  #secret: Buffer | undefined;
  #generation = 0;
  readonly #idle: PooledContext[] = [];

  /** Throws FTPKIT_ERR_INVALID_ARGUMENT on a bad certificate, key or ticketKeys. */
  constructor(options: SecureContextOptions) {
    this.#secret = ticketSecret(options);
    this.#options = withoutTicketKeys(options);
    this.#idle.push(this.#fresh());
  }

  /**
   * New bindings use this certificate (SIGHUP in ftp-serve). Open sessions keep theirs, so
   * their data connections still resume. Throws on a bad certificate, keeping the old one.
   */
  setOptions(options: SecureContextOptions): void {
    const secret = ticketSecret(options);
    const context = makeContext(withoutTicketKeys(options)); // throws before anything changes
    rekey(context);
    this.#secret = secret;
    this.#options = withoutTicketKeys(options);
    this.#generation++;
    this.#idle.length = 0;
    this.#idle.push({ context, generation: this.#generation });
  }

  #fresh(): PooledContext {
    const context = makeContext(this.#options);
    rekey(context); // its own session ID context (a new context has random ticket keys but none)
    return { context, generation: this.#generation };
  }

  /** A fresh binding for a control connection that starts TLS (AUTH TLS, the implicit port). */
  acquire(): TlsBinding {
    const pooled = this.#idle.pop() ?? this.#fresh();
    const sessions = new Map<string, Buffer>();
    const controlOwner = new EventEmitter();
    controlOwner.on('newSession', (id: Buffer, data: Buffer, done: () => void) => {
      if (sessions.size >= SESSIONS_PER_BINDING) sessions.delete(sessions.keys().next().value!);
      sessions.set(id.toString('hex'), data);
      done();
    });
    const dataOwner = new EventEmitter();
    dataOwner.on('resumeSession', (id: Buffer, done: (err: Error | null, data: Buffer | null) => void) => {
      done(null, sessions.get(id.toString('hex')) ?? null);
    });
    let released = false;
    const secret = this.#secret;
    // With shared keys: a name of its own until its ClientHello shows a ticket of ours (prepare()).
    if (secret) keyWith(pooled.context, deriveTicketKeys(secret, randomBytes(16)));
    return {
      prepare: (socket) => {
        if (!secret) return undefined;
        return readClientHello(socket).then((hello) => {
          const ticket = ticketInClientHello(hello);
          const name = ticket && verifiedTicketName(secret, ticket);
          if (name && !released) keyWith(pooled.context, deriveTicketKeys(secret, name));
        });
      },
      // TLSSocket reports session events to its `server`; it only calls emit() and listenerCount() on it.
      wrap: (socket, role) =>
        new TLSSocket(socket, { isServer: true, secureContext: pooled.context, server: (role === 'control' ? controlOwner : dataOwner) as unknown as NetServer }),
      release: () => {
        if (released) return;
        released = true;
        sessions.clear();
        // Re-keyed before it waits in the pool: tickets and sessions this session was given are
        // dead here (new keys, new session ID context). A socket of it still open keeps its old
        // session ID context, so a ticket it mints now cannot open the next session's data either.
        rekey(pooled.context);
        if (pooled.generation === this.#generation && this.#idle.length < IDLE_CONTEXTS) this.#idle.push(pooled);
      },
    };
  }
}

/**
 * Answers `reply` inside TLS and closes: how the implicit-FTPS port refuses a connection (it must
 * not speak in clear). Settles once the socket is closed, at the latest after `timeout` ms.
 */
export function refuseInTls(socket: Socket, bindings: TlsBindings, reply: string, timeout: number): Promise<void> {
  const binding = bindings.acquire();
  const secure = binding.wrap(socket, 'data'); // a data-side binding stores no session
  return new Promise<void>((resolve) => {
    const timer = setTimeout(() => secure.destroy(), timeout);
    secure.on('error', () => secure.destroy());
    secure.once('secure', () => secure.end(reply));
    secure.once('close', () => {
      clearTimeout(timer);
      binding.release();
      resolve();
    });
  });
}

/** Fresh ticket keys and session ID context: sessions made before can no longer be resumed here. */
function rekey(context: SecureContext): void {
  keyWith(context, { keys: randomBytes(TICKET_KEYS_BYTES), sessionIdContext: randomBytes(16).toString('hex') }); // 32 characters, OpenSSL's maximum
}

function keyWith(context: SecureContext, { keys, sessionIdContext }: DerivedTicketKeys): void {
  const native = context.context as { setTicketKeys(keys: Buffer): void; setSessionIdContext(id: string): void };
  native.setTicketKeys(keys);
  native.setSessionIdContext(sessionIdContext);
}

/** `tls.ticketKeys`, checked: 48 bytes, as Node's own option. */
function ticketSecret(options: SecureContextOptions): Buffer | undefined {
  const keys = options.ticketKeys;
  if (keys === undefined) return undefined;
  if (!Buffer.isBuffer(keys) || keys.length !== TICKET_KEYS_BYTES) {
    throw new FtpError('FTPKIT_ERR_INVALID_ARGUMENT', `tls: ticketKeys must be a Buffer of ${TICKET_KEYS_BYTES} bytes`);
  }
  return Buffer.from(keys);
}

/** The secret itself is never a context's key: each connection's keys are derived from it. */
function withoutTicketKeys(options: SecureContextOptions): SecureContextOptions {
  const { ticketKeys: _secret, ...rest } = options;
  return rest;
}

/**
 * The server's TLS context. Renegotiation is refused (a client could otherwise make the server
 * redo the expensive half of a handshake as often as it likes, before login); TLS 1.3 has none.
 */
export function makeContext(tls: SecureContextOptions): SecureContext {
  try {
    return createSecureContext({
      minVersion: 'TLSv1.2',
      sessionTimeout: SESSION_TIMEOUT,
      ...tls,
      secureOptions: (tls.secureOptions ?? 0) | constants.SSL_OP_NO_RENEGOTIATION,
    });
  } catch (err) {
    throw new FtpError('FTPKIT_ERR_INVALID_ARGUMENT', `tls: ${(err as Error).message}`);
  }
}
