// The FTP client: FileClient, tree and segmented transfers, URL and .netrc helpers.
export { FileClient } from './client.js';
export { HASH_ALGORITHMS, localHash, type HashAlgorithm } from './hash.js';
export type { FileClientEvents } from './client.js';
export type {
  OperationOptions, DownloadOptions, DownloadArgs, UploadOptions, UploadArgs, UploadSource,
  AppendOptions, AppendArgs, ConnectUrlOptions, ReadRangeOptions, TreeArgs, TransferResult,
} from './method-options.js';
export type { FileClientOptions } from './options.js';
export type { TransferProgress } from './progress.js';
export { downloadTree, uploadTree, TreeTransferError } from './tree.js';
export type { TreeOptions, TreeResult, TreeFailure } from './tree.js';
export { downloadSegmented } from './segmented.js';
export type { SegmentedOptions } from './segmented.js';
export { parseFtpUrl, parseUserOption } from './url.js';
export type { FtpUrl } from './url.js';
export { parseNetrc, readNetrc, findNetrcEntry } from './netrc.js';
export type { NetrcEntry } from './netrc.js';
