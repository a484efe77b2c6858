// Request/reply over a Node IPC channel (a cluster worker's `process`, or the primary's
// `cluster.Worker`), for the lock manager and abuse store that a cluster's workers share
// through their primary (locks/ipc.ts, abuse/ipc-store.ts).
//
//   worker                                     primary
//   { ftpkit, id, op, args }  ───────────────▶ handler(op, args, peer)
//                             ◀─────────────── { ftpkit, id, ok: true, value } | { ..., ok: false, error }
//
// Messages are JSON (the default cluster serialization), so values are plain objects; errors
// travel as `{ name, message, ... }` and each side rebuilds its own classes.
import { FtpError } from '../errors.js';

/** What both ends of a channel need: `process` in a worker, a `cluster.Worker` in the primary. */
export interface IpcPort {
  send(message: unknown): boolean;
  on(event: 'message', listener: (message: unknown) => void): unknown;
  off(event: 'message', listener: (message: unknown) => void): unknown;
  on(event: 'disconnect', listener: () => void): unknown;
  off(event: 'disconnect', listener: () => void): unknown;
  readonly connected: boolean;
}

interface Request {
  ftpkit: string;
  id: number;
  op: string;
  args: unknown;
}

interface Reply {
  ftpkit: string;
  id: number;
  ok: boolean;
  value?: unknown;
  error?: Record<string, unknown>;
}

function isRequest(message: unknown, tag: string): message is Request {
  const m = message as Partial<Request> | null;
  return typeof m === 'object' && m !== null && m.ftpkit === tag && typeof m.id === 'number' && typeof m.op === 'string';
}

function isReply(message: unknown, tag: string): message is Reply {
  const m = message as Partial<Reply> | null;
  return typeof m === 'object' && m !== null && m.ftpkit === tag && typeof m.id === 'number' && typeof m.ok === 'boolean';
}

/** The primary is gone (the worker's IPC channel closed): shared state cannot be reached. */
export function channelClosedError(): FtpError {
  return new FtpError('FTPKIT_ERR_CLOSED', 'the cluster primary cannot be reached (IPC channel closed)');
}

/** The calling side: one per worker and tag. Calls made after the channel closed reject. */
export class IpcClient {
  readonly #port: IpcPort;
  readonly #tag: string;
  #nextId = 1;
  readonly #pending = new Map<number, { resolve(value: unknown): void; reject(err: unknown): void; toError(e: Record<string, unknown>): Error }>();

  constructor(port: IpcPort, tag: string) {
    this.#port = port;
    this.#tag = tag;
    port.on('message', (message) => {
      if (!isReply(message, tag)) return;
      const call = this.#pending.get(message.id);
      if (!call) return;
      this.#pending.delete(message.id);
      if (message.ok) call.resolve(message.value);
      else call.reject(call.toError(message.error ?? {}));
    });
    port.on('disconnect', () => {
      const calls = [...this.#pending.values()];
      this.#pending.clear();
      for (const call of calls) call.reject(channelClosedError());
    });
  }

  get connected(): boolean {
    return this.#port.connected;
  }

  /** Sends `op` and resolves with the primary's value; `toError` rebuilds a failure. */
  call<T>(op: string, args: unknown, toError: (e: Record<string, unknown>) => Error = plainError): Promise<T> {
    if (!this.#port.connected) return Promise.reject(channelClosedError());
    const id = this.#nextId++;
    return new Promise<T>((resolve, reject) => {
      this.#pending.set(id, { resolve: resolve as (v: unknown) => void, reject, toError });
      this.#send({ ftpkit: this.#tag, id, op, args }, id);
    });
  }

  /** Sends `op` expecting no reply (fire and forget). */
  notify(op: string, args: unknown): void {
    if (this.#port.connected) this.#send({ ftpkit: this.#tag, id: 0, op, args }, 0);
  }

  /** The id the next call will get (so a caller can refer to a call, e.g. to cancel it). */
  get nextId(): number {
    return this.#nextId;
  }

  #send(message: Request, id: number): void {
    try {
      this.#port.send(message);
    } catch {
      // The channel closed between the check and the send: the disconnect handler rejects.
      const call = this.#pending.get(id);
      this.#pending.delete(id);
      call?.reject(channelClosedError());
    }
  }
}

function plainError(e: Record<string, unknown>): Error {
  return Object.assign(new Error(typeof e.message === 'string' ? e.message : 'IPC call failed'), typeof e.code === 'string' ? { code: e.code } : {});
}

export type IpcHandler<P> = (op: string, args: unknown, peer: P, id: number) => Promise<unknown> | unknown;

/**
 * The answering side, in the primary: calls `handler` for each request of tag `tag` from
 * `port` and sends its value back (or the error as a plain object). Returns a function that
 * stops listening.
 */
export function answerIpc<P extends IpcPort>(port: P, tag: string, handler: IpcHandler<P>): () => void {
  const onMessage = (message: unknown): void => {
    if (!isRequest(message, tag)) return;
    const { id, op, args } = message;
    let result: Promise<unknown>;
    try {
      result = Promise.resolve(handler(op, args, port, id));
    } catch (err) {
      result = Promise.reject(err);
    }
    result.then(
      (value) => id !== 0 && reply(port, { ftpkit: tag, id, ok: true, value }),
      (err: unknown) => id !== 0 && reply(port, { ftpkit: tag, id, ok: false, error: errorToPlain(err) }),
    );
  };
  port.on('message', onMessage);
  return () => port.off('message', onMessage);
}

function reply(port: IpcPort, message: Reply): void {
  if (!port.connected) return;
  try {
    port.send(message);
  } catch {
    // the worker is gone; its state is dropped on exit
  }
}

function errorToPlain(err: unknown): Record<string, unknown> {
  if (typeof err !== 'object' || err === null) return { message: String(err) };
  const e = err as Record<string, unknown>;
  const plain: Record<string, unknown> = { name: e.name, message: e.message };
  for (const key of ['code', 'path', 'conflicts']) if (e[key] !== undefined) plain[key] = e[key];
  return plain;
}
