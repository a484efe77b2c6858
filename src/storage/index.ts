export * from './types.js';
export { resolveVirtualPath, virtualDirname, virtualBasename, joinVirtual, checkVirtualPath } from './path.js';
export { LocalStorage, type LocalStorageOptions } from './local-storage.js';
export { MemoryStorage } from './memory-storage.js';
export { CompressedStorage, type CompressedStorageOptions } from './compressed-storage.js';
