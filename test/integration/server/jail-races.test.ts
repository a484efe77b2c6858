// Symlink races against the jail (issue 12, item 6): a local process that can write inside the
// root swaps a folder for a symlink to the outside with renameat2(RENAME_EXCHANGE), as fast as it
// can, while a logged-in user runs every command that changes something in that folder. Nothing
// outside the root may change: no mode, mtime, entry or byte.
import { createHash } from 'node:crypto';
import { lstat, mkdir, readdir, readFile, symlink, utimes, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { FileServer } from '../../../src/index.js';
import { RawFtp } from '../../helpers/raw-ftp.js';
import { makeTempDir, type TempDir } from '../../helpers/tmp.js';
import { canRace, startSwapRacer, type SwapRacer } from '../../unit/storage/symlink-racer.js';

const ROUNDS = 150;
const OLD_TIME = new Date('2001-02-03T04:05:06Z');

let racer: SwapRacer | undefined;
let server: FileServer | undefined;
let dir: TempDir | undefined;

afterEach(async () => {
  await racer?.stop();
  racer = undefined;
  await server?.close();
  server = undefined;
  await dir?.cleanup();
  dir = undefined;
});

/** Every entry below `top`: type, permission bits, mtime, and the bytes' hash. */
async function snapshot(top: string): Promise<Record<string, string>> {
  const out: Record<string, string> = {};
  const walk = async (at: string, rel: string): Promise<void> => {
    for (const name of (await readdir(at)).sort()) {
      const host = join(at, name);
      const st = await lstat(host);
      const hash = st.isFile() ? createHash('sha256').update(await readFile(host)).digest('hex').slice(0, 16) : '';
      out[`${rel}/${name}`] = `${st.isDirectory() ? 'd' : st.isFile() ? 'f' : 'o'} ${(st.mode & 0o7777).toString(8)} ${st.mtimeMs} ${hash}`;
      if (st.isDirectory()) await walk(host, `${rel}/${name}`);
    }
  };
  await walk(top, '');
  return out;
}

/** The same names in `at`, with content saying where they are. */
async function populate(at: string, label: string): Promise<void> {
  await mkdir(at, { recursive: true });
  await writeFile(join(at, 'a.txt'), `${label} a`, { mode: 0o640 });
  await writeFile(join(at, 'victim.txt'), `${label} ORIGINAL`, { mode: 0o640 });
  await writeFile(join(at, '.ftpkit-upload-victim.txt'), `${label} stale temporary`, { mode: 0o640 });
  for (let i = 0; i < ROUNDS; i++) {
    await writeFile(join(at, `del-${i}`), `${label} del`, { mode: 0o640 });
    await writeFile(join(at, `rn-${i}`), `${label} rn`, { mode: 0o640 });
  }
  for (const name of await readdir(at)) await utimes(join(at, name), OLD_TIME, OLD_TIME);
  await utimes(at, OLD_TIME, OLD_TIME);
}

describe.skipIf(!canRace())('a folder swapped for a symlink to the outside, mid-command', () => {
  it('SITE CHMOD, MFMT, DELE, MKD, STOR, RNFR/RNTO never change anything outside the root', { timeout: 180_000 }, async () => {
    dir = await makeTempDir('ftpkit-race-');
    const root = join(dir.path, 'root');
    const outside = join(dir.path, 'outside');
    await populate(join(root, 'd'), 'inside');
    await populate(outside, 'outside');
    await symlink(outside, join(root, 'swap'));
    await utimes(dir.path, OLD_TIME, OLD_TIME);
    const before = await snapshot(outside);
    const baseBefore = (await readdir(dir.path)).sort();

    server = new FileServer({
      authenticate: () => ({ root, write: true }),
      maxCommandsPerSecond: 0,
      loginGuard: false,
    });
    const { port } = await server.listen();
    const ftp = await RawFtp.connect(port);
    await ftp.login('alice', 'secret');
    await ftp.send('TYPE I');

    racer = await startSwapRacer(join(root, 'd'), join(root, 'swap'));
    const ok: Record<string, number> = {};
    const count = (what: string, code: number): void => {
      if (code < 400) ok[what] = (ok[what] ?? 0) + 1;
      else expect([450, 550, 553], `${what}: ${code}`).toContain(code);
    };
    for (let i = 0; i < ROUNDS; i++) {
      count('SITE CHMOD', (await ftp.send('SITE CHMOD 777 /d/a.txt')).code);
      count('MFMT', (await ftp.send('MFMT 20200101000000 /d/a.txt')).code);
      count('DELE', (await ftp.send(`DELE /d/del-${i}`)).code);
      count('MKD', (await ftp.send(`MKD /d/mk-${i}`)).code);
      count('STOR new', (await ftp.store(`STOR /d/up-${i}`, `uploaded ${i}`)).final.code);
      count('STOR over', (await ftp.store('STOR /d/victim.txt', `replaced ${i}`)).final.code);
      const rnfr = (await ftp.send(`RNFR /d/rn-${i}`)).code;
      if (rnfr === 350) count('RNTO', (await ftp.send(`RNTO /d/rn-${i}.moved`)).code);
      else count('RNFR', rnfr);
    }
    ftp.close();
    await racer.stop();

    expect(await snapshot(outside)).toEqual(before);
    expect((await readdir(dir.path)).sort()).toEqual(baseBefore);
    // The commands did run (inside, whenever the folder was in place): the race was real.
    for (const what of ['SITE CHMOD', 'MFMT', 'DELE', 'MKD', 'STOR new', 'STOR over', 'RNTO']) {
      expect(ok[what] ?? 0, what).toBeGreaterThan(0);
    }
  });
});
