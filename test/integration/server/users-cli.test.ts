// `ftp-serve users ...` then `ftp-serve --users FILE`: a multi-user server from the command line,
// SIGHUP reloads, and bad input (one line, exit 2).
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdir, readFile, stat, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { RawFtp } from '../../helpers/raw-ftp.js';
import { makeTempDir, type TempDir } from '../../helpers/tmp.js';

const repo = new URL('../../../', import.meta.url).pathname;
const bin = join(repo, 'dist/bin/ftp-serve.js');
const children: ChildProcess[] = [];
let dir: TempDir;

beforeAll(async () => {
  dir = await makeTempDir('ftpkit-users-cli-');
  await mkdir(join(dir.path, 'alice'));
  await mkdir(join(dir.path, 'bob'));
  await writeFile(join(dir.path, 'bob', 'readme.txt'), 'for bob');
  await writeFile(join(dir.path, 'empty.json'), '{"version": 1, "users": []}');
});
afterEach(() => {
  for (const c of children.splice(0)) c.kill('SIGKILL');
});
afterAll(() => dir.cleanup());

function run(args: string[], input = '', cwd = dir.path): Promise<{ code: number | null; stdout: string; stderr: string }> {
  const child = spawn(process.execPath, [bin, ...args], { cwd });
  children.push(child);
  let stdout = '';
  let stderr = '';
  child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
  child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
  child.stdin.end(input);
  return new Promise((resolve) => child.on('exit', (code) => resolve({ code, stdout, stderr })));
}

/** Runs a users command that must succeed; its stderr explains a failure. */
async function ok(args: string[], input = '', cwd = dir.path): Promise<void> {
  const r = await run(args, input, cwd);
  expect(r.code, r.stderr).toBe(0);
}

/** Starts the server; resolves with its port once the first line is printed. */
function serve(args: string[], cwd = dir.path): Promise<{ line: string; port: number; child: ChildProcess; stderr: () => string }> {
  const child = spawn(process.execPath, [bin, '--port', '0', '--log-level', 'info', ...args], { cwd, stdio: ['ignore', 'pipe', 'pipe'] });
  children.push(child);
  let err = '';
  child.stderr!.on('data', (d: Buffer) => (err += d.toString()));
  return new Promise((resolve, reject) => {
    let out = '';
    child.stdout!.on('data', (d: Buffer) => {
      out += d.toString();
      const nl = out.indexOf('\n');
      if (nl >= 0) resolve({ line: out.slice(0, nl), port: Number(/:(\d+) /.exec(out)![1]), child, stderr: () => err });
    });
    child.on('exit', (code) => reject(new Error(`exited ${code}: ${err}`)));
  });
}

describe('ftp-serve users', () => {
  it('add, list, passwd, del: the password comes from stdin and the file is 0600', async () => {
    const file = join(dir.path, 'u1.json');
    const add = await run(['--users', file, 'users', 'add', 'alice', '--home', 'alice', '--perms', 'elrw'], 'first pass\n');
    expect(add).toMatchObject({ code: 0, stderr: '' });
    expect(add.stdout).toBe(`added alice (home ${join(dir.path, 'alice')}, permissions elrw) to ${file}\n`);
    expect((await stat(file)).mode & 0o777).toBe(0o600);
    expect(await readFile(file, 'utf8')).not.toContain('first pass');
    await ok(['users', 'add', 'bob', '--home', 'bob', '--users', file, '--download-rate', '2M'], 'bob pass');
    const list = await run(['--users', file, 'users', 'list']);
    expect(list.stdout).toBe(`alice\telrw\t${join(dir.path, 'alice')}\nbob\telradfmwMT\t${join(dir.path, 'bob')}\tdownload 2097152 B/s\n`);
    await ok(['--users', file, 'users', 'passwd', 'alice'], 'second pass\n');
    await ok(['--users', file, 'users', 'del', 'bob']);
    expect((await run(['--users', file, 'users', 'list'])).stdout).toMatch(/^alice\t/);
    const json = JSON.parse(await readFile(file, 'utf8'));
    expect(json.users).toHaveLength(1);
    expect(json.users[0].password).toMatch(/^scrypt\$32768\$8\$1\$/);
  });

  it('the default file is ./ftp-users.json, for the users commands and the server alike', async () => {
    await ok(['users', 'add', 'carol', '--home', 'alice'], 'carol pw\n');
    expect((await stat(join(dir.path, 'ftp-users.json'))).mode & 0o777).toBe(0o600);
    const { line, port } = await serve([]);
    expect(line).toMatch(/\(1 user from ftp-users\.json\)$/);
    const c = await RawFtp.connect(port);
    await c.login('carol', 'carol pw');
    c.close();
    const anon = await RawFtp.connect(port);
    await anon.send('USER anonymous');
    expect((await anon.send('PASS x')).code).toBe(530); // a users file turns anonymous off
    anon.close();
  });

  it.each([
    [['users', 'add', 'x', '--perms', 'elrq'], /^ftp-serve: --perms: unknown permission letter 'q'/],
    [['users', 'add', 'x', '--home', '/definitely/missing'], /^ftp-serve: --home: \/definitely\/missing does not exist or is not a folder/],
    [['users', 'add', 'bad name'], /^ftp-serve: NAME must be/],
    [['users', 'add', 'anonymous'], /reserved for anonymous/],
    [['users', 'add', 'x', '--bogus'], /Unknown option '--bogus'/],
    [['users', 'frobnicate'], /unknown users command 'frobnicate'/],
    [['users'], /users needs a command/],
    [['users', 'del', 'nobody', '--users', 'none.json'], /cannot read \(ENOENT\)/],
  ])('bad input %j: one line, exit 2', async (args, message) => {
    const r = await run(args as string[], 'pw\n');
    expect(r.code, r.stderr).toBe(2);
    expect(r.stderr).toMatch(message);
    expect(r.stderr.trim().split('\n')).toHaveLength(1);
  });

  it('a 100 KB password on stdin is refused and nothing is written', async () => {
    const file = join(dir.path, 'u-long.json');
    const r = await run(['--users', file, 'users', 'add', 'long', '--home', 'alice'], `${'p'.repeat(100_000)}\n`);
    expect(r.code).toBe(2);
    expect(r.stderr).toBe('ftp-serve: password must be at most 1024 bytes\n');
    await expect(stat(file)).rejects.toThrow();
  });
});

