import fs from 'node:fs';
import type { Readable, Writable } from 'node:stream';
import { checkInteger, FtpError } from '../errors.js';
import { isNegative, normalizeIp, parseMlsdTime, formatMlsdTime, parseQuotedPath, type FtpReply, type ListEntry } from '../protocol/index.js';
import { ControlConnection } from './control.js';
import { readListing } from './listing.js';
import { resolveOptions, type FileClientOptions, type ResolvedOptions } from './options.js';
import { ProgressTracker, type TransferProgress } from './progress.js';
import { linkSignal, OperationQueue } from './queue.js';
import { assertSafeArgument } from './safety.js';
import { expect, parseFeatures, protocolError, replyError, replyText, setType, type ControlSession } from './control-session.js';
import { receiveInto, sendFile, sendFrom } from './stream-io.js';
import { fdReader, type FdReader } from '../util/fd-reader.js';
import { writeToFile } from './file-sink.js';
import { runTransfer } from './transfer.js';
import { makeDirectories, removeDirectory } from './remote-folders.js';
import { remoteHash, type HashAlgorithm } from './hash.js';
import { typedEmitter } from '../util/typed-emitter.js';

/** Events a FileClient emits; none of them is 'error' (failures reject the operation). */
export type FileClientEvents = {
  /** A command line as sent; the PASS argument is masked. */
  command: (line: string) => void;
  /** A reply as received. */
  reply: (reply: FtpReply) => void;
  /** Throttled progress of a transfer (see `progressInterval`), plus a final event. */
  progress: (progress: TransferProgress) => void;
  /** Something skipped or replaced for safety: a hostile name, a PASV host. */
  warning: (message: string) => void;
  /** The control connection closed; `error` says why when it was not `close()`. */
  close: (error: FtpError | undefined) => void;
};

export interface OperationOptions {
  signal?: AbortSignal;
}

export interface DownloadOptions extends OperationOptions {
  /** Resume: REST to this byte; a path destination is truncated to it and written from there. */
  startAt?: number;
  /** Read only this many bytes, then stop (a segment of a parallel download). */
  length?: number;
  /** TYPE A: CRLF becomes LF. */
  ascii?: boolean;
  /** Size for progress events; when omitted and someone listens for progress, SIZE is asked. */
  total?: number;
}

export interface UploadOptions extends OperationOptions {
  /** REST + STOR from this offset; a path source is read from this byte too. */
  startAt?: number;
  /** TYPE A: LF becomes CRLF. */
  ascii?: boolean;
  /** Size for progress events (a path source is measured). */
  total?: number;
}

export interface TransferResult {
  /** Bytes moved over the data connection. */
  bytes: number;
  reply: FtpReply;
}

const NEVER = new AbortController().signal;

/** A server that will not go (fully) secure is a TLS failure, whatever its reply code. */
function tlsRefused(command: string, reply: FtpReply): FtpError {
  return new FtpError('FTPKIT_ERR_TLS', `TLS: the server refused ${command}: ${reply.code} ${replyText(reply)}`, { replyCode: reply.code });
}

/**
 * An FTP client for one connection. Operations run one at a time in call
 * order; every one takes an AbortSignal.
 */
export class FileClient extends typedEmitter<FileClientEvents>() {
  readonly options: Readonly<ResolvedOptions>;
  #session: ControlSession | undefined;
  #queue = new OperationQueue();
  #keepAlive: NodeJS.Timeout | undefined;
  #closing = false;

  constructor(options: FileClientOptions) {
    super();
    this.options = resolveOptions(options);
    assertSafeArgument(this.options.user, 'user');
    assertSafeArgument(this.options.password, 'password');
  }

  /** FEAT as parsed at login (upper-case names). Empty before connect(). */
  get features(): ReadonlyMap<string, string> {
    return this.#session?.features ?? new Map();
  }

  /** The negotiated TLS version ('TLSv1.3', 'TLSv1.2') when the control connection is secure. */
  get tlsProtocol(): string | undefined {
    return this.#session?.control.tls?.socket.getProtocol() ?? undefined;
  }

  get connected(): boolean {
    return this.#session !== undefined && !this.#session.control.closed;
  }

