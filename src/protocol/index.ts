// The pure FTP codec: framing, commands, replies, addresses, listings, TYPE A.
export { ControlLineParser, DEFAULT_MAX_LINE_LENGTH } from './framing.js';
export type { ControlLineEvent, ControlLineParserOptions } from './framing.js';
export { parseCommand } from './command.js';
export type { FtpCommand } from './command.js';
export {
  formatReply,
  ReplyParser,
  DEFAULT_MAX_REPLY_BYTES,
  isPositivePreliminary,
  isPositiveCompletion,
  isPositiveIntermediate,
  isNegative,
} from './reply.js';
export type { FtpReply, ReplyParserOptions } from './reply.js';
export {
  normalizeIp,
  encodeHostPort,
  decodeHostPort,
  formatPasvText,
  parsePasvText,
  formatEpsvText,
  parseEpsvText,
  formatEprtArg,
  parseEprtArg,
} from './address.js';
export type { HostPort } from './address.js';
export {
  formatListLine,
  formatPermissions,
  formatMlsxFacts,
  formatMlsdTime,
  parseMlsdTime,
  quotePath,
  parseQuotedPath,
} from './listing.js';
export type { FileFacts, MlsxFactsOptions } from './listing.js';
export { mediaTypeOf, OCTET_STREAM } from './media-types.js';
export { parseUnixListLine, parseDosListLine, parseMlsxLine, parseListing } from './listing-parse.js';
export type { ListEntry, ListingFormat } from './listing-parse.js';
export { createAsciiEncoder, createAsciiDecoder } from './ascii.js';
export { parseProxyHeader, formatProxyV2, PROXY_V1_MAX_LENGTH, PROXY_V2_MAX_PAYLOAD } from './proxy.js';
export type { ProxyHeader, ProxyParseResult } from './proxy.js';
