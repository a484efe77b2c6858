import { defineConfig } from 'tsup';

export default defineConfig([
  {
    // ESM: the library and the bins share chunks, so a bin is only its argv handling.
    entry: { index: 'src/index.ts', 'bin/ftp-serve': 'bin/ftp-serve.ts' },
    format: ['esm'],
    dts: { entry: { index: 'src/index.ts' } },
    splitting: true,
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
