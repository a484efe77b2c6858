// The pure parts of logging (issue 16): xferlog lines, pretty lines, refusal levels, traversal
// detection, STAT's progress text, the Prometheus text.
import { describe, expect, it } from 'vitest';
import { metricsText, prettyLine, xferLine, type ServerStats, type TransferEndInfo } from '../../../src/index.js';
import { refusal } from '../../../src/server/logging/audit.js';
import { climbsAboveRoot } from '../../../src/server/logging/security.js';
import { formatBytes, maskArgument, transferProgress } from '../../../src/server/logging/text.js';
import { ctime } from '../../../src/server/logging/xferlog.js';

const transfer = (over: Partial<TransferEndInfo> = {}): TransferEndInfo => ({
  sessionId: 'abcdef012345',
  remoteAddress: '127.0.0.1',
  command: 'RETR',
  path: '/a.txt',
  username: 'alice',
  type: 'I',
  secure: false,
  bytes: 1000,
  durationMs: 40,
  ok: true,
  code: 226,
  ...over,
});

describe('xferlog', () => {
  const when = new Date(2026, 11, 1, 23, 44, 9); // local time, as the log

  it('ctime(3) pads the day with a space', () => {
    expect(ctime(when)).toBe('Tue Dec  1 23:44:09 2026');
    expect(ctime(new Date(2026, 0, 15, 1, 2, 3))).toBe('Thu Jan 15 01:02:03 2026');
  });

  it.each<[string, Partial<TransferEndInfo>, boolean, string]>([
    ['a download', {}, false, 'Tue Dec  1 23:44:09 2026 1 127.0.0.1 1000 /a.txt b _ o r alice ftp 0 * c\n'],
    ['an upload in ASCII', { command: 'STOR', type: 'A' }, false, 'Tue Dec  1 23:44:09 2026 1 127.0.0.1 1000 /a.txt a _ i r alice ftp 0 * c\n'],
    ['APPE and STOU are incoming', { command: 'APPE' }, false, 'Tue Dec  1 23:44:09 2026 1 127.0.0.1 1000 /a.txt b _ i r alice ftp 0 * c\n'],
    ['an aborted one is incomplete', { ok: false, failure: 'aborted', code: 426, bytes: 10 }, false, 'Tue Dec  1 23:44:09 2026 1 127.0.0.1 10 /a.txt b _ o r alice ftp 0 * i\n'],
    ['seconds are rounded', { durationMs: 2600 }, false, 'Tue Dec  1 23:44:09 2026 3 127.0.0.1 1000 /a.txt b _ o r alice ftp 0 * c\n'],
    ['spaces and tabs become _', { path: '/my dir/a\tb.txt', username: 'jo doe' }, false, 'Tue Dec  1 23:44:09 2026 1 127.0.0.1 1000 /my_dir/a_b.txt b _ o r jo_doe ftp 0 * c\n'],
    ['anonymous: access mode a, the login name', { username: 'anonymous' }, true, 'Tue Dec  1 23:44:09 2026 1 127.0.0.1 1000 /a.txt b _ o a anonymous ftp 0 * c\n'],
    ['IPv6', { remoteAddress: '::1' }, false, 'Tue Dec  1 23:44:09 2026 1 ::1 1000 /a.txt b _ o r alice ftp 0 * c\n'],
  ])('%s', (_name, over, anonymous, line) => {
    expect(xferLine(transfer(over), anonymous, when)).toBe(line);
  });

  it('always has 18 space-separated fields (the date takes 5), whatever the names', () => {
    for (const path of ['/a b', '/\u00e9t\u00e9 2026.txt', '/x\u007fy', '/  ']) {
      const line = xferLine(transfer({ path, username: ' ' }), false, new Date(2026, 11, 12));
      expect(line.trimEnd().split(' ')).toHaveLength(18);
    }
  });
});

describe('prettyLine', () => {
  const base = { level: 30, time: new Date(2026, 11, 1, 23, 44, 9).getTime(), pid: 1, hostname: 'h', session: 'abcdef012345', remote: '127.0.0.1' };

  it.each<[string, Record<string, unknown>, string]>([
    ['connect', { event: 'connect', secure: false, msg: 'connect' }, '127.0.0.1 connect'],
    ['login over TLS', { event: 'login', user: 'alice', secure: true, anonymous: false, msg: 'login' }, 'alice@127.0.0.1 login (TLS)'],
    ['an upload', { event: 'upload', user: 'alice', path: '/a.txt', code: 226, reply: 'Transfer complete', bytes: 1536, durationMs: 12, rate: 128000 }, 'alice@127.0.0.1 upload /a.txt (226), 1.5 KiB in 12 ms, 125 KiB/s'],
    ['a refusal', { level: 40, event: 'upload', user: 'bob', path: '/b', code: 550, reply: '/b: Permission denied (store not allowed)', refused: 'permission' }, 'bob@127.0.0.1 upload /b: 550 /b: Permission denied (store not allowed)'],
    ['a rename', { event: 'rename', user: 'alice', from: '/a', to: '/b', code: 250, reply: 'Rename successful' }, 'alice@127.0.0.1 rename /a -> /b (250)'],
    ['a busy file', { level: 40, event: 'delete', user: 'alice', path: '/a', code: 450, reply: '/a: file busy', heldBy: [{ path: '/a', mode: 'shared', session: 'x', command: 'RETR' }] }, 'alice@127.0.0.1 delete /a: 450 /a: file busy (in use by RETR)'],
    ['a chmod', { event: 'chmod', user: 'alice', path: '/a', mode: '644', code: 200 }, 'alice@127.0.0.1 chmod 644 /a (200)'],
    ['a security event', { level: 40, event: 'security', kind: 'traversal', detail: 'RETR ../../etc/passwd', msg: 'path traversal attempt' }, '127.0.0.1 path traversal attempt: RETR ../../etc/passwd'],
    ['a disconnect', { event: 'disconnect', user: 'alice', durationMs: 61_000, filesIn: 1, filesOut: 2, bytesIn: 10, bytesOut: 2048 }, 'alice@127.0.0.1 disconnect after 1 min 1 s: 1 file in (10 B), 2 out (2.0 KiB)'],
    ['any other record: its message and fields', { session: undefined, remote: undefined, msg: 'users file reloaded', users: 3, file: 'my users.json' }, '- users file reloaded users=3 file="my users.json"'],
    ['an error', { level: 50, msg: 'command failed', verb: 'RETR', err: { type: 'Error', message: 'boom', stack: 'Error: boom\n    at x' } }, '127.0.0.1 command failed verb=RETR err="boom"'],
    ['control characters never reach the terminal', { msg: 'x\u001b[2Jy' }, '127.0.0.1 x?[2Jy'],
  ])('%s', (_name, record, text) => {
    const level = Number(record.level ?? 30) === 40 ? 'WARN ' : Number(record.level ?? 30) === 50 ? 'ERROR' : 'INFO ';
    expect(prettyLine({ ...base, ...record })).toBe(`2026-12-01 23:44:09 ${level} ${text}`);
  });

  it('colours only the level, and only when asked', () => {
    expect(prettyLine({ ...base, level: 40, msg: 'x' }, true)).toBe('2026-12-01 23:44:09 \x1b[33mWARN \x1b[0m 127.0.0.1 x');
  });
});

