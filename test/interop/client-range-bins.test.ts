// The built ftp-get --range against vsftpd (REST + ABOR), ProFTPD (RANG) and ftpkit (RANG),
// through real shell pipes: `ftp-get --range A-B URL - | sha256sum` must equal the slice, and a
// reader that stops early (`| head -c 10`) must end both sides cleanly. Run `npm run build` first.
import { createHash } from 'node:crypto';
import { existsSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { TransferEndInfo } from '../../src/server/events.js';
import { REPO_ROOT, requirePeer } from '../helpers/peers.js';
import { startTestServer, type TestServer } from '../helpers/server.js';
import { startTarget, type Target, type TargetName } from '../helpers/targets.js';
import { makeTempDir, randomFile, type TempDir } from '../helpers/tmp.js';
import { runTool, type ToolResult } from '../helpers/tools.js';

const GET = join(REPO_ROOT, 'dist/bin/ftp-get.js');
const SIZE = 4 * 1024 * 1024 + 99;
const sha = (b: Buffer): string => createHash('sha256').update(b).digest('hex');
const quote = (s: string): string => `'${s.replace(/'/g, `'\\''`)}'`;

/** `ftp-get ARGS | TAIL` in bash; prints TAIL's output, then ftp-get's exit status on stderr's last line. */
function piped(args: string[], tail: string): Promise<ToolResult> {
  if (!existsSync(GET)) throw new Error(`${GET} is missing: run npm run build first`);
  const cmd = `${quote(process.execPath)} ${quote(GET)} ${args.map(quote).join(' ')} | ${tail}; echo "status=\${PIPESTATUS[0]}" >&2`;
  return runTool('bash', ['-c', cmd], { timeoutMs: 30_000, env: { ...process.env, NETRC: '/nonexistent', FTPKIT_PASSWORD: undefined } });
}

function statusOf(r: ToolResult): number {
  return Number(/status=(\d+)\s*$/.exec(r.stderr)?.[1] ?? NaN);
}

const url = (t: { user: string; password: string; port: number }, path: string): string =>
  `ftp://${encodeURIComponent(t.user)}:${encodeURIComponent(t.password)}@127.0.0.1:${t.port}${path}`;

for (const name of ['vsftpd', 'proftpd', 'ftpkit'] as TargetName[]) {
  describe.skipIf(name !== 'ftpkit' && !requirePeer(name))(`ftp-get --range against ${name}`, () => {
    let peer: Target;
    let body: Buffer;
    let tmp: TempDir;

    beforeAll(async () => {
      peer = await startTarget(name);
      tmp = await makeTempDir('ftpkit-range-');
      await randomFile(join(peer.root, 'clip.mp4'), SIZE);
      await peer.adopt();
      body = await readFile(join(peer.root, 'clip.mp4'));
    });
    afterAll(async () => {
      await peer?.stop();
      await tmp?.cleanup();
    });

    it('--range 1000-1999 URL - | sha256sum equals the slice', async () => {
      const r = await piped(['--range', '1000-1999', url(peer, '/clip.mp4'), '-'], 'sha256sum');
      expect(statusOf(r), r.stderr).toBe(0);
      expect(r.stdout.split(' ')[0]).toBe(sha(body.subarray(1000, 2000)));
    });

    it('open-ended and last-N ranges, to stdout and to a file', async () => {
      const open = await piped(['--range', '4000000-', url(peer, '/clip.mp4'), '-'], 'sha256sum');
      expect(statusOf(open), open.stderr).toBe(0);
      expect(open.stdout.split(' ')[0]).toBe(sha(body.subarray(4_000_000)));
      const dest = join(tmp.path, `${name}-tail.bin`);
      const last = await piped(['--range=-500', url(peer, '/clip.mp4'), dest], 'cat');
      expect(statusOf(last), last.stderr).toBe(0);
      expect(await readFile(dest)).toEqual(body.subarray(SIZE - 500));
      expect(existsSync(`${dest}.part`)).toBe(false);
    });

    it('a reader that stops early (| head -c 10) gets its bytes; ftp-get exits 0 quietly', async () => {
      const r = await piped(['--range', '0-3999999', url(peer, '/clip.mp4'), '-'], 'head -c 10 | od -An -tx1');
      expect(statusOf(r)).toBe(0);
      expect(r.stderr.trim()).toBe('status=0');
      expect(r.stdout.replace(/\s+/g, '')).toBe(body.subarray(0, 10).toString('hex'));
    });
  });
}

describe('ftp-get --range: both ends after an early stop, and bad input', () => {
  let t: TestServer;
  const ends: TransferEndInfo[] = [];
  const disconnects: string[] = [];
  let body: Buffer;

  beforeAll(async () => {
    t = await startTestServer();
    t.server.on('transfer-end', (e) => ends.push(e));
    t.server.on('disconnect', (e) => disconnects.push(e.sessionId));
    await randomFile(join(t.root, 'clip.mp4'), 64 * 1024 * 1024);
    body = await readFile(join(t.root, 'clip.mp4'));
  });
  afterAll(async () => {
    await t?.close();
  });

  it('the server sees the transfer aborted and the session closed; nothing left running', async () => {
    ends.length = 0;
    disconnects.length = 0;
    const u = { user: 'alice', password: 'secret', port: t.port };
    const r = await piped(['--range', `0-${body.length - 1}`, url(u, '/clip.mp4'), '-'], 'head -c 10 > /dev/null');
    expect(statusOf(r)).toBe(0);
    for (let i = 0; i < 100 && disconnects.length === 0; i++) await new Promise((res) => setTimeout(res, 20));
    expect(disconnects).toHaveLength(1);
    expect(ends).toHaveLength(1);
    expect(ends[0]).toMatchObject({ command: 'RETR', ok: false, mediaType: 'video/mp4' });
    expect(ends[0]!.bytes).toBeLessThan(body.length);
    expect(t.server.connections).toBe(0);
  });

  const u = (): string => url({ user: 'alice', password: 'secret', port: t.port }, '/clip.mp4');
  const bad: Array<[string[], RegExp]> = [
    [['--range', 'abc'], /^ftp-get: --range takes A-B, A- or -N .*got "abc"/],
    [['--range', '5-2'], /^ftp-get: --range 5-2: the end comes before the start/],
    [['--range', '1-2,5-6'], /^ftp-get: --range takes A-B/],
    [['--range', '-'], /^ftp-get: --range takes A-B/],
    [['--range=-0'], /^ftp-get: --range -N needs N of at least 1/],
    [['--range', '9999999999999999-'], /^ftp-get: --range takes A-B.*too large/],
    [['--range', '0-9', '-c'], /^ftp-get: --range reads part of one binary file: not with -R, -c, --verify or --ascii/],
    [['-r', '0-99'], /^ftp-get: -r still means -R \(recursive\) in this release; for a byte range write --range A-B/],
  ];
  for (const [args, message] of bad) {
    it(`${args.join(' ')}: one line on stderr, exit 2, nothing fetched`, async () => {
      ends.length = 0;
      const r = await piped([...args, u(), '-'], 'cat');
      expect(statusOf(r)).toBe(2);
      const lines = r.stderr.trim().split('\n').filter((l) => !l.startsWith('status=') && !l.includes('warning: -r is now -R'));
      expect(lines).toHaveLength(1);
      expect(lines[0]).toMatch(message);
      expect(r.stdout).toBe('');
      expect(ends).toHaveLength(0);
    });
  }

  it('a range starting past the end exits 36 (as curl) with one line', async () => {
    const r = await piped(['--range', `${body.length}-`, u(), '-'], 'cat');
    expect(statusOf(r)).toBe(36);
    expect(r.stderr).toContain(`--range starts at byte ${body.length}, past the end of /clip.mp4 (${body.length} bytes)`);
  });
});