describe('ftp-serve --users FILE', () => {
  it('serves each user jailed in their home with their permissions; SIGHUP removes a user', async () => {
    const file = join(dir.path, 'u2.json');
    await ok(['--users', file, 'users', 'add', 'alice', '--home', 'alice', '--perms', 'elrw'], 'alice pw\n');
    await ok(['--users', file, 'users', 'add', 'bob', '--home', 'bob', '--perms', 'elr'], 'bob pw\n');
    const { line, port, child, stderr } = await serve(['--users', file]);
    expect(line).toMatch(/\(2 users from .*u2\.json\)$/);

    const alice = await RawFtp.connect(port);
    await alice.login('alice', 'alice pw');
    expect((await alice.store('STOR up.txt', 'from alice')).final.code).toBe(226);
    expect(await readFile(join(dir.path, 'alice', 'up.txt'), 'utf8')).toBe('from alice');
    expect((await alice.fetch('RETR ../bob/readme.txt')).final.code).toBe(550); // jailed
    const bob = await RawFtp.connect(port);
    await bob.login('bob', 'bob pw');
    expect((await bob.fetch('RETR readme.txt')).data.toString()).toBe('for bob');
    expect((await bob.store('STOR x.txt', 'no')).mark.code).toBe(550);

    await ok(['--users', file, 'users', 'del', 'alice']);
    child.kill('SIGHUP');
    await expect.poll(stderr, { timeout: 5000 }).toContain('users file reloaded');
    expect(await alice.send('PWD')).toMatchObject({ code: 421 });
    expect((await bob.send('PWD')).code).toBe(257);
    const again = await RawFtp.connect(port);
    await again.send('USER alice');
    expect((await again.send('PASS alice pw')).code).toBe(530);

    // A broken file on SIGHUP keeps the users in force.
    await writeFile(file, '{"version": 1, "users": [{"name": "bob"}]}');
    child.kill('SIGHUP');
    await expect.poll(stderr, { timeout: 5000 }).toContain('users file not reloaded');
    expect(stderr()).toMatch(/users\[0\]\.permissions/);
    expect((await bob.send('PWD')).code).toBe(257);
    for (const c of [alice, bob, again]) c.close();
    expect(stderr()).not.toContain('alice pw');
    expect(stderr()).not.toContain('bob pw');
  });

  it('an invalid users file is refused at start with a message naming the bad field', async () => {
    const file = join(dir.path, 'bad.json');
    await writeFile(file, JSON.stringify({ version: 1, users: [{ name: 'a', password: 'x', home: '/', permissions: 'elr' }] }));
    const r = await run(['--users', file, '--port', '0']);
    expect(r.code).toBe(2);
    expect(r.stderr).toBe(`ftp-serve: ${file}: users[0].password: must look like scrypt$N$r$p$salt$hash\n`);
  });

  it('--anonymous-upload: anonymous may store there, not list or read', async () => {
    await mkdir(join(dir.path, 'pub', 'incoming'), { recursive: true });
    // ./ftp-users.json exists here (an earlier test), so anonymous must be asked for.
    const { line, port } = await serve(['--anonymous', '--anonymous-upload', '/incoming', join(dir.path, 'pub')]);
    expect(line).toMatch(/anonymous read-only, uploads to \/incoming\)$/);
    const c = await RawFtp.connect(port);
    await c.login('anonymous', 'x@y');
    expect((await c.store('STOR /incoming/f.txt', 'dropped')).final.code).toBe(226);
    expect((await c.fetch('LIST /incoming')).final.code).toBe(550);
    expect((await c.fetch('RETR /incoming/f.txt')).final.code).toBe(550);
    c.close();
  });

  it.each([
    [['--max-per-address', 'x'], "--max-per-address takes a whole number, got 'x' (see --help)"],
    [['--anonymous', '--anonymous-upload', 'incoming'], "--anonymous-upload takes a folder of ROOT such as /incoming, got 'incoming' (see --help)"],
    [['--anonymous', '--anonymous-upload', '/incoming'], `--anonymous-upload: /incoming is not a folder of ${'${DIR}'}`],
    [['--user', 'u:p', '--anonymous-upload', '/incoming'], '--anonymous-upload needs anonymous access: add --anonymous (see --help)'],
    [['--users', 'missing.json'], 'missing.json: cannot read (ENOENT)'],
    [['--users', 'empty.json', '--write'], '--write is for anonymous users, who are off with --user or --users: add --anonymous (--user users may write anyway) (see --help)'],
  ])('bad server flag %j: one line naming the flag, exit 2', async (args, message) => {
    const r = await run(['--port', '0', ...(args as string[])]);
    expect(r).toMatchObject({ code: 2, stdout: '', stderr: `ftp-serve: ${message.replace('${DIR}', dir.path)}\n` });
  });

  it('--max-per-address: the connection over it gets 421', async () => {
    const { port } = await serve(['--max-per-address', '1']);
    const a = await RawFtp.connect(port);
    await expect(RawFtp.connect(port)).rejects.toThrow(/greeting 421 Too many connections from your address/);
    a.close();
  });
});

