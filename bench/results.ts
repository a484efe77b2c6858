// Results as JSON (bench/results/<timestamp>.json) and the comparison of two such files.
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

export const RESULTS_DIR = fileURLToPath(new URL('./results/', import.meta.url));

export function writeResults(data: unknown, startedAt: Date): string {
  mkdirSync(RESULTS_DIR, { recursive: true });
  const file = join(RESULTS_DIR, `${startedAt.toISOString().replace(/[:.]/g, '-')}.json`);
  writeFileSync(file, `${JSON.stringify(data, null, 2)}\n`);
  return file;
}

/** Every number in `data`, keyed by its path ("single.ftpkit.retr.median"). Samples are skipped. */
function flatten(data: unknown, prefix = '', out = new Map<string, number>()): Map<string, number> {
  if (typeof data === 'number') out.set(prefix, data);
  else if (Array.isArray(data)) return out;
  else if (data && typeof data === 'object') {
    for (const [k, v] of Object.entries(data)) flatten(v, prefix ? `${prefix}.${k}` : k, out);
  }
  return out;
}

/** A markdown table of the figures two runs share, with new/old. */
export function compareResults(oldFile: string, newFile: string): string {
  const a = flatten((JSON.parse(readFileSync(oldFile, 'utf8')) as { results: unknown }).results);
  const b = flatten((JSON.parse(readFileSync(newFile, 'utf8')) as { results: unknown }).results);
  const lines = [`| figure | ${oldFile.split('/').pop()} | ${newFile.split('/').pop()} | new/old |`, '|---|---:|---:|---:|'];
  for (const [key, va] of a) {
    const vb = b.get(key);
    if (vb === undefined || /\.(ok|processes)$/.test(key)) continue;
    const ratio = va !== 0 ? (vb / va).toFixed(2) : '—';
    lines.push(`| ${key} | ${+va.toPrecision(4)} | ${+vb.toPrecision(4)} | ${ratio} |`);
  }
  return lines.join('\n');
}
