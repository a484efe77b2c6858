// Client comparison: FileClient, basic-ftp and curl moving the same 1 GiB file to and from a
// server (download into a file beside the fixtures, upload from the page-cached fixture). Node clients run in a
// worker process each (bench/client-worker.ts, bundled by servers.ts), curl as itself.
import { spawn } from 'node:child_process';
import type { ClientSpec } from './client-worker.js';
import { curlRetr, curlStorFile, type StreamResult } from './curl.js';
import type { Target } from './raw-ftp.js';
import { bundle } from './servers.js';
import { TimeoutError } from './util.js';

export type ClientName = 'FileClient' | 'basic-ftp' | 'curl';
export const CLIENTS: readonly ClientName[] = ['FileClient', 'basic-ftp', 'curl'];

async function runWorker(spec: ClientSpec, timeoutMs: number): Promise<StreamResult> {
  // The worker bundled like the servers: plain node, as an installed package runs (under tsx a
  // first transfer also paid for transpiling the modules it loads).
  const worker = (await bundle()).client;
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [worker, JSON.stringify(spec)], { stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    let err = '';
    child.stdout.setEncoding('utf8').on('data', (d: string) => (out += d));
    child.stderr.setEncoding('utf8').on('data', (d: string) => (err = (err + d).slice(-2000)));
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      reject(new TimeoutError(`${spec.client} ${spec.op}`, timeoutMs));
    }, timeoutMs);
    child.on('close', (code) => {
      clearTimeout(timer);
      if (code !== 0) return reject(new Error(`${spec.client} ${spec.op} failed: ${err.trim().split('\n').pop() ?? code}`));
      try {
        resolve(JSON.parse(out) as StreamResult);
      } catch {
        reject(new Error(`${spec.client} printed '${out.trim()}'`));
      }
    });
  });
}

/**
 * `local`: the file an upload reads or a download writes. Downloads land in a real file, not
 * /dev/null: a client that splices into /dev/null would skip the copy a real download pays.
 */
export function clientTransfer(
  client: ClientName,
  op: 'download' | 'upload',
  target: Target,
  remote: string,
  local: string,
  timeoutMs: number,
): Promise<StreamResult> {
  if (client === 'curl') return op === 'download' ? curlRetr(target, remote, timeoutMs, false, local) : curlStorFile(target, local, remote, timeoutMs);
  const { host, port, user, password } = target;
  return runWorker({ client, op, host, port, user, password, remote, local }, timeoutMs);
}
