export { FileServer } from './file-server.js';
export type { FileServerOptions, AuthGrant, AuthRequest, Authenticate, ServerTimeouts } from './options.js';
export type { ServerEvents, SessionInfo, TransferInfo, TransferEndInfo } from './events.js';
export type { CommandSpec } from './command.js';
export { createStaticAuthenticator, type StaticUser } from './static-users.js';
export { ensureDevCertificate, devCertificateFolder, type DevCertificate } from './dev-certificate.js';
export { InMemoryLockManager, LockConflictError, sortLockRequests, type LockManager, type LockRequest, type LockMode, type LockHandle, type HeldLock, type AcquireOptions } from './locks/index.js';
export { sweepUploadTemporaries, isUploadTemporary } from './upload.js';
export type { LockConflictInfo } from './events.js';
