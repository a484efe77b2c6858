import { performance } from 'node:perf_hooks';

/**
 * One line on a terminal, redrawn in place: label, percent, bar, bytes, rate, ETA.
 * Sums several transfers (parallel segments or files); feed it byte deltas.
 */
export class ProgressBar {
  #out: NodeJS.WriteStream;
  #label: string;
  #total: number | undefined;
  #done = 0;
  #started = performance.now();
  #lastDraw = 0;
  #drawn = false;

  constructor(out: NodeJS.WriteStream, label: string, total: number | undefined) {
    this.#out = out;
    this.#label = label;
    this.#total = total;
  }

  set total(total: number | undefined) {
    this.#total = total;
  }

  set label(label: string) {
    this.#label = label;
  }

  add(bytes: number): void {
    this.#done += bytes;
    const now = performance.now();
    if (now - this.#lastDraw >= 100) {
      this.#lastDraw = now;
      this.#draw(now);
    }
  }

  /** Draws the final state and moves to a new line. */
  finish(): void {
    if (!this.#drawn && this.#done === 0) return;
    this.#draw(performance.now());
    this.#out.write('\n');
  }

  /** Leaves the line (before printing an error under it). */
  clear(): void {
    if (this.#drawn) this.#out.write('\r\x1b[K');
  }

  #draw(now: number): void {
    this.#drawn = true;
    const seconds = Math.max((now - this.#started) / 1000, 1e-3);
    const rate = this.#done / seconds;
    const cols = this.#out.columns > 0 ? this.#out.columns : 80; // 0 when the size is unknown (script, some CI)
    const parts = [`${formatBytes(this.#done)}`, `${formatBytes(rate)}/s`];
    let line: string;
    if (this.#total !== undefined && this.#total > 0) {
      const frac = Math.min(this.#done / this.#total, 1);
      const eta = rate > 0 ? (this.#total - this.#done) / rate : Infinity;
      parts.push(`ETA ${formatDuration(eta)}`);
      const tail = ` ${String(Math.floor(frac * 100)).padStart(3)}% ${parts.join('  ')}`;
      const width = Math.max(cols - tail.length - this.#label.length - 5, 10);
      const filled = Math.round(frac * width);
      line = `${this.#label} [${'='.repeat(filled)}${filled < width ? '>' : ''}${' '.repeat(Math.max(width - filled - 1, 0))}]${tail}`;
    } else {
      line = `${this.#label} ${parts.join('  ')}`;
    }
    this.#out.write(`\r${line.slice(0, cols - 1)}\x1b[K`);
  }
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
