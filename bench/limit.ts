// The machine's limit for one stream (bench step 1's "limit" rows): minimal senders of the big
// fixture into a minimal Python receiver over loopback, in the same run as the servers, so
// every server figure also reads as a fraction of what this machine can move at all.
//   sendfile (Python os.sendfile): no copy, what vsftpd and pyftpdlib do
//   sendfile + lowat: the same with TCP_NOTSENT_LOWAT 64 KiB, what ftpkit's zero-copy RETR does
//     (native/zero-copy.cc says why)
//   copy (Python read 2 MiB + sendall) and copy (Node fs.read 2 MiB + socket.write): one copy
// Beside them, ftpkit's RETR with the addon off (FTPKIT_ZERO_COPY=0), read by limit.py's FTP
// client with the receiver's own loop: the JavaScript path against Node's raw copy sender,
// the same receiver on the same two cores.
// And for uploads (step 2's reference row): curl's own STOR into a bare FTP receiver that does
// nothing but blocking recv 256 KiB + write (limit.py ftp-recv), taking its turn beside the
// servers, so an upload figure reads as a fraction of what a copying receiver gets from the
// same sender on the same two cores. A reference, not a ceiling: a server that splices the
// socket into the file copies once where it copies twice.
import { spawn } from 'node:child_process';
import { mkdirSync } from 'node:fs';
import { open } from 'node:fs/promises';
import { join } from 'node:path';
import net from 'node:net';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import { makeTempDir } from '../test/helpers/tmp.js';
import type { BenchServer } from './servers.js';
import { runShell, sh, treeMemory, withTimeout } from './util.js';

const SCRIPT = fileURLToPath(new URL('./limit.py', import.meta.url));

export type LimitSender = 'python sendfile' | 'python sendfile + lowat' | 'python copy' | 'node copy';
export const LIMIT_SENDERS: readonly LimitSender[] = ['python sendfile', 'python sendfile + lowat', 'python copy', 'node copy'];
const PYTHON_MODES: Record<Exclude<LimitSender, 'node copy'>, string> = { 'python sendfile': 'sendfile', 'python sendfile + lowat': 'sendfile-lowat', 'python copy': 'copy' };

/** Node's best plain copying sender: positional 2 MiB reads into two reused buffers, written in turn. */
async function nodeCopy(path: string, port: number): Promise<void> {
  const file = await open(path, 'r');
  const socket = net.connect({ host: '127.0.0.1', port });
  await new Promise<void>((resolve, reject) => socket.once('connect', resolve).once('error', reject));
  try {
    // Two blocks: one filling from the file while the other drains; a block is read into again
    // only once the socket took all of it (its write's callback).
    const blocks = [Buffer.allocUnsafeSlow(2 * 1024 * 1024), Buffer.allocUnsafeSlow(2 * 1024 * 1024)];
    const written: Promise<void>[] = [Promise.resolve(), Promise.resolve()];
    let position = 0;
    for (let i = 0; ; i++) {
      const block = blocks[i % 2]!;
      await written[i % 2];
      const { bytesRead } = await file.read(block, 0, block.length, position);
      if (bytesRead === 0) break;
      position += bytesRead;
      written[i % 2] = new Promise<void>((resolve, reject) => socket.write(block.subarray(0, bytesRead), (err) => (err ? reject(err) : resolve())));
    }
    await Promise.all(written);
    await new Promise<void>((resolve) => socket.end(resolve));
    await new Promise((r) => socket.once('close', r).resume());
  } finally {
    await file.close();
    socket.destroy();
  }
}

/** An FTP server's RETR of `remote`, taking its turn beside the raw senders (limit.py retr). */
export interface RetrBeside {
  server: BenchServer;
  remote: string;
}

