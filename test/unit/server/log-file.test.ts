// LogFile (issue 16): records are gathered into one write, at the latest flushMs later; reopen,
// close and the process's exit write what is gathered; a failing write is an 'error', not a throw.
import { spawnSync } from 'node:child_process';
import { mkdir, readFile, rename } from 'node:fs/promises';
import { join } from 'node:path';
import { pino } from 'pino';
import { afterEach, describe, expect, it } from 'vitest';
import { LogFile, openLogFile } from '../../../src/index.js';
import { makeTempDir, type TempDir } from '../../helpers/tmp.js';

let dir: TempDir | undefined;
afterEach(async () => {
  await dir?.cleanup();
  dir = undefined;
});

const lines = async (path: string): Promise<string[]> => (await readFile(path, 'utf8').catch(() => '')).split('\n').filter(Boolean);

describe('LogFile', () => {
  it('gathers records and writes them together within flushMs', async () => {
    dir = await makeTempDir('ftpkit-logfile-');
    const path = join(dir.path, 'ftp.log');
    const file = openLogFile(path, { flushMs: 50 });
    const log = pino({ level: 'info' }, file);
    log.info({ event: 'connect' }, 'connect');
    log.info({ event: 'login' }, 'login');
    expect(await lines(path)).toEqual([]); // not yet written
    await expect.poll(async () => (await lines(path)).map((l) => (JSON.parse(l) as { event: string }).event), { timeout: 2000 }).toEqual(['connect', 'login']);
    file.close();
  });

  it('writes once the gathered records reach 16 K characters, without waiting', async () => {
    dir = await makeTempDir('ftpkit-logfile-');
    const path = join(dir.path, 'big.log');
    const file = openLogFile(path, { flushMs: 60_000 });
    const line = `${'x'.repeat(999)}\n`;
    for (let i = 0; i < 17; i++) file.write(line);
    expect(await lines(path)).toHaveLength(17);
    file.write(line);
    expect(await lines(path)).toHaveLength(17);
    file.close();
    expect(await lines(path)).toHaveLength(18);
  });

  it('flushMs 0 writes each record at once', async () => {
    dir = await makeTempDir('ftpkit-logfile-');
    const path = join(dir.path, 'now.log');
    const file = openLogFile(path, { flushMs: 0 });
    file.write('one\n');
    expect(await lines(path)).toEqual(['one']);
    file.close();
    expect(file.write('after close\n')).toBe(false);
    expect(await lines(path)).toEqual(['one']);
  });

  it('reopen(): gathered records go to the moved file, later ones to the new file', async () => {
    dir = await makeTempDir('ftpkit-logfile-');
    const path = join(dir.path, 'xferlog');
    const file = new LogFile(path, { flushMs: 60_000 });
    file.write('before\n');
    await rename(path, `${path}.1`);
    file.reopen();
    file.write('after\n');
    file.close();
    expect(await lines(`${path}.1`)).toEqual(['before']);
    expect(await lines(path)).toEqual(['after']);
  });

  it('a path that cannot be opened throws with its code; a failing reopen keeps the old file and emits error', async () => {
    dir = await makeTempDir('ftpkit-logfile-');
    expect(() => openLogFile(join(dir!.path, 'missing', 'ftp.log'))).toThrow(expect.objectContaining({ code: 'ENOENT' }));
    expect(() => openLogFile(dir!.path)).toThrow(expect.objectContaining({ code: 'EISDIR' }));
    const path = join(dir.path, 'ftp.log');
    const file = openLogFile(path, { flushMs: 0 });
    const errors: Error[] = [];
    file.on('error', (err) => errors.push(err));
    await rename(path, join(dir.path, 'moved.log'));
    // The path is now a folder: reopening fails, the old (moved) file keeps the records.
    await mkdir(path);
    file.reopen();
    expect(errors.map((e) => (e as NodeJS.ErrnoException).code)).toEqual(['EISDIR']);
    file.write('still here\n');
    file.close();
    expect(await lines(join(dir.path, 'moved.log'))).toEqual(['still here']);
  });

  it('a write that fails (disk full) is an error event; the caller goes on', () => {
    const file = openLogFile('/dev/full', { flushMs: 0 });
    const errors: Error[] = [];
    file.on('error', (err) => errors.push(err));
    expect(() => file.write('lost\n')).not.toThrow();
    expect(errors.map((e) => (e as NodeJS.ErrnoException).code)).toEqual(['ENOSPC']);
    file.close();
  });

  it('the process exit writes what is gathered', async () => {
    dir = await makeTempDir('ftpkit-logfile-');
    const path = join(dir.path, 'exit.log');
    const script = `
      import { openLogFile } from './src/index.ts';
      const f = openLogFile(${JSON.stringify(path)}, { flushMs: 60_000 });
      f.write('last words\\n');
      process.exit(0);`;
    const r = spawnSync(process.execPath, ['--import', 'tsx', '--input-type=module', '-e', script], { cwd: join(import.meta.dirname, '../../..'), encoding: 'utf8', timeout: 30_000 });
    expect(r.status, r.stderr).toBe(0);
    expect(await lines(path)).toEqual(['last words']);
  });
});
