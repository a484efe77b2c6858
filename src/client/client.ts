import type { Readable, Writable } from 'node:stream';
import { checkInteger, FtpError } from '../errors.js';
import { isNegative, normalizeIp, parseMlsdTime, formatMlsdTime, parseQuotedPath, type FtpReply, type ListEntry } from '../protocol/index.js';
import { HASH_ALGORITHMS, isHashAlgorithm, type HashAlgorithm } from '../protocol/hash.js';
import { typedEmitter } from '../util/typed-emitter.js';
import { ControlConnection } from './control.js';
import { expect, negotiateModeZ, parseFeatures, protocolError, replyError, replyText, setType, type ControlSession } from './control-session.js';
import { downloadFile, uploadFile } from './file-transfers.js';
import { remoteHash } from './hash.js';
import { readListing } from './listing.js';
import { checkRange, rangeStream, readSlice } from './range-read.js';
import { NO_FOLLOW } from './local-file.js';
import { resolveOptions, type FileClientOptions, type ResolvedOptions } from './options.js';
import type { TransferProgress } from './progress.js';
import { linkSignal, OperationQueue } from './queue.js';
import { makeDirectories, removeDirectory } from './remote-folders.js';
import { assertSafeArgument } from './safety.js';
import { statPath } from './stat.js';
import { downloadTree, uploadTree, type TreeOptions, type TreeResult } from './tree.js';
import type {
  AppendArgs, AppendOptions, ConnectUrlOptions, DownloadArgs, DownloadOptions, OperationOptions, ReadRangeOptions, TransferResult, TreeArgs,
  UploadArgs, UploadOptions, UploadSource,
} from './method-options.js';

export type {
  AppendArgs, AppendOptions, ConnectUrlOptions, DownloadArgs, DownloadOptions, OperationOptions, ReadRangeOptions, TransferResult, TreeArgs,
  UploadArgs, UploadOptions, UploadSource,
};
import { clientOptionsFromUrl } from './url.js';
import { zeroCopy } from '../data/zero-copy.js';
import {
  APPEND_OPTIONS, checkBoolean, checkLocalPath, checkOptions, checkRemotePath, checkSource, checkTreeOptions, commonUpload,
  describe, DOWNLOAD_ALIASES, DOWNLOAD_OPTIONS, isWritableLike, RECURSIVE, SIGNAL_ONLY, transferArgs, TREE_OPTIONS, unknownName,
  UPLOAD_ALIASES, UPLOAD_OPTIONS,
} from './validate.js';

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

const NEVER = new AbortController().signal;

/** A server that will not go (fully) secure is a TLS failure, whatever its reply code. */
function tlsRefused(command: string, reply: FtpReply): FtpError {
  return new FtpError('FTPKIT_ERR_TLS', `TLS: the server refused ${command}: ${reply.code} ${replyText(reply)}`, { replyCode: reply.code });
}

/**
 * An FTP client for one connection. Operations run one at a time in call
 * order; every one takes an AbortSignal. Every method checks its arguments
 * and option names and reports any failure as a rejected FtpError.
 *
 * Transfers name their source first and their destination second, always:
 * `download(remote, local)`, `upload(local, remote)`, or with argument objects
 * `download({ from, to })`. (basic-ftp's `downloadTo(local, remote)` has the
 * opposite order: the objects make a mix-up impossible.)
 */
export class FileClient extends typedEmitter<FileClientEvents>() {
  readonly options: Readonly<ResolvedOptions>;
  #session: ControlSession | undefined;
  #queue = new OperationQueue();
  #keepAlive: NodeJS.Timeout | undefined;
  #closing = false;

  /** Checks the options (throws FTPKIT_ERR_INVALID_ARGUMENT naming the bad one); connect() opens the connection. */
  constructor(options: FileClientOptions) {
    super();
    this.options = resolveOptions(options);
    assertSafeArgument(this.options.user, 'user');
    assertSafeArgument(this.options.password, 'password');
    // Uploads of local files go out with sendfile (data/send-blocks.ts): the addon is loaded
    // now, so its one descriptor and thread exist before the first transfer, not after.
    zeroCopy();
  }

