// Small helpers the bench modules share: timeouts, medians, process-group memory, commands.
import { spawn, spawnSync } from 'node:child_process';
import { readdirSync, readFileSync } from 'node:fs';

export const MiB = 1024 * 1024;
export const GiB = 1024 * MiB;

export class TimeoutError extends Error {
  constructor(what: string, ms: number) {
    super(`${what}: timed out after ${ms} ms`);
    this.name = 'TimeoutError';
  }
}

/** Races `p` against a timer; `onTimeout` cleans up whatever `p` was doing. */
export async function withTimeout<T>(p: Promise<T>, ms: number, what: string, onTimeout?: () => void): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => {
      onTimeout?.();
      reject(new TimeoutError(what, ms));
    }, ms);
  });
  try {
    return await Promise.race([p, timeout]);
  } finally {
    clearTimeout(timer);
  }
}

export const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

export function median(values: readonly number[]): number {
  const v = values.filter((x) => Number.isFinite(x)).sort((a, b) => a - b);
  if (v.length === 0) return Number.NaN;
  const mid = v.length >> 1;
  return v.length % 2 ? v[mid]! : (v[mid - 1]! + v[mid]!) / 2;
}

export function errorText(err: unknown): string {
  const e = err as { message?: string };
  return (e?.message ?? String(err)).split('\n')[0]!.slice(0, 200);
}

export interface GroupMemory {
  /** Sum of VmRSS over the group, bytes (shared pages counted once per process). */
  rss: number;
  /** Sum of Pss (shared pages split between sharers), bytes: fair for process-per-client servers. */
  pss: number;
  processes: number;
}

/**
 * Memory of a server: its leader process and every descendant (vsftpd and pure-ftpd fork a
 * process per session, and vsftpd's call setsid, so the process group alone misses them).
 */
export function treeMemory(rootPid: number): GroupMemory {
  let rss = 0;
  let pss = 0;
  let processes = 0;
  for (const pid of processTree(rootPid).keys()) {
    try {
      const rollup = readFileSync(`/proc/${pid}/smaps_rollup`, 'latin1');
      rss += kb(rollup, 'Rss') * 1024;
      pss += kb(rollup, 'Pss') * 1024;
      processes++;
    } catch {
      // exited
    }
  }
  return { rss, pss, processes };
}

/**
 * `rootPid` and every descendant still running, each with its /proc/<pid>/stat fields after
 * the ")" that closes comm (state, ppid, ...; utime and stime are [11] and [12]).
 */
export function processTree(rootPid: number): Map<number, string[]> {
  const stats = new Map<number, string[]>();
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      const stat = readFileSync(`/proc/${entry}/stat`, 'latin1');
      stats.set(Number(entry), stat.slice(stat.lastIndexOf(')') + 2).split(' '));
    } catch {
      // the process went away while we looked
    }
  }
  const inTree = (pid: number): boolean => {
    for (let p = pid, hops = 0; p > 1 && hops < 64; p = Number(stats.get(p)?.[1] ?? 0), hops++) if (p === rootPid) return true;
    return false;
  };
  for (const pid of [...stats.keys()]) if (!inTree(pid)) stats.delete(pid);
  return stats;
}

/** Clock ticks per second of /proc's times (CLK_TCK; 100 on Linux). */
export const TICKS = Number(spawnSync('getconf', ['CLK_TCK'], { encoding: 'utf8' }).stdout.trim()) || 100;

/**
 * CPU seconds used so far by `rootPid` and its descendants: those running, and those that ended
 * once their parent reaped them (a process's cutime and cstime, [13] and [14], hold its reaped
 * children's times).
 */
export function treeCpu(rootPid: number): number {
  let ticks = 0;
  for (const f of processTree(rootPid).values()) ticks += Number(f[11]) + Number(f[12]) + Number(f[13]) + Number(f[14]);
  return ticks / TICKS;
}

/**
 * Waits until the processes that came after `before` (vsftpd and pure-ftpd run each session
 * in processes of their own) have ended and been reaped, at most `timeoutMs`: an ended
 * process's time shows in treeCpu only through its reaper's. False when they are still there.
 */
export async function treeSettled(rootPid: number, before: ReadonlySet<number>, timeoutMs = 2_000): Promise<boolean> {
  const deadline = performance.now() + timeoutMs;
  for (;;) {
    if ([...processTree(rootPid).keys()].every((pid) => before.has(pid))) return true;
    if (performance.now() > deadline) return false;
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
}

function kb(text: string, field: string): number {
  const m = new RegExp(`^${field}:\\s+(\\d+) kB`, 'm').exec(text);
  return m ? Number(m[1]) : 0;
}

export interface CommandResult {
  code: number | null;
  stdout: string;
  stderr: string;
  ms: number;
}

/** Runs a shell pipeline (bash -c) with a deadline; the whole process group dies at the deadline. */
export function runShell(script: string, timeoutMs: number, env: NodeJS.ProcessEnv = process.env): Promise<CommandResult> {
  return new Promise((resolve, reject) => {
    const started = performance.now();
    const child = spawn('bash', ['-c', script], { stdio: ['ignore', 'pipe', 'pipe'], detached: true, env });
    let stdout = '';
    let stderr = '';
    child.stdout.setEncoding('utf8').on('data', (d: string) => (stdout = (stdout + d).slice(-8192)));
    child.stderr.setEncoding('utf8').on('data', (d: string) => (stderr = (stderr + d).slice(-8192)));
    const kill = (): void => {
      try {
        process.kill(-child.pid!, 'SIGKILL');
      } catch {
        // gone
      }
    };
    const timer = setTimeout(() => {
      kill();
      reject(new TimeoutError(script.split(' ')[0] ?? 'command', timeoutMs));
    }, timeoutMs);
    child.on('error', (err) => {
      clearTimeout(timer);
      reject(err);
    });
    child.on('close', (code) => {
      clearTimeout(timer);
      resolve({ code, stdout, stderr, ms: performance.now() - started });
    });
  });
}

/** Single-quotes a string for bash. */
export function sh(s: string): string {
  return `'${s.replace(/'/g, `'\\''`)}'`;
}
