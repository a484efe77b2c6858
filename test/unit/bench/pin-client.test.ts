import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { curlRetr, curlStor, parseClientCpus } from '../../../bench/curl.js';
import { startTestServer, type TestServer } from '../../helpers/server.js';

// The bench's --pin-client: the list is checked before a run, and curl (with head feeding its
// pipe) really runs under taskset: a core that exists moves the bytes, one that does not fails.
describe('bench --pin-client', () => {
  it('takes lists of existing cores and says why it refuses others', () => {
    expect(parseClientCpus('0', 2)).toBe('0');
    expect(parseClientCpus('0-1', 2)).toBe('0-1');
    expect(parseClientCpus('1,0', 2)).toBe('1,0');
    expect(() => parseClientCpus('', 2)).toThrow(/not a list of cores/);
    expect(() => parseClientCpus('abc', 2)).toThrow(/not a list of cores/);
    expect(() => parseClientCpus('0,,1', 2)).toThrow(/not a list of cores/);
    expect(() => parseClientCpus('-1', 2)).toThrow(/not a list of cores/);
    expect(() => parseClientCpus('1-0', 2)).toThrow(/runs backwards/);
    expect(() => parseClientCpus('2', 2)).toThrow(/core 2 does not exist \(this machine has 2: 0-1\)/);
    expect(() => parseClientCpus('0-3', 2)).toThrow(/core 3 does not exist/);
  });

  describe('against a server', () => {
    let srv: TestServer;
    const target = () => ({ host: '127.0.0.1', port: srv.port, user: 'alice', password: 'secret' });
    beforeAll(async () => {
      srv = await startTestServer();
    });
    afterAll(() => srv.close());

    it('uploads from a pipe and downloads with the client pinned to core 0', async () => {
      const bytes = 3 * 1024 * 1024 + 17;
      const up = await curlStor(target(), '/pinned.bin', bytes, 20_000, false, '0');
      expect(up.bytes).toBe(bytes);
      const stored = readFileSync(join(srv.root, 'pinned.bin'));
      expect(createHash('sha256').update(stored).digest('hex')).toBe(createHash('sha256').update(Buffer.alloc(bytes)).digest('hex'));
      const down = await curlRetr(target(), '/pinned.bin', 20_000, false, '/dev/null', '0');
      expect(down.bytes).toBe(bytes);
    });

    it('fails when the core does not exist, so the pin is really applied', async () => {
      // parseClientCpus would refuse 4095; passing it straight shows taskset is on the command line.
      await expect(curlStor(target(), '/never.bin', 1024, 20_000, false, '4095')).rejects.toThrow(/curl exited|curl printed/);
      await expect(curlRetr(target(), '/pinned.bin', 20_000, false, '/dev/null', '4095')).rejects.toThrow(/curl exited/);
    });
  });
});