/** One RETR read by limit.py's FTP client with the receiver's own loop; bytes/s. */
async function retrBeside(python: string, { server, remote }: RetrBeside, timeoutMs: number): Promise<number> {
  const r = await runShell([python, SCRIPT, 'retr', server.host, String(server.port), server.user, server.password, remote].map(sh).join(' '), timeoutMs);
  const [bytes, seconds] = r.stdout.trim().split(' ').map(Number);
  if (r.code !== 0 || !bytes || !seconds) throw new Error(`limit.py retr: exit ${r.code}: ${r.stderr.trim().split('\n').at(-1) ?? ''}`);
  return bytes / seconds;
}

/** Bytes/s per raw sender, and the RETR beside them ('beside'), or why it failed. */
type LimitFigures = Record<LimitSender | 'beside', number[]> & { besideError?: string };

/**
 * Runs each sender `runs` times (interleaved) into one receiver; bytes/s per sender. With
 * `beside`, that server's RETR takes its turn in each round too (its figures under 'beside').
 */
export async function measureLimits(python: string, path: string, runs: number, timeoutMs: number, beside?: RetrBeside): Promise<LimitFigures> {
  const recv = spawn(python, [SCRIPT, 'recv'], { stdio: ['pipe', 'pipe', 'inherit'] });
  const lines = createInterface({ input: recv.stdout });
  const next = (): Promise<string> => new Promise((resolve) => lines.once('line', resolve));
  const out: LimitFigures = { beside: [], ...(Object.fromEntries(LIMIT_SENDERS.map((k) => [k, [] as number[]])) as Record<LimitSender, number[]>) };
  try {
    const port = Number(/^PORT (\d+)$/.exec(await withTimeout(next(), 10_000, 'limit receiver'))?.[1]);
    for (let i = 0; i < runs; i++) {
      // A failing server costs its own row, not the limit rows.
      if (beside && !out.besideError) out.beside.push(await retrBeside(python, beside, timeoutMs).catch((err: unknown) => (out.besideError = String(err), NaN)));
      for (const sender of LIMIT_SENDERS) {
        const result = next();
        const send =
          sender === 'node copy'
            ? nodeCopy(path, port)
            : new Promise<void>((resolve, reject) => {
              const child = spawn(python, [SCRIPT, PYTHON_MODES[sender], path, String(port)], { stdio: 'ignore' });
              child.once('exit', (code) => (code === 0 ? resolve() : reject(new Error(`${sender} exited ${code}`))));
            });
        await withTimeout(send, timeoutMs, sender);
        const [bytes, seconds] = (await withTimeout(result, timeoutMs, `${sender} result`)).split(' ').map(Number);
        if (bytes && seconds) out[sender].push(bytes / seconds);
      }
    }
  } finally {
    recv.kill();
  }
  return out;
}

/** The uploads' reference: limit.py's bare FTP receiver, started like a server (its root under TMPDIR). */
export async function startMinimalReceiver(python: string, timeoutMs: number): Promise<BenchServer> {
  const tmp = await makeTempDir('ftpkit-bench-receiver-');
  const root = join(tmp.path, 'home');
  mkdirSync(root);
  const child = spawn(python, [SCRIPT, 'ftp-recv', root], { stdio: ['pipe', 'pipe', 'inherit'] });
  const stop = async (): Promise<void> => {
    child.stdin.end(); // it exits when its stdin closes
    if (child.exitCode === null) await new Promise((resolve) => child.once('exit', resolve));
    await tmp.cleanup();
  };
  try {
    const lines = createInterface({ input: child.stdout });
    const first = new Promise<string>((resolve, reject) => {
      lines.once('line', resolve);
      child.once('exit', () => reject(new Error('the bare receiver exited')));
    });
    const port = Number(/^PORT (\d+)$/.exec(await withTimeout(first, timeoutMs, 'bare receiver'))?.[1]);
    const uid = process.getuid?.() ?? 0;
    const gid = process.getgid?.() ?? 0;
    return { name: 'bare receiver', host: '127.0.0.1', port, user: 'any', password: 'any', root, pid: child.pid!, uid, gid, uploadsOnly: true, memory: () => treeMemory(child.pid!), stop };
  } catch (err) {
    child.kill();
    await stop();
    throw err;
  }
}
