import { describe, expect, it } from 'vitest';
import { FtpError } from '../../../src/errors.js';
import { isPeerGone } from '../../../src/util/peer-gone.js';

const withCode = (code: string): Error => Object.assign(new Error(code), { code });

describe('isPeerGone', () => {
  it.each([
    [withCode('ECONNRESET'), true],
    [withCode('EPIPE'), true],
    [withCode('ECONNABORTED'), true],
    [withCode('ERR_STREAM_PREMATURE_CLOSE'), true],
    [new FtpError('FTPKIT_ERR_CONNECTION_CLOSED', 'the TLS data connection ended without close_notify'), true],
    // Not the peer: our own abort, a timeout, storage failures, other FtpErrors.
    [withCode('ABORT_ERR'), false],
    [withCode('ETIMEDOUT'), false],
    [withCode('ENOSPC'), false],
    [withCode('EACCES'), false],
    [new FtpError('FTPKIT_ERR_TLS', 'handshake failed'), false],
    [new Error('no code'), false],
    [undefined, false],
    [null, false],
    ['ECONNRESET', false],
    [{ code: 42 }, false],
  ])('%o -> %s', (err, gone) => {
    expect(isPeerGone(err)).toBe(gone);
  });
});
