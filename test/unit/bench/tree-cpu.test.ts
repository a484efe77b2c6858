// The bench's CPU accounting for a server and its processes: a session process that ended
// (vsftpd, pure-ftpd) still counts once its parent reaped it.
import { spawn, type ChildProcessWithoutNullStreams } from 'node:child_process';
import { afterEach, describe, expect, it } from 'vitest';
import { processTree, settledTreeCpu, treeCpu } from '../../../bench/util.js';

const node = JSON.stringify(process.execPath);
/** A child that spends `ms` of CPU, then exits. */
const burn = (ms: number): string => `${node} -e 'const t = process.cpuUsage(); while (process.cpuUsage(t).user < ${ms * 1000});'`;
/** A child that stays `ms` without spending CPU. */
const stay = (ms: number): string => `${node} -e 'setTimeout(() => {}, ${ms})'`;

let shell: ChildProcessWithoutNullStreams | undefined;

/**
 * A bash that starts `child` when told to, says "ended" once it reaped it, then waits (in a
 * builtin: no process of its own).
 */
function parentOf(child: string): ChildProcessWithoutNullStreams {
  shell = spawn('bash', ['-c', `read go; ${child}; echo ended; read -t 60 done`]);
  return shell;
}

function ended(root: ChildProcessWithoutNullStreams): Promise<void> {
  return new Promise((resolve) => root.stdout.on('data', (d: Buffer) => d.toString().includes('ended') && resolve()));
}

afterEach(() => {
  shell?.kill('SIGKILL');
  shell = undefined;
});

describe('treeCpu and settledTreeCpu', () => {
  it('count a child that ended, once its parent reaped it', async () => {
    const root = parentOf(burn(300));
    const quiet = new Set(processTree(root.pid!).keys());
    expect([...quiet]).toEqual([root.pid]);
    const before = treeCpu(root.pid!);
    root.stdin.write('go\n');
    await ended(root);
    // the child is gone: only its parent's cutime holds its CPU
    const after = await settledTreeCpu(root.pid!, quiet, 0);
    expect(after).toBeDefined();
    expect(after! - before).toBeGreaterThanOrEqual(0.25);
    expect(after! - before).toBeLessThan(5);
    expect(treeCpu(root.pid!)).toBeCloseTo(after!, 1);
  });

  it('wait for a process that came after to end', async () => {
    const root = parentOf(stay(300));
    const quiet = new Set(processTree(root.pid!).keys());
    root.stdin.write('go\n');
    await expect.poll(() => processTree(root.pid!).size).toBe(2);
    const gone = ended(root);
    expect(await settledTreeCpu(root.pid!, quiet, 10_000)).toBeDefined();
    await gone;
    expect(processTree(root.pid!).size).toBe(1);
  });

  it('say nothing while a process that came after is still there', async () => {
    const root = parentOf(stay(5_000));
    const quiet = new Set(processTree(root.pid!).keys());
    root.stdin.write('go\n');
    await expect.poll(() => processTree(root.pid!).size).toBe(2);
    expect(await settledTreeCpu(root.pid!, quiet, 200)).toBeUndefined();
  });
});
