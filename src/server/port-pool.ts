import type { Server } from 'node:net';

/**
 * Hands out passive ports. With no range the OS picks (port 0). With a range, a rotating cursor
 * tries each port once and lets EADDRINUSE move on: binding is the check, so there is no
 * bind-close-rebind race (ftp-srv's "Unable to find valid port").
 */
export class PassivePortPool {
  readonly #range: [number, number] | undefined;
  #cursor: number;

  constructor(range?: [number, number]) {
    this.#range = range;
    this.#cursor = range ? range[0] : 0;
  }

  /** Listens `server` on `host` at a free port of the range; resolves with the port. */
  async listen(server: Server, host: string): Promise<number> {
    if (!this.#range) return listenOnce(server, host, 0);
    const [min, max] = this.#range;
    const size = max - min + 1;
    for (let i = 0; i < size; i++) {
      const port = this.#cursor;
      this.#cursor = port >= max ? min : port + 1;
      try {
        return await listenOnce(server, host, port);
      } catch (err) {
        const code = (err as NodeJS.ErrnoException).code;
        if (code !== 'EADDRINUSE' && code !== 'EACCES') throw err;
      }
    }
    throw Object.assign(new Error('no free passive port in range'), { code: 'EADDRINUSE' });
  }
}

function listenOnce(server: Server, host: string, port: number): Promise<number> {
  return new Promise((resolve, reject) => {
    const onError = (err: Error): void => {
      server.off('listening', onListening);
      reject(err);
    };
    const onListening = (): void => {
      server.off('error', onError);
      const addr = server.address();
      resolve(typeof addr === 'object' && addr ? addr.port : port);
    };
    server.once('error', onError);
    server.once('listening', onListening);
    server.listen({ host, port, exclusive: true, backlog: 4 });
  });
}
