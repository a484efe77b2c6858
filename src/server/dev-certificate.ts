import { execFile } from 'node:child_process';
import { mkdir, readFile, stat } from 'node:fs/promises';
import { homedir } from 'node:os';
import { join } from 'node:path';
import { X509Certificate } from 'node:crypto';
import { promisify } from 'node:util';
import { FtpError } from '../errors.js';

export interface DevCertificate {
  cert: Buffer;
  key: Buffer;
  certPath: string;
  keyPath: string;
  /** SHA-256 fingerprint, colon-separated hex, for clients to pin. */
  fingerprint256: string;
}

/** Where `ftp-serve --tls` keeps its development certificate. */
export function devCertificateFolder(): string {
  const base = process.env.XDG_CACHE_HOME || join(homedir(), '.cache');
  return join(base, 'ftpkit');
}

/**
 * A self-signed certificate for development (localhost, 127.0.0.1, ::1), made once with the
 * system's openssl and kept in the cache folder; later runs reuse it. Only files of that folder,
 * with ftpkit's own names, are ever written.
 */
export async function ensureDevCertificate(folder = devCertificateFolder()): Promise<DevCertificate> {
  const certPath = join(folder, 'dev-cert.pem');
  const keyPath = join(folder, 'dev-key.pem');
  if (!(await exists(certPath)) || !(await exists(keyPath))) {
    await mkdir(folder, { recursive: true, mode: 0o700 });
    try {
      await promisify(execFile)('openssl', [
        'req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes',
        '-keyout', keyPath, '-out', certPath, '-days', '825', '-subj', '/CN=localhost',
        '-addext', 'subjectAltName=DNS:localhost,IP:127.0.0.1,IP:::1',
      ], { timeout: 20_000 });
    } catch (err) {
      throw new FtpError('FTPKIT_ERR_INVALID_ARGUMENT', `cannot create a development certificate (is openssl installed?): ${(err as Error).message.split('\n')[0]}`);
    }
  }
  const [cert, key] = await Promise.all([readFile(certPath), readFile(keyPath)]);
  return { cert, key, certPath, keyPath, fingerprint256: new X509Certificate(cert).fingerprint256 };
}

async function exists(path: string): Promise<boolean> {
  try {
    return (await stat(path)).isFile();
  } catch {
    return false;
  }
}
