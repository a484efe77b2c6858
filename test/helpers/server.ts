// Starts a FileServer over a fresh temp folder for a test file.
import { FileServer, type FileServerOptions } from '../../src/index.js';
import { makeTempDir } from './tmp.js';

export interface TestServer {
  server: FileServer;
  port: number;
  root: string;
  close(): Promise<void>;
}

/** alice/secret may write, bob/secret may only read; anything else is refused. */
export async function startTestServer(options: FileServerOptions = {}): Promise<TestServer> {
  const dir = await makeTempDir('ftpkit-srv-');
  const server = new FileServer({
    authenticate: ({ username, password }) => {
      if (password !== 'secret') return false;
      if (username === 'alice') return { root: dir.path, write: true };
      if (username === 'bob') return { root: dir.path, write: false };
      return false;
    },
    ...options,
  });
  const address = await server.listen();
  return {
    server,
    port: address.port,
    root: dir.path,
    async close() {
      await server.close();
      await dir.cleanup();
    },
  };
}
