import { mkdirSync, readFileSync, symlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { holdFreedMemory } from '../../../bench/vm-memory.js';
import { makeTempDir, type TempDir } from '../../helpers/tmp.js';

// The bench's hold on free page reporting, against a folder standing in for
// /sys/module/page_reporting/parameters.
describe('bench holdFreedMemory', () => {
  let tmp: TempDir;
  let dir: string;
  beforeEach(async () => {
    tmp = await makeTempDir('ftpkit-vm-memory-');
    dir = join(tmp.path, 'parameters');
    mkdirSync(dir);
  });
  afterEach(() => tmp.cleanup());

  it('raises the delay for the run and puts the old value back once', () => {
    writeFileSync(join(dir, 'min_free_ms'), '0\n');
    const listeners = (): number[] => (['exit', 'SIGINT', 'SIGTERM'] as const).map((e) => process.listenerCount(e));
    const start = listeners();
    const hold = holdFreedMemory(300_000, dir);
    expect(listeners()).toEqual(start.map((n) => n + 1)); // an interrupted run restores it too
    expect(readFileSync(join(dir, 'min_free_ms'), 'utf8')).toBe('300000');
    expect(hold.note).toMatch(/held: .*min_free_ms 0 → 300000/);
    hold.release();
    expect(readFileSync(join(dir, 'min_free_ms'), 'utf8')).toBe('0');
    expect(listeners()).toEqual(start);
    writeFileSync(join(dir, 'min_free_ms'), '7');
    hold.release(); // idempotent: a second release writes nothing
    expect(readFileSync(join(dir, 'min_free_ms'), 'utf8')).toBe('7');
  });

  it('leaves a longer delay as it is', () => {
    writeFileSync(join(dir, 'min_free_ms'), '400000');
    const hold = holdFreedMemory(300_000, dir);
    hold.release();
    expect(readFileSync(join(dir, 'min_free_ms'), 'utf8')).toBe('400000');
    expect(hold.note).toMatch(/left as it was/);
  });

  it('says so when the delay cannot be written, and changes nothing', () => {
    // /proc/version reads for everyone and takes no write, root's included.
    symlinkSync('/proc/version', join(dir, 'min_free_ms'));
    const before = readFileSync('/proc/version', 'utf8');
    const hold = holdFreedMemory(300_000, dir);
    hold.release();
    expect(hold.note).toMatch(/could not be set \(E[A-Z]+/);
    expect(readFileSync('/proc/version', 'utf8')).toBe(before);
  });

  it('notes a kernel that reports free pages with no delay to set, and is silent without reporting', () => {
    writeFileSync(join(dir, 'page_reporting_order'), '9');
    expect(holdFreedMemory(300_000, dir).note).toMatch(/no delay to set/);
    expect(holdFreedMemory(300_000, join(tmp.path, 'absent')).note).toBeUndefined();
  });
});
