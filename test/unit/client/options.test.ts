import { describe, expect, it } from 'vitest';
import { FileClient } from '../../../src/index.js';
import { resolveOptions } from '../../../src/client/options.js';

describe('FileClient options', () => {
  it('fills defaults', () => {
    expect(resolveOptions({ host: 'h' })).toMatchObject({
      port: 21, user: 'anonymous', password: 'anonymous@', timeout: 30_000, dataTimeout: 30_000,
      active: false, allowPasvHostChange: false, maxReplyBytes: 65_536, maxListingBytes: 64 * 1024 * 1024, keepAlive: 0,
    });
    expect(resolveOptions({ host: 'h', user: 'bob' }).password).toBe('');
  });

  it.each([
    [{ host: '' }, /host/],
    [{ host: 'h', port: 0 }, /port/],
    [{ host: 'h', port: 70000 }, /port/],
    [{ host: 'h', timeout: 1.5 }, /timeout/],
    [{ host: 'h', maxReplyBytes: 3 * 1024 ** 3 + 0.5 }, /maxReplyBytes/],
    [{ host: 'h', maxListingBytes: -1 }, /maxListingBytes/],
    [{ host: 'h', keepAlive: Number.NaN }, /keepAlive/],
    [{ host: 'h', tls: true }, /^tls must be/],
    [{ host: 'h', tls: 'explicit', fingerprint256: 'AB:CD' }, /fingerprint256/],
    [{ host: 'h', tls: 'explicit', fingerprint256: 'G'.repeat(64) }, /fingerprint256/],
    [{ host: 'h', tls: 'explicit', maxVersion: 'TLSv9' }, /maxVersion/],
    [{ host: 'h', tls: 'explicit', rejectUnauthorized: 'no' }, /rejectUnauthorized/],
  ])('rejects %j', (opts, message) => {
    expect(() => new FileClient(opts as never)).toThrow(expect.objectContaining({ code: 'FTPKIT_ERR_INVALID_ARGUMENT', message: expect.stringMatching(message) }));
  });

  it('TLS: off by default; verification on; implicit defaults to port 990; pins normalized', () => {
    expect(resolveOptions({ host: 'h' }).tls).toBeUndefined();
    expect(resolveOptions({ host: 'h', tls: false }).tls).toBeUndefined();
    expect(resolveOptions({ host: 'h', tls: 'explicit' })).toMatchObject({ port: 21, tls: { mode: 'explicit', rejectUnauthorized: true, minVersion: 'TLSv1.2' } });
    expect(resolveOptions({ host: 'h', tls: 'implicit' })).toMatchObject({ port: 990, tls: { mode: 'implicit' } });
    expect(resolveOptions({ host: 'h', tls: 'implicit', port: 2990 }).port).toBe(2990);
    const hex = 'ab'.repeat(32);
    for (const pin of [hex, hex.toUpperCase(), (hex.match(/../g) ?? []).join(':'), `sha256:${hex}`]) {
      expect(resolveOptions({ host: 'h', tls: 'explicit', fingerprint256: pin }).tls?.fingerprint256).toBe(hex.toUpperCase());
    }
  });

  it('keeps a 3 GiB listing cap (no 32-bit truncation)', () => {
    expect(resolveOptions({ host: 'h', maxListingBytes: 3 * 1024 ** 3 }).maxListingBytes).toBe(3 * 1024 ** 3);
  });

  it('throws synchronously for bad offsets', () => {
    const c = new FileClient({ host: '127.0.0.1' });
    expect(() => c.download('/f', '/tmp/x', { startAt: -1 })).toThrow(expect.objectContaining({ code: 'FTPKIT_ERR_INVALID_ARGUMENT' }));
    expect(() => c.download('/f', '/tmp/x', { length: 0 })).toThrow(expect.objectContaining({ code: 'FTPKIT_ERR_INVALID_ARGUMENT' }));
    expect(() => c.upload('/tmp/x', '/f', { startAt: 1.5 })).toThrow(expect.objectContaining({ code: 'FTPKIT_ERR_INVALID_ARGUMENT' }));
    expect(() => c.append('/tmp/x', '/f', { localStart: -2 })).toThrow(expect.objectContaining({ code: 'FTPKIT_ERR_INVALID_ARGUMENT' }));
  });

  it('rejects operations before connect and after close', async () => {
    const c = new FileClient({ host: '127.0.0.1' });
    await expect(c.pwd()).rejects.toMatchObject({ code: 'FTPKIT_ERR_CLOSED' });
    await c.close();
    await expect(c.list()).rejects.toMatchObject({ code: 'FTPKIT_ERR_CLOSED' });
    await expect(c.connect()).rejects.toMatchObject({ code: 'FTPKIT_ERR_INVALID_ARGUMENT' });
  });
});