  /**
   * A connected, logged-in client from an `ftp://`, `ftps://` (implicit TLS) or
   * `ftpes://` (explicit TLS) URL: `FileClient.connect('ftp://alice:pw@host/')`.
   * Credentials come from the URL (percent-decoded) or from `options`, not both;
   * a folder path (`ftp://host/pub/`) becomes the working folder.
   */
  static async connect(url: string | URL, options: ConnectUrlOptions = {}): Promise<FileClient> {
    const { clientOptions, folder, signal } = clientOptionsFromUrl(url, options);
    const client = new FileClient(clientOptions);
    try {
      await client.connect(signal ? { signal } : {});
      if (folder !== undefined) await client.cd(folder, signal ? { signal } : {});
    } catch (err) {
      client.destroy();
      throw err;
    }
    return client;
  }

  /** FEAT as parsed at login (upper-case names). Empty before connect(). */
  get features(): ReadonlyMap<string, string> {
    return this.#session?.features ?? new Map();
  }

  /** The negotiated TLS version ('TLSv1.3', 'TLSv1.2') when the control connection is secure. */
  get tlsProtocol(): string | undefined {
    return this.#session?.control.tls?.socket.getProtocol() ?? undefined;
  }

  /** True when transfers are compressed: `compress` was asked and the server agreed to MODE Z. */
  get compressed(): boolean {
    return this.#session?.modeZ ?? false;
  }

  get connected(): boolean {
    return this.#session !== undefined && !this.#session.control.closed;
  }

  /** Connects, logs in, negotiates FEAT / UTF8 and binary type. Resolves with the login reply. */
  async connect(opts: OperationOptions = {}): Promise<FtpReply> {
    checkOptions(opts, SIGNAL_ONLY, 'connect()');
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
      modeZ: false,
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
      if (o.compress) await negotiateModeZ(session);
      if (this.#closing) throw new FtpError('FTPKIT_ERR_CLOSED', 'the client was closed while connecting');
      this.#session = session;
      this.#armKeepAlive();
      return reply;
    } catch (err) {
      control.destroy(err instanceof FtpError ? err : undefined);
      throw err;
    }
  }

