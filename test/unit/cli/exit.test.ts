// ftp-get / ftp-put exit statuses: one table (src/cli/exit.ts), the same in --help and the README.
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { FtpError } from '../../../src/index.js';
import { connectFailure } from '../../../src/cli/client-flags.js';
import { CliError, clientExitCode, EXIT, EXIT_HELP, EXIT_TABLE, InterruptedError, QuietExit } from '../../../src/cli/exit.js';
import { localError, looksLikeUrl, redactUrl } from '../../../src/cli/local-paths.js';
import { UsageError } from '../../../src/cli/usage-error.js';

const errno = (code: string, message = code): NodeJS.ErrnoException => Object.assign(new Error(message), { code });
const reply = (code: number, text = 'x'): FtpError => new FtpError('FTPKIT_ERR_REPLY', `${code} ${text}`, { replyCode: code });
const wrapped = (code: string): FtpError => new FtpError('FTPKIT_ERR_CONNECTION_CLOSED', `control connection failed: ${code}`, { cause: errno(code) });

describe('clientExitCode', () => {
  it.each([
    ['usage', 2, 'download', new UsageError('bad')],
    ['Ctrl-C', 130, 'download', new InterruptedError()],
    ['stdout closed by its reader', 0, 'download', new QuietExit()],
    ['a bad URL', 2, 'download', new FtpError('FTPKIT_ERR_INVALID_ARGUMENT', 'not a URL: x')],
    ['ENOTFOUND', 6, 'download', wrapped('ENOTFOUND')],
    ['EAI_AGAIN', 6, 'upload', wrapped('EAI_AGAIN')],
    ['ECONNREFUSED', 7, 'download', wrapped('ECONNREFUSED')],
    ['EHOSTUNREACH', 7, 'download', wrapped('EHOSTUNREACH')],
    ['421 at the greeting', 7, 'download', reply(421)],
    ['a malformed reply', 8, 'download', new FtpError('FTPKIT_ERR_PROTOCOL', 'malformed')],
    ['a listing too large', 8, 'download', new FtpError('FTPKIT_ERR_LISTING_TOO_LARGE', 'big')],
    ['ENOSPC writing', 23, 'download', errno('ENOSPC')],
    ['the client\'s local-file error, downloading', 23, 'download', new FtpError('FTPKIT_ERR_LOCAL_FILE' as never, 'cannot write local file x', { cause: errno('EACCES') })],
    ['the client\'s local-file error, uploading', 26, 'upload', new FtpError('FTPKIT_ERR_LOCAL_FILE' as never, 'cannot open local file x', { cause: errno('ENOENT') })],
    ['553 to STOR', 25, 'upload', reply(553)],
    ['550 to STOR', 25, 'upload', reply(550)],
    ['ENOENT reading', 26, 'upload', errno('ENOENT')],
    ['a timeout', 28, 'download', new FtpError('FTPKIT_ERR_TIMEOUT', 'no reply')],
    ['ETIMEDOUT connecting', 28, 'download', wrapped('ETIMEDOUT')],
    ['TLS', 35, 'download', new FtpError('FTPKIT_ERR_TLS', 'TLS: self-signed certificate')],
    ['the connection closed', 56, 'download', new FtpError('FTPKIT_ERR_CONNECTION_CLOSED', 'closed')],
    ['ECONNRESET', 56, 'upload', wrapped('ECONNRESET')],
    ['the data connection failed', 56, 'download', new FtpError('FTPKIT_ERR_DATA_CONNECTION', 'failed')],
    ['426', 56, 'download', reply(426)],
    ['530', 67, 'download', reply(530)],
    ['530 uploading', 67, 'upload', reply(530)],
    ['550 to RETR', 78, 'download', reply(550)],
    ['450 to RETR', 78, 'download', reply(450)],
    ['a tree with failed files: the first failure says', 78, 'download', new FtpError('FTPKIT_ERR_INCOMPLETE' as never, 'download of 1 of 3 files failed', { cause: reply(550) })],
    ['a --verify mismatch', 1, 'download', new FtpError('FTPKIT_ERR_INTEGRITY', 'mismatch')],
    ['a 500', 1, 'download', reply(500)],
    ['a plain Error', 1, 'download', new Error('odd')],
    ['a CliError', 36, 'download', new CliError('cannot resume', EXIT.BAD_RESUME)],
  ] as const)('%s -> %d (%s)', (_name, code, direction, err) => {
    expect(clientExitCode(err, direction)).toBe(code);
  });

  it('lists every status once, in order, with --help and the README saying the same', () => {
    const codes = EXIT_TABLE.map((e) => e.code);
    expect(codes).toEqual([...new Set(codes)].sort((a, b) => a - b));
    expect(new Set(codes)).toEqual(new Set(Object.values(EXIT)));
    for (const { code, meaning } of EXIT_TABLE) expect(EXIT_HELP).toContain(`${String(code).padStart(3)}  ${meaning.replace(/`/g, '')}\n`);
    const readme = readFileSync(new URL('../../../README.md', import.meta.url), 'utf8');
    const table = readme.split('<!-- exit-codes:start -->')[1]!.split('<!-- exit-codes:end -->')[0]!;
    const rows = [...table.matchAll(/^\| (\d+) \| (.+) \|$/gm)].map((m) => ({ code: Number(m[1]), meaning: m[2] }));
    expect(rows).toEqual(EXIT_TABLE);
  });
});

describe('messages naming what was typed', () => {
  it('says which host could not be reached', () => {
    const line = (err: unknown): string => (err as Error).message;
    expect(line(connectFailure(wrapped('ENOTFOUND'), 'nonexistent.invalid', 21))).toBe('cannot resolve host nonexistent.invalid');
    expect(line(connectFailure(wrapped('ECONNREFUSED'), '127.0.0.1', 2121))).toBe('cannot connect to 127.0.0.1:2121: connection refused');
    expect(line(connectFailure(wrapped('ENETUNREACH'), '::1', 21))).toBe('cannot connect to [::1]:21: network unreachable');
    const other = reply(530);
    expect(connectFailure(other, 'h', 21)).toBe(other);
  });

  it('names the local path as typed, not the temporary file', () => {
    const open = errno('ENOENT', "ENOENT: no such file or directory, open '/no/such/x.part'");
    const e = localError(open, '/no/such/x', 'write') as CliError;
    expect([e.message, e.exitCode]).toEqual(['cannot write /no/such/x: no such folder', 23]);
    const r = localError(errno('EACCES'), 'secret.txt', 'read') as CliError;
    expect([r.message, r.exitCode]).toEqual(['cannot read secret.txt: permission denied', 26]);
    expect((localError(errno('ENOSPC'), 'stdout', 'write') as Error).message).toBe('cannot write stdout: no space left on the device');
    const net = wrapped('ECONNRESET');
    expect(localError(net, 'x', 'write')).toBe(net);
    const r550 = reply(550);
    expect(localError(r550, 'x', 'write')).toBe(r550);
  });

  it('tells a URL from a path, and hides a password in messages', () => {
    expect(looksLikeUrl('ftp://h/x')).toBe(true);
    expect(looksLikeUrl('HTTPS://h')).toBe(true);
    expect(looksLikeUrl('./ftp:/x')).toBe(false);
    expect(looksLikeUrl('C:\\x')).toBe(false);
    expect(redactUrl('ftp://alice:s3cret@h:21/x')).toBe('ftp://alice:***@h:21/x');
    expect(redactUrl('ftp://alice@h/x')).toBe('ftp://alice@h/x');
  });
});
