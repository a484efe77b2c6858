#!/usr/bin/env node
// `npm install` (or `npm ci`) in a clone of this repository ends here (the `prepare` script,
// after the build): the package's own bins are linked into node_modules/.bin, so `npx ftp-serve`
// finds them and runs this working tree's dist/ at once. Without the links npx installs a copy of
// the package into its cache, builds it again (slow), runs that copy after every edit (stale),
// and a build killed midway leaves the cache broken. npm runs `prepare` for the project itself,
// never when ftpkit is installed as a dependency (there npm links the bins itself).
import { chmodSync, existsSync, lstatSync, mkdirSync, readFileSync, rmSync, symlinkSync } from 'node:fs';
import { dirname, join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const { bin = {} } = JSON.parse(readFileSync(join(root, 'package.json'), 'utf8'));
const binDir = join(root, 'node_modules', '.bin');

if (!existsSync(join(root, 'node_modules'))) process.exit(0); // not an install (e.g. a bare `npm pack` of a copy)
if (process.platform === 'win32') {
  console.error('ftpkit: on Windows run the bins with `node dist/bin/ftp-serve.js` (no links made)');
  process.exit(0);
}
mkdirSync(binDir, { recursive: true });
for (const [name, file] of Object.entries(bin)) {
  const target = join(root, file);
  const link = join(binDir, name);
  if (existsSync(target)) chmodSync(target, 0o755);
  // Replace whatever is there (an older link, a shim); never follow it.
  if (lstatSync(link, { throwIfNoEntry: false })) rmSync(link, { force: true });
  symlinkSync(relative(binDir, target), link);
}
