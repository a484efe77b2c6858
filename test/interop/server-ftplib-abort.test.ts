// Python's ftplib.FTP.abort() against ftpkit's FileServer. abort() sends `ABOR\r\n` with
// MSG_OOB: Linux takes the last byte (the LF) out of the stream as urgent data, which a Node
// socket never reads, so the server sees `ABOR\r` only. It used to wait for the LF forever.
import { truncate, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { hasTool, pyftp } from '../helpers/tools.js';
import { startFileServer, type ServerFixture } from '../helpers/server-fixture.js';

describe.skipIf(!hasTool('python3'))('ftplib abort() -> FileServer', () => {
  let fx: ServerFixture;

  beforeAll(async () => {
    fx = await startFileServer();
    await writeFile(join(fx.root, 'abort-big.bin'), '');
    await truncate(join(fx.root, 'abort-big.bin'), 1024 * 1024 * 1024); // sparse: outlasts the test
  });
  afterAll(async () => {
    await fx?.close();
  });

  it('abort() during a large RETR gets 426, then 226 for ABOR, and the session goes on', async () => {
    // socket timeout 10 s: a server waiting for the LF makes abort() raise instead of answering.
    const r = await pyftp(
      `import json
ftp = ftplib.FTP()
ftp.connect(HOST, PORT, timeout=10)
ftp.login(USER, PASSWORD)
ftp.voidcmd('TYPE I')
conn = ftp.transfercmd('RETR abort-big.bin')
got = len(conn.recv(65536))
try:
    aborted = ftp.abort()
except Exception as e:
    aborted = 'raised ' + type(e).__name__ + ': ' + str(e)
conn.close()
then = ftp.getmultiline()
pwd = ftp.pwd()
size = ftp.size('abort-big.bin')
names = ftp.nlst()
ftp.quit()
print(json.dumps(dict(got=got, aborted=aborted, then=then, pwd=pwd, size=size, names=names)))`,
      { target: fx.user, timeoutMs: 60_000 },
    );
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
    const out = JSON.parse(r.stdout.trim().split('\n').pop()!) as Record<string, unknown>;
    expect(out.got).toBeGreaterThan(0);
    expect(out.aborted).toBe('426 Transfer aborted');
    expect(out.then).toBe('226 ABOR successful');
    expect(out.pwd).toBe('/');
    expect(out.size).toBe(1024 * 1024 * 1024);
    expect(out.names).toContain('abort-big.bin');
  });

  it('abort() with no transfer running gets 225', async () => {
    const r = await pyftp(
      `ftp = ftplib.FTP()
ftp.connect(HOST, PORT, timeout=10)
ftp.login(USER, PASSWORD)
print(ftp.abort())
print(ftp.voidcmd('NOOP'))
ftp.quit()`,
      { target: fx.user, timeoutMs: 30_000 },
    );
    expect(r.code).toBe(0);
    expect(r.stdout.trim().split('\n')).toEqual(['225 No transfer to abort', '200 NOOP ok']);
  });
});
