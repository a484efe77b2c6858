// Python's ftplib (the system python3) against ftpkit's FileServer. ftplib raises
// error_perm/error_temp carrying the server's reply, so exact codes are asserted here.
import { existsSync } from 'node:fs';
import { readFile, rm, stat, truncate, writeFile, copyFile, mkdir } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { hasTool, pyftp, type FtpTarget } from '../helpers/tools.js';
import { randomFile, sha256File } from '../helpers/tmp.js';
import { CRLF_TEXT, FANCY_NAME, LF_TEXT, makeBigFile, startFileServer, type ServerFixture, HAS_IPV6 } from '../helpers/server-fixture.js';

const PRELUDE = `
import json
def code_of(fn, *a, **kw):
    try:
        fn(*a, **kw)
        return 'ok'
    except ftplib.all_errors as e:
        return str(e)[:3]
def out(**kw):
    print(json.dumps(kw))
ftp = ftplib.FTP()
ftp.connect(HOST, PORT, timeout=20)
ftp.login(USER, PASSWORD)
`;

/** Runs an ftplib session body (ftp is logged in); returns the JSON printed by out(...). */
async function py(target: FtpTarget, body: string, timeoutMs = 30_000): Promise<Record<string, any>> {
  const r = await pyftp(`${PRELUDE}${body}\nftp.quit()\n`, { target, timeoutMs });
  if (r.code !== 0) throw new Error(`python exited ${r.code}${r.timedOut ? ' (timeout)' : ''}: ${r.stderr}`);
  const last = r.stdout.trim().split('\n').pop() ?? '{}';
  return JSON.parse(last) as Record<string, any>;
}

const s = (v: string): string => JSON.stringify(v); // a JSON string is a valid Python str literal

