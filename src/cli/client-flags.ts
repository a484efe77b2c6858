// Flags, connection options and the group of logged-in clients that ftp-get and ftp-put share.
import { readFileSync } from 'node:fs';
import { FileClient, FtpError, type FileClientOptions, type FtpUrl } from '../index.js';
import { STANDARD_OPTIONS } from './args.js';
import { parseCount, parseDuration } from './numbers.js';
import type { ProgressBar } from './progress-bar.js';
import { CliError, errnoOf, EXIT } from './exit.js';
import { UsageError } from './usage-error.js';

/** Flags both bins share (node:util parseArgs shape). */
export const COMMON_OPTIONS = {
  user: { type: 'string', short: 'u' },
  recursive: { type: 'boolean', short: 'R', default: false },
  // -r: the old spelling of -R, kept one release with a warning (client-main.ts); not in --help.
  'deprecated-r': { type: 'boolean', short: 'r', default: false },
  continue: { type: 'boolean', short: 'c', default: false },
  parallel: { type: 'string', default: '1' },
  quiet: { type: 'boolean', short: 'q', default: false },
  active: { type: 'boolean', default: false },
  ascii: { type: 'boolean', default: false },
  verify: { type: 'boolean', default: false },
  timeout: { type: 'string', default: '30' },
  'netrc-file': { type: 'string' },
  tls: { type: 'boolean', default: false },
  insecure: { type: 'boolean', short: 'k', default: false },
  ca: { type: 'string' },
  fingerprint: { type: 'string' },
  compress: { type: 'boolean', short: 'z', default: false },
  ...STANDARD_OPTIONS,
} as const;

export const COMMON_HELP = `  -u, --user USER[:PASS]  login (else from the URL, ~/.netrc); a password missing is taken from
                          $FTPKIT_PASSWORD, a prompt on a terminal, or the first line of stdin
  -R, --recursive         whole folder trees (the old -r still works, with a warning)
  -c, --continue          resume partial files
      --parallel N        connections at once (1 to 32)
  -q, --quiet             no progress bar, warnings or -R summary
  -v, --verbose           print the control dialogue on stderr (password masked)
      --active            active mode (EPRT/PORT) instead of passive
      --ascii             TYPE A: convert line endings
  -z, --compress          MODE Z (zlib) when the server offers it, else plain (a note under -v)
      --verify            after each file, compare its hash with the server's (HASH, else XSHA256/XSHA1/XMD5/XCRC)
      --timeout SECONDS   per-reply and connect timeout (default 30)
      --netrc-file FILE   read credentials from FILE instead of ~/.netrc
      --tls               explicit FTPS (AUTH TLS) for an ftp:// URL; ftpes:// is the same,
                          ftps:// is implicit FTPS (TLS from the first byte, port 990)
  -k, --insecure          accept any server certificate (expired, self-signed, other host)
      --ca FILE           trust the CA certificates in FILE (PEM) instead of the system ones
      --fingerprint SHA256
                          accept only the certificate with this SHA-256 fingerprint
  -h, --help              show this help
  -V, --version           show the version
`;

export interface CommonFlags {
  user: string | undefined;
  recursive: boolean;
  resume: boolean;
  parallel: number;
  quiet: boolean;
  verbose: boolean;
  active: boolean;
  ascii: boolean;
  /** -z: MODE Z when the server offers it. */
  compress: boolean;
  /** Compare local and remote hashes after each file (binary transfers only). */
  verify: boolean;
  timeoutMs: number;
  netrcFile: string | undefined;
  /** --tls: explicit FTPS for an ftp:// URL. */
  tls: boolean;
  /** -k: no certificate verification. */
  insecure: boolean;
  caFile: string | undefined;
  /** Normalized (upper-case hex, no colons). */
  fingerprint: string | undefined;
  /** Fired by the bin on SIGINT: operations send ABOR and partial files are cleaned up. */
  signal?: AbortSignal;
}

