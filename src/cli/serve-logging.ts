// ftp-serve's logging flags (issue 16): where the logs go and in which format, the xferlog, the
// metrics endpoint. Everything here is something an embedder can do with the package's exports.
import { isIP } from 'node:net';
import { pino, type DestinationStream, type Logger, type StreamEntry } from 'pino';
import { attachXferLog, openLogFile, prettyDestination, serveMetrics, type FileServer, type LogFile } from '../index.js';
import { parsePort } from './numbers.js';
import { UsageError } from './usage-error.js';

export const LOG_OPTIONS = {
  'log-level': { type: 'string' },
  'log-format': { type: 'string' },
  'log-file': { type: 'string' },
  xferlog: { type: 'string' },
  metrics: { type: 'string' },
} as const;

export const LOG_HELP = `  --log-level LEVEL      fatal, error, warn, info, debug, trace or silent (default info): info has
                         one audit record per login, file command, refusal and security event,
                         debug adds every command and reply (passwords masked), trace the data
                         connections
  --log-format FORMAT    pretty (one readable line per event) or json (default: pretty on a
                         terminal, json otherwise); logs go to stderr
  --log-file FILE        also append the logs to FILE as JSON lines
  --xferlog FILE         append a line per file transfer to FILE in the wu-ftpd xferlog format
                         (vsftpd's xferlog_std_format: webalizer, AWStats); kill -USR1 reopens
                         both files (logrotate)
  --metrics [HOST:]PORT  serve Prometheus metrics at http://HOST:PORT/metrics (HOST default
                         127.0.0.1; 0 = any free port)
`;

const LOG_LEVELS = ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'];

interface LogValues {
  'log-level'?: string | undefined;
  'log-format'?: string | undefined;
  'log-file'?: string | undefined;
  xferlog?: string | undefined;
  metrics?: string | undefined;
  verbose?: boolean | undefined;
}


export interface LogPlan {
  logger: Logger;
  /** The --xferlog file, open. */
  xferlog: LogFile | undefined;
  metrics: { host: string; port: number } | undefined;
  /** Lines for stdout after the startup line. */
  notes: string[];
  /** Reopens --log-file and --xferlog (SIGUSR1). */
  reopen(): void;
}

/** Opens a file for appending, now: a path that cannot be written is a usage error naming the flag. */
function openFile(path: string, flag: string): LogFile {
  try {
    const dest = openLogFile(path);
    // A write or reopen that fails later (disk full, folder gone) is reported, never a crash.
    dest.on('error', (err: Error) => process.stderr.write(`ftp-serve: ${flag} ${path}: ${err.message}\n`));
    return dest;
  } catch (err) {
    throw new UsageError(`${flag}: cannot open ${path} (${(err as NodeJS.ErrnoException).code ?? (err as Error).message})`, { seeHelp: false });
  }
}

/** `--metrics [HOST:]PORT`, `[::1]:PORT` for IPv6. */
export function parseMetricsAddress(text: string): { host: string; port: number } {
  const m = /^(?:\[([^\]]+)\]:|([^:[\]]+):)?(\d+)$/.exec(text);
  const host = m?.[1] ?? m?.[2] ?? '127.0.0.1';
  if (!m || (isIP(host) === 0 && host !== 'localhost')) {
    throw new UsageError(`--metrics takes [HOST:]PORT with HOST an IP address (such as 127.0.0.1:9100 or [::1]:9100), got '${text}'`);
  }
  return { host, port: parsePort(m[3]!, '--metrics') };
}

function isLoopback(host: string): boolean {
  return host === 'localhost' || host === '::1' || /^127\./.test(host) || /^::ffff:127\./i.test(host);
}

/** The logger and files the flags ask for; files are opened now, so a bad path exits 2 before anything listens. */
export function planLogging(values: LogValues, stderr: NodeJS.WriteStream = process.stderr): LogPlan {
  const level = values['log-level'] ?? (values.verbose ? 'debug' : 'info');
  if (!LOG_LEVELS.includes(level)) throw new UsageError(`--log-level takes one of ${LOG_LEVELS.join(', ')}, got '${level}'`);
  const format = values['log-format'] ?? (stderr.isTTY ? 'pretty' : 'json');
  if (format !== 'pretty' && format !== 'json') throw new UsageError(`--log-format takes pretty or json, got '${format}'`);
  const metrics = values.metrics === undefined ? undefined : parseMetricsAddress(values.metrics);
  const notes: string[] = [];
  if (metrics && !isLoopback(metrics.host)) {
    notes.push(`ftp-serve: warning: the metrics on ${metrics.host} have no authentication: anyone who reaches that address reads them`);
  }

  const color = format === 'pretty' && stderr.isTTY === true && !('NO_COLOR' in process.env);
  const terminal: DestinationStream = format === 'pretty' ? prettyDestination(stderr, color) : pino.destination({ dest: 2, sync: true });
  const logFile = values['log-file'] === undefined ? undefined : openFile(values['log-file'], '--log-file');
  const xferlog = values.xferlog === undefined ? undefined : openFile(values.xferlog, '--xferlog');
  let logger: Logger;
  if (logFile && level !== 'silent') {
    const streams: StreamEntry[] = [
      { level: level as pino.Level, stream: terminal },
      { level: level as pino.Level, stream: logFile },
    ];
    logger = pino({ level }, pino.multistream(streams));
  } else {
    logger = pino({ level }, terminal);
  }
  return {
    logger,
    xferlog,
    metrics,
    notes,
    reopen() {
      logFile?.reopen();
      xferlog?.reopen();
    },
  };
}

/** Once the FTP server listens: the xferlog, the metrics endpoint. Returns lines for stdout. */
export async function startLogging(server: FileServer, plan: LogPlan): Promise<string[]> {
  if (plan.xferlog) attachXferLog(server, plan.xferlog);
  if (!plan.metrics) return [];
  const { host, port } = plan.metrics;
  try {
    const metrics = await serveMetrics(server, { host, port });
    return [`ftp-serve: metrics at ${metrics.url}`];
  } catch (err) {
    throw new Error(`cannot listen on ${host}:${port} for --metrics: ${(err as NodeJS.ErrnoException).code ?? (err as Error).message}`);
  }
}
