// 'command-end': one per command the dispatcher read, refused ones included, with the command's
// own last reply code (a transfer's 226/426, ABOR's 226 beside it), the paths it acted on, and
// PASS/ACCT masked. The audit log and xferlog are built on exactly this shape.
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import type { CommandEndInfo } from '../../../src/server/events.js';
import { RawFtp } from '../../helpers/raw-ftp.js';
import { startTestServer, type TestServer } from '../../helpers/server.js';
import { TEST_CERT, TEST_KEY } from '../../helpers/tls.js';

let t: TestServer;
let ftp: RawFtp | undefined;
let ended: CommandEndInfo[] = [];
let started: Array<{ verb: string; arg: string }> = [];

beforeAll(async () => {
  t = await startTestServer({ tls: { cert: TEST_CERT, key: TEST_KEY } });
  t.server.on('command-end', (info) => ended.push(info));
  t.server.on('command', ({ verb, arg }) => started.push({ verb, arg }));
});
afterAll(async () => {
  await t.close();
});
afterEach(() => {
  ftp?.close();
  ftp = undefined;
  ended = [];
  started = [];
});

/** The events of this connection so far, without the fields that vary (sessionId, remoteAddress, durationMs). */
async function events(count: number): Promise<Array<Omit<CommandEndInfo, 'sessionId' | 'remoteAddress' | 'durationMs'>>> {
  await expect.poll(() => ended.length).toBeGreaterThanOrEqual(count);
  return ended.map(({ sessionId: _s, remoteAddress: _r, durationMs: _d, ...rest }) => rest);
}

