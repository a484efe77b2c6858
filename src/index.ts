// ftpkit's public API: the codec, the storage interface, the server and the client.
export * from './errors.js';
export * from './protocol/index.js';
export * from './storage/index.js';
export * from './server/index.js';
export * from './client/index.js';
