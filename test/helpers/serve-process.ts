// A `node dist/bin/ftp-serve.js` child for tests of the bin (build first): its URL line, its
// JSON log lines (pino puts the pid of the process that wrote it on each), and its exit.
//
//   const s = await startServe(['--workers', '2', root]);
//   const pids = await s.workerPids(2);              // from each worker's 'listening' line
//   const line = await s.waitLog((l) => l.msg === 'transfer end' && l.path === '/a.bin');
import { spawn, type ChildProcess } from 'node:child_process';
import { REPO_ROOT } from './peers.js';

export interface LogLine {
  pid: number;
  msg: string;
  level: number;
  [key: string]: unknown;
}

export interface ServeProcess {
  child: ChildProcess;
  port: number;
  /** The startup line(s) on stdout. */
  stdout(): string;
  /** Everything on stderr that is not a JSON log line. */
  plainStderr(): string;
  logs: LogLine[];
  /** Resolves with the first log line (seen or to come) that `match` accepts. */
  waitLog(match: (line: LogLine) => boolean): Promise<LogLine>;
  /** Resolves once `count` log lines match, with them. */
  waitLogs(match: (line: LogLine) => boolean, count: number): Promise<LogLine[]>;
  /** The pids of the first `count` distinct workers that logged 'listening'. */
  workerPids(count: number): Promise<number[]>;
  exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
  kill(signal?: NodeJS.Signals): void;
}

const running = new Set<ChildProcess>();

/** SIGKILLs every ftp-serve still running (afterEach); its workers follow (IPC channel closed). */
export function killAllServe(): void {
  for (const child of running) child.kill('SIGKILL');
  running.clear();
}

/** Starts ftp-serve (`--port 0 --log-level debug` first) and resolves once the URL line is out. */
export function startServe(args: string[], env: NodeJS.ProcessEnv = {}): Promise<ServeProcess> {
  const child = spawn(process.execPath, ['dist/bin/ftp-serve.js', '--port', '0', '--log-level', 'debug', ...args], {
    cwd: REPO_ROOT,
    stdio: ['ignore', 'pipe', 'pipe'],
    env: { ...process.env, ...env },
  });
  running.add(child);
  let out = '';
  let plain = '';
  let partial = '';
  const logs: LogLine[] = [];
  const waiters = new Set<() => void>();
  child.stderr!.on('data', (d: Buffer) => {
    partial += d.toString();
    const lines = partial.split('\n');
    partial = lines.pop()!;
    for (const line of lines) {
      if (line.startsWith('{')) {
        try {
          logs.push(JSON.parse(line) as LogLine);
          continue;
        } catch {
          // not JSON after all
        }
      }
      plain += `${line}\n`;
    }
    for (const w of [...waiters]) w();
  });
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) =>
    child.on('exit', (code, signal) => {
      running.delete(child);
      resolve({ code, signal });
    }),
  );
  const waitLogs = (match: (l: LogLine) => boolean, count: number): Promise<LogLine[]> =>
    new Promise((resolve, reject) => {
      const check = (): void => {
        const found = logs.filter(match);
        if (found.length >= count) {
          waiters.delete(check);
          resolve(found.slice(0, count));
        }
      };
      waiters.add(check);
      check();
      void exited.then(() => {
        if (waiters.delete(check)) reject(new Error(`ftp-serve exited before the log line came\n${plain}`));
      });
    });
  const api: Omit<ServeProcess, 'port'> = {
    child,
    stdout: () => out,
    plainStderr: () => plain,
    logs,
    waitLogs,
    waitLog: async (match) => (await waitLogs(match, 1))[0]!,
    workerPids: async (count) => {
      // The first 'listening' line of each process: a worker logs one, the primary none.
      const first = (l: LogLine): boolean => l.msg === 'listening' && logs.find((o) => o.msg === 'listening' && o.pid === l.pid) === l;
      return (await waitLogs(first, count)).map((l) => l.pid);
    },
    exited,
    kill: (signal = 'SIGTERM') => child.kill(signal),
  };
  return new Promise((resolve, reject) => {
    child.stdout!.on('data', (d: Buffer) => {
      out += d.toString();
      const m = /^ftp-serve: serving .* at ftp:\/\/[^:]+:(\d+)/.exec(out);
      if (m && out.includes('\n')) resolve({ ...api, port: Number(m[1]) });
    });
    void exited.then(({ code }) => reject(new Error(`ftp-serve exited ${code}: ${plain}`)));
  });
}
