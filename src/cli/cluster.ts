// ftp-serve --workers N: one node:cluster primary and N workers, each a whole FileServer.
//
//   primary (the process you started)            workers (FileServer each)
//   ─ takes every signal, passes it on ────────▶ reload | unban | stop | stop-now
//   ─ hosts the locks and the ban store ◀──────▶ IpcLockManager, IpcAbuseStore (or --redis)
//   ─ prints the URL line once all listen ◀───── listening | fatal | stopping(transfers)
//   ─ replaces a worker that dies, releasing its locks and sessions
//
// The control port (and the implicit FTPS port) is shared: the primary accepts and hands each
// connection to a worker in turn. Passive listeners are the worker's own (`exclusive: true` in
// port-pool.ts, so binding a port is the check, even in a shared --pasv-ports range): a data
// connection always reaches the worker that holds its session.
import cluster, { type Worker } from 'node:cluster';
import type { AddressInfo } from 'node:net';
import { IpcAbuseStore, IpcAbuseStoreHost, IpcLockHost, IpcLockManager, type IpcPort } from '../index.js';
import { EXIT_FAILURE, EXIT_INTERRUPTED, EXIT_OK, EXIT_USAGE, errorLine } from './exit.js';
import { PROG, countTransfers, createServer, listen, reload, reopenLogs, startupLine, unbanAll, waitingLine } from './serve.js';
import { startLogging } from './serve-logging.js';
import type { ServePlan, ServeValues } from './serve-options.js';
import { UsageError } from './usage-error.js';

/** Set in the environment of the workers the primary forks. */
export const WORKER_ENV = 'FTPKIT_SERVE_WORKER';

/** Workers dying this often (deaths within CRASH_WINDOW ms) stop the whole server: a crash loop. */
const CRASH_LIMIT = 5;
const CRASH_WINDOW = 10_000;

type StopSignal = 'SIGINT' | 'SIGTERM';

type Command = { ftpkit: 'serve'; cmd: 'reload' | 'reopen' | 'unban' | 'stop' | 'stop-now' };
type Report =
  | { ftpkit: 'serve'; event: 'listening'; address: AddressInfo; implicit: AddressInfo | undefined }
  | { ftpkit: 'serve'; event: 'fatal'; line: string; exitCode: number }
  | { ftpkit: 'serve'; event: 'stopping'; transfers: number };

function isReport(m: unknown): m is Report {
  return typeof m === 'object' && m !== null && (m as { ftpkit?: unknown }).ftpkit === 'serve' && typeof (m as { event?: unknown }).event === 'string';
}

function isCommand(m: unknown): m is Command {
  return typeof m === 'object' && m !== null && (m as { ftpkit?: unknown }).ftpkit === 'serve' && typeof (m as { cmd?: unknown }).cmd === 'string';
}

/** A cluster.Worker seen as an IpcPort (its `connected` is a method). */
function portOf(worker: Worker): IpcPort {
  return {
    send: (message) => worker.send(message as object),
    on: (event: string, listener: (...args: any[]) => void) => worker.on(event, listener),
    off: (event: string, listener: (...args: any[]) => void) => worker.off(event, listener),
    get connected() {
      return worker.isConnected();
    },
  } as IpcPort;
}

