// Proves the interop harness: every peer starts, accepts our user, stores and
// returns bytes intact, lists, and leaves nothing behind when stopped. Also
// smoke-tests the client-tool wrappers against a peer.
import { existsSync } from 'node:fs';
import { readFile, writeFile } from 'node:fs/promises';
import { connect } from 'node:net';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { PEERS, requirePeer, startPeer, type Peer } from '../helpers/peers.js';
import { curl, ftpUrl, hasTool, lftp, pyftp, tnftp } from '../helpers/tools.js';
import { countFds, makeTempDir, randomFile, sha256Buffer, sha256File, type TempDir } from '../helpers/tmp.js';

const SIZE = 3 * 1024 * 1024 + 17; // several data packets, odd tail

function groupAlive(pid: number): boolean {
  try {
    process.kill(-pid, 0);
    return true;
  } catch {
    return false;
  }
}

describe.skipIf(!hasTool('curl'))('peers', () => {
  let work: TempDir;
  beforeAll(async () => {
    work = await makeTempDir('ftpkit-peers-test-');
  });
  afterAll(async () => {
    await work?.cleanup();
  });

  for (const name of PEERS) {
    describe.skipIf(!requirePeer(name))(name, () => {
      let peer: Peer;
      beforeAll(async () => {
        peer = await startPeer(name, { anonymous: name !== 'pure-ftpd' });
      });
      afterAll(async () => {
        await peer?.stop();
      });

      it('login, STOR, RETR and LIST with curl, content checked by sha256', async () => {
        const src = join(work.path, `${name}-src.bin`);
        const back = join(work.path, `${name}-back.bin`);
        const hash = await randomFile(src, SIZE);

        const up = await curl(['-sS', '--ftp-pasv', '-T', src, ftpUrl(peer, '/up.bin')]);
        expect(up.stderr).toBe('');
        expect(up.code).toBe(0);
        // the peer wrote it into its root on the host
        expect(await sha256File(join(peer.root, 'up.bin'))).toBe(hash);

        const down = await curl(['-sS', '--ftp-pasv', '-o', back, ftpUrl(peer, '/up.bin')]);
        expect(down.code).toBe(0);
        expect(await sha256File(back)).toBe(hash);

        const list = await curl(['-sS', '--ftp-pasv', ftpUrl(peer, '/')]);
        expect(list.code).toBe(0);
        expect(list.stdout).toMatch(new RegExp(`\\s${SIZE}\\s.*up\\.bin\\r?\\n`));

        const nlst = await curl(['-sS', '--list-only', ftpUrl(peer, '/')]);
        expect(nlst.stdout.split(/\r?\n/)).toContain('up.bin');
      });

      it('serves files the test put in root, and the peer may overwrite them after adopt()', async () => {
        await writeFile(join(peer.root, 'seed.txt'), 'seeded\n');
        await peer.adopt();
        const r = await curl(['-sS', ftpUrl(peer, '/seed.txt')]);
        expect(r.stdout).toBe('seeded\n');
        const over = join(work.path, `${name}-over.txt`);
        await writeFile(over, 'overwritten\n');
        expect((await curl(['-sS', '-T', over, ftpUrl(peer, '/seed.txt')])).code).toBe(0);
        expect(await readFile(join(peer.root, 'seed.txt'), 'utf8')).toBe('overwritten\n');
      });

      it('refuses a wrong password (curl exit 67)', async () => {
        const r = await curl(['-sS', ftpUrl({ ...peer, password: 'wrong' }, '/')]);
        expect(r.code).toBe(67);
      });

      // pure-ftpd's anonymous folder is the system ftp user's home: not set per instance, not tested.
      if (name !== 'pure-ftpd') it('anonymous login is read-only', async () => {
        const anon = peer.anonymous!;
        await writeFile(join(anon.root, 'pub.txt'), 'public\n');
        const r = await curl(['-sS', `ftp://127.0.0.1:${peer.port}/pub.txt`]);
        expect(r.code).toBe(0);
        expect(r.stdout).toBe('public\n');
        const src = join(work.path, `${name}-anon.txt`);
        await writeFile(src, 'nope');
        const up = await curl(['-sS', '-T', src, `ftp://127.0.0.1:${peer.port}/nope.txt`]);
        expect(up.code).not.toBe(0);
        expect(existsSync(join(anon.root, 'nope.txt'))).toBe(false);
      });
    });
  }

  describe.skipIf(!requirePeer('pyftpdlib'))('stop()', () => {
    it('kills the server, removes temp files, leaks no fds', async () => {
      const fds = countFds();
      const peer = await startPeer('pyftpdlib');
      const root = peer.root;
      expect((await curl(['-sS', ftpUrl(peer, '/')])).code).toBe(0);
      await peer.stop();
      await peer.stop(); // idempotent
      expect(existsSync(root)).toBe(false);
      expect(groupAlive(peer.pid)).toBe(false);
      const r = await curl(['-sS', '--connect-timeout', '2', ftpUrl(peer, '/')]);
      expect(r.code).toBe(7); // connection refused
      expect(countFds()).toBe(fds);
    });
  });

  describe.skipIf(!requirePeer('vsftpd'))('stop() with a session open', () => {
    it('kills vsftpd per-session processes too', async () => {
      const peer = await startPeer('vsftpd');
      const sock = connect({ host: peer.host, port: peer.port });
      const closed = new Promise<void>((resolve) => sock.once('close', () => resolve()));
      sock.on('error', () => undefined);
      let text = '';
      sock.on('data', (d: Buffer) => (text += d.toString()));
      sock.write(`USER ${peer.user}\r\nPASS ${peer.password}\r\n`);
      await expect.poll(() => text, { timeout: 5000 }).toMatch(/^230 /m);
      await peer.stop();
      await closed; // the session process died with the group
      expect(groupAlive(peer.pid)).toBe(false);
    });
  });
});

