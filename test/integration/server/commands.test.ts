import { mkdir, readFile, stat, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, beforeAll, beforeEach, afterEach, describe, expect, it } from 'vitest';
import { RawFtp } from '../../helpers/raw-ftp.js';
import { startTestServer, type TestServer } from '../../helpers/server.js';

let t: TestServer;
let ftp: RawFtp;

beforeAll(async () => {
  t = await startTestServer();
});
afterAll(async () => {
  await t.close();
});
beforeEach(async () => {
  ftp = await RawFtp.connect(t.port);
});
afterEach(() => ftp.close());

describe('login', () => {
  it('accepts a good password and refuses a bad one with the same USER reply', async () => {
    expect((await ftp.send('USER nobody')).code).toBe(331);
    expect((await ftp.send('PASS secret')).code).toBe(530);
    expect((await ftp.send('USER alice')).code).toBe(331);
    expect((await ftp.send('PASS wrong')).code).toBe(530);
    await ftp.login();
  });

  it('answers 530 to commands before login and 503 to PASS without USER', async () => {
    for (const cmd of ['PWD', 'LIST', 'RETR x', 'STOR x', 'CWD /', 'PASV', 'MKD a', 'DELE a']) {
      expect((await ftp.send(cmd)).code, cmd).toBe(530);
    }
    expect((await ftp.send('PASS x')).code).toBe(503);
  });

  it('refuses anonymous when it is off', async () => {
    await ftp.send('USER anonymous');
    expect((await ftp.send('PASS a@b')).code).toBe(530);
  });

  it('REIN logs out', async () => {
    await ftp.login();
    expect((await ftp.send('REIN')).code).toBe(220);
    expect((await ftp.send('PWD')).code).toBe(530);
  });

  it('QUIT says 221 and closes', async () => {
    expect((await ftp.send('QUIT')).code).toBe(221);
    await new Promise((r) => ftp.socket.once('close', r));
  });
});

describe('informational commands', () => {
  it('SYST, NOOP, ACCT, unknown verbs', async () => {
    expect((await ftp.send('SYST')).text).toBe('UNIX Type: L8');
    expect((await ftp.send('NOOP')).code).toBe(200);
    expect((await ftp.send('ACCT x')).code).toBe(502);
    const unknown = await ftp.send('XYZZY');
    expect(unknown.code).toBe(500);
  });

  it('FEAT lists the extensions from the command registry', async () => {
    const feat = await ftp.send('FEAT');
    expect(feat.code).toBe(211);
    for (const f of ['EPRT', 'EPSV', 'MDTM', 'MFMT', 'PASV', 'REST STREAM', 'SIZE', 'TVFS', 'UTF8']) {
      expect(feat.lines).toContain(` ${f}`);
    }
    expect(feat.lines.some((l) => l.startsWith(' MLST type*;size*;modify*;'))).toBe(true);
  });

  it('HELP lists verbs; HELP verb gives its syntax', async () => {
    const help = await ftp.send('HELP');
    expect(help.code).toBe(214);
    expect(help.text).toContain('RETR');
    expect((await ftp.send('HELP retr')).text).toBe('Syntax: RETR <path>');
    expect((await ftp.send('HELP NOPE')).code).toBe(502);
  });

  it('OPTS UTF8 and OPTS MLST', async () => {
    expect((await ftp.send('OPTS UTF8 ON')).code).toBe(200);
    expect((await ftp.send('OPTS FOO')).code).toBe(501);
    expect((await ftp.send('OPTS MLST type;size;')).text).toBe('MLST OPTS type;size;');
    const feat = await ftp.send('FEAT');
    expect(feat.lines.some((l) => l.startsWith(' MLST type*;size*;modify;perm;UNIX.mode;'))).toBe(true);
  });

  it('TYPE, MODE, STRU, ALLO', async () => {
    await ftp.login();
    expect((await ftp.send('TYPE I')).code).toBe(200);
    expect((await ftp.send('TYPE A')).code).toBe(200);
    expect((await ftp.send('TYPE A N')).code).toBe(200);
    expect((await ftp.send('TYPE L 8')).code).toBe(200);
    expect((await ftp.send('TYPE E')).code).toBe(504);
    expect((await ftp.send('TYPE Q')).code).toBe(501);
    expect((await ftp.send('MODE S')).code).toBe(200);
    expect((await ftp.send('MODE B')).code).toBe(504);
    expect((await ftp.send('STRU F')).code).toBe(200);
    expect((await ftp.send('STRU R')).code).toBe(504);
    expect((await ftp.send('ALLO 100')).code).toBe(202);
  });

  it('STAT reports the session', async () => {
    await ftp.login();
    const s = await ftp.send('STAT');
    expect(s.code).toBe(211);
    expect(s.text).toContain('Logged in as alice');
  });
});

