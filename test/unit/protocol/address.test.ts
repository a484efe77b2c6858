import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import {
  decodeHostPort,
  encodeHostPort,
  formatEprtArg,
  formatEpsvText,
  formatPasvText,
  normalizeIp,
  parseEprtArg,
  parseEpsvText,
  parsePasvText,
} from '../../../src/protocol/index.js';
import { FtpError } from '../../../src/errors.js';

describe('PORT / PASV host-port', () => {
  it('encodes and decodes', () => {
    expect(encodeHostPort('127.0.0.1', 1025)).toBe('127,0,0,1,4,1');
    expect(encodeHostPort('::ffff:10.0.0.2', 65535)).toBe('10,0,0,2,255,255');
    expect(decodeHostPort('127,0,0,1,4,1')).toEqual({ host: '127.0.0.1', port: 1025 });
    expect(decodeHostPort('  192,168,1,20,0,21 ')).toEqual({ host: '192.168.1.20', port: 21 });
  });

  it.each([
    ['', 'empty'],
    ['127,0,0,1,4', 'five fields'],
    ['127,0,0,1,4,1,9', 'seven fields'],
    ['256,0,0,1,4,1', 'host byte > 255'],
    ['127,0,0,1,256,1', 'port byte > 255'],
    ['127,0,0,1,0,0', 'port 0'],
    ['127,0,0,-1,4,1', 'negative'],
    ['127,0,0,1,4,+1', 'sign'],
    ['127,0,0,1,4,1.5', 'decimal'],
    ['127,0,0,1,4,0x1', 'hex'],
    ['127,0,0,,4,1', 'empty field'],
    ['127,0,0,1,4,0001', 'four digits'],
    ['127, 0,0,1,4,1', 'inner space'],
    ['127,0,0,1,4,1x', 'trailing junk'],
    ['１２７,0,0,1,4,1', 'non-ASCII digits'],
  ])('decodeHostPort rejects %j (%s)', (input) => {
    expect(decodeHostPort(input)).toBeNull();
  });

  it('encodeHostPort rejects non-IPv4 hosts and bad ports', () => {
    expect(() => encodeHostPort('::1', 21)).toThrow(FtpError);
    expect(() => encodeHostPort('example.com', 21)).toThrow(FtpError);
    expect(() => encodeHostPort('127.0.0.1', 0)).toThrow(FtpError);
    expect(() => encodeHostPort('127.0.0.1', 65536)).toThrow(FtpError);
  });

  it('formats and parses 227 text', () => {
    const text = formatPasvText('127.0.0.1', 50000);
    expect(text).toBe('Entering Passive Mode (127,0,0,1,195,80).');
    expect(parsePasvText(text)).toEqual({ host: '127.0.0.1', port: 50000 });
    expect(parsePasvText('Entering Passive Mode 10,1,2,3,4,5')).toEqual({ host: '10.1.2.3', port: 1029 });
    expect(parsePasvText('=10,1,2,3,4,5')).toEqual({ host: '10.1.2.3', port: 1029 });
    expect(parsePasvText('Entering Passive Mode (300,1,2,3,4,5)')).toBeNull();
    expect(parsePasvText('(1,2,3,4,5)')).toBeNull();
    expect(parsePasvText('(1,2,3,4,5,6,7)')).toBeNull();
    expect(parsePasvText('no numbers')).toBeNull();
  });

  it('property: encode/decode round trip', () => {
    fc.assert(
      fc.property(fc.ipV4(), fc.integer({ min: 1, max: 65535 }), (host, port) => {
        expect(decodeHostPort(encodeHostPort(host, port))).toEqual({ host, port });
        expect(parsePasvText(formatPasvText(host, port))).toEqual({ host, port });
      }),
    );
  });

  it('parsePasvText is fast on pathological input', () => {
    const text = '1,'.repeat(50_000) + 'x' + '12,'.repeat(10_000);
    const t0 = performance.now();
    expect(parsePasvText(text)).toBeNull();
    expect(performance.now() - t0).toBeLessThan(100);
  });
});

