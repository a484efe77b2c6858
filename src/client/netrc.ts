import fs from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';

export interface NetrcEntry {
  /** undefined for the `default` entry. */
  machine: string | undefined;
  login: string | undefined;
  password: string | undefined;
  account: string | undefined;
}

/**
 * Parses a .netrc: whitespace-separated tokens `machine NAME`, `default`,
 * `login`, `password`, `account`; `macdef` bodies run to a blank line and are
 * skipped. Double-quoted tokens (curl and GNU inetutils accept them) may hold
 * spaces, with backslash escapes.
 */
export function parseNetrc(text: string): NetrcEntry[] {
  const entries: NetrcEntry[] = [];
  let current: NetrcEntry | undefined;
  const tokens = tokenize(text);
  for (let i = 0; i < tokens.length; i++) {
    const t = tokens[i]!;
    if (t.value === 'machine' || t.value === 'default') {
      current = { machine: t.value === 'machine' ? tokens[++i]?.value : undefined, login: undefined, password: undefined, account: undefined };
      entries.push(current);
    } else if (t.value === 'macdef') {
      i++; // the macro name; its body was removed by the tokenizer
    } else if (current && (t.value === 'login' || t.value === 'password' || t.value === 'account')) {
      current[t.value] = tokens[++i]?.value;
    }
  }
  return entries;
}

/** The entry for `host`, else the `default` entry, else undefined. */
export function findNetrcEntry(entries: readonly NetrcEntry[], host: string): NetrcEntry | undefined {
  return entries.find((e) => e.machine === host) ?? entries.find((e) => e.machine === undefined);
}

/** Reads $NETRC or ~/.netrc; a missing file is simply no entries. */
export async function readNetrc(file = process.env.NETRC ?? path.join(os.homedir(), '.netrc')): Promise<NetrcEntry[]> {
  try {
    return parseNetrc(await fs.readFile(file, 'utf8'));
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return [];
    throw err;
  }
}

function tokenize(text: string): { value: string }[] {
  const out: { value: string }[] = [];
  let i = 0;
  const n = text.length;
  while (i < n) {
    const c = text[i]!;
    if (c === ' ' || c === '\t' || c === '\n' || c === '\r') { i++; continue; }
    if (c === '#') { // comment to end of line
      while (i < n && text[i] !== '\n') i++;
      continue;
    }
    let value = '';
    if (c === '"') {
      i++;
      while (i < n && text[i] !== '"') {
        if (text[i] === '\\' && i + 1 < n) i++;
        value += text[i++];
      }
      i++;
    } else {
      while (i < n && !/\s/.test(text[i]!)) value += text[i++];
    }
    out.push({ value });
    if (value === 'macdef') {
      // name, then the body up to the first empty line
      while (i < n && text[i] !== '\n') {
        const start = i;
        while (i < n && /[ \t]/.test(text[i]!)) i++;
        let name = '';
        while (i < n && !/\s/.test(text[i]!)) name += text[i++];
        if (name !== '') out.push({ value: name });
        if (i === start) i++;
      }
      const end = text.indexOf('\n\n', i);
      i = end === -1 ? n : end + 2;
    }
  }
  return out;
}
