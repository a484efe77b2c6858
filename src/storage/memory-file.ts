/**
 * The bytes of one in-memory file, kept in fixed-size pages.
 *
 * Pages rather than one growing Buffer: writes never copy the whole file to grow it, and
 * files are sparse, so a REST offset past 4 GiB (larger than any single Buffer) costs
 * one page, not 4 GiB. Missing pages read as zeros, like holes in a host file.
 * Invariant: bytes of a page beyond `size` are zero, so growing the file exposes zeros.
 */
export const PAGE_SIZE = 64 * 1024;

export class PagedBytes {
  readonly #pageSize: number;
  #pages = new Map<number, Buffer>();
  #size = 0;

  /** `pageSize` is for tests, which use tiny pages to hit every boundary case. */
  constructor(pageSize = PAGE_SIZE) {
    this.#pageSize = pageSize;
  }

  static from(data: Buffer): PagedBytes {
    const bytes = new PagedBytes();
    bytes.write(0, data);
    return bytes;
  }

  get size(): number {
    return this.#size;
  }

  /** Writes `data` at `offset`, growing the file (with a zero-filled gap) as needed. */
  write(offset: number, data: Uint8Array): void {
    let done = 0;
    while (done < data.length) {
      const pos = offset + done;
      const index = Math.floor(pos / this.#pageSize);
      const within = pos - index * this.#pageSize;
      const n = Math.min(this.#pageSize - within, data.length - done);
      let page = this.#pages.get(index);
      if (page === undefined) {
        page = Buffer.alloc(this.#pageSize);
        this.#pages.set(index, page);
      }
      page.set(data.subarray(done, done + n), within);
      done += n;
    }
    this.#size = Math.max(this.#size, offset + data.length);
  }

  /** Up to `length` bytes from `offset` (fewer at the end of the file), as a fresh Buffer. */
  read(offset: number, length: number): Buffer {
    const n = Math.max(0, Math.min(length, this.#size - offset));
    const out = Buffer.alloc(n);
    let done = 0;
    while (done < n) {
      const pos = offset + done;
      const index = Math.floor(pos / this.#pageSize);
      const within = pos - index * this.#pageSize;
      const take = Math.min(this.#pageSize - within, n - done);
      const page = this.#pages.get(index);
      if (page !== undefined) page.copy(out, done, within, within + take);
      done += take;
    }
    return out;
  }

  /** Sets the size; shrinking drops pages and zeroes the tail of the last one kept. */
  truncate(size: number): void {
    if (size < this.#size) {
      const keep = Math.ceil(size / this.#pageSize);
      for (const index of this.#pages.keys()) if (index >= keep) this.#pages.delete(index);
      const last = this.#pages.get(keep - 1);
      if (last !== undefined && size % this.#pageSize !== 0) last.fill(0, size % this.#pageSize);
    }
    this.#size = size;
  }
}