describe('refusal levels', () => {
  it.each<[number, string, string, string | undefined]>([
    [550, '/a: Permission denied (store not allowed)', 'STOR', 'permission'],
    [550, '/a: No such file or directory', 'RETR', undefined],
    [450, '/a: file busy', 'DELE', 'busy'],
    [552, '/a: Storage quota exceeded', 'STOR', 'quota'],
    [452, '/a: Insufficient storage space', 'STOR', 'quota'],
    [530, 'Please login with USER and PASS', 'RETR', 'not-logged-in'],
    [530, 'Login incorrect', 'PASS', undefined],
    [521, 'Data connections must be encrypted', 'RETR', 'tls'],
    [426, 'Transfer aborted', 'RETR', undefined],
    [226, 'Transfer complete', 'RETR', undefined],
  ])('%i %s (%s)', (code, reply, verb, why) => {
    expect(refusal(code, reply, verb)).toBe(why);
  });
});

describe('climbsAboveRoot', () => {
  it.each<[string, string, boolean]>([
    ['/', '..', false], // CDUP at the root: what GUI clients do
    ['/', '../..', true],
    ['/', '../etc/passwd', true],
    ['/', '/../../../etc/passwd', true],
    ['/', '..\\..\\windows', true],
    ['/a/b', '../../c', false],
    ['/a/b', '../../../c', true],
    ['/a', 'x/../../y', false],
    ['/a', 'x/../../../y', true],
    ['/a', 'x/../y', false],
    ['/', 'a..b', false],
    ['/', '/a/../b', false],
  ])('cwd %s, %s: %s', (cwd, arg, climbs) => {
    expect(climbsAboveRoot(cwd, arg)).toBe(climbs);
  });
});

describe('small text helpers', () => {
  it('masks PASS and ACCT only', () => {
    expect(maskArgument('PASS', 'pw')).toBe('***');
    expect(maskArgument('ACCT', 'acct')).toBe('***');
    expect(maskArgument('PASS', '')).toBe('');
    expect(maskArgument('USER', 'alice')).toBe('alice');
  });

  it('formats sizes and STAT progress', () => {
    expect([0, 1023, 1024, 1536, 10 * 1024 ** 2, 5 * 1024 ** 3].map(formatBytes)).toEqual(['0 B', '1023 B', '1.0 KiB', '1.5 KiB', '10 MiB', '5.0 GiB']);
    expect(transferProgress(1024 ** 2, 4 * 1024 ** 2, 1000)).toBe('1048576 of 4194304 bytes transferred (25%), 1.0 MiB/s');
    expect(transferProgress(500, undefined, 0)).toBe('500 bytes transferred, 488 KiB/s');
    expect(transferProgress(0, 0, 10)).toBe('0 of 0 bytes transferred (100%), 0 B/s');
  });
});

describe('metricsText', () => {
  it('HELP and TYPE for each metric, counters ending in _total, one sample a line', () => {
    const stats: ServerStats = {
      sessions: 2,
      connections: 5,
      logins: 4,
      failedLogins: 1,
      bans: 0,
      commands: 40,
      replies: { '2xx': 30, '3xx': 5, '4xx': 1, '5xx': 4 },
      transfersInFlight: 1,
      transfers: { ok: 3, failed: 1 },
      bytesIn: 100,
      bytesOut: 200,
      security: { 'port-refused': 1, 'foreign-data-peer': 0, traversal: 2, 'tls-required': 0 },
    };
    const text = metricsText(stats);
    expect(text).toContain('# HELP ftpkit_sessions Control connections open now.\n# TYPE ftpkit_sessions gauge\nftpkit_sessions 2\n');
    expect(text).toContain('ftpkit_replies_total{class="4xx"} 1\n');
    expect(text).toContain('ftpkit_transfers_total{result="failed"} 1\n');
    expect(text).toContain('ftpkit_security_events_total{kind="traversal"} 2\n');
    for (const [, name, type] of text.matchAll(/^# TYPE (\S+) (\S+)$/gm)) {
      if (type === 'counter') expect(name).toMatch(/_total$/);
      expect(text).toContain(`# HELP ${name} `);
    }
    expect(text.endsWith('\n')).toBe(true);
  });
});
