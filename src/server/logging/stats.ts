import type { ServerEvents } from '../events.js';
import type { TypedEmitter } from '../../util/typed-emitter.js';

/** A FileServer, as far as the logging modules need it: its events. */
export type ServerEventSource = Pick<TypedEmitter<ServerEvents>, 'on' | 'off'>;

/** Counters since the server was created (`server.stats()`); gauges are marked "now". */
export interface ServerStats {
  /** Control connections open now. */
  sessions: number;
  /** Control connections accepted. */
  connections: number;
  logins: number;
  failedLogins: number;
  /** Addresses banned after failed logins. */
  bans: number;
  /** Commands answered. */
  commands: number;
  /** Final replies of the commands answered, by class. */
  replies: { '2xx': number; '3xx': number; '4xx': number; '5xx': number };
  /** Data transfers running now (files and listings). */
  transfersInFlight: number;
  /** Data transfers ended: complete (`ok`) or not. */
  transfers: { ok: number; failed: number };
  /** Bytes received over data connections. */
  bytesIn: number;
  /** Bytes sent over data connections, listings included. */
  bytesOut: number;
  /** `security` events, by kind. */
  security: { 'port-refused': number; 'foreign-data-peer': number; traversal: number; 'tls-required': number };
}

const CLASSES = ['2xx', '3xx', '4xx', '5xx'] as const;

/** Keeps ServerStats up to date from a server's events. */
export class StatsCollector {
  readonly #stats: ServerStats = {
    sessions: 0,
    connections: 0,
    logins: 0,
    failedLogins: 0,
    bans: 0,
    commands: 0,
    replies: { '2xx': 0, '3xx': 0, '4xx': 0, '5xx': 0 },
    transfersInFlight: 0,
    transfers: { ok: 0, failed: 0 },
    bytesIn: 0,
    bytesOut: 0,
    security: { 'port-refused': 0, 'foreign-data-peer': 0, traversal: 0, 'tls-required': 0 },
  };
  readonly #source: ServerEventSource;
  readonly #listeners: { [E in keyof ServerEvents]?: ServerEvents[E] };

  constructor(source: ServerEventSource) {
    const s = this.#stats;
    this.#source = source;
    this.#listeners = {
      connect: () => {
        s.sessions++;
        s.connections++;
      },
      disconnect: () => void s.sessions--,
      login: () => void s.logins++,
      'login-failed': () => void s.failedLogins++,
      ban: () => void s.bans++,
      'command-end': ({ code }) => {
        s.commands++;
        const cls = CLASSES[Math.floor(code / 100) - 2];
        if (cls) s.replies[cls]++;
      },
      'transfer-start': () => void s.transfersInFlight++,
      'transfer-end': ({ ok, bytes, command }) => {
        s.transfersInFlight--;
        s.transfers[ok ? 'ok' : 'failed']++;
        if (command === 'STOR' || command === 'APPE' || command === 'STOU') s.bytesIn += bytes;
        else s.bytesOut += bytes;
      },
      security: ({ kind }) => {
        if (kind in s.security) s.security[kind]++;
      },
    };
    for (const [event, listener] of Object.entries(this.#listeners)) source.on(event as keyof ServerEvents, listener as never);
  }

  /** A copy of the counters now. */
  snapshot(): ServerStats {
    const s = this.#stats;
    return { ...s, replies: { ...s.replies }, transfers: { ...s.transfers }, security: { ...s.security } };
  }

  /** Stops counting. */
  close(): void {
    for (const [event, listener] of Object.entries(this.#listeners)) this.#source.off(event as keyof ServerEvents, listener as never);
  }
}
