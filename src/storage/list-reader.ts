import type { ListReader, StorageStat } from './types.js';

/** Listing order: by UTF-16 code unit, as `<` compares strings (and Array#sort by default). */
export function compareNames(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}

/** A ListReader over entries already in memory (what the server uses for a Storage without openList). */
export function listReaderOf(entries: StorageStat[]): ListReader {
  let rest: StorageStat[] | undefined = entries.sort((a, b) => compareNames(a.name, b.name));
  let next = 0;
  return {
    async read(max) {
      if (!rest) return [];
      const out = rest.slice(next, next + Math.max(1, max));
      next += out.length;
      return out;
    },
    async close() {
      rest = undefined;
    },
  };
}
