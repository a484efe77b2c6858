// FileClient byte ranges against vsftpd (REST + ABOR: it has no RANG), ProFTPD (RANG) and
// ftpkit's FileServer (RANG), bytes compared by SHA-256; after each range the same client
// runs the next operation.
import { createHash } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { Readable } from 'node:stream';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { FileClient } from '../../src/index.js';
import { requirePeer } from '../helpers/peers.js';
import { startTarget, type Target, type TargetName } from '../helpers/targets.js';
import { randomFile } from '../helpers/tmp.js';

const sha = (b: Buffer): string => createHash('sha256').update(b).digest('hex');
const SIZE = 5 * 1024 * 1024 + 333;

async function collect(stream: Readable): Promise<Buffer> {
  const chunks: Buffer[] = [];
  for await (const chunk of stream) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks);
}

const TARGETS: Array<[TargetName, 'RANG' | 'REST']> = [['vsftpd', 'REST'], ['proftpd', 'RANG'], ['ftpkit', 'RANG']];

for (const [name, way] of TARGETS) {
  describe.skipIf(name !== 'ftpkit' && !requirePeer(name))(`createReadStream and read() against ${name} (${way})`, () => {
    let peer: Target;
    let body: Buffer;
    let client: FileClient;
    const commands: string[] = [];

    beforeAll(async () => {
      peer = await startTarget(name);
      await randomFile(join(peer.root, 'clip.mp4'), SIZE);
      await peer.adopt();
      body = await readFile(join(peer.root, 'clip.mp4'));
      client = new FileClient({ host: peer.host, port: peer.port, user: peer.user, password: peer.password, timeout: 10_000 });
      client.on('command', (line) => commands.push(line));
      await client.connect();
    });
    afterAll(async () => {
      await client?.close();
      await peer?.stop();
    });

    const cases: Array<[string, number, number | undefined]> = [
      ['the start', 0, 99],
      ['the middle', 1_000_000, 1_999_999],
      ['the end', SIZE - 1000, SIZE - 1],
      ['open-ended', 4_000_000, undefined],
      ['one byte', 12_345, 12_345],
    ];
    for (const [what, start, end] of cases) {
      it(`${what}: ${start}-${end ?? ''} byte-exact, then the client goes on`, async () => {
        commands.length = 0;
        const got = await collect(client.createReadStream('clip.mp4', { start, ...(end === undefined ? {} : { end }) }));
        expect(sha(got)).toBe(sha(body.subarray(start, end === undefined ? undefined : end + 1)));
        if (end === undefined) {
          expect(commands).toContain(`REST ${start}`);
          expect(commands).not.toContain('ABOR');
        } else if (way === 'RANG') {
          expect(commands).toContain(`RANG ${start} ${end}`);
          expect(commands).not.toContain('ABOR');
        } else {
          if (start > 0) expect(commands).toContain(`REST ${start}`);
          if (end < SIZE - 1) expect(commands).toContain('ABOR');
        }
        expect(await client.size('clip.mp4')).toBe(SIZE);
      });
    }

    it('read() returns a small slice as a Buffer', async () => {
      const got = await client.read('clip.mp4', { start: 1000, end: 1999 });
      expect(sha(got)).toBe(sha(body.subarray(1000, 2000)));
    });

    it('a stream destroyed after its first chunk aborts cleanly; the next range still arrives', async () => {
      const stream = client.createReadStream('clip.mp4', { start: 0 });
      const first = await new Promise<Buffer>((resolve) => stream.once('data', resolve));
      expect(first.subarray(0, 16)).toEqual(body.subarray(0, 16));
      stream.destroy();
      const got = await client.read('clip.mp4', { start: 2_000_000, end: 2_000_999 });
      expect(got).toEqual(body.subarray(2_000_000, 2_001_000));
      expect(await client.pwd()).toBe('/');
    });

    it('a missing file errors the stream with the 550; the client goes on', async () => {
      const stream = client.createReadStream('missing.mp4', { start: 0, end: 9 });
      await expect(collect(stream)).rejects.toMatchObject({ code: 'FTPKIT_ERR_REPLY', replyCode: 550 });
      expect(await client.pwd()).toBe('/');
    });
  });
}