export function readCommonFlags(values: Record<string, string | boolean | undefined>): CommonFlags {
  const parallel = parseCount(String(values.parallel ?? '1'), '--parallel', { min: 1, max: 32 });
  const timeoutMs = parseDuration(String(values.timeout ?? '30'), '--timeout', { minMs: 1, maxMs: 86_400_000 });
  if (values.verify === true && (values.ascii === true || values.recursive === true || values['deprecated-r'] === true)) throw new UsageError('--verify works on single binary files (not with --ascii or -R)');
  let fingerprint: string | undefined;
  if (values.fingerprint !== undefined) {
    fingerprint = normalizeFingerprint(String(values.fingerprint));
    if (fingerprint === undefined) throw new UsageError(`--fingerprint takes a SHA-256 fingerprint (64 hex digits, colons allowed), got '${String(values.fingerprint)}'`);
  }
  return {
    user: values.user as string | undefined,
    recursive: values.recursive === true || values['deprecated-r'] === true,
    resume: values.continue === true,
    parallel,
    quiet: values.quiet === true,
    verbose: values.verbose === true,
    active: values.active === true,
    ascii: values.ascii === true,
    compress: values.compress === true,
    verify: values.verify === true,
    timeoutMs,
    netrcFile: values['netrc-file'] as string | undefined,
    tls: values.tls === true,
    insecure: values.insecure === true,
    caFile: values.ca as string | undefined,
    fingerprint,
  };
}

/** Where and how to connect: the URL's host, port and TLS mode, a login, and the TLS flags. */
export function connectionOptions(url: FtpUrl, creds: { user: string; password: string }, flags: CommonFlags): FileClientOptions {
  const tls = url.tls || (flags.tls ? 'explicit' : false);
  const options: FileClientOptions = { host: url.host, port: url.port, ...creds, tls, ...(flags.compress ? { compress: true } : {}) };
  if (!tls) {
    if (flags.insecure || flags.caFile !== undefined || flags.fingerprint !== undefined) {
      throw new UsageError('-k, --ca and --fingerprint need FTPS: an ftps:// or ftpes:// URL, or --tls');
    }
    return options;
  }
  if (flags.insecure) options.rejectUnauthorized = false;
  if (flags.fingerprint !== undefined) options.fingerprint256 = flags.fingerprint;
  if (flags.caFile !== undefined) {
    try {
      options.ca = readFileSync(flags.caFile);
    } catch (err) {
      throw new UsageError(`--ca: cannot read ${flags.caFile}: ${(err as NodeJS.ErrnoException).code ?? (err as Error).message}`);
    }
  }
  return options;
}

/**
 * Opens `count` logged-in clients, wired to the terminal: -v dialogue on
 * stderr, warnings (unless -q), and byte deltas into the progress bar.
 */
export class ClientGroup {
  readonly clients: FileClient[] = [];
  #prog: string;
  #flags: CommonFlags;
  #bar: ProgressBar | undefined;
  #moved = 0;
  #filesDone = 0;

  constructor(prog: string, flags: CommonFlags) {
    this.#prog = prog;
    this.#flags = flags;
  }

  /** Set a bar to have progress drawn into it (only on a TTY, never with -q). */
  set bar(bar: ProgressBar | undefined) {
    this.#bar = bar;
  }

  get bar(): ProgressBar | undefined {
    return this.#bar;
  }

  /** Bytes moved over data connections by this run (what a resume found already there not counted). */
  get moved(): number {
    return this.#moved;
  }

  /** Transfers that completed (a file, or a segment of one). */
  get filesDone(): number {
    return this.#filesDone;
  }