describe.skipIf(!hasTool('python3'))('ftplib -> FileServer', () => {
  let fx: ServerFixture;
  let big: { path: string; sha256: string };

  beforeAll(async () => {
    fx = await startFileServer();
    big = await makeBigFile(fx.root, 'big-src.bin'); // server side, for get; read by the put test
  });
  afterAll(async () => {
    await fx?.close();
  });

  it('lists with LIST, NLST and MLSD', async () => {
    await mkdir(join(fx.root, 'ls'));
    await writeFile(join(fx.root, 'ls', 'one.txt'), 'hello');
    await mkdir(join(fx.root, 'ls', 'sub'));
    const r = await py(
      fx.user,
      `lines = []
ftp.retrlines('LIST /ls', lines.append)
names = ftp.nlst('/ls')
ftp.cwd('/ls')
ml = {n: f['type'] for n, f in ftp.mlsd()}
out(lines=lines, names=names, ml=ml, pwd=ftp.pwd())`,
    );
    expect(r.lines).toHaveLength(2);
    expect(r.lines[0]).toMatch(/^-rw\S+ +\d+ \S+ +\S+ +5 .+ one\.txt$/);
    expect(r.lines[1]).toMatch(/^d\S+ .+ sub$/);
    expect([...r.names].sort()).toEqual(['/ls/one.txt', '/ls/sub']);
    expect(r.ml).toEqual({ '.': 'cdir', 'one.txt': 'file', sub: 'dir' });
    expect(r.pwd).toBe('/ls');
  });

  it('makes and removes folders (257 with the quoted path, 550 when it exists)', async () => {
    const r = await py(
      fx.user,
      `made = ftp.mkd('newdir')
quoted = ftp.mkd('dir "q"')
again = code_of(ftp.mkd, 'newdir')
resp = ftp.sendcmd('MKD /newdir/inner')
rmd = ftp.rmd('/newdir/inner')
out(made=made, quoted=quoted, again=again, resp=resp, rmd=rmd)`,
    );
    expect(r.made).toBe('/newdir');
    expect(r.quoted).toBe('/dir "q"');
    expect(r.again).toBe('550');
    expect(r.resp).toBe('257 "/newdir/inner" created');
    expect(r.rmd).toMatch(/^250 /);
    expect((await stat(join(fx.root, 'newdir'))).isDirectory()).toBe(true);
    expect((await stat(join(fx.root, 'dir "q"'))).isDirectory()).toBe(true);
    expect(existsSync(join(fx.root, 'newdir', 'inner'))).toBe(false);
  });

  it('gets a 50 MB binary file intact (SHA-256)', async () => {
    const dest = join(fx.local, 'big-get.bin');
    const r = await py(
      fx.user,
      `with open(${s(dest)}, 'wb') as f:
    resp = ftp.retrbinary('RETR big-src.bin', f.write, blocksize=1 << 20)
out(resp=resp)`,
      60_000,
    );
    expect(r.resp).toBe('226 Transfer complete');
    expect(await sha256File(dest)).toBe(big.sha256);
    await rm(dest);
  });

  it('puts a 50 MB binary file intact (SHA-256)', async () => {
    const r = await py(
      fx.user,
      `with open(${s(big.path)}, 'rb') as f:
    resp = ftp.storbinary('STOR big-put.bin', f, blocksize=1 << 20)
out(resp=resp, size=ftp.size('big-put.bin'))`,
      60_000,
    );
    expect(r.resp).toBe('226 Transfer complete');
    expect(r.size).toBe(50 * 1024 * 1024);
    expect(await sha256File(join(fx.root, 'big-put.bin'))).toBe(big.sha256);
    await rm(join(fx.root, 'big-put.bin'));
  });

  it('renames (350 then 250) and refuses a missing source with 550', async () => {
    await writeFile(join(fx.root, 'r1.txt'), 'rename me');
    const r = await py(
      fx.user,
      `resp = ftp.rename('r1.txt', 'r2.txt')
missing = code_of(ftp.rename, 'nope.txt', 'x.txt')
rnto_first = code_of(ftp.sendcmd, 'RNTO x.txt')
out(resp=resp, missing=missing, rnto_first=rnto_first)`,
    );
    expect(r.resp).toBe('250 Rename successful');
    expect(r.missing).toBe('550');
    expect(r.rnto_first).toBe('503');
    expect(existsSync(join(fx.root, 'r1.txt'))).toBe(false);
    expect(await readFile(join(fx.root, 'r2.txt'), 'utf8')).toBe('rename me');
  });

  it('deletes a file (250), then 550 for the same name', async () => {
    await writeFile(join(fx.root, 'del.txt'), 'x');
    const r = await py(
      fx.user,
      `resp = ftp.delete('del.txt')
again = code_of(ftp.delete, 'del.txt')
out(resp=resp, again=again)`,
    );
    expect(r.resp).toMatch(/^250 /);
    expect(r.again).toBe('550');
    expect(existsSync(join(fx.root, 'del.txt'))).toBe(false);
  });

  it('answers 550 for RETR of a missing file and 530 for a wrong password', async () => {
    const r = await py(fx.user, `out(missing=code_of(ftp.retrbinary, 'RETR missing.bin', lambda b: None))`);
    expect(r.missing).toBe('550');
    const bad = await pyftp(
      `f = ftplib.FTP()
f.connect(HOST, PORT, timeout=10)
try:
    f.login(USER, 'wrong')
    print('ok')
except ftplib.error_perm as e:
    print(str(e))`,
      { target: fx.user },
    );
    expect(bad.stdout.trim()).toBe('530 Login incorrect');
  });

  it('resumes a download with REST (retrbinary rest=)', async () => {
    const src = join(fx.root, 'resume-get.bin');
    const sha = await randomFile(src, 3 * 1024 * 1024 + 5);
    const part = join(fx.local, 'resume-get.part');
    await copyFile(src, part);
    await truncate(part, 1_000_000);
    const r = await py(
      fx.user,
      `with open(${s(part)}, 'ab') as f:
    rest = ftp.sendcmd('REST 1000000')
    resp = ftp.retrbinary('RETR resume-get.bin', f.write, rest=1000000)
beyond = code_of(ftp.retrbinary, 'RETR resume-get.bin', lambda b: None, rest=10**9)
out(rest=rest, resp=resp, beyond=beyond)`,
    );
    expect(r.rest).toBe('350 Restarting at 1000000. Send STOR or RETR');
    expect(r.resp).toBe('226 Transfer complete');
    expect(r.beyond).toBe('554');
    expect(await sha256File(part)).toBe(sha);
  });

  it('resumes an upload with REST + STOR (storbinary rest=)', async () => {
    const src = join(fx.local, 'resume-put.bin');
    const sha = await randomFile(src, 3 * 1024 * 1024 + 5);
    const remote = join(fx.root, 'resume-put.bin');
    await copyFile(src, remote);
    await truncate(remote, 1_500_000);
    const r = await py(
      fx.user,
      `with open(${s(src)}, 'rb') as f:
    f.seek(1500000)
    resp = ftp.storbinary('STOR resume-put.bin', f, rest=1500000)
out(resp=resp)`,
    );
    expect(r.resp).toBe('226 Transfer complete');
    expect(await sha256File(remote)).toBe(sha);
  });

  it('transfers in active mode (PORT) and passive mode (PASV, EPSV)', async () => {
    const src = join(fx.local, 'modes.bin');
    const sha = await randomFile(src, 2 * 1024 * 1024 + 3);
    const back = join(fx.local, 'modes-back.bin');
    const r = await py(
      fx.user,
      `ftp.set_pasv(False)
with open(${s(src)}, 'rb') as f:
    put_active = ftp.storbinary('STOR modes-active.bin', f)
with open(${s(back)}, 'wb') as f:
    get_active = ftp.retrbinary('RETR modes-active.bin', f.write)
names_active = ftp.nlst()
ftp.set_pasv(True)
with open(${s(src)}, 'rb') as f:
    put_pasv = ftp.storbinary('STOR modes-pasv.bin', f)
pasv = ftp.sendcmd('PASV')
epsv = ftp.sendcmd('EPSV')
ftp.af = __import__('socket').AF_INET6  # makes ftplib use EPSV for the next transfer
chunks = []
get_epsv = ftp.retrbinary('RETR modes-pasv.bin', chunks.append)
out(put_active=put_active, get_active=get_active, names_active=names_active, put_pasv=put_pasv,
    pasv=pasv, epsv=epsv, get_epsv=get_epsv, epsv_sha=hashlib.sha256(b''.join(chunks)).hexdigest())`,
    );
    expect(r.put_active).toBe('226 Transfer complete');
    expect(r.get_active).toBe('226 Transfer complete');
    expect(r.names_active).toContain('modes-active.bin');
    expect(r.put_pasv).toBe('226 Transfer complete');
    expect(r.pasv).toMatch(/^227 Entering Passive Mode \(127,0,0,1,\d+,\d+\)/);
    expect(r.epsv).toMatch(/^229 Entering Extended Passive Mode \(\|\|\|\d+\|\)$/);
    expect(r.get_epsv).toBe('226 Transfer complete');
    expect(r.epsv_sha).toBe(sha);
    expect(await sha256File(join(fx.root, 'modes-active.bin'))).toBe(sha);
    expect(await sha256File(join(fx.root, 'modes-pasv.bin'))).toBe(sha);
    expect(await sha256File(back)).toBe(sha);
  });

  it('TYPE A: LF and CRLF uploads land as LF; downloads arrive as CRLF', async () => {
    const r = await py(
      fx.user,
      `ftp.voidcmd('TYPE A')
conn = ftp.transfercmd('STOR ascii-lf.txt')
conn.sendall(${s(LF_TEXT)}.encode())
conn.close()
lf_resp = ftp.voidresp()
lines_resp = ftp.storlines('STOR ascii-lines.txt', io.BytesIO(${s(LF_TEXT)}.encode()))
lines = []
retr_resp = ftp.retrlines('RETR ascii-lf.txt', lines.append)
ftp.voidcmd('TYPE A')
conn = ftp.transfercmd('RETR ascii-lf.txt')
raw = b''
while True:
    b = conn.recv(65536)
    if not b: break
    raw += b
conn.close()
raw_resp = ftp.voidresp()
out(lf_resp=lf_resp, lines_resp=lines_resp, lines=lines, retr_resp=retr_resp, raw=raw.decode(), raw_resp=raw_resp)`,
    );
    expect(r.lf_resp).toBe('226 Transfer complete');
    expect(r.lines_resp).toBe('226 Transfer complete');
    expect(await readFile(join(fx.root, 'ascii-lf.txt'), 'utf8')).toBe(LF_TEXT);
    // storlines ends every line, the last one too, with CRLF
    expect(await readFile(join(fx.root, 'ascii-lines.txt'), 'utf8')).toBe(`${LF_TEXT}\n`);
    expect(r.lines).toEqual(LF_TEXT.split('\n'));
    expect(r.retr_resp).toBe('226 Transfer complete');
    expect(r.raw).toBe(CRLF_TEXT);
    expect(r.raw_resp).toBe('226 Transfer complete');
  });

  it('TYPE I keeps CR LF bytes as they are', async () => {
    const bytes = 'a\r\nb\nc\rd\r\r\n';
    const r = await py(
      fx.user,
      `resp = ftp.storbinary('STOR crlf.bin', io.BytesIO(${s(bytes)}.encode()))
chunks = []
ftp.retrbinary('RETR crlf.bin', chunks.append)
out(resp=resp, back=b''.join(chunks).decode())`,
    );
    expect(r.resp).toBe('226 Transfer complete');
    expect(await readFile(join(fx.root, 'crlf.bin'), 'utf8')).toBe(bytes);
    expect(r.back).toBe(bytes);
  });

  it(`stores, lists, gets, renames and deletes ${FANCY_NAME}`, async () => {
    const renamed = `renamed ${FANCY_NAME}`;
    const r = await py(
      fx.user,
      `resp = ftp.storbinary('STOR ' + ${s(FANCY_NAME)}, io.BytesIO('contenido ñ'.encode()))
names = ftp.nlst()
chunks = []
ftp.retrbinary('RETR ' + ${s(FANCY_NAME)}, chunks.append)
size = ftp.size(${s(FANCY_NAME)})
ren = ftp.rename(${s(FANCY_NAME)}, ${s(renamed)})
names2 = ftp.nlst()
out(resp=resp, names=names, back=b''.join(chunks).decode(), size=size, ren=ren, names2=names2)`,
    );
    expect(r.resp).toBe('226 Transfer complete');
    expect(r.names).toContain(FANCY_NAME);
    expect(r.back).toBe('contenido ñ');
    expect(r.size).toBe(Buffer.byteLength('contenido ñ'));
    expect(r.ren).toBe('250 Rename successful');
    expect(r.names2).toContain(renamed);
    expect(await readFile(join(fx.root, renamed), 'utf8')).toBe('contenido ñ');
    const del = await py(fx.user, `out(resp=ftp.delete(${s(renamed)}))`);
    expect(del.resp).toMatch(/^250 /);
    expect(existsSync(join(fx.root, renamed))).toBe(false);
  });

  it('anonymous is read-only: reads work, every write answers 550', async () => {
    await writeFile(join(fx.root, 'public.txt'), 'public');
    const r = await py(
      fx.anon,
      `chunks = []
ftp.retrbinary('RETR public.txt', chunks.append)
out(back=b''.join(chunks).decode(),
    stor=code_of(ftp.storbinary, 'STOR anon.txt', io.BytesIO(b'x')),
    appe=code_of(ftp.storbinary, 'APPE public.txt', io.BytesIO(b'x')),
    mkd=code_of(ftp.mkd, 'anon-dir'),
    dele=code_of(ftp.delete, 'public.txt'),
    rnfr=code_of(ftp.sendcmd, 'RNFR public.txt'),
    rmd=code_of(ftp.rmd, 'ls'))`,
    );
    expect(r).toEqual({ back: 'public', stor: '550', appe: '550', mkd: '550', dele: '550', rnfr: '550', rmd: '550' });
    expect(existsSync(join(fx.root, 'anon.txt'))).toBe(false);
    expect(existsSync(join(fx.root, 'anon-dir'))).toBe(false);
    expect(await readFile(join(fx.root, 'public.txt'), 'utf8')).toBe('public');
  });
});

