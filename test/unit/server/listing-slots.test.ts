import { describe, expect, it } from 'vitest';
import { ListingSlots } from '../../../src/server/listing-slots.js';

const never = new AbortController().signal;
/** Settles pending promise callbacks. */
const tick = (): Promise<void> => new Promise((r) => setImmediate(r));

describe('ListingSlots', () => {
  it('runs at most `max` at once; the others start in arrival order as turns free', async () => {
    const slots = new ListingSlots(2, 0);
    const started: string[] = [];
    const take = (name: string): Promise<() => void> => slots.acquire(name, never).then((release) => (started.push(name), release));
    const [a, b] = await Promise.all([take('a'), take('b')]);
    const c = take('c');
    const d = take('d');
    await tick();
    expect(started).toEqual(['a', 'b']);
    expect([slots.running, slots.waiting]).toEqual([2, 2]);
    a!();
    await c;
    expect(started).toEqual(['a', 'b', 'c']);
    a!(); // a second release of the same turn frees nothing
    await tick();
    expect(started).toEqual(['a', 'b', 'c']);
    b!();
    (await d)();
    (await c)();
    expect([slots.running, slots.waiting]).toEqual([0, 0]);
  });

  it('holds a user at perUser without blocking other users behind it', async () => {
    const slots = new ListingSlots(4, 1);
    const first = await slots.acquire('anon', never);
    let second: (() => void) | undefined;
    void slots.acquire('anon', never).then((r) => (second = r));
    const other = await slots.acquire('alice', never); // not queued behind anon's second
    await tick();
    expect(second).toBeUndefined();
    expect([slots.running, slots.waiting]).toEqual([2, 1]);
    first();
    await tick();
    expect(second).toBeDefined();
    second!();
    other();
    expect(slots.running).toBe(0);
  });

  it('a wait ends when its signal aborts, and the turn goes to the next one', async () => {
    const slots = new ListingSlots(1, 0);
    const held = await slots.acquire('a', never);
    const controller = new AbortController();
    const gone = slots.acquire('b', controller.signal);
    const next = slots.acquire('c', never);
    controller.abort(new Error('session closed'));
    await expect(gone).rejects.toThrow('session closed');
    expect(slots.waiting).toBe(1);
    held();
    (await next)();
    expect([slots.running, slots.waiting]).toEqual([0, 0]);
    await expect(slots.acquire('d', controller.signal)).rejects.toThrow('session closed');
  });

  it('0 means no limit', async () => {
    const slots = new ListingSlots(0, 0);
    const releases = await Promise.all(Array.from({ length: 50 }, () => slots.acquire('u', never)));
    expect(slots.running).toBe(50);
    for (const r of releases) r();
    expect(slots.running).toBe(0);
  });
});