  /** Connects and logs in `count` clients; a host that cannot be reached is named in the error. */
  async open(options: FileClientOptions, count: number): Promise<FileClient[]> {
    const settled = await Promise.allSettled(Array.from({ length: count }, (_, i) => this.#connect(options, count > 1 ? `[${i + 1}] ` : '')));
    const opened = settled.flatMap((r) => (r.status === 'fulfilled' ? [r.value] : []));
    this.clients.push(...opened);
    const failed = settled.find((r) => r.status === 'rejected');
    if (failed) throw connectFailure(failed.reason, options.host, options.port ?? 21);
    return opened;
  }

  async closeAll(): Promise<void> {
    await Promise.all(this.clients.map((c) => c.close()));
  }

  async #connect(options: FileClientOptions, tag: string): Promise<FileClient> {
    const client = new FileClient({ ...options, active: this.#flags.active, timeout: this.#flags.timeoutMs, progressInterval: 100 });
    const err = process.stderr;
    if (this.#flags.verbose) {
      client.on('command', (line) => err.write(`${tag}> ${line}\n`));
      client.on('reply', (reply) => {
        const lines = reply.text.split('\n');
        lines.forEach((l, i) => err.write(`${tag}< ${i === 0 || i === lines.length - 1 ? `${reply.code}${i < lines.length - 1 ? '-' : ' '}` : ' '}${l}\n`));
      });
    }
    if (!this.#flags.quiet) {
      client.on('warning', (message) => {
        this.#bar?.clear();
        err.write(`${this.#prog}: warning: ${message}\n`);
      });
    }
    let last = 0;
    client.on('progress', (p) => {
      if (p.direction === 'list') return;
      // A transfer that failed sends no final event: the next one starts below `last`.
      const delta = p.transferred >= last ? p.transferred - last : p.transferred;
      last = p.done ? 0 : p.transferred;
      if (delta > 0) {
        this.#moved += delta;
        this.#bar?.add(delta);
      }
      if (p.done) {
        this.#filesDone++;
        this.#bar?.fileDone();
      }
    });
    try {
      await client.connect(this.#flags.signal ? { signal: this.#flags.signal } : {});
    } catch (e) {
      client.destroy();
      throw e;
    }
    if (options.compress && !client.compressed && this.#flags.verbose) {
      this.#bar?.clear();
      err.write(`${this.#prog}: note: the server does not offer MODE Z: transferring uncompressed\n`);
    }
    return client;
  }
}

/**
 * A connection that could not be made, in the words of the URL typed: `cannot resolve host
 * ftp.example.org`, `cannot connect to 127.0.0.1:2121: connection refused`.
 */
export function connectFailure(err: unknown, host: string, port: number): unknown {
  const where = `${host.includes(':') ? `[${host}]` : host}:${port}`;
  switch (errnoOf(err)) {
    case 'ENOTFOUND':
    case 'EAI_NONAME':
    case 'EAI_NODATA':
    case 'EAI_FAIL':
      return new CliError(`cannot resolve host ${host}`, EXIT.COULD_NOT_RESOLVE, { cause: err });
    case 'EAI_AGAIN':
      return new CliError(`cannot resolve host ${host} (the name server did not answer)`, EXIT.COULD_NOT_RESOLVE, { cause: err });
    case 'ECONNREFUSED':
      return new CliError(`cannot connect to ${where}: connection refused`, EXIT.COULD_NOT_CONNECT, { cause: err });
    case 'EHOSTUNREACH':
    case 'EHOSTDOWN':
      return new CliError(`cannot connect to ${where}: no route to host`, EXIT.COULD_NOT_CONNECT, { cause: err });
    case 'ENETUNREACH':
    case 'ENETDOWN':
      return new CliError(`cannot connect to ${where}: network unreachable`, EXIT.COULD_NOT_CONNECT, { cause: err });
    case 'ETIMEDOUT':
      return new CliError(`cannot connect to ${where}: timed out`, EXIT.TIMEOUT, { cause: err });
    default:
      return err;
  }
}

/**
 * A 55x about a file reads better with the path in it (`550 /x: No such file`);
 * servers that already name it are left alone.
 */
export function withPath(err: unknown, remotePath: string): unknown {
  if (!(err instanceof FtpError) || err.code !== 'FTPKIT_ERR_REPLY' || err.replyCode === undefined) return err;
  if (err.replyCode < 550 || err.replyCode > 559 || err.message.includes(remotePath)) return err;
  const text = err.message.replace(/^\d{3} /, '');
  return new FtpError('FTPKIT_ERR_REPLY', `${err.replyCode} ${remotePath}: ${text}`, { replyCode: err.replyCode, cause: err });
}

/** `AB:CD:...`, `sha256:abcd...` or `abcd...` -> `ABCD...`; undefined unless exactly 32 bytes of hex. */
function normalizeFingerprint(value: string): string | undefined {
  const hex = value.replace(/^sha256[:=]/i, '').replace(/:/g, '').toUpperCase();
  return /^[0-9A-F]{64}$/.test(hex) ? hex : undefined;
}
