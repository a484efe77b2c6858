import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { formatProxyV2, parseProxyHeader, PROXY_V2_MAX_PAYLOAD, type ProxyParseResult } from '../../../src/protocol/index.js';
import { formatIPv6 } from '../../../src/protocol/proxy.js';

/** What a reader that pushes `chunks` one after another sees first (other than 'incomplete'). */
function incremental(chunks: Buffer[]): ProxyParseResult {
  let received = Buffer.alloc(0);
  let result: ProxyParseResult = { kind: 'incomplete' };
  for (const chunk of chunks) {
    received = Buffer.concat([received, chunk]);
    result = parseProxyHeader(received);
    if (result.kind !== 'incomplete') return result;
  }
  return result;
}

/** Same result for every two-way split and for byte-by-byte delivery. */
function expectSplitInvariant(input: Buffer, expected: ProxyParseResult): void {
  expect(parseProxyHeader(input)).toEqual(expected);
  for (let i = 0; i <= input.length; i++) {
    expect(incremental([input.subarray(0, i), input.subarray(i)])).toEqual(expected);
  }
  expect(incremental([...input].map((x) => Buffer.from([x])))).toEqual(expected);
}

const b = (s: string): Buffer => Buffer.from(s, 'latin1');
const SIG = Buffer.from('0d0a0d0a000d0a515549540a', 'hex');
const v2 = (verCmd: number, fam: number, body: Buffer): Buffer => {
  const fixed = Buffer.from([verCmd, fam, 0, 0]);
  fixed.writeUInt16BE(body.length, 2);
  return Buffer.concat([SIG, fixed, body]);
};

describe('parseProxyHeader v1', () => {
  it.each([
    [
      'TCP4',
      'PROXY TCP4 203.0.113.7 10.0.0.2 51234 21\r\n',
      { version: 1, command: 'proxy', family: 'tcp4', source: { address: '203.0.113.7', port: 51234 }, destination: { address: '10.0.0.2', port: 21 } },
    ],
    [
      'TCP6',
      'PROXY TCP6 2001:DB8::7 2001:db8::2 65535 0\r\n',
      { version: 1, command: 'proxy', family: 'tcp6', source: { address: '2001:db8::7', port: 65535 }, destination: { address: '2001:db8::2', port: 0 } },
    ],
  ])('%s', (_name, text, header) => {
    const input = b(text);
    expectSplitInvariant(input, { kind: 'header', header: header as never, length: input.length });
  });

  it('leaves the bytes after the header to the caller', () => {
    const head = 'PROXY TCP4 1.2.3.4 5.6.7.8 1 2\r\n';
    expectSplitInvariant(b(`${head}USER x\r\n`), {
      kind: 'header',
      length: head.length,
      header: { version: 1, command: 'proxy', family: 'tcp4', source: { address: '1.2.3.4', port: 1 }, destination: { address: '5.6.7.8', port: 2 } },
    });
  });

  it('accepts the longest real header and refuses 107 bytes without an end, without waiting for more', () => {
    const addr = 'ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff';
    const max = b(`PROXY TCP6 ${addr} ${addr} 65535 65535\r\n`);
    expect(max.length).toBe(104);
    expect(parseProxyHeader(max).kind).toBe('header');
    // 107 bytes with no LF: refused at once (a 108th byte cannot make it a header).
    const noEnd = b(`PROXY TCP4 ${'1'.repeat(101)}`);
    expect(noEnd.length).toBe(112);
    expect(parseProxyHeader(noEnd.subarray(0, 106))).toEqual({ kind: 'incomplete' });
    expectSplitInvariant(noEnd.subarray(0, 107), { kind: 'invalid', reason: 'v1 header longer than 107 bytes' });
  });

  it.each([
    ['UNKNOWN', 'PROXY UNKNOWN\r\n', 'v1 UNKNOWN protocol refused'],
    ['UNKNOWN with addresses', 'PROXY UNKNOWN 1.2.3.4 5.6.7.8 1 2\r\n', 'v1 UNKNOWN protocol refused'],
    ['UDP', 'PROXY UDP4 1.2.3.4 5.6.7.8 1 2\r\n', 'v1 protocol is neither TCP4 nor TCP6'],
    ['lower case', 'proxy TCP4 1.2.3.4 5.6.7.8 1 2\r\n', 'not a PROXY protocol header'],
    ['bare LF', 'PROXY TCP4 1.2.3.4 5.6.7.8 1 2\n', 'v1 header does not end with CRLF'],
    ['missing port', 'PROXY TCP4 1.2.3.4 5.6.7.8 1\r\n', 'v1 header is not PROXY TCPx SRC DST SPORT DPORT'],
    ['two spaces', 'PROXY TCP4  1.2.3.4 5.6.7.8 1 2\r\n', 'v1 header is not PROXY TCPx SRC DST SPORT DPORT'],
    ['v6 address in TCP4', 'PROXY TCP4 ::1 5.6.7.8 1 2\r\n', 'v1 address is not IPv4'],
    ['v4 address in TCP6', 'PROXY TCP6 1.2.3.4 ::1 1 2\r\n', 'v1 address is not IPv6'],
    ['bad octet', 'PROXY TCP4 1.2.3.256 5.6.7.8 1 2\r\n', 'v1 address is not IPv4'],
    ['port too big', 'PROXY TCP4 1.2.3.4 5.6.7.8 65536 2\r\n', 'v1 port is not a number from 0 to 65535'],
    ['port with leading zero', 'PROXY TCP4 1.2.3.4 5.6.7.8 021 2\r\n', 'v1 port is not a number from 0 to 65535'],
    ['negative port', 'PROXY TCP4 1.2.3.4 5.6.7.8 -1 2\r\n', 'v1 port is not a number from 0 to 65535'],
    ['an FTP command', 'USER anonymous\r\n', 'not a PROXY protocol header'],
    ['PROX then garbage', 'PROXX TCP4\r\n', 'not a PROXY protocol header'],
  ])('refuses %s', (_name, text, reason) => {
    expectSplitInvariant(b(text), { kind: 'invalid', reason });
  });

  it('says incomplete for every strict prefix of a valid header', () => {
    const input = b('PROXY TCP4 1.2.3.4 5.6.7.8 1 2\r\n');
    for (let i = 0; i < input.length; i++) expect(parseProxyHeader(input.subarray(0, i))).toEqual({ kind: 'incomplete' });
  });
});

