// A server fixture (test/fixtures/*-server.ts) in a process of its own, so a test reads that
// server's memory alone: it prints "PORT <n>", then answers commands on stdin a line each
// (fixtures/memory-commands.ts), and exits when stdin closes.
import { spawn } from 'node:child_process';
import { join } from 'node:path';
import { createInterface } from 'node:readline';

const REPO = join(import.meta.dirname, '../..');

export interface ServerProcess {
  port: number;
  /** Sends a command; resolves with its answer line. */
  ask(command: string): Promise<string>;
  /** Closes stdin (the server closes and exits) and waits for the exit. Idempotent. */
  stop(): Promise<void>;
}

export async function startServerProcess(fixture: string, args: string[], opts: { exposeGc?: boolean } = {}): Promise<ServerProcess> {
  const child = spawn(process.execPath, [...(opts.exposeGc ? ['--expose-gc'] : []), '--import', 'tsx', join(REPO, 'test/fixtures', fixture), ...args], { cwd: REPO });
  child.stderr.on('data', (c: Buffer) => process.stderr.write(c));
  const lines = createInterface({ input: child.stdout });
  const port = await new Promise<number>((resolve, reject) => {
    child.once('exit', (code) => reject(new Error(`${fixture} exited ${code}`)));
    lines.once('line', (line) => resolve(Number(/^PORT (\d+)$/.exec(line)?.[1])));
  });
  const pending: Array<(line: string) => void> = [];
  lines.on('line', (line) => pending.shift()?.(line));
  return {
    port,
    ask: (command) =>
      new Promise((resolve) => {
        pending.push(resolve);
        child.stdin.write(`${command}\n`);
      }),
    stop: async () => {
      if (child.exitCode !== null || child.signalCode !== null) return;
      const exited = new Promise((r) => child.once('exit', r));
      child.stdin.end();
      await exited;
    },
  };
}
