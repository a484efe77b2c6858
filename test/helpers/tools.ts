// Wrappers that run third-party FTP clients (curl, lftp, python3 ftplib,
// tnftp) against a server, each with a hard timeout.
//
//   describe.skipIf(!hasTool('lftp'))('lftp', () => { ... })
//   const r = await lftp('put /tmp/a -o a; cls -l', { host, port, user, password });
//   expect(r.code).toBe(0);
import { spawn, spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';

export type ToolName = 'curl' | 'lftp' | 'python3' | 'tnftp';

export interface ToolResult {
  /** Exit code; null when killed (timeout or signal). */
  code: number | null;
  stdout: string;
  stderr: string;
  timedOut: boolean;
}

export interface RunOptions {
  /** Kill (SIGKILL) after this many ms, default 30 s. */
  timeoutMs?: number;
  /** Written to stdin, which is then closed. */
  input?: string | Buffer;
  env?: NodeJS.ProcessEnv;
  cwd?: string;
}

export interface FtpTarget {
  host: string;
  port: number;
  user: string;
  password: string;
}

/** Debian's system Python: the one python3-pyftpdlib is installed for (PATH's python3 may be pyenv). */
export const PYTHON = existsSync('/usr/bin/python3') ? '/usr/bin/python3' : 'python3';

const TOOL_CMD: Record<ToolName, { cmd: string; probe: string[]; pkg: string }> = {
  curl: { cmd: 'curl', probe: ['--version'], pkg: 'curl' },
  lftp: { cmd: 'lftp', probe: ['--version'], pkg: 'lftp' },
  python3: { cmd: PYTHON, probe: ['-c', 'import ftplib'], pkg: 'python3' },
  // Debian's `ftp` is tnftp since bookworm; `-?` output names it.
  tnftp: { cmd: 'ftp', probe: ['-?'], pkg: 'tnftp' },
};

const known = new Map<ToolName, boolean>();

/** True when the tool runs here (cached). No side effects. */
export function toolAvailable(name: ToolName): boolean {
  let ok = known.get(name);
  if (ok === undefined) {
    const { cmd, probe } = TOOL_CMD[name];
    const r = spawnSync(cmd, probe, { encoding: 'utf8', timeout: 10_000, input: '' });
    ok = r.error === undefined && (name === 'tnftp' ? /usage: (ftp|tnftp) \[-46A/.test(`${r.stdout}${r.stderr}`) : r.status === 0);
    known.set(name, ok);
  }
  return ok;
}

/**
 * For `describe.skipIf(!hasTool('lftp'))`: true when available; false
 * (skip) when missing locally, but with CI=true a missing tool throws.
 */
export function hasTool(name: ToolName): boolean {
  if (toolAvailable(name)) return true;
  if (process.env.CI === 'true') throw new Error(`tool ${name} is required in CI but missing (apt-get install ${TOOL_CMD[name].pkg})`);
  return false;
}

function requireTool(name: ToolName): string {
  if (!toolAvailable(name)) throw new Error(`tool ${name} is not installed (apt-get install ${TOOL_CMD[name].pkg})`);
  return TOOL_CMD[name].cmd;
}

/** Runs a command with a hard timeout; never rejects for a non-zero exit. */
export function runTool(cmd: string, args: string[], opts: RunOptions = {}): Promise<ToolResult> {
  const timeoutMs = opts.timeoutMs ?? 30_000;
  return new Promise((resolve, reject) => {
    const child = spawn(cmd, args, { env: opts.env ?? process.env, cwd: opts.cwd, stdio: ['pipe', 'pipe', 'pipe'] });
    const out: Buffer[] = [];
    const err: Buffer[] = [];
    let timedOut = false;
    child.stdout.on('data', (d: Buffer) => out.push(d));
    child.stderr.on('data', (d: Buffer) => err.push(d));
    const timer = setTimeout(() => {
      timedOut = true;
      child.kill('SIGKILL');
    }, timeoutMs);
    child.once('error', (e) => {
      clearTimeout(timer);
      reject(e);
    });
    child.once('close', (code) => {
      clearTimeout(timer);
      resolve({ code, stdout: Buffer.concat(out).toString('utf8'), stderr: Buffer.concat(err).toString('utf8'), timedOut });
    });
    // the tool may exit before reading its stdin: ignore EPIPE
    child.stdin.on('error', () => undefined);
    child.stdin.end(opts.input ?? '');
  });
}

/** FTP URL for a target: ftp://user:pass@host:port/path (user/password URL-encoded). */
export function ftpUrl(t: FtpTarget, path = '/'): string {
  const host = t.host.includes(':') ? `[${t.host}]` : t.host;
  return `ftp://${encodeURIComponent(t.user)}:${encodeURIComponent(t.password)}@${host}:${t.port}${path.startsWith('/') ? path : `/${path}`}`;
}

/** curl with the given args (add -sS yourself). Adds nothing else. */
export function curl(args: string[], opts: RunOptions = {}): Promise<ToolResult> {
  return runTool(requireTool('curl'), args, opts);
}

export interface LftpOptions extends FtpTarget, RunOptions {
  /** ftp:passive-mode, default true. */
  passive?: boolean;
  /** Extra `set` lines, e.g. { 'ftp:use-mode-z': 'yes' }. ftp:ssl-allow defaults to 'no'. */
  settings?: Record<string, string | number | boolean>;
}

function lftpQuote(s: string): string {
  return `"${s.replace(/(["\\])/g, '\\$1')}"`;
}

/**
 * `lftp -c`: settings, open, then `script` (lftp commands separated by ';'
 * or newlines). cmd:fail-exit makes the first failing command end lftp with
 * a non-zero code.
 */
export function lftp(script: string, opts: LftpOptions): Promise<ToolResult> {
  const settings: Record<string, string | number | boolean> = {
    'net:max-retries': 1,
    'net:timeout': 10,
    'net:reconnect-interval-base': 1,
    'ftp:ssl-allow': 'no',
    'ftp:passive-mode': opts.passive === false ? 'off' : 'on',
    'cmd:fail-exit': 'yes',
    'cmd:interactive': 'no',
    'xfer:clobber': 'on',
    ...opts.settings,
  };
  const lines = Object.entries(settings).map(([k, v]) => `set ${k} ${typeof v === 'boolean' ? (v ? 'yes' : 'no') : v}`);
  const host = opts.host.includes(':') ? `[${opts.host}]` : opts.host;
  lines.push(`open -u ${lftpQuote(opts.user)},${lftpQuote(opts.password)} -p ${opts.port} ftp://${host}`);
  lines.push(script);
  // -c takes one argument; newlines separate commands like ';'.
  return runTool(requireTool('lftp'), ['-c', lines.join('\n')], { ...opts, env: { ...process.env, HOME: process.env.HOME ?? '/root', ...opts.env } });
}

export interface PyftpOptions extends RunOptions {
  /** Exposed to the script as HOST, PORT, USER, PASSWORD. */
  target?: FtpTarget;
}

/**
 * Runs `scriptBody` with the system python3. The prelude imports ftplib,
 * hashlib, io, os, sys and defines HOST/PORT/USER/PASSWORD from `target`.
 * Print what you want to assert on; an exception exits with code 1.
 */
export function pyftp(scriptBody: string, opts: PyftpOptions = {}): Promise<ToolResult> {
  const t = opts.target;
  const prelude = [
    'import ftplib, hashlib, io, os, sys',
    `HOST = ${JSON.stringify(t?.host ?? '127.0.0.1')}`,
    `PORT = ${t?.port ?? 21}`,
    `USER = ${JSON.stringify(t?.user ?? 'anonymous')}`,
    `PASSWORD = ${JSON.stringify(t?.password ?? '')}`,
    '',
  ].join('\n');
  return runTool(requireTool('python3'), ['-c', prelude + scriptBody], opts);
}

export interface TnftpOptions extends FtpTarget, RunOptions {
  /** Passive (-p, default) or active (-A). */
  passive?: boolean;
}

/**
 * Drives tnftp (`ftp -n -v -p host port`) through stdin: logs in with
 * `user`, runs `commands` (one per array item), then `bye`. tnftp exits 0
 * even when a command fails, so assert on stdout (it prints the replies).
 */
export function tnftp(commands: string[], opts: TnftpOptions): Promise<ToolResult> {
  const input = [`user ${opts.user} ${opts.password}`, ...commands, 'bye', ''].join('\n');
  const args = ['-n', '-v', opts.passive === false ? '-A' : '-p', opts.host, String(opts.port)];
  return runTool(requireTool('tnftp'), args, { ...opts, input });
}