describe("'command-end'", () => {
  it('login, a refused command, an unknown one, a missing argument: code, reply, user, masked arguments', async () => {
    ftp = await RawFtp.connect(t.port);
    expect((await ftp.send('NOOP')).code).toBe(200);
    expect((await ftp.send('PWD')).code).toBe(530);
    expect((await ftp.send('USER bob')).code).toBe(331);
    expect((await ftp.send('PASS wrong')).code).toBe(530);
    expect((await ftp.send('USER bob')).code).toBe(331);
    expect((await ftp.send('PASS secret')).code).toBe(230);
    expect((await ftp.send('ACCT billing')).code).toBe(502);
    expect((await ftp.send('XYZZ plugh')).code).toBe(500);
    expect((await ftp.send('DELE gone.txt')).code).toBe(550); // bob may not delete
    expect((await ftp.send('RETR')).code).toBe(501);
    expect((await ftp.send('CWD /a\0b')).code).toBe(501);
    const user = { username: 'bob', secure: false };
    expect(await events(11)).toEqual([
      { username: undefined, verb: 'NOOP', arg: '', paths: [], code: 200, reply: 'NOOP ok', secure: false },
      { username: undefined, verb: 'PWD', arg: '', paths: [], code: 530, reply: 'Please login with USER and PASS', secure: false },
      { ...user, verb: 'USER', arg: 'bob', paths: [], code: 331, reply: 'Password required for bob' },
      { ...user, verb: 'PASS', arg: '***', paths: [], code: 530, reply: 'Login incorrect' }, // the user it was for, though refused
      { ...user, verb: 'USER', arg: 'bob', paths: [], code: 331, reply: 'Password required for bob' },
      { ...user, verb: 'PASS', arg: '***', paths: [], code: 230, reply: 'User logged in' },
      { ...user, verb: 'ACCT', arg: '***', paths: [], code: 502, reply: 'ACCT not implemented' },
      { ...user, verb: 'XYZZ', arg: 'plugh', paths: [], code: 500, reply: 'XYZZ not understood' },
      { ...user, verb: 'DELE', arg: 'gone.txt', paths: ['/gone.txt'], code: 550, reply: '/gone.txt: Permission denied (delete not allowed)' },
      { ...user, verb: 'RETR', arg: '', paths: [], code: 501, reply: 'RETR needs a path' },
      { ...user, verb: 'CWD', arg: '/a\0b', paths: [], code: 501, reply: 'Invalid path' },
    ]);
    expect(started.map((c) => c.arg)).toEqual(['', '', 'bob', '***', 'bob', '***', '***', 'plugh', 'gone.txt', '', '/a\0b']);
    for (const e of ended) {
      expect(Number.isInteger(e.durationMs) && e.durationMs >= 0).toBe(true);
      expect(e.sessionId).toBe(ended[0]!.sessionId);
      expect(e.remoteAddress).toBe('127.0.0.1');
    }
  });

  it('paths: resolved against the cwd, [from, to] for RNTO, the picked name for STOU', async () => {
    await writeFile(join(t.root, 'r.txt'), 'rename me');
    ftp = await RawFtp.connect(t.port);
    await ftp.login();
    expect((await ftp.send('MKD d')).code).toBe(257);
    expect((await ftp.send('CWD d')).code).toBe(250);
    expect((await ftp.send('RNFR ../r.txt')).code).toBe(350);
    expect((await ftp.send('RNTO moved.txt')).code).toBe(250);
    expect((await ftp.send('RNTO again.txt')).code).toBe(503);
    const stou = await ftp.store('STOU', 'unique');
    expect(stou.final.code).toBe(226);
    const all = await events(9);
    const rows = all.slice(2).map((e) => [e.verb, e.paths, e.code]);
    expect(rows.slice(0, 5)).toEqual([
      ['MKD', ['/d'], 257],
      ['CWD', ['/d'], 250],
      ['RNFR', ['/r.txt'], 350],
      ['RNTO', ['/r.txt', '/d/moved.txt'], 250],
      ['RNTO', [], 503],
    ]);
    expect(rows[5]).toEqual(['EPSV', [], 229]);
    expect(rows[6]![0]).toBe('STOU');
    expect(rows[6]![1]).toEqual([expect.stringMatching(/^\/d\/ftpkit\.[0-9a-f]{16}$/)]);
    expect(rows[6]![2]).toBe(226);
  });

  it('a transfer ends with its own final code; ABOR beside it with 226', async () => {
    await writeFile(join(t.root, 'small.txt'), 'hello');
    ftp = await RawFtp.connect(t.port);
    await ftp.login();
    expect((await ftp.fetch('RETR small.txt')).final.code).toBe(226);
    // A download the client does not read: ABOR cuts it (426 for RETR, then 226 for ABOR).
    const big = join(t.root, 'big.bin');
    await writeFile(big, Buffer.alloc(64 * 1024 * 1024));
    const data = await ftp.passive();
    data.pause();
    expect((await ftp.send('RETR big.bin')).code).toBe(150);
    ftp.write('ABOR\r\n');
    expect((await ftp.read()).code).toBe(426);
    expect((await ftp.read()).code).toBe(226);
    data.destroy();
    const all = await events(7);
    expect(all.slice(2, 5).map((e) => [e.verb, e.paths, e.code])).toEqual([
      ['EPSV', [], 229],
      ['RETR', ['/small.txt'], 226],
      ['EPSV', [], 229],
    ]);
    // ABOR and the RETR it cut end at about the same time, in either order; each has its own code.
    const byVerb = Object.fromEntries(all.slice(5).map((e) => [e.verb, [e.paths, e.code]]));
    expect(byVerb).toEqual({ RETR: [['/big.bin'], 426], ABOR: [[], 226] });
  });

  it('secure: false for AUTH TLS itself, true for what comes over TLS', async () => {
    ftp = await RawFtp.connect(t.port);
    expect((await ftp.send('AUTH TLS')).code).toBe(234);
    await ftp.upgrade();
    await ftp.login();
    const all = await events(3);
    expect(all.map((e) => [e.verb, e.code, e.secure])).toEqual([
      ['AUTH', 234, false],
      ['USER', 331, true],
      ['PASS', 230, true],
    ]);
  });
});