describe('parseProxyHeader v2', () => {
  it('TCP4 PROXY, the rest left to the caller', () => {
    const header = formatProxyV2({ source: { address: '127.0.0.4', port: 40000 }, destination: { address: '127.0.0.2', port: 2121 } });
    expect(header.length).toBe(28);
    expectSplitInvariant(Buffer.concat([header, b('USER x\r\n')]), {
      kind: 'header',
      length: 28,
      header: { version: 2, command: 'proxy', family: 'tcp4', source: { address: '127.0.0.4', port: 40000 }, destination: { address: '127.0.0.2', port: 2121 } },
    });
  });

  it('TCP6 PROXY with TLVs after the addresses (skipped)', () => {
    const plain = formatProxyV2({ source: { address: '2001:db8::1', port: 1 }, destination: { address: '::ffff:10.0.0.2', port: 21 } });
    const tlv = Buffer.from([0x04, 0x00, 0x01, 0x00]); // PP2_TYPE_NOOP, length 1
    const body = Buffer.concat([plain.subarray(16), tlv]);
    const input = v2(0x21, 0x21, body);
    expectSplitInvariant(input, {
      kind: 'header',
      length: input.length,
      header: { version: 2, command: 'proxy', family: 'tcp6', source: { address: '2001:db8::1', port: 1 }, destination: { address: '::ffff:10.0.0.2', port: 21 } },
    });
  });

  it('LOCAL (a health check), whatever family and addresses it carries', () => {
    expectSplitInvariant(formatProxyV2('local'), { kind: 'header', length: 16, header: { version: 2, command: 'local' } });
    const withJunk = v2(0x20, 0x31, Buffer.alloc(216));
    expectSplitInvariant(withJunk, { kind: 'header', length: 232, header: { version: 2, command: 'local' } });
  });

  it.each([
    ['UNIX stream', 0x21, 0x31, Buffer.alloc(216), 'v2 UNIX socket addresses refused'],
    ['UNIX dgram', 0x21, 0x32, Buffer.alloc(216), 'v2 UNIX socket addresses refused'],
    ['unspecified family', 0x21, 0x00, Buffer.alloc(0), 'v2 family 0x00 refused (TCP over IPv4 or IPv6 only)'],
    ['unknown family', 0x21, 0x41, Buffer.alloc(12), 'v2 family 0x41 refused (TCP over IPv4 or IPv6 only)'],
    ['UDP over IPv4', 0x21, 0x12, Buffer.alloc(12), 'v2 family 0x12 refused (TCP over IPv4 or IPv6 only)'],
    ['version 1 in a v2 signature', 0x11, 0x11, Buffer.alloc(12), 'v2 header has an unknown version'],
    ['unknown command', 0x22, 0x11, Buffer.alloc(12), 'v2 header has an unknown command'],
    ['IPv4 block too short', 0x21, 0x11, Buffer.alloc(11), 'v2 address block too short for its family'],
    ['IPv6 block too short', 0x21, 0x21, Buffer.alloc(12), 'v2 address block too short for its family'],
  ])('refuses %s', (_name, verCmd, fam, body, reason) => {
    expectSplitInvariant(v2(verCmd, fam, body), { kind: 'invalid', reason });
  });

  it('refuses a length past the bound from the fixed part alone, before buffering the rest', () => {
    const fixed = Buffer.concat([SIG, Buffer.from([0x21, 0x11, 0, 0])]);
    fixed.writeUInt16BE(PROXY_V2_MAX_PAYLOAD + 1, 14);
    expect(parseProxyHeader(fixed)).toEqual({ kind: 'invalid', reason: `v2 header longer than ${PROXY_V2_MAX_PAYLOAD} bytes` });
    fixed.writeUInt16BE(PROXY_V2_MAX_PAYLOAD, 14);
    expect(parseProxyHeader(fixed)).toEqual({ kind: 'incomplete' });
  });

  it('refuses a garbled signature as soon as it diverges', () => {
    const bad = formatProxyV2('local');
    bad[5] = 0x41;
    expect(parseProxyHeader(bad.subarray(0, 5))).toEqual({ kind: 'incomplete' });
    expectSplitInvariant(bad, { kind: 'invalid', reason: 'not a PROXY protocol header' });
  });

  it('truncated: incomplete until more arrives (the server closes it on its timeout)', () => {
    const whole = formatProxyV2({ source: { address: '1.2.3.4', port: 1 }, destination: { address: '5.6.7.8', port: 2 } });
    for (let i = 0; i < whole.length; i++) expect(parseProxyHeader(whole.subarray(0, i))).toEqual({ kind: 'incomplete' });
  });
});