describe('client tool wrappers', () => {
  describe.skipIf(!requirePeer('pyftpdlib'))('against pyftpdlib', () => {
    let peer: Peer;
    let work: TempDir;
    beforeAll(async () => {
      peer = await startPeer('pyftpdlib');
      work = await makeTempDir();
      await writeFile(join(peer.root, 'hello.txt'), 'hello world\n');
    });
    afterAll(async () => {
      await peer?.stop();
      await work?.cleanup();
    });

    it.skipIf(!hasTool('lftp'))('lftp', async () => {
      const local = join(work.path, 'lftp.txt');
      const r = await lftp(`get hello.txt -o ${local}; cls -1`, peer);
      expect(r.code).toBe(0);
      expect(r.stdout).toContain('hello.txt');
      expect(await readFile(local, 'utf8')).toBe('hello world\n');
      const active = await lftp('cls -1', { ...peer, passive: false });
      expect(active.code).toBe(0);
      expect((await lftp('get nope.txt', peer)).code).not.toBe(0);
    });

    it.skipIf(!hasTool('python3'))('python ftplib', async () => {
      const r = await pyftp(
        [
          'ftp = ftplib.FTP()',
          'ftp.connect(HOST, PORT, timeout=10)',
          'ftp.login(USER, PASSWORD)',
          'buf = io.BytesIO()',
          "ftp.retrbinary('RETR hello.txt', buf.write)",
          'print(hashlib.sha256(buf.getvalue()).hexdigest())',
          'ftp.quit()',
        ].join('\n'),
        { target: peer },
      );
      expect(r.stderr).toBe('');
      expect(r.stdout.trim()).toBe(sha256Buffer('hello world\n'));
    });

    it.skipIf(!hasTool('tnftp'))('tnftp', async () => {
      const local = join(work.path, 'tnftp.txt');
      const r = await tnftp(['binary', `get hello.txt ${local}`, 'ls'], peer);
      expect(r.code).toBe(0);
      expect(r.stdout).toMatch(/^230 /m);
      expect(r.stdout).toMatch(/^226 /m);
      expect(await readFile(local, 'utf8')).toBe('hello world\n');
    });

    it('times out and kills a hung tool', async () => {
      const r = await pyftp('import time\ntime.sleep(30)', { timeoutMs: 300 });
      expect(r.timedOut).toBe(true);
      expect(r.code).toBe(null);
    });
  });
});
