import { describe, expect, it } from 'vitest';
import { parseFtpUrl, parseUserOption } from '../../../src/index.js';

describe('parseFtpUrl', () => {
  it.each([
    ['ftp://example.com/a/b.txt', { host: 'example.com', port: 21, user: undefined, password: undefined, path: '/a/b.txt', isFolder: false }],
    ['ftp://example.com', { host: 'example.com', port: 21, path: '/', isFolder: true }],
    ['ftp://example.com/dir/', { path: '/dir/', isFolder: true }],
    ['ftp://u@h:2121/x', { host: 'h', port: 2121, user: 'u', password: undefined, path: '/x' }],
    ['ftp://u:@h/x', { user: 'u', password: '' }],
    ['ftp://u:p%40ss%3Aw@h/x', { user: 'u', password: 'p@ss:w' }],
    ['ftp://us%20er:pw@h/x', { user: 'us er', password: 'pw' }],
    ['ftp://h/with%20space/%C3%B1and%C3%BA.txt', { path: '/with space/ñandú.txt' }],
    ['ftp://h/file;type=i', { path: '/file' }],
    ['ftp://[::1]:2121/x', { host: '::1', port: 2121 }],
    ['ftp://127.0.0.1/a%2Fb', { path: '/a/b' }],
    ['ftp://h/x', { port: 21, tls: false }],
    // lftp / FileZilla: ftps = implicit FTPS (port 990), ftpes = explicit (AUTH TLS, port 21)
    ['ftps://u:p@h/x', { host: 'h', port: 990, user: 'u', password: 'p', path: '/x', tls: 'implicit' }],
    ['ftps://h:2990/d/', { port: 2990, path: '/d/', isFolder: true, tls: 'implicit' }],
    ['ftpes://h/x', { port: 21, path: '/x', tls: 'explicit' }],
    ['ftpes://[::1]:2121/a%20b', { host: '::1', port: 2121, path: '/a b', tls: 'explicit' }],
    ['FTPS://h', { port: 990, path: '/', tls: 'implicit' }],
  ])('%s', (url, expected) => {
    expect(parseFtpUrl(url)).toMatchObject(expected);
  });

  it.each([
    ['http://h/x', 'FTPKIT_ERR_INVALID_ARGUMENT'],
    ['sftp://h/x', 'FTPKIT_ERR_INVALID_ARGUMENT'],
    ['ftps://h/a%0D%0Ax', 'FTPKIT_ERR_UNSAFE_PATH'],
    ['not a url', 'FTPKIT_ERR_INVALID_ARGUMENT'],
    ['ftp://h/%E0%A4%A', 'FTPKIT_ERR_INVALID_ARGUMENT'],
    ['ftp://h/a%0D%0ADELE%20x', 'FTPKIT_ERR_UNSAFE_PATH'],
    ['ftp://h/a%00b', 'FTPKIT_ERR_UNSAFE_PATH'],
    ['ftp://u%0A:p@h/x', 'FTPKIT_ERR_UNSAFE_PATH'],
    ['ftp://u:p%0D@h/x', 'FTPKIT_ERR_UNSAFE_PATH'],
  ])('rejects %s', (url, code) => {
    expect(() => parseFtpUrl(url)).toThrow(expect.objectContaining({ code }));
  });
});

describe('parseUserOption', () => {
  it.each([
    ['alice', { user: 'alice', password: undefined }],
    ['alice:', { user: 'alice', password: '' }],
    ['alice:se:cret', { user: 'alice', password: 'se:cret' }],
  ])('%s', (value, expected) => {
    expect(parseUserOption(value)).toEqual(expected);
  });

  it('rejects CR/LF', () => {
    expect(() => parseUserOption('a\r\nb:c')).toThrow(expect.objectContaining({ code: 'FTPKIT_ERR_UNSAFE_PATH' }));
    expect(() => parseUserOption('a:b\nc')).toThrow(expect.objectContaining({ code: 'FTPKIT_ERR_UNSAFE_PATH' }));
  });
});
