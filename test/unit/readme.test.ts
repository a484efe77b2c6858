import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { buildCommandRegistry } from '../../src/server/commands/index.js';

describe('README', () => {
  it("lists exactly the server's commands", () => {
    const readme = readFileSync(new URL('../../README.md', import.meta.url), 'utf8');
    const table = readme.split('<!-- commands:start -->')[1]!.split('<!-- commands:end -->')[0]!;
    const documented = new Set([...table.matchAll(/`([A-Z][A-Z0-9]{2,7})`/g)].map((m) => m[1]!));
    const registered = new Set(buildCommandRegistry().keys());
    expect([...documented].sort()).toEqual([...registered].sort());
  });

  it('lists exactly the FtpErrorCode codes in its error table', () => {
    const readme = readFileSync(new URL('../../README.md', import.meta.url), 'utf8');
    const table = readme.split('\n## Errors\n')[1]!.split('\n## ')[0]!;
    const documented = [...table.matchAll(/^\| `(FTPKIT_ERR_[A-Z_]+)` \|/gm)].map((m) => m[1]!);
    // The union in src/errors.ts: from `export type FtpErrorCode =` to the `;` that ends it.
    const source = readFileSync(new URL('../../src/errors.ts', import.meta.url), 'utf8');
    const union = source.split('export type FtpErrorCode =')[1]!.split(/;\s*(?:\/\/[^\n]*)?\n/)[0]!;
    const declared = [...union.matchAll(/\| '(FTPKIT_ERR_[A-Z_]+)'/g)].map((m) => m[1]!);
    expect(declared.length).toBeGreaterThan(10);
    expect(new Set(documented).size).toBe(documented.length); // each once
    expect([...documented].sort()).toEqual([...declared].sort());
  });
});
