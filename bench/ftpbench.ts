// pyftpdlib's ftpbench scenario with N clients on raw sockets (bench/raw-ftp.ts):
// all connect and log in; one RETR while they sit idle; N concurrent RETR and STOR of
// 10 MB; N QUIT; server memory at start and with N logged in.
import { rm } from 'node:fs/promises';
import { join } from 'node:path';
import { curlRetr } from './curl.js';
import { RawFtp, type Target } from './raw-ftp.js';
import type { BenchServer } from './servers.js';
import { MiB, errorText, sleep, withTimeout } from './util.js';

export interface Phase {
  seconds: number;
  ok: number;
  errors: number;
  /** Distinct error messages with counts, a few at most. */
  errorSamples: Record<string, number>;
}

export interface ManyClientsResult {
  n: number;
  login: Phase;
  /** MB/s (10^6) of one curl RETR while the N sessions sit idle. */
  idleRetrMBps: number;
  idleRetrError?: string;
  retr: Phase;
  stor: Phase;
  quit: Phase;
  memoryStart: { rss: number; pss: number; processes: number };
  memoryLoggedIn: { rss: number; pss: number; processes: number };
}

export interface ManyClientsOptions {
  n: number;
  /** Big file in the server's root for the idle RETR. */
  bigFile: string;
  /** 10 MB file in the server's root. */
  smallFile: string;
  smallBytes: number;
  /** Per-phase time limits, ms. */
  limits: { login: number; idleRetr: number; retr: number; stor: number; quit: number };
  /** Runs before the N concurrent STOR (run.ts warms the memory they will land on). */
  beforeStor?: () => Promise<void>;
}

/**
 * Runs `op(i)` for every index at once. An index whose op fails or has not settled by the
 * deadline is passed to `drop` (destroy that client), so the next phase starts from the living.
 */
async function phase(indices: readonly number[], limitMs: number, op: (i: number) => Promise<void>, drop: (i: number) => void): Promise<Phase> {
  const samples: Record<string, number> = {};
  let ok = 0;
  let errors = 0;
  let over = false; // past the deadline: late settlements are already counted
  const note = (msg: string): void => {
    if (over) return;
    errors++;
    if (msg in samples || Object.keys(samples).length < 4) samples[msg] = (samples[msg] ?? 0) + 1;
  };
  const started = performance.now();
  const pending = new Set(indices);
  const runs = indices.map(async (i) => {
    try {
      await op(i);
      if (!over) ok++;
    } catch (err) {
      note(errorText(err));
      drop(i);
    } finally {
      pending.delete(i);
    }
  });
  try {
    await withTimeout(Promise.all(runs), limitMs, 'phase');
  } catch {
    over = true;
    for (const i of pending) {
      errors++;
      const msg = `timed out after ${limitMs} ms`;
      samples[msg] = (samples[msg] ?? 0) + 1;
      drop(i);
    }
  }
  return { seconds: (performance.now() - started) / 1000, ok, errors, errorSamples: samples };
}

export async function manyClients(server: BenchServer, opts: ManyClientsOptions): Promise<ManyClientsResult> {
  const target: Target = server;
  const memoryStart = server.memory();

  const clients: (RawFtp | undefined)[] = new Array<RawFtp | undefined>(opts.n).fill(undefined);
  const drop = (i: number): void => {
    clients[i]?.destroy();
    clients[i] = undefined;
  };
  const living = (): number[] => clients.flatMap((c, i) => (c ? [i] : []));
  const all = Array.from({ length: opts.n }, (_, i) => i);
  const login = await phase(all, opts.limits.login, async (i) => {
    const c = RawFtp.connect(target);
    clients[i] = c;
    await c.login(target);
  }, drop);

  await sleep(300); // let the server settle (forked sessions, lazily allocated buffers)
  const memoryLoggedIn = server.memory();

  let idleRetrMBps = Number.NaN;
  let idleRetrError: string | undefined;
  try {
    const r = await curlRetr(target, opts.bigFile, opts.limits.idleRetr);
    idleRetrMBps = r.bytes / r.seconds / 1e6;
  } catch (err) {
    idleRetrError = errorText(err);
  }

  const retr = await phase(living(), opts.limits.retr, async (i) => {
    const got = await clients[i]!.retr(opts.smallFile);
    if (got !== opts.smallBytes) throw new Error(`RETR got ${got} of ${opts.smallBytes} bytes`);
  }, drop);

  const chunk = Buffer.alloc(MiB, 0x61);
  const times = Math.round(opts.smallBytes / MiB);
  await opts.beforeStor?.();
  const stor = await phase(living(), opts.limits.stor, (i) => clients[i]!.stor(`stor-${opts.n}-${i}.bin`, chunk, times), drop);
  await Promise.all(Array.from({ length: opts.n }, (_, i) => rm(join(server.root, `stor-${opts.n}-${i}.bin`), { force: true })));

  const quit = await phase(living(), opts.limits.quit, (i) => clients[i]!.quit(), drop);
  for (let i = 0; i < opts.n; i++) drop(i);
  return { n: opts.n, login, idleRetrMBps, ...(idleRetrError ? { idleRetrError } : {}), retr, stor, quit, memoryStart, memoryLoggedIn };
}