// These need the storage layer's protectedPaths (ftp-serve passes the users file, the default
// ./ftp-users.json and the TLS files); they fail until it is merged.
describe('the users file is never served', () => {
  /** RETR, STOR, APPE, DELE and RNFR of `name` are all refused; the file on disk is unchanged. */
  async function expectUntouchable(c: RawFtp, name: string, file: string): Promise<void> {
    const before = await readFile(file);
    await c.send('TYPE I');
    for (const path of [name, `/${name}`, `./${name}`]) expect((await c.fetch(`RETR ${path}`)).final.code, `RETR ${path}`).toBe(550);
    expect((await c.store(`STOR ${name}`, '{"version":1,"users":[]}')).final.code).not.toBe(226);
    expect((await c.store(`APPE ${name}`, ' ')).final.code).not.toBe(226);
    expect((await c.send(`DELE ${name}`)).code).toBe(550);
    expect((await c.send(`RNFR ${name}`)).code).toBe(550);
    expect(await readFile(file)).toEqual(before);
  }

  it('users add without --home in the folder of the users file warns, and neither that user nor anonymous can touch the file', async () => {
    const shared = join(dir.path, 'shared');
    await mkdir(shared);
    const add = await run(['users', 'add', 'dave'], 'dave pw\n', shared);
    expect(add).toEqual({
      code: 0,
      stdout: `added dave (home ${shared}, permissions elradfmwMT) to ftp-users.json\n`,
      stderr: "ftp-serve: warning: dave's home contains the users file ftp-users.json; ftp-serve never serves it, but keep it out of homes other servers may share (--home, --users)\n",
    });
    const { port } = await serve(['--anonymous', shared], shared);
    const dave = await RawFtp.connect(port);
    await dave.login('dave', 'dave pw');
    await expectUntouchable(dave, 'ftp-users.json', join(shared, 'ftp-users.json'));
    expect((await dave.store('STOR other.txt', 'fine')).final.code).toBe(226); // the rest of the home is writable
    dave.close();
    const anon = await RawFtp.connect(port);
    await anon.login('anonymous', 'x@y');
    expect((await anon.fetch('RETR ftp-users.json')).final.code).toBe(550);
    anon.close();
  });

  it('a users file created in ROOT while the server runs is not served either', async () => {
    const root = join(dir.path, 'later');
    await mkdir(join(root, 'home'), { recursive: true });
    const { port } = await serve([root], root); // no users file yet: anonymous read-write below
    await ok(['users', 'add', 'erin', '--home', 'home'], 'erin pw\n', root);
    const anon = await RawFtp.connect(port);
    await anon.login('anonymous', 'x@y');
    expect((await anon.fetch('RETR ftp-users.json')).final.code).toBe(550);
    anon.close();
  });

  it('--users FILE inside a home given with --home: not served', async () => {
    const home = join(dir.path, 'withfile');
    await mkdir(home);
    const file = join(home, 'accounts.json');
    const add = await run(['--users', file, 'users', 'add', 'fay', '--home', home], 'fay pw\n');
    expect(add.code).toBe(0);
    expect(add.stderr).toBe(`ftp-serve: warning: fay's home contains the users file ${file}; ftp-serve never serves it, but keep it out of homes other servers may share (--home, --users)\n`);
    const { port } = await serve(['--users', file]);
    const fay = await RawFtp.connect(port);
    await fay.login('fay', 'fay pw');
    await expectUntouchable(fay, 'accounts.json', file);
    fay.close();
  });
});
