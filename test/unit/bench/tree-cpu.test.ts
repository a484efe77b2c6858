// The bench's CPU accounting for a server and its processes: a session process that ended
// (vsftpd, pure-ftpd) still counts, through its reaper in /proc, and through the server's own
// cgroup even when its parent ended first.
import { spawn, type ChildProcessWithoutNullStreams } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { afterEach, describe, expect, it } from 'vitest';
import { accountCpu, cgroup2Mount } from '../../../bench/cpu-account.js';
import { processTree, treeCpu, treeSettled } from '../../../bench/util.js';

const node = JSON.stringify(process.execPath);
/** A child that spends `ms` of CPU, then exits. */
const burn = (ms: number): string => `${node} -e 'const t = process.cpuUsage(); while (process.cpuUsage(t).user < ${ms * 1000});'`;
/** A child that stays `ms` without spending CPU. */
const stay = (ms: number): string => `${node} -e 'setTimeout(() => {}, ${ms})'`;

let shell: ChildProcessWithoutNullStreams | undefined;

/**
 * A bash that runs `script` when told to, says "ended" once it is done, then waits (in a
 * builtin: no process of its own).
 */
function parentOf(script: string): ChildProcessWithoutNullStreams {
  shell = spawn('bash', ['-c', `read go; ${script}; read -t 60 done`]);
  return shell;
}

function ended(root: ChildProcessWithoutNullStreams): Promise<void> {
  return new Promise((resolve) => root.stdout.on('data', (d: Buffer) => d.toString().includes('ended') && resolve()));
}

const cgroupPath = (pid: number): string | undefined => readFileSync(`/proc/${pid}/cgroup`, 'utf8').match(/^0::(.*)$/m)?.[1];

afterEach(() => {
  shell?.kill('SIGKILL');
  shell = undefined;
});

describe('treeCpu and treeSettled', () => {
  it('count a child that ended, once its parent reaped it', async () => {
    const root = parentOf(`${burn(300)}; echo ended`);
    const before = treeCpu(root.pid!);
    root.stdin.write('go\n');
    await ended(root);
    const spent = treeCpu(root.pid!) - before;
    expect(spent).toBeGreaterThanOrEqual(0.25);
    expect(spent).toBeLessThan(5);
  });

  it('wait for a process that came after to end', async () => {
    const root = parentOf(`${stay(300)}; echo ended`);
    const quiet = new Set(processTree(root.pid!).keys());
    root.stdin.write('go\n');
    await expect.poll(() => processTree(root.pid!).size).toBe(2);
    const gone = ended(root);
    expect(await treeSettled(root.pid!, quiet, 10_000)).toBe(true);
    await gone;
    expect(processTree(root.pid!).size).toBe(1);
  });

  it('say false while a process that came after is still there', async () => {
    const root = parentOf(stay(5_000));
    const quiet = new Set(processTree(root.pid!).keys());
    root.stdin.write('go\n');
    await expect.poll(() => processTree(root.pid!).size).toBe(2);
    expect(await treeSettled(root.pid!, quiet, 200)).toBe(false);
  });
});

describe('accountCpu', () => {
  // CI runs as root on a machine with cgroup v2: there the exact count must work.
  const cgroups = (process.getuid?.() === 0 && cgroup2Mount() !== undefined) || process.env.CI === 'true';

  it.runIf(cgroups)('counts a process whose parent ended first, which /proc misses, and puts the tree back', async () => {
    // The subshell starts the burner in the background and ends at once: the burner's parent
    // is then init, so no process of the tree ever reaps it.
    const root = parentOf(`( { ${burn(300)}; echo ended; } & )`);
    const home = cgroupPath(root.pid!);
    const account = accountCpu(root.pid!, 'test');
    const dir = `${cgroup2Mount()}${cgroupPath(root.pid!)}`;
    try {
      expect(account.exact).toBe(true);
      expect(dir).toMatch(/\/ftpkit-bench-test-\d+$/);
      const before = treeCpu(root.pid!);
      root.stdin.write('go\n');
      await ended(root);
      expect(account.seconds()).toBeGreaterThanOrEqual(0.25);
      expect(account.seconds()).toBeLessThan(5);
      expect(treeCpu(root.pid!) - before).toBeLessThan(0.1);
    } finally {
      await account.close();
    }
    expect(cgroupPath(root.pid!)).toBe(home);
    expect(existsSync(dir)).toBe(false);
  });

  it('counts from /proc where there is no cgroup v2', async () => {
    const root = parentOf(`${burn(300)}; echo ended`);
    const account = accountCpu(root.pid!, 'test', false);
    expect(account.exact).toBe(false);
    root.stdin.write('go\n');
    await ended(root);
    expect(account.seconds()).toBeGreaterThanOrEqual(0.25);
    await account.close();
  });
});
