// The progress bar's line: fitted to the terminal, true rates on resume, totals for trees.
import { performance } from 'node:perf_hooks';
import { PassThrough } from 'node:stream';
import { describe, expect, it } from 'vitest';
import { ProgressBar, shorten, treeSummary } from '../../../src/cli/progress-bar.js';

const out = (): NodeJS.WriteStream => Object.assign(new PassThrough(), { columns: 80, isTTY: true }) as unknown as NodeJS.WriteStream;
const LONG = 'a-rather-long-file-name-that-will-not-fit-in-fifty-columns.bin';

describe('shorten', () => {
  it.each([
    ['abcdefghij', 10, 'abcdefghij'],
    ['abcdefghij', 7, 'abc…hij'],
    ['abcdefghij', 6, 'abc…ij'],
    ['abcdefghij', 2, 'a…'],
    ['abcdefghij', 1, '…'],
    ['ééééé', 3, 'é…é'],
  ])('%s to %d -> %s', (s, n, want) => {
    expect(shorten(s, n)).toBe(want);
    expect(Array.from(shorten(s, n)).length).toBeLessThanOrEqual(n);
  });
});

describe('ProgressBar.line', () => {
  it('fits every width from 20 to 200 columns, name shortened in the middle, numbers kept', () => {
    const bar = new ProgressBar(out(), LONG, 10_000_000);
    bar.add(4_200_000);
    for (let cols = 20; cols <= 200; cols++) {
      const line = bar.line(cols);
      expect(Array.from(line).length, `${cols} columns: ${line}`).toBeLessThanOrEqual(cols - 1);
      expect(line).toMatch(/ 42%/);
      if (cols >= 40) expect(line).toMatch(/ 42% 4\.0 MiB/);
    }
    expect(bar.line(50)).toMatch(/^a-rat\S*…\S*\.bin /);
    expect(bar.line(200)).toMatch(new RegExp(`^${LONG} \\[=+>? +\\]  42% 4\\.0 MiB \\S+ \\S+/s ETA \\d\\d:\\d\\d$`));
  });

  it('counts only bytes moved by this run in the rate (a resume is not a speed-up)', () => {
    const bar = new ProgressBar(out(), 'big.bin', 100 * 1024 * 1024);
    const started = performance.now();
    bar.skip(90 * 1024 * 1024); // already on disk
    bar.add(5 * 1024 * 1024); // moved in this run
    const line = bar.line(120, started + 1000);
    expect(line).toMatch(/ 95% 95\.0 MiB /);
    const rate = /(\d+\.\d) MiB\/s/.exec(line);
    expect(rate).not.toBeNull();
    expect(Number(rate![1])).toBeLessThanOrEqual(5.1); // 5 MiB in (at least) one second, not 95
    expect(bar.moved).toBe(5 * 1024 * 1024);
  });

  it('shows files done of the total for a tree, and control characters as ?', () => {
    const bar = new ProgressBar(out(), 'x\u001b[2Jy', 3000, { files: 3 });
    bar.add(1000);
    bar.fileDone();
    expect(bar.line(80)).toMatch(/^\[1\/3\] x\?\[2Jy \[/);
    const unknown = new ProgressBar(out(), 'tree', undefined, { files: undefined });
    unknown.add(2048);
    expect(unknown.line(80)).toMatch(/^\[0\/\?\] tree 2\.0 KiB \S+ \S+\/s$/);
  });

  it('ends a tree with one summary line', () => {
    expect(treeSummary('ftp-get', 'downloaded', { files: 12, bytes: 3.5 * 1024 * 1024, failed: 1, skipped: 2 })).toBe('ftp-get: 12 files downloaded (3.5 MiB), 1 failed, 2 skipped');
    expect(treeSummary('ftp-put', 'uploaded', { files: 1, bytes: 3, failed: 0, skipped: 0 })).toBe('ftp-put: 1 file uploaded (3 B), 0 failed');
  });
});
