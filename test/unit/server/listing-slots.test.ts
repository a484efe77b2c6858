import { describe, expect, it } from 'vitest';
import { ListingSlots, listingSlots, listingTurn } from '../../../src/server/listing-slots.js';
import type { Session } from '../../../src/server/session.js';

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

describe('listingTurn', () => {
  const anonymousGrant = { root: '/srv' };
  /** The parts of a Session that listingTurn uses. */
  function fakeSession(opts: { user?: string; anonymousFrom?: string; host: object }) {
    const replies: Array<[number, string]> = [];
    let dataClosed = 0;
    const ended = new AbortController();
    const session = {
      host: opts.host,
      signal: ended.signal,
      grant: opts.anonymousFrom ? anonymousGrant : { root: '/srv' },
      account: opts.user ? { name: opts.user } : { name: 'anonymous' },
      username: opts.user ?? 'anonymous',
      remoteAddress: opts.anonymousFrom ?? '127.0.0.1',
      log: { info() {} },
      data: { close: () => void dataClosed++ },
      reply: (code: number, text: string) => void replies.push([code, text]),
    };
    return { session: session as unknown as Session, replies, dataClosed: () => dataClosed, end: () => ended.abort(new Error('closed')) };
  }
  const host = (maxListings: number, maxListingsPerUser: number, data = 50) => ({
    options: { maxListings, maxListingsPerUser, timeouts: { data }, anonymous: anonymousGrant },
  });

  it('past the data timeout answers 450 and drops the prepared data connection', async () => {
    const h = host(1, 0);
    const first = fakeSession({ user: 'alice', host: h });
    const release = await listingTurn(first.session);
    expect(release).toBeDefined();
    const second = fakeSession({ user: 'bob', host: h });
    expect(await listingTurn(second.session)).toBeUndefined();
    expect(second.replies).toEqual([[450, 'Too many listings running, try again later']]);
    expect(second.dataClosed()).toBe(1);
    release!();
    expect(listingSlots(h as never).running).toBe(0);
  });

  it('a session that ends while waiting gets no reply and leaves no waiter', async () => {
    const h = host(1, 0, 60_000);
    const release = await listingTurn(fakeSession({ user: 'alice', host: h }).session);
    const waiting = fakeSession({ user: 'bob', host: h });
    const turn = listingTurn(waiting.session);
    await tick();
    expect(listingSlots(h as never).waiting).toBe(1);
    waiting.end();
    expect(await turn).toBeUndefined();
    expect(waiting.replies).toEqual([]);
    expect(listingSlots(h as never).waiting).toBe(0);
    release!();
  });

  it('anonymous sessions count per address, named users per user', async () => {
    const h = host(0, 1);
    const a1 = await listingTurn(fakeSession({ anonymousFrom: '192.0.2.1', host: h }).session);
    const a2 = await listingTurn(fakeSession({ anonymousFrom: '192.0.2.2', host: h }).session);
    expect(a1 && a2).toBeDefined();
    const sameAddress = fakeSession({ anonymousFrom: '192.0.2.1', host: h });
    expect(await listingTurn(sameAddress.session)).toBeUndefined(); // waited out its timeout
    expect(sameAddress.replies[0]![0]).toBe(450);
    const alice = await listingTurn(fakeSession({ user: 'alice', host: h }).session);
    const alice2 = fakeSession({ user: 'alice', host: h });
    expect(await listingTurn(alice2.session)).toBeUndefined();
    for (const r of [a1, a2, alice]) r!();
    expect(listingSlots(h as never).running).toBe(0);
  });
});
