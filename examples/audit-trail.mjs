// Run after `npm install`: node examples/audit-trail.mjs [AUDIT_FILE]
// Serves a folder and keeps an audit trail: one JSON line per login, failed login, file command,
// refusal and security event in AUDIT_FILE (default ./audit.jsonl), apart from the server's
// other logs; transfers also go to an xferlog beside it. Ctrl-C prints the counters and stops.
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pino } from 'pino';
import { FileServer, attachAuditLog, attachXferLog } from 'ftpkit';

const auditFile = process.argv[2] ?? 'audit.jsonl';
const home = mkdtempSync(join(tmpdir(), 'ftpkit-audit-'));
const server = new FileServer({
  port: Number(process.env.PORT ?? 0),
  // A real server would check a password hash (see the users file in the README).
  authenticate: ({ username, password }) => (username === 'demo' && password === 'demo' ? { root: home, write: true } : false),
});

// The audit trail: its own file, appended to, never a password (the events carry none).
const trail = pino({ level: 'info' }, pino.destination({ dest: auditFile, append: true, sync: true }));
attachAuditLog(server, trail);
attachXferLog(server, pino.destination({ dest: `${auditFile}.xferlog`, append: true, sync: true }));

// The same facts as events, for a pipeline of your own (a database, a SIEM):
server.on('command-end', ({ verb, paths, code, username }) => {
  if (verb === 'DELE' && code === 250) console.error(`${username} deleted ${paths[0]}`);
});

const { address, port } = await server.listen();
console.log(`ftp://${address}:${port} (demo:demo writes to ${home}); audit trail in ${auditFile}`);

const stop = () => {
  console.error(JSON.stringify(server.stats()));
  void server.close().then(() => process.exit(0));
};
process.once('SIGINT', stop);
process.once('SIGTERM', stop);
