import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { ServerStats } from './stats.js';

/**
 * Prometheus text exposition (format 0.0.4) of ServerStats, written by hand: a dozen counters
 * need no client library, and `promtool check metrics` vets the output in the tests.
 */

type Sample = [labels: string, value: number];
type Metric = [name: string, type: 'counter' | 'gauge', help: string, samples: Sample[]];

function metrics(s: ServerStats): Metric[] {
  return [
    ['ftpkit_sessions', 'gauge', 'Control connections open now.', [['', s.sessions]]],
    ['ftpkit_connections_total', 'counter', 'Control connections accepted.', [['', s.connections]]],
    ['ftpkit_logins_total', 'counter', 'Successful logins.', [['', s.logins]]],
    ['ftpkit_login_failures_total', 'counter', 'Refused logins (wrong user name or password, TLS required).', [['', s.failedLogins]]],
    ['ftpkit_bans_total', 'counter', 'Addresses banned after repeated failed logins.', [['', s.bans]]],
    ['ftpkit_commands_total', 'counter', 'Commands answered.', [['', s.commands]]],
    ['ftpkit_replies_total', 'counter', 'Final replies of the commands answered, by class.', Object.entries(s.replies).map(([cls, n]) => [`class="${cls}"`, n])],
    ['ftpkit_transfers_in_flight', 'gauge', 'Data transfers running now (files and listings).', [['', s.transfersInFlight]]],
    ['ftpkit_transfers_total', 'counter', 'Data transfers ended, by result.', [['result="ok"', s.transfers.ok], ['result="failed"', s.transfers.failed]]],
    ['ftpkit_data_received_bytes_total', 'counter', 'Bytes received over data connections.', [['', s.bytesIn]]],
    ['ftpkit_data_sent_bytes_total', 'counter', 'Bytes sent over data connections, listings included.', [['', s.bytesOut]]],
    ['ftpkit_security_events_total', 'counter', 'Refusals that may be attacks, by kind.', Object.entries(s.security).map(([kind, n]) => [`kind="${kind}"`, n])],
  ];
}

/** The Prometheus text for `stats`. */
export function metricsText(stats: ServerStats): string {
  let out = '';
  for (const [name, type, help, samples] of metrics(stats)) {
    out += `# HELP ${name} ${help}\n# TYPE ${name} ${type}\n`;
    for (const [labels, value] of samples) out += `${name}${labels ? `{${labels}}` : ''} ${value}\n`;
  }
  return out;
}

export const METRICS_CONTENT_TYPE = 'text/plain; version=0.0.4; charset=utf-8';

export interface MetricsServer {
  /** `http://HOST:PORT/metrics`. */
  readonly url: string;
  readonly address: AddressInfo;
  /** Stops listening and closes open connections. */
  close(): Promise<void>;
}

export interface MetricsServerOptions {
  /** Default '127.0.0.1': the metrics are not authenticated. */
  host?: string;
  /** 0 (the default) picks a free port. */
  port?: number;
}

/**
 * Serves `GET /metrics` for a FileServer (anything with `stats()`) over HTTP, for Prometheus to
 * scrape. Anything else is answered 404 (405 for another method).
 */
export async function serveMetrics(server: { stats(): ServerStats }, options: MetricsServerOptions = {}): Promise<MetricsServer> {
  const http: Server = createServer((req, res) => {
    const path = (req.url ?? '').split('?')[0];
    if (path !== '/metrics') {
      res.writeHead(404, { 'content-type': 'text/plain' }).end('Not found: try /metrics\n');
      return;
    }
    if (req.method !== 'GET' && req.method !== 'HEAD') {
      res.writeHead(405, { allow: 'GET, HEAD', 'content-type': 'text/plain' }).end('Method not allowed\n');
      return;
    }
    const body = metricsText(server.stats());
    res.writeHead(200, { 'content-type': METRICS_CONTENT_TYPE, 'content-length': Buffer.byteLength(body) });
    res.end(req.method === 'HEAD' ? undefined : body);
  });
  const host = options.host ?? '127.0.0.1';
  await new Promise<void>((resolve, reject) => {
    http.once('error', reject);
    http.listen({ host, port: options.port ?? 0 }, () => {
      http.off('error', reject);
      resolve();
    });
  });
  const address = http.address() as AddressInfo;
  const shown = address.family === 'IPv6' ? `[${address.address}]` : address.address;
  return {
    url: `http://${shown}:${address.port}/metrics`,
    address,
    close: () =>
      new Promise<void>((resolve) => {
        http.close(() => resolve());
        http.closeAllConnections();
      }),
  };
}
