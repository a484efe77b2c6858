// The published types as a consumer sees them (issue 17): the tarball `npm pack`
// makes is checked by @arethetypeswrong/cli, then installed into a scratch
// node_modules and compiled by one consumer project per module resolution
// (test/types/<mode>/: NodeNext and Node16 from ESM and CommonJS, bundler,
// node10), with skipLibCheck on and off. Each consumer uses the typed events
// and `// @ts-expect-error` lines, so types that decay to `any` fail too.
//
// Needs `npm run build` first (npm test does it). The projects are compiled
// in this process with the TypeScript API, sharing parsed declaration files
// between them: twelve `tsc -p` runs cost about a minute on two cores, most of
// it checking @types/node again each time. With skipLibCheck off, what is
// checked is the consumer and every ftpkit declaration file; errors inside
// third-party declarations (@types/node, pino) are theirs, not ours.
import { execFile } from 'node:child_process';
import { readdirSync, statSync } from 'node:fs';
import { cp, mkdir, readFile, symlink, writeFile } from 'node:fs/promises';
import { join, sep } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import ts from 'typescript';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { makeTempDir, type TempDir } from '../helpers/tmp.js';

const run = promisify(execFile);
const ROOT = fileURLToPath(new URL('../..', import.meta.url));
const MODES = readdirSync(join(ROOT, 'test/types')).sort();
/** Which declaration file each mode must resolve to: the exports map's "require" or "import" types, or "types". */
const EXPECTED_ENTRY: Record<string, string> = {
  'nodenext-esm': 'index.d.ts',
  'nodenext-cjs': 'index.d.cts',
  'node16-esm': 'index.d.ts',
  'node16-cjs': 'index.d.cts',
  bundler: 'index.d.ts',
  node10: 'index.d.ts',
};

/** Newest modification time under `dir`, in ms. */
function newest(dir: string): number {
  let max = 0;
  for (const entry of readdirSync(dir, { withFileTypes: true })) {
    const full = join(dir, entry.name);
    max = Math.max(max, entry.isDirectory() ? newest(full) : statSync(full).mtimeMs);
  }
  return max;
}

let tmp: TempDir;
let tarball: string;

beforeAll(async () => {
  const built = ['index.d.ts', 'index.d.cts'].map((f) => statSync(join(ROOT, 'dist', f), { throwIfNoEntry: false })?.mtimeMs ?? 0);
  if (Math.min(...built) < newest(join(ROOT, 'src'))) {
    throw new Error('dist/ is missing or older than src/: run `npm run build` before this test');
  }
  tmp = await makeTempDir('ftpkit-types-');
  const { stdout } = await run('npm', ['pack', '--ignore-scripts', '--json', '--pack-destination', tmp.path], { cwd: ROOT });
  tarball = join(tmp.path, (JSON.parse(stdout) as { filename: string }[])[0]!.filename);
  const modules = join(tmp.path, 'node_modules');
  await mkdir(join(modules, 'ftpkit'), { recursive: true });
  await run('tar', ['-xzf', tarball, '-C', join(modules, 'ftpkit'), '--strip-components=1']);
  // The package's dependencies and @types/node, as npm would install them beside it.
  const { dependencies } = (await import(join(ROOT, 'package.json'), { with: { type: 'json' } })).default as { dependencies: Record<string, string> };
  await mkdir(join(modules, '@types'));
  for (const name of [...Object.keys(dependencies), '@types/node']) {
    await symlink(join(ROOT, 'node_modules', name), join(modules, name), 'dir');
  }
  await cp(join(ROOT, 'test/types'), join(tmp.path, 'types'), { recursive: true });
  // One consumer source for all modes, under the name each project's tsconfig lists.
  const consumer = await readFile(join(ROOT, 'test/type-consumer/consumer.ts'), 'utf8');
  for (const mode of MODES) {
    const config = ts.readConfigFile(join(ROOT, 'test/types', mode, 'tsconfig.json'), ts.sys.readFile).config as { files: string[] };
    await writeFile(join(tmp.path, 'types', mode, config.files[0]!), consumer);
  }
});

afterAll(async () => {
  await tmp?.cleanup();
});

/** Declaration files parsed once for all projects (the key holds what changes a parse). */
const parsed = new Map<string, ts.SourceFile | undefined>();

function compile(mode: string, skipLibCheck: boolean): { errors: string; files: string[] } {
  const dir = join(tmp.path, 'types', mode);
  const config = ts.readConfigFile(join(dir, 'tsconfig.json'), ts.sys.readFile);
  const { options, fileNames, errors } = ts.parseJsonConfigFileContent(config.config, ts.sys, dir, { skipLibCheck });
  const host = ts.createCompilerHost(options, true);
  const parse = host.getSourceFile.bind(host);
  host.getSourceFile = (fileName, language, onError, fresh) => {
    if (!fileName.endsWith('.d.ts') && !fileName.endsWith('.d.cts') && !fileName.endsWith('.d.mts')) return parse(fileName, language, onError, fresh);
    const key = `${fileName}\0${typeof language === 'object' ? `${language.languageVersion}/${String(language.impliedNodeFormat)}` : language}`;
    if (!parsed.has(key)) parsed.set(key, parse(fileName, language, onError, fresh));
    return parsed.get(key);
  };
  const program = ts.createProgram({ rootNames: fileNames, options, host, configFileParsingDiagnostics: errors });
  const ours = (f: ts.SourceFile): boolean => !f.fileName.includes(`${sep}node_modules${sep}`) || f.fileName.includes(`${sep}node_modules${sep}ftpkit${sep}`);
  const diagnostics = skipLibCheck
    ? ts.getPreEmitDiagnostics(program) // what `tsc -p` reports: .d.ts files are not checked
    : [
        ...program.getConfigFileParsingDiagnostics(),
        ...program.getOptionsDiagnostics(),
        ...program.getGlobalDiagnostics(),
        ...program.getSyntacticDiagnostics(),
        ...program.getSourceFiles().filter(ours).flatMap((f) => program.getSemanticDiagnostics(f)),
      ];
  const errorText = ts.formatDiagnostics(diagnostics, {
    getCanonicalFileName: (f) => f,
    getCurrentDirectory: () => dir,
    getNewLine: () => '\n',
  });
  return { errors: errorText, files: program.getSourceFiles().map((f) => f.fileName) };
}

describe('published types', () => {
  it('has a consumer project for every resolution mode', () => {
    expect(MODES).toEqual(Object.keys(EXPECTED_ENTRY).sort());
  });

  it('passes @arethetypeswrong/cli on the npm pack tarball', async () => {
    const attw = join(ROOT, 'node_modules/.bin/attw');
    // attw exits 1 when it finds problems; the JSON says which.
    const out = await run(attw, [tarball, '--format', 'json'], { maxBuffer: 64 * 1024 * 1024 }).catch((err: { stdout: string }) => err);
    const report = JSON.parse(out.stdout) as { analysis: { problems: unknown[] } };
    expect(report.analysis.problems).toEqual([]);
  });

  for (const mode of MODES) {
    for (const skipLibCheck of [true, false]) {
      it(`type-checks the ${mode} consumer with skipLibCheck ${skipLibCheck}`, () => {
        const { errors, files } = compile(mode, skipLibCheck);
        expect(errors).toBe('');
        const entry = join(tmp.path, 'node_modules', 'ftpkit', 'dist', EXPECTED_ENTRY[mode]!);
        expect(files).toContain(entry);
      });
    }
  }
});
