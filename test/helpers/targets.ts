// Servers the client suites run against: every Debian peer, plus ftpkit's own FileServer.
import { PEERS, startPeer } from './peers.js';
import { startTestServer } from './server.js';

/** What a client suite needs from a server: a login, the host folder it serves as '/', and cleanup. */
export interface Target {
  host: string;
  port: number;
  user: string;
  password: string;
  root: string;
  /** Hands files the test wrote (as root) to the server's user. */
  adopt(): Promise<void>;
  stop(): Promise<void>;
}

export type TargetName = (typeof PEERS)[number] | 'ftpkit';

export async function startTarget(name: TargetName): Promise<Target> {
  if (name !== 'ftpkit') return startPeer(name);
  const srv = await startTestServer();
  return { host: '127.0.0.1', port: srv.port, user: 'alice', password: 'secret', root: srv.root, adopt: async () => {}, stop: () => srv.close() };
}
