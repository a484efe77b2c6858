// One client transfer in a fresh process (so clients never share a heap or an event loop
// with the bench): `tsx bench/client-worker.ts '<json spec>'` prints {"seconds","bytes"}.
// Timed from connect to the final reply, like curl's time_total.
import { stat } from 'node:fs/promises';

export interface ClientSpec {
  client: 'FileClient' | 'basic-ftp';
  op: 'download' | 'upload';
  host: string;
  port: number;
  user: string;
  password: string;
  remote: string;
  /** upload: the local file to send; download: the file to write. */
  local: string;
}

async function main(spec: ClientSpec): Promise<{ seconds: number; bytes: number }> {
  const { host, port, user, password } = spec;
  if (spec.client === 'FileClient') {
    const { FileClient } = await import('../src/client/index.js');
    const started = performance.now();
    const client = new FileClient({ host, port, user, password });
    await client.connect();
    const r = spec.op === 'download' ? await client.download(spec.remote, spec.local) : await client.upload(spec.local, spec.remote);
    const seconds = (performance.now() - started) / 1000;
    await client.close();
    return { seconds, bytes: r.bytes };
  }
  const { Client } = await import('basic-ftp');
  const started = performance.now();
  const client = new Client(0);
  await client.access({ host, port, user, password });
  if (spec.op === 'download') await client.downloadTo(spec.local, spec.remote);
  else await client.uploadFrom(spec.local, spec.remote);
  const seconds = (performance.now() - started) / 1000;
  // basic-ftp reports no byte count: take the file's size (the transfer itself is not checked)
  const bytes = spec.op === 'download' ? await client.size(spec.remote) : (await stat(spec.local)).size;
  client.close();
  return { seconds, bytes };
}

main(JSON.parse(process.argv[2]!) as ClientSpec).then(
  (r) => {
    process.stdout.write(`${JSON.stringify(r)}\n`);
    process.exit(0);
  },
  (err: Error) => {
    process.stderr.write(`${err.message}\n`);
    process.exit(1);
  },
);
