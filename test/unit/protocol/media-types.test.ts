import { describe, expect, it } from 'vitest';
import { formatMlsxFacts, mediaTypeOf, OCTET_STREAM } from '../../../src/protocol/index.js';

describe('mediaTypeOf', () => {
  it.each([
    ['clip.mp4', 'video/mp4'],
    ['/deep/path/CLIP.MP4', 'video/mp4'],
    ['photo.jpg', 'image/jpeg'],
    ['photo.jpeg', 'image/jpeg'],
    ['song.flac', 'audio/flac'],
    ['song.mp3', 'audio/mpeg'],
    ['movie.mkv', 'video/x-matroska'],
    ['stream.m3u8', 'application/vnd.apple.mpegurl'],
    ['archive.tar.gz', 'application/gzip'],
    ['notes', OCTET_STREAM],
    ['.profile', OCTET_STREAM],
    ['trailing.', OCTET_STREAM],
    ['weird.constructor', OCTET_STREAM],
    ['proto.__proto__', OCTET_STREAM],
    ['dir.mp4/file', OCTET_STREAM],
  ])('%s -> %s', (name, type) => {
    expect(mediaTypeOf(name)).toBe(type);
  });
});

describe('formatMlsxFacts media-type', () => {
  const facts = new Set(['type', 'size', 'media-type']);
  const base = { size: 3, mtime: new Date(0), mode: 0o644 };
  it('files carry it, last among the facts; folders and links none', () => {
    expect(formatMlsxFacts({ ...base, name: 'a.webm', type: 'file' }, { facts })).toBe('type=file;size=3;media-type=video/webm; a.webm');
    expect(formatMlsxFacts({ ...base, name: 'b.flac', type: 'dir' }, { facts })).toBe('type=dir;size=3; b.flac');
    expect(formatMlsxFacts({ ...base, name: 'c.mp4', type: 'link' }, { facts })).toBe('type=OS.unix=slink;size=3; c.mp4');
  });
  it('is left out when the session turned it off', () => {
    expect(formatMlsxFacts({ ...base, name: 'a.webm', type: 'file' }, { facts: new Set(['type']) })).toBe('type=file; a.webm');
  });
});
