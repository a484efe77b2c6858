// curl as the reference client for single-stream transfers: RETR to /dev/null (or a file) and STOR
// from a pipe (`head -c N /dev/zero`, i.e. streamed from memory, never from disk).
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

async function curl(t: Target, args: string, timeoutMs: number, input = '', tls = false): Promise<StreamResult> {
  const user = sh(`${t.user}:${t.password}`);
  const r = await runShell(`${input}curl -sS ${tls ? FTPS_ARGS : ''}--user ${user} ${args}`, timeoutMs);
  if (r.code !== 0) throw new Error(`curl exited ${r.code}: ${r.stderr.trim() || r.stdout.trim()}`);
  const [bytes, seconds] = r.stdout.trim().split(' ').map(Number);
  if (!bytes || !seconds) throw new Error(`curl printed '${r.stdout.trim()}'`);
  return { bytes, seconds };
}

/** `tls`: explicit FTPS with protected data (step 5). `out`: a file to write, else /dev/null. */
export function curlRetr(t: Target, path: string, timeoutMs: number, tls = false, out = '/dev/null'): Promise<StreamResult> {
  return curl(t, `-o ${sh(out)} -w '%{size_download} %{time_total}' ${sh(url(t, path))}`, timeoutMs, '', tls);
}

export function curlStor(t: Target, path: string, bytes: number, timeoutMs: number, tls = false): Promise<StreamResult> {
  return curl(t, `-T - -w '%{size_upload} %{time_total}' ${sh(url(t, path))}`, timeoutMs, `head -c ${bytes} /dev/zero | `, tls);
}

/** curl uploading a local file (the client comparison: what a user would do). */
export function curlStorFile(t: Target, file: string, path: string, timeoutMs: number): Promise<StreamResult> {
  return curl(t, `-T ${sh(file)} -w '%{size_upload} %{time_total}' ${sh(url(t, path))}`, timeoutMs);
}
