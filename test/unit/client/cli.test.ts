import { PassThrough } from 'node:stream';
import { describe, expect, it } from 'vitest';
import { FtpError } from '../../../src/index.js';
import { parseFtpUrl } from '../../../src/index.js';
import { connectionOptions, readCommonFlags, withPath } from '../../../src/cli/client-flags.js';
import { errorLine } from '../../../src/cli/exit.js';
import { ProgressBar } from '../../../src/cli/progress-bar.js';
import { promptHidden } from '../../../src/cli/prompt.js';
import { UsageError } from '../../../src/cli/usage-error.js';

function fakeTty(columns = 80): { stream: NodeJS.WriteStream; text(): string } {
  const out = new PassThrough();
  const chunks: string[] = [];
  out.on('data', (d: Buffer) => chunks.push(d.toString()));
  return { stream: Object.assign(out, { columns, isTTY: true }) as unknown as NodeJS.WriteStream, text: () => chunks.join('') };
}

describe('ProgressBar', () => {
  it('draws percent, bytes, rate and ETA within the terminal width', async () => {
    const tty = fakeTty(70);
    const bar = new ProgressBar(tty.stream, 'file.bin', 1000);
    bar.add(500);
    bar.finish();
    await new Promise((r) => setImmediate(r));
    const lines = tty.text().split('\r').filter(Boolean);
    const last = lines.at(-1)!.replace('\x1b[K', '').replace('\n', '');
    expect(last).toMatch(/^file\.bin \[=+>? *\]  50% 500 B .*\/s ETA \d\d:\d\d$/);
    expect(last.length).toBeLessThan(70);
  });

  it('assumes 80 columns when the terminal reports 0', async () => {
    const tty = fakeTty(0);
    const bar = new ProgressBar(tty.stream, 'f', 10);
    bar.add(10);
    bar.finish();
    await new Promise((r) => setImmediate(r));
    expect(tty.text()).toMatch(/ETA 00:00\x1b\[K\n$/);
  });

  it('shows bytes and rate when the total is unknown', async () => {
    const tty = fakeTty();
    const bar = new ProgressBar(tty.stream, 'tree', undefined);
    bar.add(2048);
    bar.finish();
    await new Promise((r) => setImmediate(r));
    expect(tty.text()).toMatch(/tree 2\.0 KiB .*\/s/);
  });
});

describe('promptHidden', () => {
  it('reads until Enter without echoing, honouring Backspace', async () => {
    const input = Object.assign(new PassThrough(), { isRaw: false, setRawMode(this: { isRaw: boolean }, v: boolean) { this.isRaw = v; } });
    const tty = fakeTty();
    const p = promptHidden('Password: ', input as unknown as NodeJS.ReadStream, tty.stream);
    input.write('sec');
    input.write('x\u007fret\r');
    expect(await p).toBe('secret');
    expect(tty.text()).toBe('Password: \n');
    expect(input.isRaw).toBe(false);
  });

  it('rejects on Ctrl-C', async () => {
    const input = Object.assign(new PassThrough(), { isRaw: false, setRawMode() {} });
    const p = promptHidden('Password: ', input as unknown as NodeJS.ReadStream, fakeTty().stream);
    input.write('\u0003');
    await expect(p).rejects.toThrow(/cancelled/);
  });
});

describe('bin flags and messages', () => {
  it('validates --parallel and --timeout', () => {
    const base = { parallel: '1', timeout: '30' };
    expect(readCommonFlags({ ...base, timeout: '0.5' }).timeoutMs).toBe(500);
    expect(() => readCommonFlags({ ...base, parallel: '33' })).toThrow(UsageError);
    expect(() => readCommonFlags({ ...base, parallel: '1.5' })).toThrow(UsageError);
    expect(() => readCommonFlags({ ...base, timeout: 'soon' })).toThrow(UsageError);
  });

  it('maps ftps://, ftpes:// and --tls to FileClient TLS options; TLS flags need FTPS', () => {
    const base = { parallel: '1', timeout: '30' };
    const creds = { user: 'u', password: 'p' };
    const flags = (extra: Record<string, string | boolean> = {}) => readCommonFlags({ ...base, ...extra });
    expect(connectionOptions(parseFtpUrl('ftps://h/x'), creds, flags())).toEqual({ host: 'h', port: 990, ...creds, tls: 'implicit' });
    expect(connectionOptions(parseFtpUrl('ftpes://h/x'), creds, flags({ insecure: true }))).toEqual({ host: 'h', port: 21, ...creds, tls: 'explicit', rejectUnauthorized: false });
    const pin = 'ab'.repeat(32);
    expect(connectionOptions(parseFtpUrl('ftp://h:2121/x'), creds, flags({ tls: true, fingerprint: pin }))).toEqual({ host: 'h', port: 2121, ...creds, tls: 'explicit', fingerprint256: pin.toUpperCase() });
    expect(connectionOptions(parseFtpUrl('ftp://h/x'), creds, flags())).toEqual({ host: 'h', port: 21, ...creds, tls: false });
    expect(() => connectionOptions(parseFtpUrl('ftp://h/x'), creds, flags({ insecure: true }))).toThrow(UsageError);
    expect(() => connectionOptions(parseFtpUrl('ftps://h/x'), creds, flags({ ca: '/nonexistent/ca.pem' }))).toThrow(/--ca: cannot read \/nonexistent\/ca.pem: ENOENT/);
    expect(() => flags({ fingerprint: 'nope' })).toThrow(UsageError);
  });

  it('names the path in 55x errors once, and prints one line', () => {
    const e = new FtpError('FTPKIT_ERR_REPLY', '550 No such file or directory', { replyCode: 550 });
    expect(errorLine('ftp-get', withPath(e, '/x'))).toBe('ftp-get: 550 /x: No such file or directory');
    const named = new FtpError('FTPKIT_ERR_REPLY', '550 /x is not retrievable', { replyCode: 550 });
    expect(withPath(named, '/x')).toBe(named);
    const login = new FtpError('FTPKIT_ERR_REPLY', '530 Login incorrect', { replyCode: 530 });
    expect(withPath(login, '/x')).toBe(login);
    expect(errorLine('ftp-put', new Error('two\nlines'))).toBe('ftp-put: two');
  });
});
