import { performance } from 'node:perf_hooks';

/** What a tree transfer shows before the name: files done and, when known, of how many. */
export interface TreeCount {
  /** Files in the tree, when counted before the transfer. */
  files: number | undefined;
}

/**
 * One line on a terminal, redrawn in place:
 *
 *     [3/12] name-of-the-cur…ent-file.bin [=======>      ]  42% 1.2 MiB 3.4 MiB/s ETA 00:03
 *
 * fitted to the terminal's width: the name is shortened in the middle, then the bar, the ETA
 * and the rate give way. Sums several transfers (parallel segments, the files of a tree); feed
 * it byte deltas. The rate counts only bytes moved by this run: what a resumed transfer found
 * already there is given to skip(), which moves the percentage but not the rate.
 */
export class ProgressBar {
  #out: NodeJS.WriteStream;
  #label: string;
  #total: number | undefined;
  #tree: TreeCount | undefined;
  #filesDone = 0;
  #done = 0;
  #moved = 0;
  #started = performance.now();
  #lastDraw = 0;
  #drawn = false;

  constructor(out: NodeJS.WriteStream, label: string, total: number | undefined, tree?: TreeCount) {
    this.#out = out;
    this.#label = printable(label);
    this.#total = total;
    this.#tree = tree;
  }

  set total(total: number | undefined) {
    this.#total = total;
  }

  set label(label: string) {
    this.#label = printable(label);
  }

  /** Files of a tree (when it was counted first). */
  set files(files: number | undefined) {
    if (this.#tree) this.#tree.files = files;
  }

  /** Bytes moved by this run. */
  get moved(): number {
    return this.#moved;
  }

  /** Bytes moved by this run. */
  add(bytes: number): void {
    this.#done += bytes;
    this.#moved += bytes;
    this.#maybeDraw();
  }

  /** Bytes already there (a resumed file, a complete file kept by -c): progress, not rate. */
  skip(bytes: number): void {
    this.#done += bytes;
    this.#maybeDraw();
  }

  /** One more file of a tree is complete. */
  fileDone(): void {
    this.#filesDone++;
    this.#maybeDraw();
  }

  /** Sets the count of complete files (from the tree's result, which also counts files kept by -c). */
  set filesDone(n: number) {
    this.#filesDone = n;
  }

  /** Draws the final state and moves to a new line. */
  finish(): void {
    if (!this.#drawn && this.#done === 0 && this.#tree === undefined) return;
    this.#draw(performance.now());
    this.#out.write('\n');
    this.#drawn = false;
  }

  /** Leaves the line (before printing an error under it). */
  clear(): void {
    if (this.#drawn) this.#out.write('\r\x1b[K');
    this.#drawn = false;
  }

  #maybeDraw(): void {
    const now = performance.now();
    if (now - this.#lastDraw >= 100) {
      this.#lastDraw = now;
      this.#draw(now);
    }
  }

  #draw(now: number): void {
    this.#drawn = true;
    const cols = this.#out.columns > 0 ? this.#out.columns : 80; // 0 when the size is unknown (script, some CI)
    this.#out.write(`\r${this.line(cols, now)}\x1b[K`);
  }

  /** The line for a terminal `cols` wide: at most cols - 1 characters (the last column would wrap on some terminals). */
  line(cols: number, now = performance.now()): string {
    const width = Math.max(cols - 1, 1);
    const seconds = Math.max((now - this.#started) / 1000, 1e-3);
    const rate = this.#moved / seconds;
    const total = this.#total !== undefined && this.#total > 0 ? this.#total : undefined;
    const prefix = this.#tree === undefined ? '' : `[${this.#filesDone}/${this.#tree.files ?? '?'}] `;
    const bytes = formatBytes(this.#done);
    const speed = `${formatBytes(rate)}/s`;
    let tails: string[][];
    let frac = 0;
    if (total !== undefined) {
      frac = Math.min(this.#done / total, 1);
      const pct = `${String(Math.floor(frac * 100)).padStart(3)}%`;
      const eta = `ETA ${formatDuration(rate > 0 ? (total - this.#done) / rate : Infinity)}`;
      tails = [[pct, bytes, speed, eta], [pct, bytes, speed], [pct, bytes], [pct]];
    } else {
      tails = [[bytes, speed], [bytes]];
    }
    const label = this.#label;
    const nameMin = Math.min(length(label), 10);
    for (const parts of tails) {
      const tail = parts.join(' ');
      // room for the name and the bar: the prefix, a space and the tail take the rest
      const room = width - length(prefix) - 1 - length(tail);
      if (total !== undefined && room - 9 >= nameMin) {
        const name = shorten(label, Math.min(length(label), room - 9));
        const inner = room - length(name) - 3; // ' [' and ']'
        const filled = Math.round(frac * inner);
        const bar = `${'='.repeat(filled)}${filled < inner ? '>' : ''}${' '.repeat(Math.max(inner - filled - 1, 0))}`;
        return `${prefix}${name} [${bar}] ${tail}`;
      }
      if (room >= nameMin) return `${prefix}${shorten(label, Math.min(length(label), room))} ${tail}`;
    }
    return Array.from(`${prefix}${tails.at(-1)!.join(' ')}`).slice(0, width).join('');
  }
}

/** Code points, which is what a terminal shows for the names we print (wide characters aside). */
function length(s: string): number {
  let n = 0;
  for (const _ of s) n++;
  return n;
}

/** `long-name.bin` shortened to `n` characters with '…' in the middle: `long…e.bin`. */
export function shorten(s: string, n: number): string {
  const chars = Array.from(s);
  if (chars.length <= n) return s;
  if (n <= 1) return '…'.slice(0, Math.max(n, 0));
  const keep = n - 1;
  const head = Math.ceil(keep / 2);
  return `${chars.slice(0, head).join('')}…${chars.slice(chars.length - (keep - head)).join('')}`;
}

/** A hostile name must not drive the terminal: control characters print as '?'. */
export function printable(s: string): string {
  // eslint-disable-next-line no-control-regex
  return s.replace(/[\u0000-\u001f\u007f-\u009f]/g, '?');
}

/**
 * The line a tree transfer ends with (unless -q):
 * `ftp-get: 12 files downloaded (3.4 MiB), 1 failed, 2 skipped`.
 */
export function treeSummary(prog: string, verb: 'downloaded' | 'uploaded', s: { files: number; bytes: number; failed: number; skipped: number }): string {
  const skipped = s.skipped > 0 ? `, ${s.skipped} skipped` : '';
  return `${prog}: ${s.files} ${s.files === 1 ? 'file' : 'files'} ${verb} (${formatBytes(s.bytes)}), ${s.failed} failed${skipped}`;
}

export function formatBytes(n: number): string {
  const units = ['B', 'KiB', 'MiB', 'GiB', 'TiB'];
  let i = 0;
  while (n >= 1024 && i < units.length - 1) {
    n /= 1024;
    i++;
  }
  return i === 0 ? `${Math.round(n)} B` : `${n.toFixed(1)} ${units[i]}`;
}

export function formatDuration(seconds: number): string {
  if (!Number.isFinite(seconds)) return '--:--';
  const s = Math.round(seconds);
  const h = Math.floor(s / 3600);
  const m = Math.floor((s % 3600) / 60);
  const two = (x: number): string => String(x).padStart(2, '0');
  return h > 0 ? `${h}:${two(m)}:${two(s % 60)}` : `${two(m)}:${two(s % 60)}`;
}
