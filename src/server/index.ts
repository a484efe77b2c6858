// The server's public API: FileServer, its options and events, grants and permissions letters,
// the users file, lock managers, shared stores, logging, and upload-temporary helpers. Everything else under
// src/server is internal (the command table, sessions, rate buckets, the login guard).
export { FileServer } from './file-server.js';
export type { FileServerOptions, AuthGrant, AuthRequest, Authenticate, ServerTimeouts, AnonymousGrant } from './options.js';
export type { ServerEvents, SessionInfo, TransferInfo, TransferEndInfo, CommandEndInfo, SecurityInfo, SessionTotals, LockConflictInfo } from './events.js';
export { createStaticAuthenticator, type StaticUser } from './static-users.js';
export { PERMISSION_LETTERS, ALL_PERMISSIONS, READ_ONLY_PERMISSIONS, parsePermissions, type PermissionLetter, type PermissionOverrides } from './permissions.js';
export type { LoginGuardOptions } from './abuse/login-guard.js';
export * from './users/index.js';
export { ensureDevCertificate, type DevCertificate } from './dev-certificate.js';
export { InMemoryLockManager, LockConflictError, LockLostError, sortLockRequests, type LockManager, type LockRequest, type LockMode, type LockHandle, type HeldLock, type AcquireOptions } from './locks/index.js';
export { sweepUploadTemporaries, isUploadTemporary } from './upload.js';
// Shared state for several servers: Redis, or the primary of a node:cluster over IPC.
export { InMemoryAbuseStore, type AbuseStore, type BanPolicy, type SharedFailure } from './abuse/store.js';
export { RedisConnection, type RedisOptions } from './redis/connection.js';
export { RedisLockManager } from './redis/lock-manager.js';
export { RedisAbuseStore } from './redis/abuse-store.js';
export type { ProxyProtocolOptions } from './proxy-protocol.js';
export type { MemoryOptions } from '../data/block-pool.js';
export { IpcLockManager, IpcLockHost } from './locks/ipc.js';
export { IpcAbuseStore, IpcAbuseStoreHost } from './abuse/ipc-store.js';
export type { IpcPort } from './ipc-channel.js';
// Audit log, xferlog, metrics and pretty output, attached to a FileServer's events.
export * from './logging/index.js';
