// ftp-srv (npm) as a bench peer, same environment contract as ftpkit-server.ts.
// Its bunyan logging is replaced by a no-op logger so log lines cost nothing.
import { FtpSrv } from 'ftp-srv';

const env = process.env;
const noop = (): void => {};
const log: Record<string, unknown> = { trace: noop, debug: noop, info: noop, warn: noop, error: noop, fatal: noop };
log.child = () => log;

const server = new FtpSrv({
  url: 'ftp://127.0.0.1:0',
  pasv_url: '127.0.0.1',
  pasv_min: Number(env.FTPKIT_PASV_MIN ?? 10000),
  pasv_max: Number(env.FTPKIT_PASV_MAX ?? 19999),
  greeting: env.FTPKIT_BANNER ?? 'ftp-srv',
  anonymous: false,
  // eslint-disable-next-line @typescript-eslint/no-explicit-any
  log: log as any,
});
server.on('login', ({ username, password }, resolve, reject) => {
  if (username === env.FTPKIT_USER && password === env.FTPKIT_PASSWORD) resolve({ root: env.FTPKIT_ROOT! });
  else reject(new Error('login refused'));
});
server.on('client-error', noop);
await server.listen();
// eslint-disable-next-line @typescript-eslint/no-explicit-any
const address = (server as any).server.address() as { port: number };
process.stdout.write(`PORT ${address.port}\n`);
process.stdin.resume();
process.stdin.on('close', () => process.exit(0));
process.stdin.on('end', () => process.exit(0));