describe.skipIf(!hasTool('python3') || !HAS_IPV6)('ftplib -> FileServer over IPv6 (::1)', () => {
  let fx: ServerFixture;
  beforeAll(async () => {
    fx = await startFileServer({ host: '::1' });
  });
  afterAll(async () => {
    await fx?.close();
  });

  it('puts and gets with EPSV, and with EPRT in active mode; PASV answers 522', async () => {
    const src = join(fx.local, 'v6.bin');
    const sha = await randomFile(src, 1024 * 1024 + 1);
    const r = await py(
      fx.user,
      `with open(${s(src)}, 'rb') as f:
    put = ftp.storbinary('STOR v6.bin', f)
chunks = []
get = ftp.retrbinary('RETR v6.bin', chunks.append)
pasv = code_of(ftp.sendcmd, 'PASV')
ftp.set_pasv(False)
active_chunks = []
get_active = ftp.retrbinary('RETR v6.bin', active_chunks.append)
out(put=put, get=get, sha=hashlib.sha256(b''.join(chunks)).hexdigest(), pasv=pasv,
    get_active=get_active, sha_active=hashlib.sha256(b''.join(active_chunks)).hexdigest())`,
    );
    expect(r.put).toBe('226 Transfer complete');
    expect(r.get).toBe('226 Transfer complete');
    expect(r.get_active).toBe('226 Transfer complete');
    expect(r.pasv).toBe('522');
    expect(r.sha).toBe(sha);
    expect(r.sha_active).toBe(sha);
    expect(await sha256File(join(fx.root, 'v6.bin'))).toBe(sha);
  });
});
