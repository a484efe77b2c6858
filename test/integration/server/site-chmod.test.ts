// SITE CHMOD and the modes uploads copy (issue 12, item 7): permission bits only, never
// setuid/setgid/sticky, and never the jail root.
import { chmod, mkdir, readFile, stat, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { RawFtp } from '../../helpers/raw-ftp.js';
import { startTestServer, type TestServer } from '../../helpers/server.js';

let t: TestServer;
let ftp: RawFtp;

const modeOf = async (p: string): Promise<number> => (await stat(join(t.root, p))).mode & 0o7777;

beforeEach(async () => {
  t = await startTestServer();
  await writeFile(join(t.root, 'a.txt'), 'a');
  await mkdir(join(t.root, 'd'));
  await chmod(join(t.root, 'a.txt'), 0o644);
  await chmod(join(t.root, 'd'), 0o755);
  ftp = await RawFtp.connect(t.port);
  await ftp.login();
  await ftp.send('TYPE I');
});

afterEach(async () => {
  ftp.close();
  await t.close();
});

describe('SITE CHMOD', () => {
  it.each(['4777', '2755', '1777', '7777', '04755', '0000777'])('%s (beyond 777) is refused with 501 and changes nothing', async (mode) => {
    const r = await ftp.send(`SITE CHMOD ${mode} a.txt`);
    expect(r.code).toBe(501);
    expect(r.text).toBe('SITE CHMOD needs an octal mode up to 777 and a path');
    expect((await ftp.send(`SITE CHMOD ${mode} d`)).code).toBe(501);
    expect(await modeOf('a.txt')).toBe(0o644);
    expect(await modeOf('d')).toBe(0o755);
  });

  it.each([
    ['777', 0o777],
    ['0640', 0o640],
    ['600', 0o600],
    ['7', 0o7],
  ])('%s is applied', async (mode, applied) => {
    expect((await ftp.send(`SITE CHMOD ${mode} a.txt`)).code).toBe(200);
    expect(await modeOf('a.txt')).toBe(applied);
  });

  it.each(['/', '.', '..', 'd/..', '/d/../..'])('of the root (%s) is refused with 550 and changes nothing', async (path) => {
    const before = await stat(t.root);
    const r = await ftp.send(`SITE CHMOD 777 ${path}`);
    expect(r.code).toBe(550);
    expect(r.text).not.toContain(t.root);
    expect((await stat(t.root)).mode).toBe(before.mode);
  });

  it('of a folder works', async () => {
    expect((await ftp.send('SITE CHMOD 700 d')).code).toBe(200);
    expect(await modeOf('d')).toBe(0o700);
  });
});

describe('atomic uploads keep the old mode without its special bits', () => {
  it('STOR over a setuid/setgid file: new content, mode 0755', async () => {
    await writeFile(join(t.root, 'tool'), 'old binary');
    await chmod(join(t.root, 'tool'), 0o6755);
    expect(await modeOf('tool')).toBe(0o6755); // the host allows it: the test can tell
    const r = await ftp.store('STOR tool', 'new binary');
    expect(r.final.code).toBe(226);
    expect(await readFile(join(t.root, 'tool'), 'utf8')).toBe('new binary');
    expect(await modeOf('tool')).toBe(0o755);
  });

  it('STOR over a plain file keeps its mode', async () => {
    await chmod(join(t.root, 'a.txt'), 0o600);
    expect((await ftp.store('STOR a.txt', 'new a')).final.code).toBe(226);
    expect(await modeOf('a.txt')).toBe(0o600);
  });
});
