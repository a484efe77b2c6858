// What the package shows of the server (issue 13): FileServer's internals stay private, the
// crash-leftover sweep does not ride on the public 'login' event, and internal helpers are not
// exported.
import { describe, expect, it } from 'vitest';
import * as ftpkit from '../../../src/index.js';
import { FileServer } from '../../../src/index.js';
import { TEST_CERT, TEST_KEY } from '../../helpers/tls.js';

describe('the public surface', () => {
  it("FileServer's internals are private and it listens to none of its own events", async () => {
    const server = new FileServer({ tls: { cert: TEST_CERT, key: TEST_KEY } });
    for (const internal of ['options', 'commands', 'ports', 'limits', 'loginGuard', 'tls', 'tlsOwner', 'host']) {
      expect(internal in server, internal).toBe(false);
    }
    for (const event of ['listening', 'connect', 'login', 'login-failed', 'ban', 'command', 'command-end', 'transfer-start', 'transfer-end', 'lock-conflict', 'disconnect', 'error'] as const) {
      expect(server.listenerCount(event), event).toBe(0);
    }
    // What stays public.
    expect(typeof server.listen).toBe('function');
    expect(server.locks).toBeInstanceOf(ftpkit.InMemoryLockManager);
    expect(server.connections).toBe(0);
    expect(server.unban()).toBe(0);
    await server.close();
  });

  it('internal helpers are not exported', () => {
    for (const name of ['LoginGuard', 'Permissions', 'TokenBucket', 'checkInteger', 'devCertificateFolder', 'validateUser', 'Session', 'buildCommandRegistry']) {
      expect(name in ftpkit, name).toBe(false);
    }
    // The errors an embedder matches on, and what a LockManager implementation needs.
    expect(new ftpkit.LockConflictError('/f', [])).toBeInstanceOf(ftpkit.FtpError);
    expect(new ftpkit.LockConflictError('/f', []).code).toBe('FTPKIT_ERR_LOCKED');
    expect(typeof ftpkit.sortLockRequests).toBe('function');
  });

  it('exports what the features built on the server offer an embedder', () => {
    const expected = [
      // Shared state for several servers: Redis, or a node:cluster primary over IPC.
      'RedisConnection', 'RedisLockManager', 'RedisAbuseStore', 'InMemoryAbuseStore',
      'IpcLockManager', 'IpcLockHost', 'IpcAbuseStore', 'IpcAbuseStoreHost', 'LockLostError',
      // Logging: audit records, xferlog, counters and metrics, readable lines.
      'AuditLog', 'attachAuditLog', 'XferLog', 'attachXferLog', 'xferLine', 'StatsCollector',
      'metricsText', 'serveMetrics', 'METRICS_CONTENT_TYPE', 'prettyLine', 'prettyDestination', 'openLogFile',
      // Storage and media.
      'CompressedStorage', 'mediaTypeOf', 'OCTET_STREAM',
      // PROXY protocol codec.
      'parseProxyHeader', 'formatProxyV2',
    ];
    const exports = ftpkit as Record<string, unknown>;
    for (const name of expected) expect(exports[name], name).toBeDefined();
    expect(new ftpkit.LockLostError('lost')).toBeInstanceOf(ftpkit.FtpError);
    expect(new ftpkit.LockLostError('lost').code).toBe('FTPKIT_ERR_LOCK_LOST');
  });
});
