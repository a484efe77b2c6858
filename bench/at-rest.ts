// What compression at rest costs: STOR and RETR throughput through a FileServer with and
// without `compressAtRest`, for 256 MiB of text (a log) and 256 MiB of random data, with curl
// as the client. Prints a markdown table. On demand only (not part of the tests):
//
//   npx tsx bench/at-rest.ts [MiB]        (default 256)
//
// Server and curl share the machine: on a small or busy one the numbers are noisy.
import { mkdtemp, rm, stat } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { FileServer } from '../src/index.js';
import { curlRetr, curlStorFile } from './curl.js';
import { writeRandom, writeText } from './fixtures.js';
import { MiB, median } from './util.js';

const SIZE = Number(process.argv[2] ?? 256) * MiB;
const RUNS = 3;
const TIMEOUT = 10 * 60_000;

interface Measure {
  stor: number;
  retr: number;
  onDisk: number;
}

async function measure(file: string, compress: boolean): Promise<Measure> {
  const root = await mkdtemp(join(tmpdir(), 'ftpkit-bench-rest-'));
  const server = new FileServer({
    compressAtRest: compress,
    authenticate: ({ username, password }) => (username === 'u' && password === 'p' ? { root, write: true } : false),
  });
  const { port } = await server.listen();
  const target = { host: '127.0.0.1', port, user: 'u', password: 'p' };
  const stor: number[] = [];
  const retr: number[] = [];
  try {
    for (let i = 0; i < RUNS; i++) {
      const up = await curlStorFile(target, file, '/f', TIMEOUT);
      stor.push(up.bytes / up.seconds / MiB);
      const down = await curlRetr(target, '/f', TIMEOUT);
      if (down.bytes !== SIZE) throw new Error(`RETR gave ${down.bytes} bytes`);
      retr.push(down.bytes / down.seconds / MiB);
    }
    return { stor: median(stor), retr: median(retr), onDisk: (await stat(join(root, 'f'))).size };
  } finally {
    await server.close();
    await rm(root, { recursive: true, force: true });
  }
}

const dir = await mkdtemp(join(tmpdir(), 'ftpkit-bench-rest-src-'));
try {
  const text = join(dir, 'text.log');
  const random = join(dir, 'random.bin');
  await writeText(text, SIZE);
  await writeRandom(random, SIZE);
  const rows: string[] = [];
  for (const [label, file] of [
    ['text log', text],
    ['random', random],
  ] as const) {
    const plain = await measure(file, false);
    const packed = await measure(file, true);
    const f = (n: number): string => n.toFixed(0);
    rows.push(
      `| ${label} | ${f(plain.stor)} | ${f(packed.stor)} | ${(packed.stor / plain.stor).toFixed(2)} | ${f(plain.retr)} | ${f(packed.retr)} | ${(packed.retr / plain.retr).toFixed(2)} | ${(packed.onDisk / SIZE).toFixed(4)} |`,
    );
  }
  console.log(`\n${SIZE / MiB} MiB per file, curl over loopback, median of ${RUNS}; MiB/s (level 6, 64 KiB blocks)\n`);
  console.log('| data | STOR plain | STOR at rest | ratio | RETR plain | RETR at rest | ratio | on disk / original |');
  console.log('|---|---|---|---|---|---|---|---|');
  for (const r of rows) console.log(r);
} finally {
  await rm(dir, { recursive: true, force: true });
}
