// The built bins and MODE Z (run `npm run build` first): ftp-get/ftp-put -z against our server
// (the server hears MODE Z and moves fewer bytes than the file), a note under -v when the server
// lacks MODE Z, and ftp-serve --no-mode-z.
import { spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { REPO_ROOT } from '../../helpers/peers.js';
import { RawFtp } from '../../helpers/raw-ftp.js';
import { startTestServer, type TestServer } from '../../helpers/server.js';
import { makeTempDir, sha256Buffer, sha256File, type TempDir } from '../../helpers/tmp.js';
import { runTool, type ToolResult } from '../../helpers/tools.js';

const GET = join(REPO_ROOT, 'dist/bin/ftp-get.js');
const PUT = join(REPO_ROOT, 'dist/bin/ftp-put.js');
const SERVE = join(REPO_ROOT, 'dist/bin/ftp-serve.js');

function run(bin: string, args: string[]): Promise<ToolResult> {
  if (!existsSync(bin)) throw new Error(`${bin} is missing: run npm run build first`);
  return runTool(process.execPath, [bin, ...args], { timeoutMs: 30_000, env: { ...process.env, NETRC: '/nonexistent', FTPKIT_PASSWORD: undefined } });
}

const TEXT = Buffer.from(Array.from({ length: 40_000 }, (_, i) => `line ${i % 1000} of a very repetitive log file\n`).join(''));

let tmp: TempDir;
beforeAll(async () => {
  tmp = await makeTempDir('ftpkit-modez-bins-');
  await writeFile(join(tmp.path, 'log.txt'), TEXT);
});
afterAll(() => tmp.cleanup());

describe('ftp-get / ftp-put -z', () => {
  let t: TestServer;
  const commands: string[] = [];
  const wire = new Map<string, number>();
  const url = (p: string): string => `ftp://alice:secret@127.0.0.1:${t.port}${p}`;

  beforeAll(async () => {
    t = await startTestServer();
    t.server.on('command', ({ verb, arg }) => commands.push(`${verb} ${arg}`.trim()));
    t.server.on('transfer-end', (e) => wire.set(`${e.command} ${e.path}`, e.bytes));
  });
  afterAll(() => t.close());

  it('put and get compressed, byte-exact', async () => {
    expect(await run(PUT, ['-q', '-z', join(tmp.path, 'log.txt'), url('/log.txt')])).toMatchObject({ code: 0, stderr: '' });
    expect(commands).toContain('MODE Z');
    expect(await sha256File(join(t.root, 'log.txt'))).toBe(sha256Buffer(TEXT));
    expect(wire.get('STOR /log.txt')!).toBeLessThan(TEXT.length / 10);
    expect(await run(GET, ['-q', '--compress', url('/log.txt'), join(tmp.path, 'got.txt')])).toMatchObject({ code: 0, stderr: '' });
    expect(await sha256File(join(tmp.path, 'got.txt'))).toBe(sha256Buffer(TEXT));
    expect(wire.get('RETR /log.txt')!).toBeLessThan(TEXT.length / 10);
  });

  it('without -z nothing is compressed', async () => {
    const before = commands.length;
    expect((await run(GET, ['-q', url('/log.txt'), join(tmp.path, 'plain.txt')])).code).toBe(0);
    expect(commands.slice(before)).not.toContain('MODE Z');
    expect(wire.get('RETR /log.txt')).toBe(TEXT.length);
  });

  it('a server without MODE Z: plain, with a note under -v only', async () => {
    const off = await startTestServer({ modeZ: false });
    try {
      const u = `ftp://alice:secret@127.0.0.1:${off.port}/log.txt`;
      expect(await run(PUT, ['-q', '-z', join(tmp.path, 'log.txt'), u])).toMatchObject({ code: 0, stderr: '' });
      const verbose = await run(GET, ['-v', '-z', u, join(tmp.path, 'off.txt')]);
      expect(verbose.code).toBe(0);
      expect(verbose.stderr.split('\n')).toContain('ftp-get: note: the server does not offer MODE Z: transferring uncompressed');
      expect(verbose.stderr).not.toContain('> MODE Z');
      expect(await sha256File(join(tmp.path, 'off.txt'))).toBe(sha256Buffer(TEXT));
      const quiet = await run(GET, ['-z', u, join(tmp.path, 'off2.txt')]);
      expect(quiet.code).toBe(0);
      expect(quiet.stderr).not.toContain('MODE Z');
    } finally {
      await off.close();
    }
  });
});

describe('ftp-serve --no-mode-z', () => {
  for (const [flags, offered] of [[['--no-mode-z'], false], [[], true]] as const) {
    it(`${flags.length ? flags.join(' ') : 'by default'}: MODE Z ${offered ? 'offered' : 'refused'}`, async () => {
      if (!existsSync(SERVE)) throw new Error(`${SERVE} is missing: run npm run build first`);
      const child = spawn(process.execPath, [SERVE, '--port', '0', '--log-level', 'silent', ...flags, tmp.path], { stdio: ['ignore', 'pipe', 'pipe'] });
      try {
        const line = await new Promise<string>((resolve, reject) => {
          child.once('exit', (code) => reject(new Error(`ftp-serve exited ${code}`)));
          createInterface({ input: child.stdout }).once('line', resolve);
        });
        const port = Number(/:(\d+) /.exec(line)?.[1]);
        const ftp = await RawFtp.connect(port);
        try {
          await ftp.login('anonymous', 'guest@');
          expect((await ftp.send('FEAT')).lines.includes(' MODE Z')).toBe(offered);
          expect((await ftp.send('MODE Z')).code).toBe(offered ? 200 : 504);
        } finally {
          ftp.close();
        }
      } finally {
        const exited = new Promise((r) => child.once('exit', r));
        child.kill('SIGTERM');
        await exited;
      }
    });
  }
});