describe('folders and files', () => {
  beforeEach(async () => {
    await ftp.login();
  });

  it('PWD, MKD, CWD, CDUP, RMD and their X variants', async () => {
    expect((await ftp.send('PWD')).text).toBe('"/" is the current directory');
    const mkd = await ftp.send('MKD dir "q"');
    expect(mkd.code).toBe(257);
    expect(mkd.text).toBe('"/dir ""q""" created');
    expect((await stat(join(t.root, 'dir "q"'))).isDirectory()).toBe(true);
    expect((await ftp.send('CWD dir "q"')).code).toBe(250);
    expect((await ftp.send('XPWD')).text).toBe('"/dir ""q""" is the current directory');
    expect((await ftp.send('CDUP')).code).toBe(250);
    expect((await ftp.send('PWD')).text).toBe('"/" is the current directory');
    expect((await ftp.send('XMKD x1')).code).toBe(257);
    expect((await ftp.send('XCWD x1')).code).toBe(250);
    expect((await ftp.send('XCUP')).code).toBe(250);
    expect((await ftp.send('XRMD x1')).code).toBe(250);
    expect((await ftp.send('RMD dir "q"')).code).toBe(250);
    expect((await ftp.send('CWD missing')).code).toBe(550);
    expect((await ftp.send('RMD /')).code).toBe(550);
    expect((await ftp.send('MKD')).code).toBe(501);
  });

  it('CDUP at the root stays at the root', async () => {
    expect((await ftp.send('CDUP')).code).toBe(250);
    expect((await ftp.send('PWD')).text).toBe('"/" is the current directory');
  });

  it('RMD of a non-empty folder is 550 and names only the virtual path', async () => {
    await mkdir(join(t.root, 'full'), { recursive: true });
    await writeFile(join(t.root, 'full', 'f'), 'x');
    const r = await ftp.send('RMD full');
    expect(r.code).toBe(550);
    expect(r.text).toBe('/full: Directory not empty');
    expect(r.text).not.toContain(t.root);
  });

  it('DELE, RNFR/RNTO, SIZE, MDTM, MFMT, SITE CHMOD', async () => {
    await writeFile(join(t.root, 'f.txt'), 'hello');
    expect((await ftp.send('SIZE f.txt')).text).toBe('5');
    expect((await ftp.send('MDTM f.txt')).text).toMatch(/^\d{14}$/);
    const mfmt = await ftp.send('MFMT 20200102030405 f.txt');
    expect(mfmt.code).toBe(213);
    expect(mfmt.text).toBe('Modify=20200102030405; /f.txt');
    expect((await stat(join(t.root, 'f.txt'))).mtime.toISOString()).toBe('2020-01-02T03:04:05.000Z');
    expect((await ftp.send('MDTM f.txt')).text).toBe('20200102030405');
    expect((await ftp.send('MFMT 2020 f.txt')).code).toBe(501);
    expect((await ftp.send('SITE CHMOD 600 f.txt')).code).toBe(200);
    expect((await stat(join(t.root, 'f.txt'))).mode & 0o777).toBe(0o600);
    expect((await ftp.send('SITE CHMOD 9x f.txt')).code).toBe(501);
    expect((await ftp.send('SITE HELP')).code).toBe(214);
    expect((await ftp.send('SITE EXEC ls')).code).toBe(501);
    expect((await ftp.send('RNFR f.txt')).code).toBe(350);
    expect((await ftp.send('RNTO g.txt')).code).toBe(250);
    expect(await readFile(join(t.root, 'g.txt'), 'utf8')).toBe('hello');
    expect((await ftp.send('SIZE f.txt')).code).toBe(550);
    expect((await ftp.send('DELE g.txt')).code).toBe(250);
    expect((await ftp.send('DELE g.txt')).code).toBe(550);
    expect((await ftp.send('SIZE /')).code).toBe(550);
  });

  it('RNTO without RNFR is 503; RNFR then another command forgets it', async () => {
    expect((await ftp.send('RNTO x')).code).toBe(503);
    await writeFile(join(t.root, 'r.txt'), 'r');
    expect((await ftp.send('RNFR r.txt')).code).toBe(350);
    expect((await ftp.send('NOOP')).code).toBe(200);
    expect((await ftp.send('RNTO s.txt')).code).toBe(503);
    expect((await ftp.send('RNFR missing')).code).toBe(550);
  });

  it('a read-only user gets 550 for every change', async () => {
    const ro = await RawFtp.connect(t.port);
    await ro.login('bob');
    await writeFile(join(t.root, 'ro.txt'), 'keep');
    for (const cmd of ['MKD z', 'RMD z', 'DELE ro.txt', 'RNFR ro.txt', 'SITE CHMOD 777 ro.txt', 'MFMT 20200101000000 ro.txt', 'STOR new', 'APPE ro.txt', 'STOU']) {
      expect((await ro.send(cmd)).code, cmd).toBe(550);
    }
    expect(await readFile(join(t.root, 'ro.txt'), 'utf8')).toBe('keep');
    ro.close();
  });
});