  /** Connects, logs in, negotiates FEAT / UTF8 and binary type. Resolves with the login reply. */
  async connect(opts: OperationOptions = {}): Promise<FtpReply> {
    if (this.#session || this.#closing) throw new FtpError('FTPKIT_ERR_INVALID_ARGUMENT', 'connect() may be called once per client');
    const o = this.options;
    const { control, greeting } = await ControlConnection.connect(o.host, o.port, {
      timeout: o.timeout,
      maxReplyBytes: o.maxReplyBytes,
      signal: opts.signal,
      tls: o.tls,
      hooks: {
        onCommand: (line) => this.emit('command', line.startsWith('PASS ') ? 'PASS ****' : line),
        onReply: (reply) => this.emit('reply', reply),
        onClose: (error) => {
          clearTimeout(this.#keepAlive);
          this.emit('close', error);
        },
      },
    });
    const session: ControlSession = {
      control,
      options: this.options as ResolvedOptions,
      features: new Map(),
      peerHost: normalizeIp(control.remoteAddress ?? o.host),
      epsvRefused: false,
      eprtRefused: false,
      type: 'A', // RFC 959's default until we say TYPE I
      warn: (message) => this.emit('warning', message),
    };
    try {
      if (isNegative(greeting.code)) throw replyError(greeting);
      if (o.tls?.mode === 'explicit') {
        // RFC 4217 section 4: AUTH TLS, 234, then the handshake over the same socket.
        const auth = await control.request('AUTH TLS', o.timeout);
        if (auth.code !== 234) throw tlsRefused('AUTH TLS', auth);
        await control.startTls(o.host, o.tls, o.timeout);
      }
      let reply = await control.request(`USER ${o.user}`, o.timeout);
      if (reply.code === 331 || reply.code === 332) reply = await control.request(`PASS ${o.password}`, o.timeout);
      if (reply.code !== 230 && reply.code !== 202) {
        throw isNegative(reply.code) ? replyError(reply) : protocolError('login did not complete', reply);
      }
      if (o.tls) {
        // RFC 4217 sections 8-9: PBSZ 0 then PROT P, so data connections are TLS too.
        const pbsz = await control.request('PBSZ 0', o.timeout);
        if (pbsz.code < 200 || pbsz.code >= 300) throw tlsRefused('PBSZ 0', pbsz);
        const prot = await control.request('PROT P', o.timeout);
        if (prot.code < 200 || prot.code >= 300) throw tlsRefused('PROT P', prot);
      }
      const feat = await control.request('FEAT', o.timeout);
      for (const [k, v] of parseFeatures(feat)) session.features.set(k, v);
      // RFC 2640: paths go out as UTF-8 either way; some servers only agree after OPTS.
      if (session.features.has('UTF8')) await control.request('OPTS UTF8 ON', o.timeout);
      await setType(session, 'I');
      if (this.#closing) throw new FtpError('FTPKIT_ERR_CLOSED', 'the client was closed while connecting');
      this.#session = session;
      this.#armKeepAlive();
      return reply;
    } catch (err) {
      control.destroy(err instanceof FtpError ? err : undefined);
      throw err;
    }
  }

  pwd(opts?: OperationOptions): Promise<string> {
    return this.#run(async (s) => {
      const reply = await expect(s, 'PWD', [257]);
      const path = parseQuotedPath(reply.text);
      if (path === null) throw protocolError('malformed PWD reply', reply);
      return path;
    }, opts);
  }

  cd(path: string, opts?: OperationOptions): Promise<FtpReply> {
    return this.#run((s) => expect(s, `CWD ${path}`), opts, [path]);
  }

  /** Entries of a folder (MLSD when offered, else LIST parsed as Unix or DOS); '.' and '..' left out. */
  list(path = '', opts?: OperationOptions): Promise<ListEntry[]> {
    return this.#run((s, signal) => readListing(s, path, signal, (p) => this.emit('progress', p)), opts, [path]);
  }

  size(path: string, opts?: OperationOptions): Promise<number> {
    return this.#run(async (s) => this.#size(s, path), opts, [path]);
  }

  /** The server's hash of a file, lower-case hex: HASH when FEAT offers it, else XCRC/XMD5/XSHA1/XSHA256/XSHA512. */
  hash(path: string, algorithm: HashAlgorithm = 'SHA-256', opts?: OperationOptions): Promise<string> {
    return this.#run((s) => remoteHash(s, path, algorithm), opts, [path]);
  }

  lastModified(path: string, opts?: OperationOptions): Promise<Date> {
    return this.#run(async (s) => {
      const reply = await expect(s, `MDTM ${path}`, [213]);
      const date = parseMlsdTime(reply.text.trim());
      if (date === null) throw protocolError('malformed MDTM reply', reply);
      return date;
    }, opts, [path]);
  }

  /** MFMT (draft-somers-ftp-mfxx): sets the modification time. */
  setLastModified(path: string, date: Date, opts?: OperationOptions): Promise<FtpReply> {
    return this.#run((s) => expect(s, `MFMT ${formatMlsdTime(date)} ${path}`, [213, 250]), opts, [path]);
  }

  mkdir(path: string, opts: OperationOptions & { recursive?: boolean } = {}): Promise<void> {
    return this.#run(async (s) => {
      if (opts.recursive) await makeDirectories(s, path);
      else await expect(s, `MKD ${path}`, [257, 250]);
    }, opts, [path]);
  }

  /** RMD; with `recursive`, empties the folder first (hostile names in its listing are skipped). */
  rmdir(path: string, opts: OperationOptions & { recursive?: boolean } = {}): Promise<void> {
    return this.#run(async (s, signal) => {
      if (opts.recursive) await removeDirectory(s, path, signal, 0);
      else await expect(s, `RMD ${path}`, [250, 257]);
    }, opts, [path]);
  }

  remove(path: string, opts?: OperationOptions): Promise<FtpReply> {
    return this.#run((s) => expect(s, `DELE ${path}`, [250, 200]), opts, [path]);
  }

  rename(from: string, to: string, opts?: OperationOptions): Promise<FtpReply> {
    return this.#run(async (s) => {
      await expect(s, `RNFR ${from}`, [350]);
      return expect(s, `RNTO ${to}`, [250, 200]);
    }, opts, [from, to]);
  }

  /** Sends one raw command and returns its final reply; 4xx/5xx reject unless `allowNegative`. */
  send(command: string, opts: OperationOptions & { allowNegative?: boolean } = {}): Promise<FtpReply> {
    return this.#run(async (s) => {
      const reply = await s.control.request(command, s.options.timeout);
      if (isNegative(reply.code) && !opts.allowNegative) throw replyError(reply);
      return reply;
    }, opts, [command]);
  }

  /** RETR into a local path or a Writable (which is ended). */
  download(remotePath: string, dest: string | Writable, opts: DownloadOptions = {}): Promise<TransferResult> {
    const startAt = checkInteger('startAt', opts.startAt ?? 0, 0);
    if (opts.length !== undefined) checkInteger('length', opts.length, 1);
    return this.#run(async (s, signal) => {
      await setType(s, opts.ascii ? 'A' : 'I');
      const total = opts.total ?? (this.listenerCount('progress') > 0 && !opts.ascii ? await this.#size(s, remotePath).catch(() => undefined) : undefined);
      const tracker = new ProgressTracker((p) => this.emit('progress', p), s.options.progressInterval, { name: remotePath, direction: 'download', total, startAt });
      const receive = { ascii: opts.ascii ?? false, length: opts.length, tracker };
      if (typeof dest !== 'string') {
        const reply = await runTransfer(s, { command: `RETR ${remotePath}`, restart: startAt, handle: receiveInto(dest, receive) }, signal)
          .catch((err: unknown) => {
            dest.destroy();
            throw err;
          });
        tracker.finish();
        return { bytes: tracker.moved, reply };
      }
      // Opened before RETR goes out, so a read-only or missing folder fails cleanly here.
      const handle = await fs.promises.open(dest, startAt > 0 ? 'r+' : 'w');
      let reply: FtpReply;
      try {
        if (startAt > 0) await handle.truncate(startAt);
        // Pipes and devices have no positions: their writes go in order at the descriptor's.
        const position = (await handle.stat()).isFile() ? startAt : null;
        reply = await runTransfer(s, {
          command: `RETR ${remotePath}`,
          restart: startAt,
          handle: (conn, sig) => conn.attach && !receive.ascii
            ? writeToFile({ socket: conn.socket, attach: conn.attach }, handle, { position, length: opts.length, tracker }, sig)
            : receiveInto(handle.createWriteStream({ start: startAt }), receive)(conn, sig),
        }, signal);
      } catch (err) {
        await handle.close().catch(() => undefined);
        throw err;
      }
      await handle.close();
      tracker.finish();
      return { bytes: tracker.moved, reply };
    }, opts, [remotePath]);
  }

  /** STOR from a local path or a Readable; `startAt` resumes with REST (a path source is read from there). */
  upload(source: string | Readable, remotePath: string, opts: UploadOptions = {}): Promise<TransferResult> {
    return this.#store('STOR', source, remotePath, opts);
  }

  /** APPE: adds to the end of the remote file (ftp-put -c resumes this way). */
  append(source: string | Readable, remotePath: string, opts: Omit<UploadOptions, 'startAt'> & { localStart?: number } = {}): Promise<TransferResult> {
    return this.#store('APPE', source, remotePath, { ...opts, localStart: opts.localStart ?? 0 });
  }

  /** QUIT after the queued operations, then closes. Idempotent. */
  async close(): Promise<void> {
    if (this.#closing) return;
    this.#closing = true;
    clearTimeout(this.#keepAlive);
    const s = this.#session;
    if (!s || s.control.closed) {
      s?.control.destroy();
      return;
    }
    await this.#queue.run(async () => {
      try {
        await s.control.request('QUIT', Math.min(s.options.timeout, 2000));
      } catch {
        // The server may close first; either way we are done.
      }
      s.control.destroy();
    }).catch(() => undefined);
  }

  /** Closes the control connection at once; queued operations reject. */
  destroy(error?: FtpError): void {
    this.#closing = true;
    clearTimeout(this.#keepAlive);
    this.#session?.control.destroy(error);
  }

  #store(verb: 'STOR' | 'APPE', source: string | Readable, remotePath: string, opts: UploadOptions & { localStart?: number }): Promise<TransferResult> {
    const startAt = checkInteger('startAt', opts.startAt ?? 0, 0);
    checkInteger('localStart', opts.localStart ?? 0, 0);
    return this.#run(async (s, signal) => {
      await setType(s, opts.ascii ? 'A' : 'I');
      const ascii = opts.ascii ?? false;
      const from = verb === 'APPE' ? (opts.localStart ?? 0) : startAt;
      const local = typeof source === 'string' ? await openUploadFile(source, from, ascii) : { stream: source, size: undefined };
      const tracker = new ProgressTracker((p) => this.emit('progress', p), s.options.progressInterval, {
        name: remotePath, direction: 'upload', total: opts.total ?? local.size, startAt: from,
      });
      const reply = await runTransfer(s, {
        command: `${verb} ${remotePath}`,
        restart: verb === 'STOR' ? startAt : 0,
        handle: 'reader' in local ? sendFile(local.reader, local.size - from, tracker) : sendFrom(local.stream, { ascii, tracker }),
      }, signal).then(
        async (r) => {
          if ('reader' in local) await local.reader.close();
          return r;
        },
        async (err: unknown) => {
          if ('reader' in local) await local.reader.close();
          else local.stream.destroy();
          throw err;
        },
      );
      tracker.finish();
      return { bytes: tracker.moved, reply };
    }, opts, [remotePath]);
  }

  async #size(s: ControlSession, path: string): Promise<number> {
    await setType(s, 'I'); // SIZE in TYPE A is refused or wrong on several servers
    const reply = await expect(s, `SIZE ${path}`, [213]);
    const n = Number(reply.text.trim());
    if (!Number.isSafeInteger(n) || n < 0) throw protocolError('malformed SIZE reply', reply);
    return n;
  }

  /** Queues `task`; `args` (paths, raw commands) are checked for CR/LF/NUL before anything is queued. */
  #run<T>(task: (s: ControlSession, signal: AbortSignal) => Promise<T>, opts: OperationOptions = {}, args: string[] = []): Promise<T> {
    try {
      for (const a of args) assertSafeArgument(a, 'path');
    } catch (err) {
      return Promise.reject(err);
    }
    const s = this.#session;
    if (this.#closing) return Promise.reject(new FtpError('FTPKIT_ERR_CLOSED', 'the client is closed'));
    if (!s) return Promise.reject(new FtpError('FTPKIT_ERR_CLOSED', 'not connected: call connect() first'));
    clearTimeout(this.#keepAlive);
    const result = this.#queue.run(async () => {
      if (!opts.signal) return task(s, NEVER);
      const linked = linkSignal(opts.signal);
      try {
        return await task(s, linked.signal);
      } finally {
        linked.dispose();
      }
    }, opts.signal);
    result.then(() => this.#armKeepAlive(), () => this.#armKeepAlive());
    return result;
  }

  #armKeepAlive(): void {
    const s = this.#session;
    if (!s || s.options.keepAlive === 0 || this.#closing || s.control.closed) return;
    clearTimeout(this.#keepAlive);
    this.#keepAlive = setTimeout(() => {
      if (!this.#queue.idle || this.#closing) return;
      this.#run((session) => session.control.request('NOOP', session.options.timeout)).catch(() => undefined);
    }, s.options.keepAlive);
    this.#keepAlive.unref();
  }
}

/**
 * A local file to upload: binary from a regular file is read into reused
 * blocks (block-pump.ts); ASCII, pipes and devices stream. Sizes are taken at
 * open, like a download's: a file growing meanwhile is sent as it was.
 */
async function openUploadFile(path: string, from: number, ascii: boolean): Promise<{ reader: FdReader; size: number } | { stream: Readable; size: number }> {
  const handle = await fs.promises.open(path, 'r');
  const stat = await handle.stat().catch(async (err: unknown) => { await handle.close(); throw err; });
  if (stat.isFile() && !ascii) return { reader: fdReader(handle.fd, from, stat.size, { release: () => handle.close() }), size: stat.size };
  // A pipe cannot seek: only ask for a position when resuming (which then fails with ESPIPE).
  return { stream: handle.createReadStream({ ...(from > 0 ? { start: from } : {}), highWaterMark: 1024 * 1024 }), size: stat.size };
}
