// client.hash() against FileServer and ProFTPD's mod_digest (HASH and the legacy X* verbs), and
// ftp-get/ftp-put --verify, including a server whose storage corrupts data.
import { randomBytes } from 'node:crypto';
import { existsSync } from 'node:fs';
import { readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { Readable, Transform, Writable } from 'node:stream';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { FileClient, LocalStorage, localHash, HASH_ALGORITHMS, type ReadOptions, type WriteOptions } from '../../../src/index.js';
import { REPO_ROOT, requirePeer, startPeer } from '../../helpers/peers.js';
import { startTestServer, type TestServer } from '../../helpers/server.js';
import { makeTempDir, type TempDir } from '../../helpers/tmp.js';
import { runTool } from '../../helpers/tools.js';

const GET = join(REPO_ROOT, 'dist/bin/ftp-get.js');
const PUT = join(REPO_ROOT, 'dist/bin/ftp-put.js');
const BODY = randomBytes(1_234_567);

async function connect(port: number, user: string, password: string): Promise<FileClient> {
  const client = new FileClient({ host: '127.0.0.1', port, user, password, timeout: 10_000 });
  await client.connect();
  return client;
}

/** Forgets that the server offers HASH, so the client falls back to XCRC/XMD5/XSHA*. */
function withoutHash(client: FileClient): void {
  (client.features as Map<string, string>).delete('HASH');
}

let local: TempDir;
beforeAll(async () => {
  local = await makeTempDir('ftpkit-hash-');
  await writeFile(join(local.path, 'f.bin'), BODY);
});
afterAll(() => local.cleanup());

const targets = [
  { name: 'FileServer', available: true },
  { name: 'proftpd', available: requirePeer('proftpd') },
] as const;

for (const target of targets) {
  describe.skipIf(!target.available)(`client.hash() against ${target.name}`, () => {
    let port: number;
    let user: string;
    let password: string;
    let stop: () => Promise<void>;
    let client: FileClient;

    beforeAll(async () => {
      if (target.name === 'FileServer') {
        const t = await startTestServer();
        [port, user, password, stop] = [t.port, 'alice', 'secret', () => t.close()];
        await writeFile(join(t.root, 'f.bin'), BODY);
      } else {
        const peer = await startPeer('proftpd');
        [port, user, password, stop] = [peer.port, peer.user, peer.password, () => peer.stop()];
        await writeFile(join(peer.root, 'f.bin'), BODY);
        await peer.adopt();
      }
      client = await connect(port, user, password);
    });
    afterAll(async () => {
      await client?.close();
      await stop?.();
    });

    it.each(HASH_ALGORITHMS)('HASH %s equals the local hash', async (algorithm) => {
      expect(await client.hash('/f.bin', algorithm)).toBe(await localHash(join(local.path, 'f.bin'), algorithm));
    });

    it('legacy XCRC, XMD5, XSHA1, XSHA256, XSHA512 when HASH is not offered', async () => {
      const legacy = await connect(port, user, password);
      try {
        withoutHash(legacy);
        for (const algorithm of HASH_ALGORITHMS) {
          expect(await legacy.hash('/f.bin', algorithm), algorithm).toBe(await localHash(join(local.path, 'f.bin'), algorithm));
        }
      } finally {
        await legacy.close();
      }
    });

    it('a missing file rejects with the reply code', async () => {
      await expect(client.hash('/nope', 'MD5')).rejects.toMatchObject({ code: 'FTPKIT_ERR_REPLY', replyCode: 550 });
    });
  });
}

describe('ftp-get --verify and ftp-put --verify', () => {
  let good: TestServer;
  let bad: TestServer;
  let badRoot: TempDir;

  /** A storage that flips one byte of every upload, and of every download (reads without `end`: RETR, not HASH). */
  class CorruptingStorage extends LocalStorage {
    override async createWriteStream(path: string, options?: WriteOptions): Promise<Writable> {
      const inner = await super.createWriteStream(path, options);
      let first = true;
      const flip = new Transform({
        transform(chunk: Buffer, _enc, cb) {
          if (first && chunk.length > 0) {
            first = false;
            chunk = Buffer.from(chunk);
            chunk[0] = chunk[0]! ^ 0xff;
          }
          cb(null, chunk);
        },
      });
      flip.pipe(inner);
      return new Writable({
        write: (chunk, enc, cb) => (flip.write(chunk, enc) ? cb() : flip.once('drain', () => cb())),
        final: (cb) => {
          inner.once('close', () => cb());
          flip.end();
        },
        destroy: (err, cb) => {
          inner.destroy();
          cb(err);
        },
      });
    }

    override async createReadStream(path: string, options?: ReadOptions): Promise<Readable> {
      const inner = await super.createReadStream(path, options);
      if (options?.end !== undefined) return inner;
      let first = true;
      return inner.pipe(
        new Transform({
          transform(chunk: Buffer, _enc, cb) {
            if (first && chunk.length > 0) {
              first = false;
              chunk = Buffer.from(chunk);
              chunk[chunk.length - 1] = chunk[chunk.length - 1]! ^ 0xff;
            }
            cb(null, chunk);
          },
        }),
      );
    }
  }

  beforeAll(async () => {
    good = await startTestServer();
    await writeFile(join(good.root, 'f.bin'), BODY);
    badRoot = await makeTempDir('ftpkit-bad-');
    await writeFile(join(badRoot.path, 'f.bin'), BODY);
    bad = await startTestServer({ authenticate: () => ({ storage: new CorruptingStorage(badRoot.path), write: true }) });
  });
  afterAll(async () => {
    await good?.close();
    await bad?.close();
    await badRoot?.cleanup();
  });

  const env = { ...process.env, NETRC: '/nonexistent' };
  const url = (t: TestServer, path: string): string => `ftp://alice:secret@127.0.0.1:${t.port}${path}`;

  it('pass when the hashes match', async () => {
    const dest = join(local.path, 'got.bin');
    const get = await runTool(process.execPath, [GET, '-q', '--verify', url(good, '/f.bin'), dest], { env });
    expect(get.code, get.stderr).toBe(0);
    expect((await readFile(dest)).equals(BODY)).toBe(true);
    const put = await runTool(process.execPath, [PUT, '-q', '--verify', join(local.path, 'f.bin'), url(good, '/up.bin')], { env });
    expect(put.code, put.stderr).toBe(0);
    expect((await readFile(join(good.root, 'up.bin'))).equals(BODY)).toBe(true);
  });

  it('fail loudly on a mismatch; a download that does not match is not kept', async () => {
    const dest = join(local.path, 'bad.bin');
    const get = await runTool(process.execPath, [GET, '-q', '--verify', url(bad, '/f.bin'), dest], { env });
    expect(get.code).toBe(1);
    expect(get.stderr).toMatch(/^ftp-get: .*SHA-256 mismatch after transfer: local [0-9a-f]{64}, server [0-9a-f]{64}/);
    expect(existsSync(dest) || existsSync(`${dest}.part`)).toBe(false);
    const put = await runTool(process.execPath, [PUT, '-q', '--verify', join(local.path, 'f.bin'), url(bad, '/up.bin')], { env });
    expect(put.code).toBe(1);
    expect(put.stderr).toMatch(/^ftp-put: .*SHA-256 mismatch after transfer/);
  });

  it('refuse --verify with --ascii, -r or stdout', async () => {
    for (const args of [['--ascii', url(good, '/f.bin'), join(local.path, 'x')], ['-r', url(good, '/'), join(local.path, 'y')], [url(good, '/f.bin'), '-']]) {
      const r = await runTool(process.execPath, [GET, '--verify', ...args], { env });
      expect(r.code, args.join(' ')).toBe(2);
    }
  });
});
