import { describe, expect, it } from 'vitest';
import { ProgressTracker, type TransferProgress } from '../../../src/client/progress.js';
import { OperationQueue } from '../../../src/client/queue.js';
import { runPool } from '../../../src/client/pool.js';
import { parseFeatures } from '../../../src/client/control-session.js';
import { formatBytes, formatDuration } from '../../../src/cli/progress-bar.js';

describe('parseFeatures', () => {
  it('reads RFC 2389 FEAT lines', () => {
    const f = parseFeatures({ code: 211, text: 'Features:\n MDTM\n MLST type*;size*;\n UTF8\nEnd', lines: ['211-Features:', ' MDTM', ' MLST type*;size*;', ' UTF8', '211 End'] });
    expect([...f.keys()]).toEqual(['MDTM', 'MLST', 'UTF8']);
    expect(f.get('MLST')).toBe('type*;size*;');
  });

  it('is empty for a refusal', () => {
    expect(parseFeatures({ code: 500, text: 'no', lines: ['500 no'] }).size).toBe(0);
  });
});

describe('ProgressTracker', () => {
  it('throttles and always sends a final event', () => {
    const events: TransferProgress[] = [];
    const t = new ProgressTracker((p) => events.push(p), 60_000, { name: '/f', direction: 'download', total: 300, startAt: 100 });
    t.add(50);
    t.add(Buffer.alloc(50));
    t.add(100);
    t.finish();
    expect(events).toHaveLength(2); // the first add, then the final one
    expect(events.at(-1)).toMatchObject({ name: '/f', bytes: 300, transferred: 200, total: 300, done: true });
    expect(events.at(-1)!.rate).toBeGreaterThan(0);
  });
});

describe('OperationQueue', () => {
  it('runs one at a time in order and rejects early on abort', async () => {
    const q = new OperationQueue();
    const order: string[] = [];
    let release!: () => void;
    const first = q.run(() => new Promise<void>((r) => { release = r; order.push('a'); }));
    const ac = new AbortController();
    const second = q.run(async () => { order.push('b'); }, ac.signal);
    const third = q.run(async () => { order.push('c'); });
    ac.abort();
    await expect(second).rejects.toMatchObject({ code: 'FTPKIT_ERR_ABORTED' });
    release();
    await first;
    await third;
    expect(order).toEqual(['a', 'c']);
    expect(q.idle).toBe(true);
  });
});

describe('runPool', () => {
  it('spreads jobs over workers and stops taking jobs after a failure', async () => {
    const seen: [number, number][] = [];
    await runPool([1, 2], [10, 20, 30, 40], async (w, j) => { seen.push([w, j]); });
    expect(seen.map(([, j]) => j).sort()).toEqual([10, 20, 30, 40]);
    const done: number[] = [];
    await expect(runPool([1], [1, 2, 3], async (_w, j) => {
      if (j === 2) throw new Error('boom');
      done.push(j);
    })).rejects.toThrow('boom');
    expect(done).toEqual([1]);
  });
});

describe('progress bar formatting', () => {
  it.each([[0, '0 B'], [1023, '1023 B'], [1536, '1.5 KiB'], [200 * 1024 * 1024, '200.0 MiB']])('formatBytes(%d)', (n, s) => {
    expect(formatBytes(n)).toBe(s);
  });
  it.each([[5, '00:05'], [125, '02:05'], [3725, '1:02:05'], [Infinity, '--:--']])('formatDuration(%d)', (n, s) => {
    expect(formatDuration(n)).toBe(s);
  });
});
