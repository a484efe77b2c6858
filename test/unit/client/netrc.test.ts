import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { describe, expect, it } from 'vitest';
import { findNetrcEntry, parseNetrc, readNetrc } from '../../../src/index.js';
import { resolveCredentials } from '../../../src/cli/credentials.js';
import { parseFtpUrl } from '../../../src/index.js';

const SAMPLE = `# a comment
machine ftp.example.com login alice password s3cret
machine other.example.com
  login bob
  password "with space \\"quoted\\""
macdef init
cd /pub
binary

machine after.macro login carol password c
default login anonymous password guest@
`;

describe('parseNetrc', () => {
  const entries = parseNetrc(SAMPLE);

  it('reads machines on one line and on several', () => {
    expect(findNetrcEntry(entries, 'ftp.example.com')).toMatchObject({ login: 'alice', password: 's3cret' });
    expect(findNetrcEntry(entries, 'other.example.com')).toMatchObject({ login: 'bob', password: 'with space "quoted"' });
  });

  it('skips macdef bodies', () => {
    expect(findNetrcEntry(entries, 'after.macro')).toMatchObject({ login: 'carol', password: 'c' });
    expect(entries.some((e) => e.machine === 'binary' || e.login === 'binary')).toBe(false);
  });

  it('falls back to default', () => {
    expect(findNetrcEntry(entries, 'unknown.host')).toMatchObject({ machine: undefined, login: 'anonymous', password: 'guest@' });
    expect(findNetrcEntry(parseNetrc('machine a login b'), 'zzz')).toBeUndefined();
  });

  it('handles empty and odd input', () => {
    expect(parseNetrc('')).toEqual([]);
    expect(parseNetrc('login x password y')).toEqual([]);
    expect(parseNetrc('machine')).toEqual([{ machine: undefined, login: undefined, password: undefined, account: undefined }]);
  });

  it('reads a file and treats a missing one as empty', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'ftpkit-netrc-'));
    try {
      const file = join(dir, 'netrc');
      await writeFile(file, 'machine h login u password p\n');
      expect(await readNetrc(file)).toHaveLength(1);
      expect(await readNetrc(join(dir, 'missing'))).toEqual([]);
    } finally {
      await rm(dir, { recursive: true });
    }
  });
});

describe('resolveCredentials (ftp-get / ftp-put)', () => {
  let dir: string;
  const netrc = async (text: string): Promise<string> => {
    dir = await mkdtemp(join(tmpdir(), 'ftpkit-cred-'));
    const file = join(dir, 'netrc');
    await writeFile(file, text);
    return file;
  };

  it('prefers the URL, then -u, then netrc, then anonymous', async () => {
    const file = await netrc('machine h login n password np\n');
    try {
      expect(await resolveCredentials(parseFtpUrl('ftp://a:b@h/x'), 'c:d', { netrcFile: file })).toEqual({ user: 'a', password: 'b' });
      expect(await resolveCredentials(parseFtpUrl('ftp://h/x'), 'c:d', { netrcFile: file })).toEqual({ user: 'c', password: 'd' });
      expect(await resolveCredentials(parseFtpUrl('ftp://h/x'), undefined, { netrcFile: file })).toEqual({ user: 'n', password: 'np' });
      expect(await resolveCredentials(parseFtpUrl('ftp://other/x'), undefined, { netrcFile: file })).toEqual({ user: 'anonymous', password: 'anonymous@' });
    } finally {
      await rm(dir, { recursive: true });
    }
  });

  it('takes only the password from netrc when the login matches the given user', async () => {
    const file = await netrc('machine h login n password np\n');
    try {
      expect(await resolveCredentials(parseFtpUrl('ftp://n@h/x'), undefined, { netrcFile: file })).toEqual({ user: 'n', password: 'np' });
      // another user: netrc does not apply; stdin is not a terminal and empty, so an empty password
      const stdin = Readable.from([]) as unknown as NodeJS.ReadStream;
      expect(await resolveCredentials(parseFtpUrl('ftp://z@h/x'), undefined, { netrcFile: file, stdin, env: {} })).toEqual({ user: 'z', password: '' });
    } finally {
      await rm(dir, { recursive: true });
    }
  });
});
