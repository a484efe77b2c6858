// What a server's processes spent on the CPU, every process counted, ended ones included.
//
// /proc alone misses some: a process's time reaches its parent's cutime/cstime only when that
// parent reaps it, and a session process whose parent ended first is reaped by init instead
// (vsftpd's RETR read 0.00 s in 2 of 5 samples that way on 2026-12-03). A cgroup v2 of the
// server's own, which every process it forks joins, counts them all (`cpu.stat` usage_usec,
// charged as they run). That needs root and a cgroup2 mount; elsewhere the /proc count
// (treeCpu) stands in, and the run's notes say so.
import { mkdirSync, readFileSync, rmdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { processTree, treeCpu } from './util.js';

export interface CpuAccount {
  /** CPU seconds the server's processes used since the account began. */
  seconds(): number;
  /** True when the kernel counts (a cgroup); false for the /proc count. */
  readonly exact: boolean;
  /** Puts the processes still running back where they were and removes the cgroup (idempotent). */
  close(): Promise<void>;
}

/** Where cgroup v2 is mounted, if it is (the unified hierarchy, alone or beside v1's). */
export function cgroup2Mount(mounts = '/proc/mounts'): string | undefined {
  try {
    for (const line of readFileSync(mounts, 'utf8').split('\n')) {
      const [, where, type] = line.split(' ');
      if (type === 'cgroup2' && where) return where;
    }
  } catch {
    // no /proc
  }
  return undefined;
}

function usageSeconds(dir: string): number {
  const m = /^usage_usec (\d+)$/m.exec(readFileSync(join(dir, 'cpu.stat'), 'utf8'));
  if (!m) throw new Error(`${dir}/cpu.stat has no usage_usec`);
  return Number(m[1]) / 1e6;
}

/**
 * Starts counting the CPU of `rootPid` and its descendants, present and future: they move into
 * a cgroup of their own (`label` names it) under `mount` when the machine allows, else (or with
 * `mount` false) they are counted from /proc.
 */
export function accountCpu(rootPid: number, label: string, mount: string | false = cgroup2Mount() ?? false): CpuAccount {
  const fallback = (): CpuAccount => {
    const start = treeCpu(rootPid);
    return { exact: false, seconds: () => treeCpu(rootPid) - start, close: async () => {} };
  };
  if (!mount) return fallback();
  const home = readFileSync(`/proc/${rootPid}/cgroup`, 'utf8').match(/^0::(.*)$/m)?.[1];
  const dir = join(mount, `ftpkit-bench-${label.replace(/[^\w-]/g, '_')}-${rootPid}`);
  try {
    mkdirSync(dir);
  } catch {
    return fallback(); // read-only, or not root
  }
  try {
    // Every process now in the tree, so a wrapper's child (the real listener) comes along; one
    // that ended meanwhile (ESRCH) has nothing left to count.
    for (const pid of processTree(rootPid).keys()) {
      try {
        writeFileSync(join(dir, 'cgroup.procs'), String(pid));
      } catch (err) {
        if ((err as NodeJS.ErrnoException).code !== 'ESRCH' || pid === rootPid) throw err;
      }
    }
  } catch {
    try {
      rmdirSync(dir);
    } catch {
      // some process moved in: it stays counted, harmless
    }
    return fallback();
  }
  const start = usageSeconds(dir);
  let closed = false;
  return {
    exact: true,
    seconds: () => usageSeconds(dir) - start,
    async close() {
      if (closed) return;
      closed = true;
      // A process that just ended keeps the cgroup busy for a moment (EBUSY).
      for (let tries = 0; tries < 50; tries++) {
        try {
          for (const pid of readFileSync(join(dir, 'cgroup.procs'), 'utf8').split('\n').filter(Boolean)) {
            writeFileSync(join(mount, home ?? '/', 'cgroup.procs'), pid);
          }
          rmdirSync(dir);
          return;
        } catch {
          await new Promise((resolve) => setTimeout(resolve, 20));
        }
      }
    },
  };
}
