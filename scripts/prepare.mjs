#!/usr/bin/env node
// `prepare`, which npm runs for this repository's own `npm install` / `npm ci` (and before
// `npm pack`), never when ftpkit is installed from the registry: builds dist/ with tsup, then
// links the package's own bins into node_modules/.bin (link-bins.mjs).
//
// `npx ftp-serve` inside the repository does not run node_modules/.bin/ftp-serve: npm 11 sees
// that the project itself has that bin and installs the project into npx's cache as a symlink
// to this folder, running its lifecycle scripts again (npm_command=exec). The folder is built
// already, so that second run returns at once: npx starts in a second or two and runs the
// working tree's dist/ (after an edit, `npm run build`). Older npm runs node_modules/.bin.
import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
if (process.env.npm_command === 'exec' && existsSync(join(root, 'dist', 'bin', 'ftp-serve.js'))) process.exit(0);
const tsup = spawnSync('tsup', [], { cwd: root, stdio: 'inherit', shell: process.platform === 'win32' });
if (tsup.status !== 0) process.exit(tsup.status ?? 1);
await import('./link-bins.mjs');