describe('formatIPv6 (RFC 5952)', () => {
  it.each([
    ['20010db8000000000000000000000001', '2001:db8::1'],
    ['00000000000000000000000000000001', '::1'],
    ['00000000000000000000000000000000', '::'],
    ['20010db8000000010000000000000001', '2001:db8:0:1::1'],
    ['20010db8000100000001000000000000', '2001:db8:1:0:1::'],
    ['20010db8000000010001000100010001', '2001:db8:0:1:1:1:1:1'],
    ['00000000000000000000ffff7f000004', '::ffff:127.0.0.4'],
    ['fe800000000000000000000000000000', 'fe80::'],
  ])('%s -> %s', (hex, text) => {
    expect(formatIPv6(Buffer.from(hex, 'hex'))).toBe(text);
  });

  it('round-trips through formatProxyV2 for any address', () => {
    fc.assert(
      fc.property(fc.uint8Array({ minLength: 16, maxLength: 16 }), fc.integer({ min: 0, max: 65535 }), (bytes, port) => {
        const address = formatIPv6(Buffer.from(bytes));
        const parsed = parseProxyHeader(formatProxyV2({ source: { address, port }, destination: { address: '::1', port: 21 } }));
        expect(parsed.kind === 'header' && parsed.header.command === 'proxy' && parsed.header.source).toEqual({ address, port });
      }),
    );
  });
});

it('never throws and never says header for random bytes that lack a signature', () => {
  fc.assert(
    fc.property(fc.uint8Array({ maxLength: 300 }), (bytes) => {
      const buf = Buffer.from(bytes);
      const r = parseProxyHeader(buf);
      if (buf.length > 0 && buf[0] !== 0x50 && buf[0] !== 0x0d) expect(r.kind).toBe('invalid');
    }),
  );
});
