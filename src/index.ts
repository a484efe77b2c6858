// ftpkit's public API: the codec, the storage interface, the server and the client.
export { FtpError, type FtpErrorCode } from './errors.js';
export * from './protocol/index.js';
export * from './storage/index.js';
export * from './server/index.js';
export * from './client/index.js';
// Also used by the bins (src/cli), which import nothing but this file: an embedder can do
// everything a flag does.
export { pickHashAlgorithm } from './client/hash.js';
export { checkHome, checkUserName } from './server/users/schema.js';