describe('EPSV / EPRT', () => {
  it('formats and parses 229 text', () => {
    expect(formatEpsvText(2000)).toBe('Entering Extended Passive Mode (|||2000|)');
    expect(parseEpsvText('Entering Extended Passive Mode (|||2000|)')).toBe(2000);
    expect(parseEpsvText('ok (!!!65535!)')).toBe(65535);
    expect(parseEpsvText('junk (x) then (|||21|).')).toBe(21);
    expect(parseEpsvText('(|||0|)')).toBeNull();
    expect(parseEpsvText('(|||65536|)')).toBeNull();
    expect(parseEpsvText('(||2000|)')).toBeNull();
    expect(parseEpsvText('(|||20a0|)')).toBeNull();
    expect(parseEpsvText('(|||2000|')).toBeNull();
    expect(parseEpsvText('(|||2000!)')).toBeNull();
    expect(() => formatEpsvText(0)).toThrow(FtpError);
  });

  it('formats EPRT arguments', () => {
    expect(formatEprtArg('127.0.0.1', 2000)).toBe('|1|127.0.0.1|2000|');
    expect(formatEprtArg('::1', 2000)).toBe('|2|::1|2000|');
    expect(formatEprtArg('::ffff:127.0.0.1', 2000)).toBe('|1|127.0.0.1|2000|');
    expect(() => formatEprtArg('localhost', 2000)).toThrow(FtpError);
  });

  it('parses EPRT arguments', () => {
    expect(parseEprtArg('|1|127.0.0.1|2000|')).toEqual({ host: '127.0.0.1', port: 2000, family: 4 });
    expect(parseEprtArg('|2|::1|2000|')).toEqual({ host: '::1', port: 2000, family: 6 });
    expect(parseEprtArg('!2!fe80::1:2!65535!')).toEqual({ host: 'fe80::1:2', port: 65535, family: 6 });
    expect(parseEprtArg(' |1|10.0.0.1|21| ')).toEqual({ host: '10.0.0.1', port: 21, family: 4 });
  });

  it.each([
    ['', 'empty'],
    ['|1|127.0.0.1|2000', 'missing final delimiter'],
    ['|1|127.0.0.1|2000|x|', 'extra field'],
    ['|1|127.0.0.1|2000||', 'extra empty field'],
    ['|1|127.0.0.1||', 'empty port'],
    ['|1|127.0.0.1|0|', 'port 0'],
    ['|1|127.0.0.1|65536|', 'port too large'],
    ['|1|127.0.0.1|-1|', 'negative port'],
    ['|1|127.0.0.1|+80|', 'signed port'],
    ['|1|127.0.0.1|0x50|', 'hex port'],
    ['|1|127.0.0.1|999999|', 'six-digit port'],
    ['|2|127.0.0.1|2000|', 'IPv4 address with family 2'],
    ['|1|::1|2000|', 'IPv6 address with family 1'],
    ['|3|127.0.0.1|2000|', 'unknown family'],
    ['||127.0.0.1|2000|', 'empty family'],
    ['|1|256.0.0.1|2000|', 'bad IPv4'],
    ['|1|localhost|2000|', 'host name'],
    ['|2|::g|2000|', 'bad IPv6'],
    [' 1 127.0.0.1 2000 ', 'space delimiter'],
    ['\x7f1\x7f127.0.0.1\x7f2000\x7f', 'DEL delimiter'],
    ['1111', 'digit delimiter'],
    ['é1é127.0.0.1é2000é', 'non-ASCII delimiter'],
  ])('parseEprtArg rejects %j (%s)', (arg) => {
    expect(parseEprtArg(arg)).toBeNull();
  });

  it('property: EPRT round trip for both families', () => {
    fc.assert(
      fc.property(fc.oneof(fc.ipV4(), fc.ipV6()), fc.integer({ min: 1, max: 65535 }), (host, port) => {
        const parsed = parseEprtArg(formatEprtArg(host, port));
        expect(parsed?.port).toBe(port);
        expect(parsed?.host).toBe(normalizeIp(host));
      }),
    );
  });
});

describe('normalizeIp', () => {
  it.each([
    ['::ffff:1.2.3.4', '1.2.3.4'],
    ['::FFFF:127.0.0.1', '127.0.0.1'],
    ['127.0.0.1', '127.0.0.1'],
    ['::1', '::1'],
    ['::ffff:abcd', '::ffff:abcd'],
  ])('%s -> %s', (input, out) => {
    expect(normalizeIp(input)).toBe(out);
  });
});
