// Run after `npm install`: node examples/embed-server.mjs
// Serves a folder to one user and an in-memory welcome file to anonymous users.
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pino } from 'pino';
import { FileServer, MemoryStorage } from 'ftpkit';

const home = mkdtempSync(join(tmpdir(), 'ftpkit-example-'));
const server = new FileServer({
  port: Number(process.env.PORT ?? 0),
  logger: pino({ level: 'info' }, pino.destination(2)),
  // A real server checks a password hash: the built-in users file does (README, "Users"; `ftp-serve users add`).
  authenticate: ({ username, password }) =>
    username === 'demo' && password === 'demo' ? { root: home, write: true } : false,
  anonymous: { storage: new MemoryStorage({ '/welcome.txt': 'Hello from ftpkit\n' }), write: false },
});

server.on('login', ({ username, remoteAddress }) => console.error(`login: ${username} from ${remoteAddress}`));
server.on('transfer-end', ({ command, path, bytes, ok }) => console.error(`${command} ${path}: ${bytes} bytes, ${ok ? 'ok' : 'failed'}`));

const { address, port } = await server.listen();
console.log(`ftp://${address}:${port} (demo:demo writes to ${home}; anonymous reads /welcome.txt)`);

process.once('SIGINT', () => void server.close());
process.once('SIGTERM', () => void server.close());
