// What MODE Z buys and costs: bytes on the wire, time and CPU of one RETR and one STOR of a text
// log and of random data, MODE Z (level 6) against MODE S, on loopback and over a link limited
// to 100 Mbit/s (the user's downloadRate/uploadRate, which pace the bytes on the wire). Server
// and client (FileClient) run in this one process: CPU is both ends together. Prints a markdown
// table. On demand only (not part of the tests):
//
//   npx tsx bench/mode-z.ts [MiB]        (default 1024)
//
// On a small or busy machine the times are noisy; the wire bytes are exact.
import { mkdtemp, rm, stat } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Writable } from 'node:stream';
import { FileClient, FileServer } from '../src/index.js';
import { writeRandom, writeText } from './fixtures.js';
import { MiB } from './util.js';

const SIZE = Number(process.argv[2] ?? 1024) * MiB;
/** 100 Mbit/s in bytes per second. */
const LINK = 100_000_000 / 8;

interface Sample {
  wire: number;
  seconds: number;
  cpu: number;
}

/** Runs `fn`; the server's transfer-end gives the wire bytes. */
async function sample(server: FileServer, fn: () => Promise<unknown>): Promise<Sample> {
  let wire = 0;
  const onEnd = (e: { bytes: number }): void => void (wire = e.bytes);
  server.on('transfer-end', onEnd);
  const cpu0 = process.cpuUsage();
  const t0 = performance.now();
  await fn();
  const seconds = (performance.now() - t0) / 1000;
  const cpu = process.cpuUsage(cpu0);
  server.off('transfer-end', onEnd);
  return { wire, seconds, cpu: (cpu.user + cpu.system) / 1e6 };
}

async function measure(file: string, compress: boolean, limited: boolean): Promise<{ retr: Sample; stor: Sample }> {
  const root = await mkdtemp(join(tmpdir(), 'ftpkit-bench-modez-'));
  const rates = limited ? { downloadRate: LINK, uploadRate: LINK } : {};
  const server = new FileServer({
    authenticate: ({ username, password }) => (username === 'u' && password === 'p' ? { root, write: true, ...rates } : false),
  });
  const { port } = await server.listen();
  const client = new FileClient({ host: '127.0.0.1', port, user: 'u', password: 'p', compress, timeout: 600_000 });
  try {
    await client.connect();
    if (client.compressed !== compress) throw new Error('MODE Z was not negotiated as asked');
    const stor = await sample(server, () => client.upload(file, '/f'));
    if ((await stat(join(root, 'f'))).size !== SIZE) throw new Error('STOR stored the wrong size');
    let got = 0;
    const sink = new Writable({ write: (c: Buffer, _e, cb) => ((got += c.length), cb()) });
    const retr = await sample(server, () => client.download('/f', sink));
    if (got !== SIZE) throw new Error(`RETR gave ${got} bytes`);
    return { retr, stor };
  } finally {
    await client.close();
    await server.close();
    await rm(root, { recursive: true, force: true });
  }
}

const dir = await mkdtemp(join(tmpdir(), 'ftpkit-bench-modez-src-'));
try {
  const text = join(dir, 'text.log');
  const random = join(dir, 'random.bin');
  await writeText(text, SIZE);
  await writeRandom(random, SIZE);
  const rows: string[] = [];
  const f = (s: Sample): string => `${(s.wire / MiB).toFixed(1)} MiB | ${s.seconds.toFixed(1)} s | ${s.cpu.toFixed(1)} s`;
  for (const limited of [false, true]) {
    for (const [label, file] of [['text log', text], ['random', random]] as const) {
      for (const compress of [false, true]) {
        const m = await measure(file, compress, limited);
        const link = limited ? '100 Mbit/s' : 'loopback';
        rows.push(`| ${label} | ${link} | ${compress ? 'Z' : 'S'} | RETR | ${f(m.retr)} |`, `| ${label} | ${link} | ${compress ? 'Z' : 'S'} | STOR | ${f(m.stor)} |`);
      }
    }
  }
  console.log(`\n${SIZE / MiB} MiB per file, FileClient and FileServer in one process (CPU is both ends); level 6\n`);
  console.log('| data | link | MODE | command | on the wire | time | CPU |');
  console.log('|---|---|---|---|---|---|---|');
  for (const r of rows) console.log(r);
} finally {
  await rm(dir, { recursive: true, force: true });
}
