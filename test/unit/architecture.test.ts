// Import rules between the layers (issue 13): the codec stands alone, storage knows nothing of
// the server or the client, client and server never import each other, the library never
// imports the CLI, and the CLI (src/cli, bin/) uses nothing but the package's public entry, so
// every flag is something an embedder can do too.
import { readFileSync, readdirSync } from 'node:fs';
import { isBuiltin } from 'node:module';
import { dirname, join, relative, resolve } from 'node:path';
import ts from 'typescript';
import { describe, expect, it } from 'vitest';

const REPO = resolve(new URL('../../', import.meta.url).pathname);
const pkg = JSON.parse(readFileSync(join(REPO, 'package.json'), 'utf8')) as { dependencies?: Record<string, string> };
const DEPENDENCIES = new Set(Object.keys(pkg.dependencies ?? {}));

/** Repo-relative .ts files under `dir`, recursively. */
function sources(dir: string): string[] {
  return readdirSync(join(REPO, dir), { recursive: true, withFileTypes: true })
    .filter((e) => e.isFile() && e.name.endsWith('.ts'))
    .map((e) => relative(REPO, join(e.parentPath, e.name)))
    .sort();
}

/** Every module specifier of a file: static, type-only, re-exports, dynamic import(). */
function specifiers(text: string): string[] {
  return ts.preProcessFile(text, true, true).importedFiles.map((f) => f.fileName);
}

/** A relative specifier as a repo-relative path without extension (`src/server/session`). */
function target(file: string, spec: string): string {
  return relative(REPO, resolve(REPO, dirname(file), spec)).replace(/\.(js|ts)$/, '');
}

const within = (path: string, folder: string): boolean => path === folder || path.startsWith(`${folder}/`);

/** The package a bare specifier names: `pino`, `@scope/name`. */
function packageOf(spec: string): string {
  const parts = spec.split('/');
  return spec.startsWith('@') ? parts.slice(0, 2).join('/') : parts[0]!;
}

/**
 * Why `file` may not import `spec`, or undefined when it may. The rules, one per layer.
 * External specifiers (node built-ins and packages) are checked only where a rule says so.
 */
function violation(file: string, spec: string): string | undefined {
  const relativeSpec = spec.startsWith('.');
  const to = relativeSpec ? target(file, spec) : undefined;
  if (within(file, 'src/cli')) {
    if (to === 'src/index' || (to !== undefined && within(to, 'src/cli'))) return undefined;
    if (!relativeSpec && (isBuiltin(spec) && spec.startsWith('node:'))) return undefined;
    if (!relativeSpec && DEPENDENCIES.has(packageOf(spec))) return undefined;
    return 'src/cli imports only the public entry (../index.js), its own files, node: built-ins and dependencies';
  }
  if (within(file, 'bin')) {
    if (to !== undefined && within(to, 'src/cli')) return undefined;
    return 'a bin only calls src/cli';
  }
  if (to === undefined) return undefined;
  if (within(to, 'src/cli') || to === 'bin' || within(to, 'bin')) return 'the library never imports the CLI';
  if (file === 'src/errors.ts') return 'errors.ts is a leaf: every layer imports it';
  if (within(file, 'src/protocol') && !(within(to, 'src/protocol') || within(to, 'src/util') || to === 'src/errors')) {
    return 'the codec (src/protocol) imports only src/util and src/errors.ts';
  }
  if (within(file, 'src/util') && !(within(to, 'src/util') || to === 'src/errors')) return 'src/util imports only itself and src/errors.ts';
  if (within(file, 'src/storage') && (within(to, 'src/server') || within(to, 'src/client'))) return 'src/storage never imports src/server or src/client';
  if (within(file, 'src/client') && within(to, 'src/server')) return 'src/client never imports src/server';
  if (within(file, 'src/server') && within(to, 'src/client')) return 'src/server never imports src/client';
  return undefined;
}

describe('import rules', () => {
  const files = [...sources('src'), ...sources('bin')];

  it('finds every layer (an empty walk would pass anything)', () => {
    for (const layer of ['src/cli', 'src/protocol', 'src/util', 'src/storage', 'src/client', 'src/server', 'bin']) {
      expect(files.filter((f) => within(f, layer)).length, layer).toBeGreaterThan(0);
    }
    expect(files).toContain('src/cli/serve.ts');
  });

  it('no file imports what its layer must not', () => {
    const broken: string[] = [];
    for (const file of files) {
      for (const spec of specifiers(readFileSync(join(REPO, file), 'utf8'))) {
        const why = violation(file, spec);
        if (why) broken.push(`${file} imports '${spec}': ${why}`);
      }
    }
    expect(broken).toEqual([]);
  });

  it('the rules catch the imports they exist for', () => {
    expect(specifiers("import type { A } from './a.js';\nexport * from '../b.js';\nconst c = await import('../c.js');")).toEqual(['./a.js', '../b.js', '../c.js']);
    const caught: Array<[string, string]> = [
      ['src/cli/serve.ts', '../server/users/schema.js'],
      ['src/cli/get.ts', '../client/client.js'],
      ['src/cli/get.ts', '../errors.js'],
      ['src/cli/get.ts', 'basic-ftp'], // a devDependency: not there for users of the package
      ['src/cli/get.ts', 'fs'], // built-ins as node:fs, so a package named like one cannot pass
      ['bin/ftp-get.ts', '../src/index.js'],
      ['src/server/session.ts', '../cli/serve.js'],
      ['src/protocol/reply.ts', '../server/session.js'],
      ['src/protocol/reply.ts', '../storage/types.js'],
      ['src/storage/local-storage.ts', '../server/permissions.js'],
      ['src/client/client.ts', '../server/options.js'],
      ['src/server/session.ts', '../client/url.js'],
      ['src/errors.ts', './util/crc32.js'],
    ];
    for (const [file, spec] of caught) expect(violation(file, spec), `${file} -> ${spec}`).toBeDefined();
    const allowed: Array<[string, string]> = [
      ['src/cli/serve.ts', '../index.js'],
      ['src/cli/serve.ts', './users.js'],
      ['src/cli/serve.ts', 'node:net'],
      ['src/cli/serve-options.ts', 'pino'],
      ['bin/ftp-serve.ts', '../src/cli/serve.js'],
      ['src/protocol/reply.ts', '../errors.js'],
      ['src/protocol/framing.ts', '../util/crc32.js'],
      ['src/server/session.ts', '../storage/types.js'],
      ['src/client/client.ts', '../protocol/index.js'],
    ];
    for (const [file, spec] of allowed) expect(violation(file, spec), `${file} -> ${spec}`).toBeUndefined();
  });
});
