// Real third-party FTP servers for interop tests, each started in the
// foreground on 127.0.0.1 with a fresh temp home and a known user.
//
//   const peer = await startPeer('vsftpd');
//   afterAll(() => peer.stop());
//   // ftp://ftpkit-test:ftpkit-secret@127.0.0.1:${peer.port}/  -> peer.root
//
// Installs come from .ci/run (vsftpd via apt; pure-ftpd and proftpd unpacked
// into <repo>/.peers). See REFERENCE.md "Installing and starting peers here".
import { spawnSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { existsSync } from 'node:fs';
import { chmod, chown, mkdir, readdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { freePort, makeTempDir, type TempDir } from './tmp.js';
import { spawnServer, waitForBanner, type ServerProcess } from './peer-process.js';

export type PeerName = 'vsftpd' | 'pure-ftpd' | 'proftpd' | 'pyftpdlib';
export const PEERS: readonly PeerName[] = ['vsftpd', 'pure-ftpd', 'proftpd', 'pyftpdlib'];

/** Same credentials on every peer. vsftpd/pure-ftpd map it to the system user of that name. */
export const PEER_USER = 'ftpkit-test';
export const PEER_PASSWORD = 'ftpkit-secret';
/** Anonymous login (when started with { anonymous: true }): read-only. */
export const ANON_USER = 'anonymous';
export const ANON_PASSWORD = 'ftpkit@example.com';

export interface PeerOptions {
  /** Also allow read-only anonymous login, rooted at `peer.anonymous.root`. Not supported by pure-ftpd. */
  anonymous?: boolean;
  /** Deadline for the 220 greeting, default 15 s. */
  startTimeoutMs?: number;
  /**
   * Explicit FTPS, required for the test user, with the test certificate
   * (test/fixtures/tls, trust it with TEST_CERT): vsftpd `ssl_enable=YES`,
   * ProFTPD mod_tls `TLSRequired on`. Both require data connections to resume
   * the control TLS session (their defaults). Only vsftpd and proftpd.
   */
  tls?: boolean;
}

export interface Peer {
  name: PeerName;
  host: '127.0.0.1';
  port: number;
  user: string;
  password: string;
  /** Host folder the user sees as its home ('/'); writable by the peer's user. */
  root: string;
  /** uid/gid the peer writes files as (files you put in root should be owned by them: see adopt()). */
  uid: number;
  gid: number;
  pasvPorts: [number, number];
  /** Server pid; it leads its own process group (sessions included). */
  pid: number;
  anonymous?: { user: string; password: string; root: string };
  /** chown -R root (or a path inside it) to uid:gid, so the peer may overwrite/delete files the test wrote. */
  adopt(path?: string): Promise<void>;
  /** Kills the server (process group) and removes its temp files. Idempotent. */
  stop(): Promise<void>;
  /** Last few KB of the server's stdout/stderr (debugging). */
  output(): string;
}

export const REPO_ROOT = fileURLToPath(new URL('../..', import.meta.url));
export const PEERS_DIR = process.env.FTPKIT_PEERS_DIR ?? join(REPO_ROOT, '.peers');
const PYTHON = '/usr/bin/python3';
/** The FTPS test certificate (self-signed, localhost/127.0.0.1) and its key type for ProFTPD's directive names. */
const TLS_CERT = fileURLToPath(new URL('../fixtures/tls/cert.pem', import.meta.url));
const TLS_KEY = fileURLToPath(new URL('../fixtures/tls/key.pem', import.meta.url));
const TLS_KEY_TYPE = 'EC';
const PAM_SERVICE = 'ftpkit-vsftpd';

function firstExisting(...paths: string[]): string | undefined {
  return paths.find((p) => existsSync(p));
}

const bins = {
  vsftpd: () => firstExisting('/usr/sbin/vsftpd'),
  pureFtpd: () => firstExisting(join(PEERS_DIR, 'pure-ftpd/usr/sbin/pure-ftpd'), '/usr/sbin/pure-ftpd'),
  purePw: () => firstExisting(join(PEERS_DIR, 'pure-ftpd/usr/bin/pure-pw'), '/usr/bin/pure-pw'),
  proftpd: () => firstExisting(join(PEERS_DIR, 'proftpd/usr/sbin/proftpd'), '/usr/sbin/proftpd'),
  openssl: () => firstExisting('/usr/bin/openssl'),
};

const isRoot = (): boolean => process.getuid?.() === 0;
const availability = new Map<PeerName, string | null>();

/** Why `name` cannot run here, or null when it can. */
export function peerMissingReason(name: PeerName): string | null {
  if (availability.has(name)) return availability.get(name) ?? null;
  let why: string | null = null;
  if (name === 'pyftpdlib') {
    const r = spawnSync(PYTHON, ['-c', 'import pyftpdlib'], { stdio: 'ignore', timeout: 10_000 });
    if (r.status !== 0) why = `${PYTHON} cannot import pyftpdlib (apt-get install python3-pyftpdlib)`;
  } else if (!isRoot()) {
    why = `${name} needs root (system user, chroot)`;
  } else if (!bins.openssl() && name !== 'vsftpd') {
    why = 'openssl not installed';
  } else if (name === 'vsftpd' && !bins.vsftpd()) {
    why = 'vsftpd not installed (apt-get install vsftpd)';
  } else if (name === 'pure-ftpd' && !(bins.pureFtpd() && bins.purePw())) {
    why = `pure-ftpd not unpacked in ${PEERS_DIR} (run .ci/run install)`;
  } else if (name === 'proftpd' && !bins.proftpd()) {
    why = `proftpd not unpacked in ${PEERS_DIR} (run .ci/run install)`;
  }
  availability.set(name, why);
  return why;
}

export function peerAvailable(name: PeerName): boolean {
  return peerMissingReason(name) === null;
}

/**
 * For `describe.skipIf(!requirePeer('vsftpd'))`: true when the peer can run.
 * When it cannot, tests are skipped locally, but with CI=true this throws, so
 * a broken CI install fails loudly instead of silently skipping interop.
 */
export function requirePeer(name: PeerName): boolean {
  const why = peerMissingReason(name);
  if (why === null) return true;
  if (process.env.CI === 'true') throw new Error(`peer ${name} is required in CI but unavailable: ${why}`);
  return false;
}

// ---------------------------------------------------------------- system user

let systemUser: { uid: number; gid: number } | undefined;

function run(cmd: string, args: string[], input?: string): { status: number | null; out: string } {
  const r = spawnSync(cmd, args, { input, encoding: 'utf8', timeout: 15_000 });
  return { status: r.status, out: `${r.stdout ?? ''}${r.stderr ?? ''}` };
}

/**
 * Creates the `ftpkit-test` system user (vsftpd and pure-ftpd log in as a
 * real uid) and a plain pam_unix PAM service for vsftpd, idempotently.
 * .ci/run does the same up front; the retries cover parallel workers racing
 * on /etc/passwd's lock when run locally.
 */
function ensureSystemUser(): { uid: number; gid: number } {
  if (systemUser) return systemUser;
  let last = '';
  for (let i = 0; i < 40; i++) {
    const pw = run('getent', ['passwd', PEER_USER]);
    if (pw.status !== 0) {
      const r = run('useradd', ['--no-create-home', '--home-dir', '/', '--shell', '/usr/sbin/nologin', PEER_USER]);
      last = r.out;
    } else {
      const shadow = run('getent', ['shadow', PEER_USER]).out.split(':')[1] ?? '';
      if (!shadow.startsWith('$')) {
        last = run('chpasswd', [], `${PEER_USER}:${PEER_PASSWORD}\n`).out;
      } else {
        const [, , uid, gid, , home] = pw.out.trim().split(':');
        // vsftpd chdirs to the passwd home before local_root: it must exist
        if (!home || !existsSync(home)) last = run('usermod', ['--home', '/', PEER_USER]).out;
        systemUser = { uid: Number(uid), gid: Number(gid) };
        break;
      }
    }
    spawnSync('sleep', ['0.1']);
  }
  if (!systemUser) throw new Error(`cannot create system user ${PEER_USER}: ${last}`);
  const pam = '# ftpkit tests: plain pam_unix, no ftpusers/shell checks\nauth required pam_unix.so\naccount required pam_unix.so\nsession required pam_permit.so\n';
  const pamFile = `/etc/pam.d/${PAM_SERVICE}`;
  const cur = spawnSync('cat', [pamFile], { encoding: 'utf8' }).stdout ?? '';
  if (cur !== pam) {
    // write-then-rename: a parallel worker never sees a half-written file
    const tmp = `${pamFile}.${process.pid}.tmp`;
    run('sh', ['-c', `cat > "${tmp}" && mv -f "${tmp}" "${pamFile}"`], pam);
  }
  return systemUser;
}

let cryptHash: string | undefined;
/** sha512-crypt of PEER_PASSWORD (fast to verify, unlike pure-pw's argon2 default). */
function passwordHash(): string {
  if (cryptHash) return cryptHash;
  const r = run(bins.openssl() ?? 'openssl', ['passwd', '-6', '-stdin'], `${PEER_PASSWORD}\n`);
  const h = r.out.trim();
  if (r.status !== 0 || !h.startsWith('$6$')) throw new Error(`openssl passwd failed: ${r.out}`);
  cryptHash = h;
  return h;
}

function lookupUid(name: string): { uid: number; gid: number } | null {
  const r = run('getent', ['passwd', name]);
  if (r.status !== 0) return null;
  const [, , uid, gid] = r.out.trim().split(':');
  return { uid: Number(uid), gid: Number(gid) };
}

async function chownTree(path: string, uid: number, gid: number): Promise<void> {
  await chown(path, uid, gid);
  for (const e of await readdir(path, { withFileTypes: true })) {
    const p = join(path, e.name);
    if (e.isDirectory()) await chownTree(p, uid, gid);
    else await chown(p, uid, gid).catch(() => undefined);
  }
}

// ---------------------------------------------------------------- launchers

interface Layout {
  tmp: TempDir;
  /** user home (peer.root) */
  home: string;
  /** read-only anonymous root, when asked */
  anon?: string;
  token: string;
  pasv: [number, number];
  uid: number;
  gid: number;
  tls: boolean;
}

interface Launch {
  proc: ServerProcess;
  port: number;
}

/** A 100-port passive window below Linux's ephemeral range (32768+), random so parallel peers rarely overlap. */
function pasvWindow(): [number, number] {
  const min = 20000 + Math.floor(Math.random() * 120) * 100;
  return [min, min + 99];
}

async function bindRetry(layout: Layout, timeoutMs: number, start: (port: number) => Promise<ServerProcess>): Promise<Launch> {
  // These servers cannot bind port 0: pick a free port, and if someone else
  // grabbed it meanwhile (bind error or foreign banner), try another.
  let lastErr: unknown;
  for (let attempt = 0; attempt < 4; attempt++) {
    const port = await freePort();
    const proc = await start(port);
    try {
      await waitForBanner(proc, '127.0.0.1', port, layout.token, timeoutMs);
      return { proc, port };
    } catch (err) {
      lastErr = err;
      await proc.kill(500);
    }
  }
  throw lastErr;
}

async function launchVsftpd(l: Layout, timeoutMs: number): Promise<Launch> {
  const empty = join(l.tmp.path, 'empty');
  await mkdir(empty, { mode: 0o755 });
  return bindRetry(l, timeoutMs, async (port) => {
    const conf = [
      'listen=YES',
      'listen_ipv6=NO',
      'listen_address=127.0.0.1',
      `listen_port=${port}`,
      'background=NO',
      `ftpd_banner=ftpkit vsftpd ${l.token}`,
      'seccomp_sandbox=NO',
      // network/pid namespaces need privileges some containers lack
      'isolate=NO',
      'isolate_network=NO',
      `secure_chroot_dir=${empty}`,
      `pam_service_name=${PAM_SERVICE}`,
      'userlist_enable=NO',
      'tcp_wrappers=NO',
      'local_enable=YES',
      'write_enable=YES',
      'local_umask=022',
      `local_root=${l.home}`,
      'chroot_local_user=YES',
      'allow_writeable_chroot=YES',
      'pasv_enable=YES',
      'port_enable=YES',
      'connect_from_port_20=NO',
      'pasv_address=127.0.0.1',
      `pasv_min_port=${l.pasv[0]}`,
      `pasv_max_port=${l.pasv[1]}`,
      'max_per_ip=0',
      'max_clients=0',
      'use_localtime=NO',
      'xferlog_enable=NO',
      'dirmessage_enable=NO',
      `anonymous_enable=${l.anon ? 'YES' : 'NO'}`,
      ...(l.anon ? [`anon_root=${l.anon}`, 'no_anon_password=YES', 'anon_upload_enable=NO', 'anon_mkdir_write_enable=NO'] : []),
      // force_local_logins_ssl, force_local_data_ssl and require_ssl_reuse default to YES.
      // ssl_ciphers: 3.0.3's default (DES-CBC3-SHA) is gone from OpenSSL 3's default set.
      ...(l.tls ? ['ssl_enable=YES', `rsa_cert_file=${TLS_CERT}`, `rsa_private_key_file=${TLS_KEY}`, 'ssl_ciphers=HIGH', 'allow_anon_ssl=YES'] : []),
      '',
    ].join('\n');
    const file = join(l.tmp.path, `vsftpd-${port}.conf`);
    await writeFile(file, conf, { mode: 0o600 });
    return spawnServer(bins.vsftpd()!, [file]);
  });
}

async function launchPureFtpd(l: Layout, timeoutMs: number): Promise<Launch> {
  const passwd = join(l.tmp.path, 'pureftpd.passwd');
  const pdb = join(l.tmp.path, 'pureftpd.pdb');
  // pure-pw's file format: user:hash:uid:gid:gecos:home + 12 optional fields
  await writeFile(passwd, `${PEER_USER}:${passwordHash()}:${l.uid}:${l.gid}::${l.home}/./::::::::::::\n`, { mode: 0o600 });
  const mk = run(bins.purePw()!, ['mkdb', pdb, '-f', passwd]);
  if (mk.status !== 0) throw new Error(`pure-pw mkdb failed: ${mk.out}`);
  // The fortune file is the only way to put our token into its greeting.
  const fortunes = join(l.tmp.path, 'fortunes');
  await writeFile(fortunes, `ftpkit pure-ftpd ${l.token}\n%\n`);
  return bindRetry(l, timeoutMs, async (port) =>
    spawnServer(bins.pureFtpd()!, [
      '-S', `127.0.0.1,${port}`,
      '-l', `puredb:${pdb}`,
      '-E', // no anonymous
      '-A', // chroot everyone
      '-H', // no reverse DNS
      '-p', `${l.pasv[0]}:${l.pasv[1]}`,
      '-P', '127.0.0.1',
      '-F', fortunes,
      '-c', '1000',
      '-C', '1000',
      '-U', '133:022', // files 0644, dirs 0755
      '-u', '1',
    ]),
  );
}

async function launchProftpd(l: Layout, timeoutMs: number): Promise<Launch> {
  const dir = l.tmp.path;
  const authUsers = join(dir, 'ftpd.passwd');
  const authGroups = join(dir, 'ftpd.group');
  const anonIds = lookupUid('ftp') ?? { uid: 65534, gid: 65534 };
  // Runs as root (uid 0 in the auth file) so no chown of the home is needed.
  await writeFile(
    authUsers,
    `${PEER_USER}:${passwordHash()}:0:0::${l.home}:/bin/sh\n` +
      (l.anon ? `ftp:*:${anonIds.uid}:${anonIds.gid}::${l.anon}:/usr/sbin/nologin\n` : ''),
    { mode: 0o600 },
  );
  await writeFile(authGroups, `root:x:0:\n${l.anon ? `ftp:x:${anonIds.gid}:\n` : ''}`, { mode: 0o600 });
  const modules = join(PEERS_DIR, 'proftpd/usr/lib/proftpd');
  const modulePath = existsSync(modules) ? modules : '/usr/lib/proftpd';
  return bindRetry(l, timeoutMs, async (port) => {
    const conf = [
      'ServerType standalone',
      `ServerName "ftpkit proftpd"`,
      `ServerIdent on "ftpkit proftpd ${l.token}"`,
      `Port ${port}`,
      'DefaultAddress 127.0.0.1',
      'SocketBindTight on',
      'UseIPv6 off',
      'User root',
      'Group root',
      `ScoreboardFile ${dir}/scoreboard-${port}`,
      `PidFile ${dir}/proftpd-${port}.pid`,
      `SystemLog ${dir}/system.log`,
      'DelayTable none',
      'WtmpLog off',
      'UseReverseDNS off',
      'TransferLog none',
      `ModulePath ${modulePath}`,
      'LoadModule mod_digest.c',
      'LoadModule mod_deflate.c',
      'AuthOrder mod_auth_file.c',
      `AuthUserFile ${authUsers}`,
      `AuthGroupFile ${authGroups}`,
      'RequireValidShell off',
      'RootLogin on',
      'DefaultRoot ~',
      `PassivePorts ${l.pasv[0]} ${l.pasv[1]}`,
      'MasqueradeAddress 127.0.0.1',
      'MaxInstances 1000',
      'Umask 022',
      'TimesGMT on',
      'AllowOverwrite on',
      'AllowStoreRestart on',
      'AllowRetrieveRestart on',
      'DeflateEngine on',
      'DigestEngine on',
      // mod_tls from proftpd-mod-crypto; its default TLSOptions require data sessions to resume the control one.
      ...(l.tls
        ? [
            'LoadModule mod_tls.c',
            'TLSEngine on',
            'TLSRequired on',
            'TLSProtocol TLSv1.2 TLSv1.3',
            `TLS${TLS_KEY_TYPE}CertificateFile ${TLS_CERT}`,
            `TLS${TLS_KEY_TYPE}CertificateKeyFile ${TLS_KEY}`,
            'TLSVerifyClient off',
            `TLSLog ${dir}/tls.log`,
          ]
        : []),
      ...(l.anon
        ? [
            `<Anonymous ${l.anon}>`,
            '  User ftp',
            '  Group ftp',
            '  UserAlias anonymous ftp',
            '  RequireValidShell off',
            '  <Limit WRITE>',
            '    DenyAll',
            '  </Limit>',
            '</Anonymous>',
          ]
        : []),
      '',
    ].join('\n');
    const file = join(dir, `proftpd-${port}.conf`);
    await writeFile(file, conf, { mode: 0o600 });
    return spawnServer(bins.proftpd()!, ['-n', '-c', file]);
  });
}

async function launchPyftpdlib(l: Layout, timeoutMs: number): Promise<Launch> {
  const script = fileURLToPath(new URL('./pyftpd.py', import.meta.url));
  const proc = spawnServer(PYTHON, [script], {
    // a pipe on stdin: the launcher exits when it closes (our process died)
    stdio: ['pipe', 'pipe', 'pipe'],
    env: {
      PATH: process.env.PATH ?? '/usr/bin:/bin',
      FTPKIT_USER: PEER_USER,
      FTPKIT_PASSWORD: PEER_PASSWORD,
      FTPKIT_ROOT: l.home,
      FTPKIT_ANON_ROOT: l.anon ?? '',
      FTPKIT_PASV_MIN: String(l.pasv[0]),
      FTPKIT_PASV_MAX: String(l.pasv[1]),
      FTPKIT_BANNER: `ftpkit pyftpdlib ${l.token}`,
    },
  });
  // It binds port 0 itself and prints "PORT n" once listening.
  const port = await new Promise<number>((resolve, reject) => {
    let buf = '';
    const timer = setTimeout(() => done(new Error(`pyftpdlib did not report its port within ${timeoutMs} ms: ${proc.output()}`)), timeoutMs);
    const onData = (d: Buffer): void => {
      buf += d.toString('utf8');
      const m = /PORT (\d+)\n/.exec(buf);
      if (m) done(null, Number(m[1]));
    };
    const onExit = (): void => done(new Error(`pyftpdlib exited: ${proc.output()}`));
    function done(err: Error | null, port?: number): void {
      clearTimeout(timer);
      proc.child.stdout?.off('data', onData);
      proc.child.off('exit', onExit);
      if (err) reject(err);
      else resolve(port!);
    }
    proc.child.stdout?.on('data', onData);
    proc.child.once('exit', onExit);
  }).catch(async (err: unknown) => {
    await proc.kill(500);
    throw err;
  });
  try {
    await waitForBanner(proc, '127.0.0.1', port, l.token, timeoutMs);
  } catch (err) {
    await proc.kill(500);
    throw err;
  }
  return { proc, port };
}

// ---------------------------------------------------------------- public entry

/** Starts `name` on 127.0.0.1 (free port, own passive range) and waits for its 220 greeting. */
export async function startPeer(name: PeerName, opts: PeerOptions = {}): Promise<Peer> {
  const why = peerMissingReason(name);
  if (why !== null) throw new Error(`cannot start peer ${name}: ${why}`);
  if (opts.tls && name !== 'vsftpd' && name !== 'proftpd') throw new Error(`startPeer: { tls: true } is supported for vsftpd and proftpd, not ${name}`);
  if (opts.anonymous && name === 'pure-ftpd') {
    throw new Error('pure-ftpd anonymous login is not supported by this harness (its anonymous root is the system ftp user home)');
  }
  const timeoutMs = opts.startTimeoutMs ?? 15_000;
  const ids = name === 'vsftpd' || name === 'pure-ftpd' ? ensureSystemUser() : { uid: process.getuid?.() ?? 0, gid: process.getgid?.() ?? 0 };
  const tmp = await makeTempDir(`ftpkit-${name}-`);
  try {
    // the peer's unprivileged processes must be able to reach home
    await chmod(tmp.path, 0o755);
    const home = join(tmp.path, 'home');
    await mkdir(home, { mode: 0o755 });
    await chown(home, ids.uid, ids.gid);
    let anon: string | undefined;
    if (opts.anonymous) {
      // vsftpd refuses a writable anonymous root: root-owned 0755
      anon = join(tmp.path, 'anon');
      await mkdir(anon, { mode: 0o755 });
    }
    const layout: Layout = { tmp, home, anon, token: randomBytes(6).toString('hex'), pasv: pasvWindow(), ...ids, tls: opts.tls ?? false };
    const launchers = { vsftpd: launchVsftpd, 'pure-ftpd': launchPureFtpd, proftpd: launchProftpd, pyftpdlib: launchPyftpdlib };
    const { proc, port } = await launchers[name](layout, timeoutMs);
    let stopping: Promise<void> | undefined;
    return {
      name,
      host: '127.0.0.1',
      port,
      user: PEER_USER,
      password: PEER_PASSWORD,
      root: home,
      uid: ids.uid,
      gid: ids.gid,
      pasvPorts: layout.pasv,
      pid: proc.child.pid ?? -1,
      anonymous: anon ? { user: ANON_USER, password: ANON_PASSWORD, root: anon } : undefined,
      adopt: (path = home) => chownTree(path, ids.uid, ids.gid),
      output: () => proc.output(),
      stop() {
        stopping ??= (async () => {
          await proc.kill();
          await tmp.cleanup();
        })();
        return stopping;
      },
    };
  } catch (err) {
    await tmp.cleanup();
    throw new Error(`startPeer(${name}) failed: ${(err as Error).message}`, { cause: err });
  }
}
