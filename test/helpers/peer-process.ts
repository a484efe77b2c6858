// Process plumbing for test peers: spawn in its own process group, keep a
// bounded tail of its output, wait for the 220 banner, kill the whole group.
import { spawn, type ChildProcess, type SpawnOptions } from 'node:child_process';
import { readdirSync, readFileSync } from 'node:fs';
import { connect } from 'node:net';

const TAIL_BYTES = 8192;

export interface ServerProcess {
  child: ChildProcess;
  /** Last few KB of stdout+stderr, for error messages. */
  output(): string;
  /** Resolves with the exit code/signal once the process has exited. */
  exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
  hasExited(): boolean;
  /** Kills the process group: SIGTERM, then SIGKILL after graceMs. Idempotent. */
  kill(graceMs?: number): Promise<void>;
}

// Every group we started, so a worker that exits without stop() leaves no orphan.
const groups = new Set<number>();
let exitHook = false;

function signal(pid: number, sig: NodeJS.Signals): void {
  try {
    process.kill(pid, sig);
  } catch {
    // already gone
  }
}

/** All live descendants of `root`, from /proc (ppid is field 4 of /proc/PID/stat). */
function descendants(root: number): number[] {
  const children = new Map<number, number[]>();
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      const stat = readFileSync(`/proc/${entry}/stat`, 'latin1');
      // the command name (field 2) may contain spaces: parse after its ')'
      const ppid = Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1]);
      const list = children.get(ppid) ?? [];
      list.push(Number(entry));
      children.set(ppid, list);
    } catch {
      // exited while we read
    }
  }
  const out: number[] = [];
  const todo = [root];
  while (todo.length > 0) {
    for (const c of children.get(todo.pop()!) ?? []) {
      out.push(c);
      todo.push(c);
    }
  }
  return out;
}

/**
 * Signals the server, its process group and every descendant. The group is
 * not enough: vsftpd sessions call setsid(), and they outlive the listener.
 * Descendants are collected before the leader dies (orphans move to pid 1).
 */
function killTree(pid: number, sig: NodeJS.Signals, known: Set<number> = new Set()): Set<number> {
  for (const d of descendants(pid)) known.add(d);
  signal(-pid, sig);
  for (const d of known) signal(d, sig);
  return known;
}

export function spawnServer(cmd: string, args: string[], opts: SpawnOptions = {}): ServerProcess {
  if (!exitHook) {
    exitHook = true;
    process.once('exit', () => {
      for (const pid of groups) killTree(pid, 'SIGKILL');
    });
  }
  // detached: the server leads its own process group, so killing -pid also
  // reaches the per-session children vsftpd/proftpd/pure-ftpd fork.
  // stdin is /dev/null by default: Node's pipes are sockets, and pure-ftpd
  // takes a socket on stdin to mean "started by inetd".
  const child = spawn(cmd, args, { stdio: ['ignore', 'pipe', 'pipe'], ...opts, detached: true });
  let tail = '';
  const keep = (chunk: Buffer): void => {
    tail = (tail + chunk.toString('utf8')).slice(-TAIL_BYTES);
  };
  child.stdout?.on('data', keep);
  child.stderr?.on('data', keep);
  let done = false;
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) => {
    child.once('exit', (code, signal) => {
      done = true;
      if (child.pid) groups.delete(child.pid);
      resolve({ code, signal });
    });
    child.once('error', (err) => {
      keep(Buffer.from(`spawn error: ${err.message}\n`));
      done = true;
      resolve({ code: null, signal: null });
    });
  });
  if (child.pid) groups.add(child.pid);

  let killing: Promise<void> | undefined;
  return {
    child,
    output: () => tail,
    exited,
    hasExited: () => done,
    kill(graceMs = 3000) {
      killing ??= (async () => {
        const pid = child.pid;
        if (pid !== undefined) {
          const tree = killTree(pid, 'SIGTERM');
          await within(exited, graceMs);
          // Whatever ignored SIGTERM (or forked meanwhile) gets SIGKILL.
          killTree(pid, 'SIGKILL', tree);
          groups.delete(pid);
        }
        await within(exited, 2000);
        child.stdin?.destroy();
        child.stdout?.destroy();
        child.stderr?.destroy();
      })();
      return killing;
    },
  };
}

/** true if `p` settled within ms. */
export async function within(p: Promise<unknown>, ms: number): Promise<boolean> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<false>((resolve) => {
    timer = setTimeout(() => resolve(false), ms);
  });
  try {
    return await Promise.race([p.then(() => true), timeout]);
  } finally {
    clearTimeout(timer);
  }
}

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

/** Connects once and reads the full 220 greeting (multi-line aware). */
export function readBanner(host: string, port: number, timeoutMs = 3000): Promise<string> {
  return new Promise((resolve, reject) => {
    const sock = connect({ host, port });
    let text = '';
    const finish = (err: Error | null): void => {
      clearTimeout(timer);
      sock.removeAllListeners('data');
      if (err) {
        sock.destroy();
        reject(err);
        return;
      }
      sock.end('QUIT\r\n');
      sock.once('close', () => resolve(text));
      // don't wait forever for the server to close after QUIT
      setTimeout(() => sock.destroy(), 500).unref();
    };
    const timer = setTimeout(() => finish(new Error(`no banner within ${timeoutMs} ms`)), timeoutMs);
    sock.setEncoding('latin1');
    sock.on('error', (err) => finish(err));
    sock.on('data', (d: string) => {
      text += d;
      // the greeting ends with a line "NNN text" (space after the code)
      if (/(^|\n)\d{3} [^\n]*\n/.test(text)) finish(null);
    });
  });
}

/**
 * Polls until the server on host:port greets with 220 and `token` (which
 * proves the banner is from our process, not another one that grabbed the
 * port). Throws with the process output if it exits or the deadline passes.
 */
export async function waitForBanner(
  proc: ServerProcess,
  host: string,
  port: number,
  token: string,
  timeoutMs: number,
): Promise<string> {
  const deadline = Date.now() + timeoutMs;
  let last = '';
  while (Date.now() < deadline) {
    if (proc.hasExited()) throw new Error(`server exited before greeting: ${proc.output().trim() || '(no output)'}`);
    try {
      const banner = await readBanner(host, port, Math.max(500, Math.min(3000, deadline - Date.now())));
      if (!banner.startsWith('220')) throw new Error(`unexpected greeting: ${banner.trim()}`);
      if (!banner.includes(token)) throw new Error(`greeting from another server on port ${port}: ${banner.trim()}`);
      return banner;
    } catch (err) {
      last = (err as Error).message;
      if (last.startsWith('greeting from another') || last.startsWith('unexpected greeting')) throw err;
    }
    await sleep(50);
  }
  throw new Error(`no 220 greeting on ${host}:${port} within ${timeoutMs} ms (${last}); output: ${proc.output().trim()}`);
}
