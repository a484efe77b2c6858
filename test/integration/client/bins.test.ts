// The built ftp-get against a hostile scripted server (run `npm run build` first).
import { spawn } from 'node:child_process';
import { closeSync, existsSync, openSync } from 'node:fs';
import { readdir, stat } from 'node:fs/promises';
import net from 'node:net';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { REPO_ROOT } from '../../helpers/peers.js';
import { makeTempDir, type TempDir } from '../../helpers/tmp.js';
import { runTool, type ToolResult } from '../../helpers/tools.js';
import { listingHandler, startFakeServer, startSending, type FakeServer, type FakeServerOptions } from './fake-server.js';

const GET = join(REPO_ROOT, 'dist/bin/ftp-get.js');

function ftpGet(args: string[], cwd?: string): Promise<ToolResult> {
  if (!existsSync(GET)) throw new Error(`${GET} is missing: run npm run build first`);
  return runTool(process.execPath, [GET, ...args], { timeoutMs: 30_000, cwd, env: { ...process.env, NETRC: '/nonexistent' } });
}

const cleanup: (() => Promise<void>)[] = [];
afterEach(async () => {
  for (const f of cleanup.splice(0)) await f();
});

async function fake(opts: FakeServerOptions): Promise<{ server: FakeServer; tmp: TempDir; url: (p: string) => string }> {
  const server = await startFakeServer(opts);
  const tmp = await makeTempDir();
  cleanup.push(() => server.close(), () => tmp.cleanup());
  return { server, tmp, url: (p) => `ftp://127.0.0.1:${server.port}${p}` };
}

/** A RETR that sends 100 kB of a 1 MB file, then drops both connections. */
const cutShort: FakeServerOptions = {
  handlers: {
    SIZE: (_a, s) => s.reply(213, '1000000'),
    RETR: async (_a, s) => {
      s.reply(150, 'sending');
      const data = await s.dataSocket();
      data.write(Buffer.alloc(100_000, 7), () => {
        data.destroy();
        s.control.destroy();
      });
    },
  },
};

