#!/usr/bin/env node
// Builds the optional zero-copy addon (native/zero-copy.cc) with the node-gyp that ships with npm.
// Optional by design: no compiler, no headers, another OS -> one line, exit 0, and ftpkit
// uses its JavaScript path. FTPKIT_NATIVE=0 skips the build.
import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { createRequire } from 'node:module';

if (process.platform !== 'linux' || process.env.FTPKIT_NATIVE === '0') process.exit(0);
// `npx ftp-serve` in the repository installs it into npx's cache as a link and runs this again
// (npm_command=exec, see prepare.mjs): an addon already built is kept.
const built = join(dirname(dirname(new URL(import.meta.url).pathname)), 'build', 'Release', 'ftpkit_sendfile.node');
if (process.env.npm_command === 'exec' && existsSync(built)) process.exit(0);

function findNodeGyp() {
  const candidates = [];
  if (process.env.npm_config_node_gyp) candidates.push(process.env.npm_config_node_gyp);
  try {
    candidates.push(createRequire(import.meta.url).resolve('node-gyp/bin/node-gyp.js'));
  } catch {}
  // npm's own copy, next to the node binary's npm
  const prefix = dirname(dirname(process.execPath));
  candidates.push(join(prefix, 'lib/node_modules/npm/node_modules/node-gyp/bin/node-gyp.js'));
  return candidates.find((p) => existsSync(p));
}

const gyp = findNodeGyp();
if (!gyp) {
  console.error('ftpkit: node-gyp not found; zero-copy sends off (the JavaScript path is used)');
  process.exit(0);
}
const args = [gyp, 'rebuild', '--silent'];
// Headers installed with node (Debian's nodejs, official tarballs): build offline against them.
const prefix = dirname(dirname(process.execPath));
if (!process.env.npm_config_nodedir && existsSync(join(prefix, 'include/node/node_api.h'))) args.push(`--nodedir=${prefix}`);
const run = spawnSync(process.execPath, args, { stdio: ['ignore', 'ignore', 'pipe'], encoding: 'utf8' });
if (run.status !== 0) {
  const why = (run.stderr || '').split('\n').find((l) => /error/i.test(l)) ?? `exit ${run.status}`;
  console.error(`ftpkit: zero-copy addon not built (${why.trim()}); the JavaScript path is used`);
}
