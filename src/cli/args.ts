// Argument parsing shared by the bins: node:util parseArgs with its errors as UsageError, and the
// flags every bin has with the same meaning (-h/--help, -V/--version, -v/--verbose).
import { parseArgs, type ParseArgsConfig } from 'node:util';
import { UsageError } from './usage-error.js';

declare const FTPKIT_VERSION: string;

/** The package version, stamped in at build time. */
export const version: string = typeof FTPKIT_VERSION === 'string' ? FTPKIT_VERSION : '0.0.0-dev';

/** -h, -V and -v mean the same in ftp-serve, ftp-get and ftp-put. */
export const STANDARD_OPTIONS = {
  help: { type: 'boolean', short: 'h', default: false },
  version: { type: 'boolean', short: 'V', default: false },
  verbose: { type: 'boolean', short: 'v', default: false },
} as const;

export const STANDARD_HELP = `  -v, --verbose           more detail on stderr
  -h, --help              show this help
  -V, --version           show the version
`;

type Options = NonNullable<ParseArgsConfig['options']>;
export type ParsedFlags<O extends Options> = ReturnType<typeof parseArgs<{ args: string[]; options: O; allowPositionals: true; strict: true }>>;

/** parseArgs (strict, positionals allowed) whose mistakes are UsageErrors. */
export function parseFlags<O extends Options>(args: string[], options: O): ParsedFlags<O> {
  try {
    return parseArgs({ args, options, allowPositionals: true, strict: true });
  } catch (err) {
    throw new UsageError((err as Error).message);
  }
}

/** --help or --version asked: prints it and returns true. */
export function printedHelpOrVersion(values: { help?: boolean | undefined; version?: boolean | undefined }, help: string): boolean {
  if (values.help) process.stdout.write(help);
  else if (values.version) process.stdout.write(`${version}\n`);
  else return false;
  return true;
}
