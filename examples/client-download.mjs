// Run after `npm install` (which builds dist/):
//   node examples/client-download.mjs                      # against a throwaway in-process server
//   node examples/client-download.mjs ftp://user:pw@host/path/file.bin
// Downloads one file with progress, lists its folder, and shows abort + errors.
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { basename, join } from 'node:path';
import { FileClient, FileServer, FtpError, MemoryStorage, parseFtpUrl } from 'ftpkit';

let server;
let target = process.argv[2];
if (!target) {
  // No URL given: serve 8 MB from memory so the example runs anywhere.
  server = new FileServer({
    anonymous: { storage: new MemoryStorage({ '/pub/demo.bin': Buffer.alloc(8 * 1024 * 1024, 42) }), write: false },
  });
  const { port } = await server.listen();
  target = `ftp://127.0.0.1:${port}/pub/demo.bin`;
}

const url = parseFtpUrl(target);
const client = new FileClient({
  host: url.host,
  port: url.port,
  user: url.user ?? 'anonymous',
  password: url.password ?? 'anonymous@',
  timeout: 15_000,
});
client.on('progress', (p) => {
  const pct = p.total ? ` ${Math.floor((100 * p.bytes) / p.total)}%` : '';
  console.error(`${p.name}: ${p.bytes} bytes${pct} at ${(p.rate / 1e6).toFixed(1)} MB/s${p.done ? ' (done)' : ''}`);
});
client.on('warning', (message) => console.error(`warning: ${message}`));

try {
  await client.connect();
  console.log('server features:', [...client.features.keys()].join(' '));
  const folder = url.path.slice(0, url.path.lastIndexOf('/') + 1) || '/';
  for (const entry of await client.list(folder)) {
    console.log(`${entry.type.padEnd(4)} ${String(entry.size ?? '-').padStart(10)} ${entry.name}`);
  }
  const dest = join(mkdtempSync(join(tmpdir(), 'ftpkit-dl-')), basename(url.path));
  // Every operation takes an AbortSignal; this one gives up after 60 s.
  const { bytes } = await client.download(url.path, dest, { signal: AbortSignal.timeout(60_000) });
  console.log(`saved ${bytes} bytes to ${dest}`);
  // Errors carry a stable code and, for server refusals, the reply code.
  await client.size('/no/such/file').catch((err) => {
    if (err instanceof FtpError) console.log(`expected failure: ${err.code} ${err.replyCode ?? ''} ${err.message}`);
  });
} finally {
  await client.close();
  await server?.close();
}
