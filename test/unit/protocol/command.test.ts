import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { parseCommand } from '../../../src/protocol/index.js';

describe('parseCommand', () => {
  it.each([
    ['USER alice', { verb: 'USER', arg: 'alice' }],
    ['user alice', { verb: 'USER', arg: 'alice' }],
    ['NOOP', { verb: 'NOOP', arg: '' }],
    ['CWD  two leading spaces ', { verb: 'CWD', arg: ' two leading spaces ' }],
    ['STOR my file.txt', { verb: 'STOR', arg: 'my file.txt' }],
    ['RETR ', { verb: 'RETR', arg: '' }],
    ['  PWD', { verb: 'PWD', arg: '' }],
    ['QUIT\r\n', { verb: 'QUIT', arg: '' }],
    ['X123 y', { verb: 'X123', arg: 'y' }],
    ['ẞtraße x', { verb: 'ẞTRAßE', arg: 'x' }],
    ['OPTS UTF8 ON', { verb: 'OPTS', arg: 'UTF8 ON' }],
  ])('%j', (line, expected) => {
    expect(parseCommand(line)).toEqual(expected);
    expect(parseCommand(Buffer.from(line, 'utf8'))).toEqual(expected);
  });

  it.each(['', '   ', '\t', '\r\n'])('blank %j gives null', (line) => {
    expect(parseCommand(line)).toBeNull();
  });

  it('decodes invalid UTF-8 with U+FFFD instead of throwing', () => {
    const cmd = parseCommand(Buffer.from([0x52, 0x45, 0x54, 0x52, 0x20, 0xff, 0xfe, 0x41]));
    expect(cmd).toEqual({ verb: 'RETR', arg: '\ufffd\ufffdA' });
  });

  it('property: never throws, verb has no space or lower-case ASCII', () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 100 }), (bytes) => {
        const cmd = parseCommand(Buffer.from(bytes));
        if (cmd) {
          expect(cmd.verb).not.toMatch(/[ a-z]/);
          expect(cmd.verb.length).toBeGreaterThan(0);
        }
      }),
    );
  });
});
