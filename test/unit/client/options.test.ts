import { describe, expect, it } from 'vitest';
import { FileClient, downloadSegmented } from '../../../src/index.js';
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

  it('rejects bad offsets (a rejection, never a synchronous throw)', async () => {
    const c = new FileClient({ host: '127.0.0.1' });
    const calls = [
      () => c.download('/f', '/tmp/x', { startAt: -1 }),
      () => c.download('/f', '/tmp/x', { length: 0 }),
      () => c.upload('/tmp/x', '/f', { startAt: 1.5 }),
      () => c.append('/tmp/x', '/f', { localStart: -2 }),
    ];
    for (const call of calls) {
      let promise: Promise<unknown> | undefined;
      expect(() => { promise = call(); }).not.toThrow();
      await expect(promise).rejects.toMatchObject({ code: 'FTPKIT_ERR_INVALID_ARGUMENT', message: expect.stringMatching(/^(startAt|length|localStart) must be an integer/) });
    }
  });

  it.each([
    [{ host: 'h', username: 'alice' }, "unknown option 'username' (did you mean 'user'?)"],
    [{ host: 'h', pasword: 'x' }, "unknown option 'pasword' (did you mean 'password'?)"],
    [{ host: 'h', timout: 5 }, "unknown option 'timout' (did you mean 'timeout'?)"],
    [{ host: 'h', secure: true }, "unknown option 'secure' (did you mean 'tls'? basic-ftp's secure: true is tls: 'explicit', secure: 'implicit' is tls: 'implicit')"],
    [{ host: 'h', passive: true }, "unknown option 'passive' (did you mean 'active'? passive is the default; active: true for EPRT/PORT)"],
    [{ host: 'h', zzz: 1 }, /^unknown option 'zzz' \(known: host, port, user, password, timeout,/],
    [{ host: 'h', active: 'yes' }, "active must be true or false, got the string \"yes\""],
    [{ host: 'h', user: 42 }, 'user must be a string, got number 42'],
    [{ host: 'h', rejectUnauthorized: false }, "rejectUnauthorized applies to FTPS only: set tls to 'explicit' or 'implicit'"],
  ])('refuses %j, naming the nearest valid option', (opts, message) => {
    expect(() => new FileClient(opts as never)).toThrow(expect.objectContaining({ name: 'FtpError', code: 'FTPKIT_ERR_INVALID_ARGUMENT', message: typeof message === 'string' ? message : expect.stringMatching(message) }));
  });

  it('refuses unknown or misspelt method options and bad arguments with a rejection', async () => {
    const c = new FileClient({ host: '127.0.0.1' });
    const cases: [() => Promise<unknown>, string | RegExp][] = [
      [() => c.download('/f', '/tmp/x', { startat: 5 } as never), "unknown option 'startat' (did you mean 'startAt'?)"],
      [() => c.download({ remote: '/f', to: '/tmp/x' } as never), "unknown option 'remote' (did you mean 'from'?)"],
      [() => c.upload({ local: '/tmp/x', to: '/f' } as never), "unknown option 'local' (did you mean 'from'?)"],
      [() => c.download({ from: '/f' } as never), "download() needs both 'from' and 'to'"],
      [() => (c.download as (...a: unknown[]) => Promise<unknown>)({ from: '/f', to: '/tmp/x' }, '/tmp/y'), 'download({ from, to, ...options }) takes one argument'],
      [() => c.upload(Symbol('x') as never, '/f'), 'upload(): from must be a local path, a Buffer or Uint8Array, or a Readable, got symbol Symbol(x)'],
      [() => c.upload({ pipe: 1 } as never), "unknown option 'pipe' (known: from, to, signal, startAt, ascii, total)"],
      [() => c.upload({ pipe: 1 } as never, '/f'), 'upload({ from, to, ...options }) takes one argument'],
      [() => c.upload(42 as never, '/f'), 'upload(): from must be a local path, a Buffer or Uint8Array, or a Readable, got number 42'],
      [() => c.download('/f', 42 as never), 'download(): to must be a local path or a Writable, got number 42'],
      [() => c.download(42 as never, '/tmp/x'), 'from must be a remote path (a string), got number 42'],
      [() => c.upload('/tmp/x', ''), 'to must not be empty'],
      [() => c.list('/', { signal: 'stop' } as never), 'list(): signal must be an AbortSignal, got the string "stop"'],
      [() => c.mkdir('/d', { recursiv: true } as never), "unknown option 'recursiv' (did you mean 'recursive'?)"],
      [() => c.rmdir('/d', { recursive: 'yes' } as never), 'recursive must be true or false, got the string "yes"'],
      [() => c.hash('/f', 'sha256' as never), "unknown hash algorithm 'sha256' (did you mean 'SHA-256'?)"],
      [() => c.setLastModified('/f', new Date('nope')), /^setLastModified\(\): date must be a valid Date/],
      [() => c.size(undefined as never), 'path must be a remote path (a string), got undefined undefined'],
      [() => c.pwd({ timeout: 5 } as never), "unknown option 'timeout' (known: signal)"],
      [() => c.send('NOOP', { allowNegativ: true } as never), "unknown option 'allowNegativ' (did you mean 'allowNegative'?)"],
      [() => c.downloadTree('/r', '/tmp/t', { resum: true } as never), "unknown option 'resum' (did you mean 'resume'?)"],
      [() => c.downloadTree('/r', '/tmp/t', { parallel: [{}] } as never), 'parallel must be an array of FileClients'],
      [() => c.connect({ sginal: undefined } as never), "unknown option 'sginal' (did you mean 'signal'?)"],
      [() => downloadSegmented([c], '/f', '/tmp/x', { size: 10, minSegmant: 2 } as never), "unknown option 'minSegmant' (did you mean 'minSegment'?)"],
    ];
    for (const [call, message] of cases) {
      let promise: Promise<unknown> | undefined;
      expect(() => { promise = call(); }).not.toThrow();
      await expect(promise, String(message)).rejects.toMatchObject({ name: 'FtpError', code: 'FTPKIT_ERR_INVALID_ARGUMENT', message: typeof message === 'string' ? message : expect.stringMatching(message) });
    }
  });

  it('FileClient.connect(url) refuses what the URL already says and file URLs, without echoing a password', async () => {
    const cases: [string, object, string | RegExp][] = [
      ['ftp://h/', { username: 'a' }, "unknown option 'username' (did you mean 'user'?)"],
      ['ftp://h/', { host: 'x' }, 'FileClient.connect(): host comes from the URL, not the options'],
      ['ftp://a@h/', { user: 'b' }, 'FileClient.connect(): the URL and the options both give a user; give it once'],
      ['ftps://h/', { tls: 'explicit' }, 'FileClient.connect(): the URL asks for implicit TLS but the options say tls: explicit'],
      ['ftp://h/', { tls: 'implicit' }, "FileClient.connect(): implicit TLS is an ftps:// URL (port 990); tls: 'explicit' upgrades an ftp:// one"],
      ['ftp://a:hunter2@h/file.txt', {}, "FileClient.connect() wants a server or folder URL, and ftp://a:***@h/file.txt names a file: end it with '/' for a folder"],
      ['http://a:hunter2@h/', {}, 'not an ftp://, ftps:// or ftpes:// URL: http://a:***@h/'],
      ['ftp://h/', { secure: true }, /^unknown option 'secure' \(did you mean 'tls'\?/],
    ];
    for (const [url, opts, message] of cases) {
      await expect(FileClient.connect(url, opts as never), url).rejects.toMatchObject({ code: 'FTPKIT_ERR_INVALID_ARGUMENT', message: typeof message === 'string' ? message : expect.stringMatching(message) });
    }
  });

  it('rejects operations before connect and after close', async () => {
    const c = new FileClient({ host: '127.0.0.1' });
    await expect(c.pwd()).rejects.toMatchObject({ code: 'FTPKIT_ERR_CLOSED' });
    await c.close();
    await expect(c.list()).rejects.toMatchObject({ code: 'FTPKIT_ERR_CLOSED' });
    await expect(c.connect()).rejects.toMatchObject({ code: 'FTPKIT_ERR_INVALID_ARGUMENT' });
  });
});
