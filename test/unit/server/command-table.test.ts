// The command table (src/server/command.ts) is where each command's rules live; the README's
// permission table and its rules table are held to it here, so neither can drift.
import { readFileSync, writeFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import type { CommandSpec } from '../../../src/server/command.js';
import { buildCommandRegistry } from '../../../src/server/commands/index.js';
import { PERMISSION_LETTERS, type PermissionLetter } from '../../../src/server/permissions.js';

const README = readFileSync(new URL('../../../README.md', import.meta.url), 'utf8');
const registry = buildCommandRegistry();
const specs = [...new Set(registry.values())];

function section(name: string): string {
  const start = `<!-- ${name}:start -->`;
  const end = `<!-- ${name}:end -->`;
  expect(README.includes(start) && README.includes(end), `README has ${start} ... ${end}`).toBe(true);
  return README.split(start)[1]!.split(end)[0]!;
}

/** The verbs a README table row names: the first word of each `code span` that looks like a verb. */
const verbsIn = (text: string): string[] => [...text.matchAll(/`([A-Z][A-Z0-9]{2,7})(?: [^`]*)?`/g)].map((m) => m[1]!);

/** How the README's rules table shows a spec's argument rule. */
function argument(spec: CommandSpec): string {
  if (!spec.login) return spec.arg;
  let text: string = spec.arg;
  if (spec.arg === 'path-or-cwd') text = 'path (default: the current folder)';
  else if (spec.pathIn) text = spec.arg === 'path' ? `path (${spec.pathWhere})` : `${spec.arg}; a path (${spec.pathWhere})`;
  if (spec.follows) text += `, right after \`${spec.follows}\``;
  return text;
}

function permission(spec: CommandSpec): string {
  if (!spec.login || !spec.perm) return '';
  return `\`${spec.perm}\`${spec.permOn === 'folder' ? ' (its folder)' : ''}`;
}

/** The README's rules table, one row per spec, rendered from the registry. */
function rulesTable(): string {
  const rows = specs.map((spec) => {
    const verbs = spec.verbs.map((v) => `\`${v}\``).join(', ');
    const login = spec.notImplemented ? 'answered 502' : spec.login ? 'yes' : 'no';
    const rest = spec.login && spec.restart ? 'yes' : '';
    return `| ${verbs} | ${login} | ${argument(spec)} | ${permission(spec)} | ${spec.duringTransfer ? 'yes' : ''} | ${rest} |`;
  });
  return ['', '| command | login | argument | permission | beside a transfer | takes `REST` or `RANG` |', '|---|---|---|---|---|---|', ...rows, ''].join('\n');
}

describe('the command table', () => {
  it('every spec states login and an argument rule; permissions only for logged-in commands with a path', () => {
    expect(specs.length).toBeGreaterThan(40);
    for (const spec of specs) {
      expect(typeof spec.login, spec.verbs[0]).toBe('boolean');
      expect(['none', 'optional', 'required', 'path', 'path-or-cwd'], spec.verbs[0]).toContain(spec.arg);
      if (!spec.login) continue;
      if (spec.pathIn) expect(spec.pathWhere, `${spec.verbs[0]}: pathWhere`).toBeTruthy();
      if (spec.perm) {
        expect(Object.keys(PERMISSION_LETTERS), spec.verbs[0]).toContain(spec.perm);
        // A letter with nowhere to check it would never be checked.
        expect(spec.arg === 'path' || spec.arg === 'path-or-cwd' || spec.pathIn !== undefined, spec.verbs[0]).toBe(true);
      }
    }
  });

  it("the README's permission table is the table's letters, verb for verb", () => {
    const documented = new Map<string, string[]>();
    for (const line of section('permissions').split('\n')) {
      const m = /^\| `(\w)` \| (.*) \|$/.exec(line);
      if (m) documented.set(m[1]!, verbsIn(m[2]!).sort());
    }
    const declared = new Map<string, string[]>();
    for (const letter of Object.keys(PERMISSION_LETTERS) as PermissionLetter[]) {
      const verbs = specs.filter((s) => s.login && s.perm === letter).flatMap((s) => s.verbs);
      declared.set(letter, [...verbs].sort());
    }
    expect(Object.fromEntries(documented)).toEqual(Object.fromEntries(declared));
  });

  it("the README's rules table is rendered from the table (paste the expected text when a rule changes)", () => {
    if (process.env.WRITE_RULES) writeFileSync(process.env.WRITE_RULES, rulesTable());
    expect(section('rules')).toBe(rulesTable());
  });

  it('the checks catch a drift', () => {
    expect(verbsIn('list: `LIST`, `STAT path`, `SITE CHMOD`, and `d` or `w`')).toEqual(['LIST', 'STAT', 'SITE']);
    const renamed = specs.map((s) => (s.verbs[0] === 'DELE' ? { ...s, perm: 'f' as const } : s));
    expect(renamed.filter((s) => s.login && s.perm === 'd').flatMap((s) => s.verbs)).not.toContain('DELE');
  });
});
