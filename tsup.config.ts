import { readFileSync } from 'node:fs';
import { defineConfig } from 'tsup';

const { version } = JSON.parse(readFileSync('package.json', 'utf8')) as { version: string };

export default defineConfig([
  {
    // ESM: the library and the bins share chunks, so a bin is only its argv handling.
    entry: { index: 'src/index.ts', 'bin/ftp-serve': 'bin/ftp-serve.ts', 'bin/ftp-get': 'bin/ftp-get.ts', 'bin/ftp-put': 'bin/ftp-put.ts' },
    format: ['esm'],
    dts: { entry: { index: 'src/index.ts' } },
    splitting: true,
    define: { FTPKIT_VERSION: JSON.stringify(version) },
    sourcemap: true,
    clean: true,
    target: 'node20',
  },
  {
    entry: { index: 'src/index.ts' },
    format: ['cjs'],
    dts: { entry: { index: 'src/index.ts' } },
    sourcemap: true,
    target: 'node20',
  },
]);
