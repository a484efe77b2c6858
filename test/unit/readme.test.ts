import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { FileServer } from '../../src/index.js';

describe('README', () => {
  it("lists exactly the server's commands", () => {
    const readme = readFileSync(new URL('../../README.md', import.meta.url), 'utf8');
    const table = readme.split('<!-- commands:start -->')[1]!.split('<!-- commands:end -->')[0]!;
    const documented = new Set([...table.matchAll(/`([A-Z][A-Z0-9]{2,7})`/g)].map((m) => m[1]!));
    const registered = new Set(new FileServer().commands.keys());
    expect([...documented].sort()).toEqual([...registered].sort());
  });
});