describe('listings', () => {
  beforeEach(async () => {
    await ftp.login();
    await mkdir(join(t.root, 'ls', 'sub'), { recursive: true });
    await writeFile(join(t.root, 'ls', 'a file.txt'), '12345');
  });

  it('LIST gives ls -l lines, with or without ls flags', async () => {
    for (const cmd of ['LIST ls', 'LIST -la ls', 'LIST -a']) {
      const r = await ftp.fetch(cmd);
      expect(r.mark.code, cmd).toBe(150);
      expect(r.final.code, cmd).toBe(226);
      const text = r.data.toString();
      if (cmd !== 'LIST -a') {
        expect(text).toMatch(/^-rw-r--r-- 1 ftp ftp +5 \w{3} [ \d]\d \d\d:\d\d a file\.txt\r\n/m);
        expect(text).toMatch(/^d[rwx-]{9} .* sub\r\n/m);
      } else {
        expect(text).toContain(' ls\r\n');
      }
    }
  });

  it('NLST gives names; with a folder argument, paths under it', async () => {
    expect((await ftp.fetch('NLST ls')).data.toString().split('\r\n').sort()).toEqual(['', 'ls/a file.txt', 'ls/sub']);
    await ftp.send('CWD ls');
    expect((await ftp.fetch('NLST')).data.toString().split('\r\n').sort()).toEqual(['', 'a file.txt', 'sub']);
  });

  it('MLSD lists facts; MLST answers on the control connection', async () => {
    const r = await ftp.fetch('MLSD ls');
    const lines = r.data.toString().trim().split('\r\n').sort();
    expect(lines[0]).toMatch(/^type=cdir;.* \.$/);
    expect(lines).toContainEqual(expect.stringMatching(/^type=file;size=5;modify=\d{14};perm=radfw;UNIX\.mode=0644;media-type=text\/plain; a file\.txt$/));
    expect(lines).toContainEqual(expect.stringMatching(/^type=dir;.* sub$/));
    const mlst = await ftp.send('MLST ls/a file.txt');
    expect(mlst.code).toBe(250);
    expect(mlst.lines[1]).toMatch(/^ type=file;size=5;.* \/ls\/a file\.txt$/);
    expect((await ftp.send('MLSD ls/a file.txt')).code).toBe(501);
    expect((await ftp.send('MLST nope')).code).toBe(550);
  });

  it('STAT path lists on the control connection', async () => {
    const r = await ftp.send('STAT ls');
    expect(r.code).toBe(213);
    expect(r.text).toContain('a file.txt');
  });

  it('LIST of a missing path is 550 before any data connection', async () => {
    const r = await ftp.fetch('LIST nothing-here');
    expect(r.mark.code).toBe(550);
  });
});

describe('hostile names on disk', () => {
  it('a file name with CR/LF is left out of listings instead of forging lines', async () => {
    await ftp.login();
    await mkdir(join(t.root, 'evil'), { recursive: true });
    await writeFile(join(t.root, 'evil', 'ok.txt'), 'x');
    await writeFile(join(t.root, 'evil', 'bad\r\n226 forged'), 'x');
    const list = (await ftp.fetch('LIST evil')).data.toString();
    expect(list).toContain('ok.txt');
    expect(list).not.toContain('forged');
    const stat = await ftp.send('STAT evil');
    expect(stat.text).not.toContain('forged');
    expect((await ftp.send('NOOP')).code).toBe(200);
  });
});

describe('wildcards', () => {
  it('NLST and LIST expand * and ? in the last segment, as mget needs', async () => {
    await ftp.login();
    await mkdir(join(t.root, 'wild'), { recursive: true });
    for (const n of ['a.txt', 'b.txt', 'c.bin']) await writeFile(join(t.root, 'wild', n), n);
    await ftp.send('CWD wild');
    expect((await ftp.fetch('NLST *.txt')).data.toString().split('\r\n').filter(Boolean)).toEqual(['a.txt', 'b.txt']);
    expect((await ftp.fetch('NLST /wild/?.bin')).data.toString().trim()).toBe('/wild/c.bin');
    expect((await ftp.fetch('LIST *.bin')).data.toString()).toMatch(/ c\.bin\r\n$/);
    expect((await ftp.fetch('NLST *.none')).data.length).toBe(0);
  });
});
