// The server's public API: FileServer, its options and events, grants and permissions letters,
// the users file, lock managers, and upload-temporary helpers. Everything else under
// src/server is internal (the command table, sessions, rate buckets, the login guard).
export { FileServer } from './file-server.js';
export type { FileServerOptions, AuthGrant, AuthRequest, Authenticate, ServerTimeouts, AnonymousGrant } from './options.js';
export type { ServerEvents, SessionInfo, TransferInfo, TransferEndInfo, CommandEndInfo, LockConflictInfo } from './events.js';
export { createStaticAuthenticator, type StaticUser } from './static-users.js';
export { PERMISSION_LETTERS, ALL_PERMISSIONS, READ_ONLY_PERMISSIONS, parsePermissions, type PermissionLetter, type PermissionOverrides } from './permissions.js';
export type { LoginGuardOptions } from './abuse/login-guard.js';
export * from './users/index.js';
export { ensureDevCertificate, type DevCertificate } from './dev-certificate.js';
export { InMemoryLockManager, LockConflictError, sortLockRequests, type LockManager, type LockRequest, type LockMode, type LockHandle, type HeldLock, type AcquireOptions } from './locks/index.js';
export { sweepUploadTemporaries, isUploadTemporary } from './upload.js';
