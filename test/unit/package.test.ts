// What `npm pack` puts in the tarball: everything the README points to, the bins, the examples,
// and nothing named in `files` that does not exist. Needs dist/ (`npm run build`), as npm test does.
import { execFileSync } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';

const ROOT = new URL('../../', import.meta.url).pathname;
const pkg = JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8')) as { name: string; files: string[]; bin: Record<string, string>; scripts: Record<string, string> };
const readme = readFileSync(join(ROOT, 'README.md'), 'utf8');

/** The tarball's file list, without running the build scripts (--ignore-scripts). */
function packed(): Set<string> {
  if (!existsSync(join(ROOT, 'dist', 'index.js'))) throw new Error('dist/ is missing: run npm run build first');
  const out = execFileSync('npm', ['pack', '--dry-run', '--json', '--ignore-scripts'], { cwd: ROOT, encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] });
  const [info] = JSON.parse(out) as [{ files: { path: string }[] }];
  return new Set(info.files.map((f) => f.path));
}

describe('the npm package', () => {
  const files = packed();

  it('holds every file the README links to relatively', () => {
    const links = [...readme.matchAll(/\]\(([^)\s]+)\)/g)].map((m) => m[1]!).filter((href) => !/^(#|[a-z]+:)/i.test(href));
    expect(links.length).toBeGreaterThan(0);
    for (const link of links) expect(files.has(link.replace(/^\.\//, '').replace(/#.*$/, '')), link).toBe(true);
  });

  it('holds every package path the README names in code (examples/, src/, dist/)', () => {
    const named = [...readme.matchAll(/`((?:examples|src|dist)\/[\w./-]+\.\w+)`/g)].map((m) => m[1]!);
    expect(named).toContain('dist/index.d.ts');
    for (const path of named) expect(files.has(path), path).toBe(true);
  });

  it('holds the bins, the examples, the types and the native build script; no tests or sources', () => {
    for (const file of Object.values(pkg.bin)) expect(files.has(file.replace(/^\.\//, '')), file).toBe(true);
    for (const f of ['examples/embed-server.mjs', 'examples/client-download.mjs', 'dist/index.d.ts', 'dist/index.d.cts', 'scripts/build-native.mjs', 'binding.gyp', 'README.md', 'package.json']) {
      expect(files.has(f), f).toBe(true);
    }
    expect([...files].filter((f) => /^(test|src|bench|\.ci)\//.test(f))).toEqual([]);
  });

  it("names in `files` only what exists (CHANGELOG.md is written by `changeset version` at release and listed then)", () => {
    for (const entry of pkg.files) expect(existsSync(join(ROOT, entry)), entry).toBe(true);
  });

  it('runs the examples against the installed package name, and says `npx -p ftpkit` outside the repository', () => {
    for (const f of ['examples/embed-server.mjs', 'examples/client-download.mjs']) {
      expect(readFileSync(join(ROOT, f), 'utf8')).toMatch(new RegExp(`from '${pkg.name}';`));
    }
    expect(readme).toContain('npm install && npx ftp-serve');
    expect(readme).toContain(`npx -p ${pkg.name} ftp-serve`);
    // the package's own install links its bins (scripts/link-bins.mjs), so npx finds them in a clone
    expect(pkg.scripts.prepare).toBe('node scripts/prepare.mjs');
    expect(pkg.scripts.install).toBe('node scripts/build-native.mjs');
  });
});
