// One consumer for every resolution mode: types.test.ts copies it into each test/types/MODE project under the name its tsconfig lists (.ts, .mts or .cts).
import { FileClient, FileServer, FtpError } from 'ftpkit';

const server = new FileServer({ anonymous: { root: '/srv/ftp' } });
server.on('login', (info) => {
  const user: string = info.username;
  void user;
});
// @ts-expect-error: FileServer has no 'logon' event
server.on('logon', () => {});
// @ts-expect-error: 'login' listeners get an object, not a number
server.on('login', (n: number) => n);

const client = new FileClient({ host: '127.0.0.1', user: 'alice', password: 'secret' });
client.on('progress', (p) => {
  const bytes: number = p.bytes;
  void bytes;
});
// @ts-expect-error: FileClient's warnings are strings
client.on('warning', (m: number) => m);
// @ts-expect-error: the option is 'user', not 'username' (basic-ftp's name)
void new FileClient({ host: '127.0.0.1', username: 'alice' });

export async function main(): Promise<void> {
  const c = await FileClient.connect('ftp://alice:secret@127.0.0.1:2121/', { timeout: 5000 });
  const got = await c.download({ from: '/remote.txt', to: './local.txt' });
  const bytes: number = got.bytes;
  const sent = await c.upload({ from: Buffer.from('hi'), to: '/hi.txt' });
  const exists: boolean = await c.exists('/remote.txt');
  const info = await c.stat('/remote.txt');
  const size: number | undefined = info.size;
  const tree = await c.downloadTree({ from: '/pub', to: './pub' });
  const failures: number = tree.failures.length;
  // @ts-expect-error: an argument object says 'from' and 'to'
  await c.download({ remote: '/remote.txt', local: './local.txt' });
  try {
    await c.remove('/remote.txt');
  } catch (err) {
    if (err instanceof FtpError && err.code === 'FTPKIT_ERR_REPLY') console.log(err.replyCode);
  }
  void [bytes, sent, exists, size, failures];
  await c.close();
}
