// curl as the reference client for single-stream transfers: RETR to /dev/null (or a file) and STOR
// from a pipe (`head -c N /dev/zero`, i.e. streamed from memory, never from disk).
import { availableParallelism } from 'node:os';
import { fileURLToPath } from 'node:url';
import type { Target } from './raw-ftp.js';
import { runShell, sh } from './util.js';

/** The test certificate both FTPS bench servers present (test/fixtures/tls). */
const TEST_CERT = fileURLToPath(new URL('../test/fixtures/tls/cert.pem', import.meta.url));
/** Explicit FTPS (AUTH TLS, PROT P), verifying the server against the test certificate. */
const FTPS_ARGS = `--ssl-reqd --cacert ${sh(TEST_CERT)} `;

export interface StreamResult {
  bytes: number;
  /** curl's time_total: connect, login and transfer. */
  seconds: number;
}

function url(t: Target, path: string): string {
  return `ftp://${t.host}:${t.port}/${path.replace(/^\//, '')}`;
}

/**
 * The cores the client's processes (curl, and the pipe's writer) may run on: a list for
 * `taskset -c`, e.g. "0" or "0,1"; undefined leaves them to the scheduler. Pinning keeps the
 * scheduler from moving the pipe's writer away from curl, which the pipe row otherwise feels
 * (README, Performance).
 */
export type ClientCpus = string | undefined;

/** Checks a `--pin-client` list against this machine's cores; the list, or throws saying why. */
export function parseClientCpus(list: string, cores = availableParallelism()): string {
  const ranges = list.split(',');
  for (const range of ranges) {
    const m = /^(\d+)(?:-(\d+))?$/.exec(range);
    if (!m) throw new Error(`--pin-client: '${list}' is not a list of cores such as 0 or 0-1 or 0,1`);
    const [from, to] = [Number(m[1]), Number(m[2] ?? m[1])];
    if (to < from) throw new Error(`--pin-client: ${range} runs backwards`);
    if (to >= cores) throw new Error(`--pin-client: core ${to} does not exist (this machine has ${cores}: 0-${cores - 1})`);
  }
  return list;
}

/** `taskset -c LIST ` before a command, or nothing. */
function pinned(cpus: ClientCpus): string {
  return cpus === undefined ? '' : `taskset -c ${sh(cpus)} `;
}

async function curl(t: Target, args: string, timeoutMs: number, input = '', tls = false, cpus?: ClientCpus): Promise<StreamResult> {
  const user = sh(`${t.user}:${t.password}`);
  const r = await runShell(`${input}${pinned(cpus)}curl -sS ${tls ? FTPS_ARGS : ''}--user ${user} ${args}`, timeoutMs);
  if (r.code !== 0) throw new Error(`curl exited ${r.code}: ${r.stderr.trim() || r.stdout.trim()}`);
  const [bytes, seconds] = r.stdout.trim().split(' ').map(Number);
  if (!bytes || !seconds) throw new Error(`curl printed '${r.stdout.trim()}'`);
  return { bytes, seconds };
}

/** `tls`: explicit FTPS with protected data (step 5). `out`: a file to write, else /dev/null. */
export function curlRetr(t: Target, path: string, timeoutMs: number, tls = false, out = '/dev/null', cpus?: ClientCpus): Promise<StreamResult> {
  return curl(t, `-o ${sh(out)} -w '%{size_download} %{time_total}' ${sh(url(t, path))}`, timeoutMs, '', tls, cpus);
}

/** From a pipe: `head -c bytes /dev/zero | curl -T -`, both on `cpus` when given. */
export function curlStor(t: Target, path: string, bytes: number, timeoutMs: number, tls = false, cpus?: ClientCpus): Promise<StreamResult> {
  return curl(t, `-T - -w '%{size_upload} %{time_total}' ${sh(url(t, path))}`, timeoutMs, `${pinned(cpus)}head -c ${bytes} /dev/zero | `, tls, cpus);
}

/** curl uploading a local file (the client comparison: what a user would do). */
export function curlStorFile(t: Target, file: string, path: string, timeoutMs: number, cpus?: ClientCpus): Promise<StreamResult> {
  return curl(t, `-T ${sh(file)} -w '%{size_upload} %{time_total}' ${sh(url(t, path))}`, timeoutMs, '', false, cpus);
}