  async pwd(opts?: OperationOptions): Promise<string> {
    checkOptions(opts, SIGNAL_ONLY, 'pwd()');
    return this.#run(async (s) => {
      const reply = await expect(s, 'PWD', [257]);
      const path = parseQuotedPath(reply.text);
      if (path === null) throw protocolError('malformed PWD reply', reply);
      return path;
    }, opts);
  }

  async cd(path: string, opts?: OperationOptions): Promise<FtpReply> {
    checkRemotePath(path);
    checkOptions(opts, SIGNAL_ONLY, 'cd()');
    return this.#run((s) => expect(s, `CWD ${path}`), opts);
  }

  /** Entries of a folder (MLSD when offered, else LIST parsed as Unix or DOS); '.' and '..' left out. */
  async list(path = '', opts?: OperationOptions): Promise<ListEntry[]> {
    if (path !== '') checkRemotePath(path);
    checkOptions(opts, SIGNAL_ONLY, 'list()');
    return this.#run((s, signal) => readListing(s, path, signal, (p) => this.emit('progress', p)), opts);
  }

  /**
   * What `path` is: its type, size and modification time (MLST when offered,
   * else SIZE and MDTM, else the parent's listing). A missing path rejects
   * with FTPKIT_ERR_REPLY, replyCode 550.
   */
  async stat(path: string, opts?: OperationOptions): Promise<ListEntry> {
    checkRemotePath(path);
    checkOptions(opts, SIGNAL_ONLY, 'stat()');
    return this.#run((s, signal) => statPath(s, path, signal), opts);
  }

  /** True when `path` exists (file, folder or link); false on 550; other failures reject. */
  async exists(path: string, opts?: OperationOptions): Promise<boolean> {
    checkRemotePath(path);
    checkOptions(opts, SIGNAL_ONLY, 'exists()');
    return this.#run((s, signal) => statPath(s, path, signal).then(
      () => true,
      (err: unknown) => {
        if (err instanceof FtpError && err.code === 'FTPKIT_ERR_REPLY' && err.replyCode === 550) return false;
        throw err;
      },
    ), opts);
  }

  async size(path: string, opts?: OperationOptions): Promise<number> {
    checkRemotePath(path);
    checkOptions(opts, SIGNAL_ONLY, 'size()');
    return this.#run(async (s) => this.#size(s, path), opts);
  }

  /** The server's hash of a file, lower-case hex: HASH when FEAT offers it, else XCRC/XMD5/XSHA1/XSHA256/XSHA512. */
  async hash(path: string, algorithm: HashAlgorithm = 'SHA-256', opts?: OperationOptions): Promise<string> {
    checkRemotePath(path);
    if (!isHashAlgorithm(algorithm)) throw unknownName('hash algorithm', String(algorithm), HASH_ALGORITHMS);
    checkOptions(opts, SIGNAL_ONLY, 'hash()');
    return this.#run((s) => remoteHash(s, path, algorithm), opts);
  }

  async lastModified(path: string, opts?: OperationOptions): Promise<Date> {
    checkRemotePath(path);
    checkOptions(opts, SIGNAL_ONLY, 'lastModified()');
    return this.#run(async (s) => {
      const reply = await expect(s, `MDTM ${path}`, [213]);
      const date = parseMlsdTime(reply.text.trim());
      if (date === null) throw protocolError('malformed MDTM reply', reply);
      return date;
    }, opts);
  }

  /** MFMT (draft-somers-ftp-mfxx): sets the modification time. */
  async setLastModified(path: string, date: Date, opts?: OperationOptions): Promise<FtpReply> {
    checkRemotePath(path);
    if (!(date instanceof Date) || Number.isNaN(date.getTime())) throw new FtpError('FTPKIT_ERR_INVALID_ARGUMENT', `setLastModified(): date must be a valid Date, got ${describe(date)}`);
    checkOptions(opts, SIGNAL_ONLY, 'setLastModified()');
    return this.#run((s) => expect(s, `MFMT ${formatMlsdTime(date)} ${path}`, [213, 250]), opts);
  }

  async mkdir(path: string, opts: OperationOptions & { recursive?: boolean } = {}): Promise<void> {
    checkRemotePath(path);
    checkOptions(opts, RECURSIVE, 'mkdir()');
    checkBoolean(opts.recursive, 'recursive');
    return this.#run(async (s) => {
      if (opts.recursive) await makeDirectories(s, path);
      else await expect(s, `MKD ${path}`, [257, 250]);
    }, opts);
  }

  /** RMD; with `recursive`, empties the folder first (hostile names in its listing are skipped). */
  async rmdir(path: string, opts: OperationOptions & { recursive?: boolean } = {}): Promise<void> {
    checkRemotePath(path);
    checkOptions(opts, RECURSIVE, 'rmdir()');
    checkBoolean(opts.recursive, 'recursive');
    return this.#run(async (s, signal) => {
      if (opts.recursive) await removeDirectory(s, path, signal, 0);
      else await expect(s, `RMD ${path}`, [250, 257]);
    }, opts);
  }

  async remove(path: string, opts?: OperationOptions): Promise<FtpReply> {
    checkRemotePath(path);
    checkOptions(opts, SIGNAL_ONLY, 'remove()');
    return this.#run((s) => expect(s, `DELE ${path}`, [250, 200]), opts);
  }

  async rename(from: string, to: string, opts?: OperationOptions): Promise<FtpReply> {
    checkRemotePath(from, 'from');
    checkRemotePath(to, 'to');
    checkOptions(opts, SIGNAL_ONLY, 'rename()');
    return this.#run(async (s) => {
      await expect(s, `RNFR ${from}`, [350]);
      return expect(s, `RNTO ${to}`, [250, 200]);
    }, opts);
  }

  /** Sends one raw command and returns its final reply; 4xx/5xx reject unless `allowNegative`. */
  async send(command: string, opts: OperationOptions & { allowNegative?: boolean } = {}): Promise<FtpReply> {
    checkRemotePath(command, 'command');
    checkOptions(opts, ['signal', 'allowNegative'], 'send()');
    checkBoolean(opts.allowNegative, 'allowNegative');
    return this.#run(async (s) => {
      const reply = await s.control.request(command, s.options.timeout);
      if (isNegative(reply.code) && !opts.allowNegative) throw replyError(reply);
      return reply;
    }, opts);
  }

  /**
   * RETR: the remote file `from`, into a local path or a Writable (which is
   * ended). `download('/pub/a.iso', 'a.iso')` or `download({ from: '/pub/a.iso', to: 'a.iso' })`.
   */
  download(args: DownloadArgs): Promise<TransferResult>;
  download(from: string, to: string | Writable, opts?: DownloadOptions): Promise<TransferResult>;
  async download(a: string | DownloadArgs, b?: string | Writable, c?: DownloadOptions): Promise<TransferResult> {
    const { from, to, opts } = transferArgs<string, string | Writable, DownloadOptions>('download', a, b, c, DOWNLOAD_OPTIONS, DOWNLOAD_ALIASES);
    checkRemotePath(from, 'from');
    if (typeof to === 'string') checkLocalPath(to, 'to');
    else if (!isWritableLike(to)) throw new FtpError('FTPKIT_ERR_INVALID_ARGUMENT', `download(): to must be a local path or a Writable, got ${describe(to)}`);
    const startAt = checkInteger('startAt', opts.startAt ?? 0, 0);
    const length = opts.length === undefined ? undefined : checkInteger('length', opts.length, 1);
    if (opts.total !== undefined) checkInteger('total', opts.total, 0);
    checkBoolean(opts.ascii, 'ascii');
    const ascii = opts.ascii ?? false;
    const noFollow = (opts as { [NO_FOLLOW]?: boolean })[NO_FOLLOW] === true;
    return this.#run(async (s, signal) => {
      const total = opts.total ?? (this.listenerCount('progress') > 0 && !ascii ? await this.#size(s, from).catch(() => undefined) : undefined);
      return downloadFile(s, { remote: from, to: to as string | Writable, startAt, length, ascii, total, noFollow }, signal, (p) => this.emit('progress', p), total);
    }, opts);
  }

  /**
   * Bytes `start`..`end` of a remote file (both inclusive, as fs.createReadStream; no `end`
   * reads to the end) as a Readable with backpressure: a slow reader pauses the data
   * connection. `RANG` when FEAT offers it, else `REST` and, after `end`, `ABOR`. Destroy the
   * stream to stop early; the client stays usable either way. Failures destroy the stream
   * with an FtpError.
   */
  createReadStream(path: string, opts: ReadRangeOptions = {}): Readable {
    const range = checkRange(path, opts, 'createReadStream()');
    return rangeStream((task, o) => this.#run(task, o), path, range, opts ?? {});
  }

  /** A small slice as one Buffer: `read('/clip.mp4', { start: 0, end: 1023 })` (`end` required, at most 64 MiB). */
  async read(path: string, opts: ReadRangeOptions): Promise<Buffer> {
    const range = checkRange(path, opts, 'read()');
    return readSlice((task, o) => this.#run(task, o), path, range, opts ?? {});
  }

  /**
   * STOR: a local path, bytes (Buffer, Uint8Array) or a Readable, to the remote
   * path `to`. `upload('report.pdf', '/in/report.pdf')` or
   * `upload({ from: Buffer.from('hi'), to: '/hi.txt' })`. A string is always a
   * local path: pass `Buffer.from(text)` to upload text.
   */
  upload(args: UploadArgs): Promise<TransferResult>;
  upload(from: UploadSource, to: string, opts?: UploadOptions): Promise<TransferResult>;
  async upload(a: UploadSource | UploadArgs, b?: string, c?: UploadOptions): Promise<TransferResult> {
    const { from, to, opts } = transferArgs<UploadSource, string, UploadOptions>('upload', a, b, c, UPLOAD_OPTIONS, UPLOAD_ALIASES);
    checkSource(from, 'upload');
    checkRemotePath(to, 'to');
    const startAt = checkInteger('startAt', opts.startAt ?? 0, 0);
    const job = { verb: 'STOR' as const, from, remote: to, restart: startAt, localStart: startAt, ...commonUpload(opts) };
    return this.#run((s, signal) => uploadFile(s, job, signal, (p) => this.emit('progress', p)), opts);
  }

  /** APPE: adds the source to the end of the remote file (ftp-put -c resumes this way). */
  append(args: AppendArgs): Promise<TransferResult>;
  append(from: UploadSource, to: string, opts?: AppendOptions): Promise<TransferResult>;
  async append(a: UploadSource | AppendArgs, b?: string, c?: AppendOptions): Promise<TransferResult> {
    const { from, to, opts } = transferArgs<UploadSource, string, AppendOptions>('append', a, b, c, APPEND_OPTIONS, UPLOAD_ALIASES);
    checkSource(from, 'append');
    checkRemotePath(to, 'to');
    const localStart = checkInteger('localStart', opts.localStart ?? 0, 0);
    const job = { verb: 'APPE' as const, from, remote: to, restart: 0, localStart, ...commonUpload(opts) };
    return this.#run((s, signal) => uploadFile(s, job, signal, (p) => this.emit('progress', p)), opts);
  }

  /**
   * Downloads the remote folder `from` into the local folder `to`: each file
   * under `name.part`, renamed when complete. Files that fail are listed in
   * the FTPKIT_ERR_INCOMPLETE error's `result`; the others still arrive.
   * `parallel` adds connected clients to move files at the same time.
   */
  downloadTree(args: TreeArgs): Promise<TreeResult>;
  downloadTree(from: string, to: string, opts?: TreeOptions): Promise<TreeResult>;
  async downloadTree(a: string | TreeArgs, b?: string, c?: TreeOptions): Promise<TreeResult> {
    const { from, to, opts } = transferArgs<string, string, TreeOptions>('downloadTree', a, b, c, TREE_OPTIONS, DOWNLOAD_ALIASES);
    checkRemotePath(from, 'from');
    checkLocalPath(to, 'to');
    return downloadTree(this.#treeClients(opts), from, to, checkTreeOptions(opts));
  }

  /** Uploads the local folder `from` as the remote folder `to` (created, with parents). */
  uploadTree(args: TreeArgs): Promise<TreeResult>;
  uploadTree(from: string, to: string, opts?: TreeOptions): Promise<TreeResult>;
  async uploadTree(a: string | TreeArgs, b?: string, c?: TreeOptions): Promise<TreeResult> {
    const { from, to, opts } = transferArgs<string, string, TreeOptions>('uploadTree', a, b, c, TREE_OPTIONS, UPLOAD_ALIASES);
    checkLocalPath(from, 'from');
    checkRemotePath(to, 'to');
    return uploadTree(this.#treeClients(opts), from, to, checkTreeOptions(opts));
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
    this.#session?.control.destroy(error instanceof FtpError ? error : undefined);
  }

  #treeClients(opts: TreeOptions): FileClient[] {
    const extra = opts.parallel ?? [];
    if (!Array.isArray(extra) || !extra.every((c) => c instanceof FileClient)) {
      throw new FtpError('FTPKIT_ERR_INVALID_ARGUMENT', 'parallel must be an array of FileClients');
    }
    return [this, ...extra.filter((c) => c !== this)];
  }

  async #size(s: ControlSession, path: string): Promise<number> {
    await setType(s, 'I'); // SIZE in TYPE A is refused or wrong on several servers
    const reply = await expect(s, `SIZE ${path}`, [213]);
    const n = Number(reply.text.trim());
    if (!Number.isSafeInteger(n) || n < 0) throw protocolError('malformed SIZE reply', reply);
    return n;
  }

  /** Queues `task` (the caller checked its arguments); rejects at once when closed or not connected. */
  #run<T>(task: (s: ControlSession, signal: AbortSignal) => Promise<T>, opts: OperationOptions = {}): Promise<T> {
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
