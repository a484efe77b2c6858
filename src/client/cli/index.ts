// Internals of the ftp-get / ftp-put bins (not part of the library's API).
export { runGet } from './get.js';
export { runPut } from './put.js';
export { COMMON_OPTIONS, COMMON_HELP, UsageError, readCommonFlags, errorLine, type CommonFlags } from './common.js';