describe('ftp-get against a hostile server', () => {
  it('never leaves a truncated file under the final name', async () => {
    const { tmp, url } = await fake(cutShort);
    const dest = join(tmp.path, 'file.bin');
    const r = await ftpGet([url('/file.bin'), dest]);
    expect(r.code).toBe(1);
    expect(r.stderr.split('\n')).toHaveLength(2); // one line and the final newline
    expect(r.stderr).toMatch(/^ftp-get: /);
    expect(await readdir(tmp.path)).toEqual([]);
  });

  it('keeps the partial file with -c, for the next run to resume', async () => {
    const { tmp, url } = await fake(cutShort);
    const dest = join(tmp.path, 'file.bin');
    const r = await ftpGet(['-c', url('/file.bin'), dest]);
    expect(r.code).toBe(1);
    expect(existsSync(dest)).toBe(false);
    const part = await stat(`${dest}.part`);
    expect(part.size).toBeGreaterThan(0);
    expect(part.size).toBeLessThanOrEqual(100_000);
  });

  it('skips hostile names in a recursive download and writes nothing outside DEST', async () => {
    const { tmp, url, server } = await fake({
      handlers: {
        LIST: listingHandler([
          '-rw-r--r-- 1 u g 2 Jan 01 00:00 ../escape',
          '-rw-r--r-- 1 u g 2 Jan 01 00:00 a/b',
          'drwxr-xr-x 1 u g 0 Jan 01 00:00 ..',
          '-rw-r--r-- 1 u g 2 Jan 01 00:00 fine.txt',
        ]),
        RETR: async (_a, s) => {
          s.reply(150, 'sending');
          const data = await s.dataSocket();
          data.end('ok');
          data.once('close', () => s.reply(226, 'done'));
        },
      },
    });
    const r = await ftpGet(['-r', url('/dir/'), join(tmp.path, 'dest')]);
    expect(r.code).toBe(0);
    expect(r.stderr).toMatch(/warning: skipped "\/dir\/\.\.\/escape"/);
    expect(r.stderr).toMatch(/warning: skipped "\/dir\/a\/b"/);
    expect(await readdir(tmp.path)).toEqual(['dest']);
    expect(await readdir(join(tmp.path, 'dest'))).toEqual(['fine.txt']);
    expect(server.commands.filter((c) => c.startsWith('RETR'))).toEqual(['RETR /dir/fine.txt']);
  });

  it('cleans up and exits 130 on Ctrl-C', async () => {
    const { tmp, url, server } = await fake({
      handlers: {
        SIZE: (_a, s) => s.reply(213, '1000000'),
        RETR: async (_a, s) => {
          s.reply(150, 'sending slowly');
          s.transferring = true;
          const data = await s.dataSocket();
          data.on('error', () => {});
          data.write(Buffer.alloc(1000));
        },
      },
    });
    const dest = join(tmp.path, 'slow.bin');
    const child = spawn(process.execPath, [GET, url('/slow.bin'), dest], { env: { ...process.env, NETRC: '/nonexistent' } });
    let stderr = '';
    child.stderr.on('data', (d: Buffer) => { stderr += d.toString(); });
    // interrupt once the transfer is under way
    for (let i = 0; i < 100 && !server.commands.includes('RETR /slow.bin'); i++) await new Promise((r) => setTimeout(r, 50));
    await new Promise((r) => setTimeout(r, 100));
    child.kill('SIGINT');
    const code = await new Promise<number | null>((r) => child.once('close', r));
    expect(code).toBe(130);
    expect(stderr).toBe('ftp-get: interrupted\n');
    expect(server.commands).toContain('ABOR');
    expect(await readdir(tmp.path)).toEqual([]);
  });

  it.skipIf(!existsSync('/dev/full'))('reports a full destination with one line', async () => {
    const { url } = await fake({
      handlers: {
        RETR: async (_a, s) => {
          const data = await startSending(s);
          data.end(Buffer.alloc(1_000_000), () => {
            if (s.transferring) s.reply(226, 'done');
            s.transferring = false;
          });
        },
      },
    });
    const full = openSync('/dev/full', 'w');
    try {
      const child = spawn(process.execPath, [GET, url('/f'), '-'], { stdio: ['ignore', full, 'pipe'], env: { ...process.env, NETRC: '/nonexistent' } });
      let stderr = '';
      child.stderr!.on('data', (d: Buffer) => { stderr += d.toString(); });
      const code = await new Promise<number | null>((r) => child.once('close', r));
      expect(code).toBe(1);
      expect(stderr).toBe('ftp-get: the destination stream failed: ENOSPC: no space left on device, write\n');
    } finally {
      closeSync(full);
    }
  });

  it('times out a silent server with one line', async () => {
    const { tmp, url } = await fake({ handlers: { SIZE: () => {} } });
    const t = Date.now();
    const r = await ftpGet(['--timeout', '0.5', url('/f'), join(tmp.path, 'f')]);
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(/^ftp-get: no reply from the server within 500 ms\n$/);
    expect(Date.now() - t).toBeLessThan(10_000);
  });

  it('reports an unreachable host and a missing local folder', async () => {
    const probe = net.createServer();
    await new Promise<void>((r) => probe.listen(0, '127.0.0.1', r));
    const port = (probe.address() as net.AddressInfo).port;
    await new Promise<void>((r) => probe.close(() => r()));
    const r = await ftpGet([`ftp://127.0.0.1:${port}/x`, '-']);
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(/^ftp-get: control connection failed: connect ECONNREFUSED 127\.0\.0\.1:\d+\n$/);

    const { tmp, url } = await fake({ handlers: { SIZE: (_a, s) => s.reply(213, '2') } });
    const m = await ftpGet([url('/f'), join(tmp.path, 'no', 'such', 'f')]);
    expect(m.code).toBe(1);
    expect(m.stderr).toMatch(/^ftp-get: cannot open local file .*f\.part: no such file or directory \(ENOENT\)\n$/);
  });
});