/** The primary: forks the workers, relays signals, and prints the URL line once all listen. */
export function runPrimary(plan: ServePlan, values: ServeValues): Promise<void> {
  createServer(plan.options); // what a worker would refuse, refused once here (exit 2)
  const { logger } = plan;
  // Without Redis, the primary is the shared store: every worker's locks and bans go through it.
  const locks = plan.options.redis === undefined ? new IpcLockHost() : undefined;
  const abuse = plan.options.redis === undefined ? new IpcAbuseStoreHost() : undefined;
  const ports = new Map<Worker, IpcPort>();
  const live = new Set<Worker>();
  const listening = new Map<Worker, Report & { event: 'listening' }>();
  const deaths: number[] = [];
  let started = false;
  let failing: number | undefined;
  let stopping: { signal: StopSignal; waiting: Set<Worker>; transfers: number; code: number } | undefined;

  const send = (worker: Worker, cmd: Command['cmd']): void => {
    if (!worker.isConnected()) return;
    try {
      worker.send({ ftpkit: 'serve', cmd } satisfies Command);
    } catch {
      // gone; its exit is handled below
    }
  };
  const broadcast = (cmd: Command['cmd']): void => {
    for (const worker of live) send(worker, cmd);
  };

  return new Promise<void>((resolve) => {
    /** Stops every worker and exits with `code` once they are gone. */
    const fail = (code: number): void => {
      if (failing !== undefined) return;
      failing = code;
      for (const worker of live) worker.process.kill('SIGKILL');
      if (live.size === 0) process.exit(code);
    };

    const stopReplied = (): void => {
      if (!stopping || stopping.waiting.size > 0) return;
      process.stderr.write(waitingLine(stopping.transfers, stopping.signal));
    };

    const onReport = (worker: Worker, report: Report): void => {
      if (report.event === 'listening') {
        if (started) {
          logger.info({ worker: worker.process.pid }, 'worker listening');
          return;
        }
        listening.set(worker, report);
        if (listening.size < plan.workers || failing !== undefined) return;
        started = true;
        const first = [...listening.values()][0]!;
        process.stdout.write(`${startupLine(plan, values, first.address, first.implicit)}\n`);
        for (const note of plan.notes) process.stdout.write(`${note}\n`);
        resolve();
      } else if (report.event === 'fatal') {
        if (started) {
          logger.error({ worker: worker.process.pid, reason: report.line }, 'worker failed');
          return;
        }
        // Every worker would say the same (the port is taken...): the first one speaks.
        if (failing === undefined) process.stderr.write(`${report.line}\n`);
        fail(report.exitCode);
      } else if (report.event === 'stopping' && stopping?.waiting.delete(worker)) {
        stopping.transfers += report.transfers;
        stopReplied();
      }
    };

    const fork = (): Worker => {
      const worker = cluster.fork({ [WORKER_ENV]: '1' });
      const port = portOf(worker);
      ports.set(worker, port);
      live.add(worker);
      locks?.attach(port);
      abuse?.attach(port);
      worker.on('message', (message: unknown) => {
        if (isReport(message)) onReport(worker, message);
      });
      // A message to a worker that just died (node:cluster's own, such as the listen error every
      // worker gets when the port is taken) fails with EPIPE: its exit is handled below.
      worker.on('error', (err: Error) => logger.debug({ worker: worker.process.pid, err }, 'message to a worker failed'));
      return worker;
    };

    cluster.on('exit', (worker, code, signal) => {
      live.delete(worker);
      const port = ports.get(worker);
      ports.delete(worker);
      const pid = worker.process.pid;
      if (port) {
        // Its sessions are gone, and with them what they held: others may take the files now.
        void locks?.detach(port).then((released) => released > 0 && logger.info({ worker: pid, released }, 'locks of the dead worker released'));
        void abuse?.detach(port);
      }
      if (failing !== undefined) {
        if (live.size === 0) process.exit(failing);
        return;
      }
      if (stopping) {
        if (code !== 0) stopping.code = EXIT_FAILURE;
        if (stopping.waiting.delete(worker)) stopReplied();
        if (live.size === 0) process.exit(stopping.code);
        return;
      }
      if (!started) {
        process.stderr.write(`${PROG}: a worker exited while starting (${signal ?? `exit ${code}`})\n`);
        fail(EXIT_FAILURE);
        return;
      }
      const now = Date.now();
      deaths.push(now);
      while (deaths.length > 0 && now - deaths[0]! > CRASH_WINDOW) deaths.shift();
      if (deaths.length >= CRASH_LIMIT) {
        logger.fatal({ deaths: deaths.length, windowMs: CRASH_WINDOW }, 'workers keep dying, stopping');
        process.stderr.write(`${PROG}: workers keep dying (${deaths.length} in ${CRASH_WINDOW / 1000} s), stopping\n`);
        fail(EXIT_FAILURE);
        return;
      }
      logger.error({ worker: pid, code, signal }, 'worker died, starting a new one');
      fork();
    });

    const stop = (signal: StopSignal): void => {
      const exitNow = signal === 'SIGINT' ? EXIT_INTERRUPTED : 128 + 15;
      if (stopping || !started) {
        // The second signal (or one before the workers are up): stop now.
        broadcast('stop-now');
        process.exit(exitNow);
      }
      stopping = { signal, waiting: new Set(live), transfers: 0, code: EXIT_OK };
      broadcast('stop');
    };
    process.on('SIGINT', () => stop('SIGINT'));
    process.on('SIGTERM', () => stop('SIGTERM'));
    process.on('SIGHUP', () => broadcast('reload'));
    process.on('SIGUSR2', () => broadcast('unban'));
    process.on('SIGUSR1', () => broadcast('reopen'));

    for (let i = 0; i < plan.workers; i++) fork();
  });
}

/**
 * A worker: builds its FileServer from the same flags, with the primary as its lock manager and
 * ban store (unless --redis), says when it listens, and obeys the primary's commands.
 */
export async function runWorker(makePlan: () => Promise<ServePlan>, values: ServeValues): Promise<void> {
  // A Ctrl-C reaches the whole process group; the primary decides and tells us.
  for (const signal of ['SIGINT', 'SIGTERM', 'SIGHUP', 'SIGUSR1', 'SIGUSR2'] as const) process.on(signal, () => {});
  const report = (message: Report): Promise<void> =>
    new Promise((resolve) => {
      if (!process.connected || !process.send) return resolve();
      try {
        process.send(message, undefined, {}, () => resolve());
      } catch {
        resolve();
      }
    });
  try {
    const plan = await makePlan();
    if (plan.options.redis === undefined) {
      plan.options.locks = new IpcLockManager();
      plan.options.abuseStore = new IpcAbuseStore();
    }
    const server = createServer(plan.options);
    const transfers = countTransfers(server);
    let stopping = false;
    process.on('message', (message: unknown) => {
      if (!isCommand(message)) return;
      switch (message.cmd) {
        case 'reload':
          reload(server, plan, values);
          break;
        case 'reopen':
          reopenLogs(plan);
          break;
        case 'unban':
          unbanAll(server, plan);
          break;
        case 'stop':
          if (stopping) return;
          stopping = true;
          void report({ ftpkit: 'serve', event: 'stopping', transfers: transfers() });
          server.close().then(
            () => process.exit(EXIT_OK),
            () => process.exit(EXIT_FAILURE),
          );
          break;
        case 'stop-now':
          process.exit(EXIT_INTERRUPTED);
      }
    });
    const address = await listen(server, values);
    await startLogging(server, plan.logging); // every worker appends to --log-file and --xferlog
    await report({ ftpkit: 'serve', event: 'listening', address, implicit: server.implicitAddress() });
  } catch (err) {
    const hint = err instanceof UsageError && err.seeHelp ? ' (see --help)' : '';
    const exitCode = err instanceof UsageError ? EXIT_USAGE : EXIT_FAILURE;
    await report({ ftpkit: 'serve', event: 'fatal', line: `${errorLine(PROG, err)}${hint}`, exitCode });
    process.exit(exitCode);
  }
}
