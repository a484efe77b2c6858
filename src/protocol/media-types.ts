/**
 * IANA media types by file name extension, for the RFC 3659 section 7.5.7 `media-type` fact
 * and the server's transfer-end event. A compact table of what people share (images, audio,
 * video, documents, archives), not a copy of /etc/mime.types: a name that is not here is
 * `application/octet-stream`, which is what RFC 2046 says an unknown byte stream is.
 */

const TABLE: Record<string, string> = {
  // Images
  jpg: 'image/jpeg', jpeg: 'image/jpeg', jpe: 'image/jpeg', png: 'image/png', gif: 'image/gif', webp: 'image/webp',
  avif: 'image/avif', heic: 'image/heic', heif: 'image/heif', bmp: 'image/bmp', tif: 'image/tiff', tiff: 'image/tiff',
  svg: 'image/svg+xml', ico: 'image/vnd.microsoft.icon', jxl: 'image/jxl', dng: 'image/x-adobe-dng',
  // Audio
  mp3: 'audio/mpeg', flac: 'audio/flac', ogg: 'audio/ogg', oga: 'audio/ogg', opus: 'audio/ogg', wav: 'audio/wav',
  m4a: 'audio/mp4', aac: 'audio/aac', mid: 'audio/midi', midi: 'audio/midi', aif: 'audio/aiff', aiff: 'audio/aiff',
  weba: 'audio/webm',
  // Video
  mp4: 'video/mp4', m4v: 'video/mp4', mov: 'video/quicktime', mkv: 'video/x-matroska', webm: 'video/webm',
  avi: 'video/x-msvideo', ogv: 'video/ogg', ts: 'video/mp2t', m2ts: 'video/mp2t', mpg: 'video/mpeg', mpeg: 'video/mpeg',
  '3gp': 'video/3gpp', wmv: 'video/x-ms-wmv', flv: 'video/x-flv',
  // Streaming playlists
  m3u8: 'application/vnd.apple.mpegurl', mpd: 'application/dash+xml', m3u: 'audio/x-mpegurl',
  // Subtitles
  vtt: 'text/vtt', srt: 'application/x-subrip',
  // Text and documents
  txt: 'text/plain', text: 'text/plain', log: 'text/plain', md: 'text/markdown', csv: 'text/csv', tsv: 'text/tab-separated-values',
  html: 'text/html', htm: 'text/html', css: 'text/css', js: 'text/javascript', mjs: 'text/javascript', json: 'application/json',
  xml: 'application/xml', pdf: 'application/pdf', rtf: 'application/rtf', epub: 'application/epub+zip',
  doc: 'application/msword', docx: 'application/vnd.openxmlformats-officedocument.wordprocessingml.document',
  xls: 'application/vnd.ms-excel', xlsx: 'application/vnd.openxmlformats-officedocument.spreadsheetml.sheet',
  ppt: 'application/vnd.ms-powerpoint', pptx: 'application/vnd.openxmlformats-officedocument.presentationml.presentation',
  odt: 'application/vnd.oasis.opendocument.text', ods: 'application/vnd.oasis.opendocument.spreadsheet',
  // Archives and images of disks
  zip: 'application/zip', gz: 'application/gzip', tgz: 'application/gzip', bz2: 'application/x-bzip2', xz: 'application/x-xz',
  zst: 'application/zstd', '7z': 'application/x-7z-compressed', tar: 'application/x-tar', rar: 'application/vnd.rar',
  iso: 'application/x-iso9660-image', wasm: 'application/wasm',
  // Fonts
  woff: 'font/woff', woff2: 'font/woff2', ttf: 'font/ttf', otf: 'font/otf',
};

/** Bytes with no better name (RFC 2046 section 4.5.1). */
export const OCTET_STREAM = 'application/octet-stream';

/**
 * The media type of a file name or path, from its last extension, case-insensitively:
 * `clip.MP4` -> `video/mp4`, `notes` -> `application/octet-stream`. A leading dot alone
 * (`.profile`) is a hidden name, not an extension.
 */
export function mediaTypeOf(name: string): string {
  const base = name.slice(name.lastIndexOf('/') + 1);
  const dot = base.lastIndexOf('.');
  if (dot <= 0 || dot === base.length - 1) return OCTET_STREAM;
  const ext = base.slice(dot + 1).toLowerCase();
  return Object.hasOwn(TABLE, ext) ? TABLE[ext]! : OCTET_STREAM;
}
