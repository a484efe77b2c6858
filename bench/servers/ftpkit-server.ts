// ftpkit as a bench peer: its own process (a fair RSS figure), configured from the
// environment like test/helpers/pyftpd.py. Bundled by bench/servers.ts, run with plain node.
//   FTPKIT_USER, FTPKIT_PASSWORD, FTPKIT_ROOT, FTPKIT_BANNER
//   FTPKIT_TLS_CERT, FTPKIT_TLS_KEY (PEM paths): FTPS required (the bench's step 5)
//   FTPKIT_UPLOAD_FSYNC=0: uploadFsync: false (the real-disk STOR row)
// Prints "PORT <n>" once listening; exits when stdin closes (the bench went away).
import { readFileSync } from 'node:fs';
import { FileServer, createStaticAuthenticator } from '../../src/index.js';

const env = process.env;
const tls = env.FTPKIT_TLS_CERT && env.FTPKIT_TLS_KEY ? { cert: readFileSync(env.FTPKIT_TLS_CERT), key: readFileSync(env.FTPKIT_TLS_KEY) } : undefined;
const server = new FileServer({
  host: '127.0.0.1',
  port: 0,
  greeting: env.FTPKIT_BANNER ?? 'ftpkit',
  maxConnectionsPerAddress: 0, // ftpbench opens 1,000 sessions from 127.0.0.1 (the default is 50)
  ...(tls ? { tls, requireTls: true } : {}),
  uploadFsync: env.FTPKIT_UPLOAD_FSYNC !== '0',
  authenticate: createStaticAuthenticator([{ username: env.FTPKIT_USER!, password: env.FTPKIT_PASSWORD! }], {
    root: env.FTPKIT_ROOT!,
    write: true,
  }),
});
const { port } = await server.listen();
process.stdout.write(`PORT ${port}\n`);
process.stdin.resume();
process.stdin.on('close', () => process.exit(0));
process.stdin.on('end', () => process.exit(0));
// A clean exit on the bench's SIGTERM, so FTPKIT_BENCH_NODE_ARGS=--cpu-prof writes its profile.
process.on('SIGTERM', () => process.exit(0));
