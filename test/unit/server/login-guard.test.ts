// LoginGuard's turns (admit) and unban, and the scrypt gate of password.ts: the rules that keep
// parallel guesses under the ban and password verification out of most of libuv's pool.
import { describe, expect, it } from 'vitest';
import { FtpError, hashPassword, verifyPassword } from '../../../src/index.js';
import { LoginGuard, MAX_PARALLEL_LOGINS, type LoginAttempt } from '../../../src/server/abuse/login-guard.js';
import { MAX_WAITING_VERIFICATIONS, SCRYPT_CONCURRENCY, scryptGate } from '../../../src/server/users/password.js';

const FAST = { N: 1024, r: 8, p: 1 };

/** A turn being waited for, and whether it has been given (or refused) yet. */
function waitTurn(guard: LoginGuard, address = 'a', signal?: AbortSignal): { settled: () => boolean; result: Promise<LoginAttempt | undefined> } {
  let done = false;
  const result = guard.admit(address, signal).then((a) => ((done = true), a));
  return { settled: () => done, result };
}

const tick = (): Promise<void> => new Promise((r) => setImmediate(r));

describe('LoginGuard.admit', () => {
  it(`verifies at most ${MAX_PARALLEL_LOGINS} logins of one address at once; other addresses are not held up`, async () => {
    const guard = new LoginGuard({ banAfter: 100 });
    const turns = Array.from({ length: 4 }, () => waitTurn(guard));
    await tick();
    expect(turns.map((t) => t.settled())).toEqual([true, true, false, false]);
    expect(guard.verifying('a')).toBe(2);
    const other = waitTurn(guard, 'b');
    await tick();
    expect(other.settled()).toBe(true);
    (await turns[0]!.result)!.release();
    await tick();
    expect(turns.map((t) => t.settled())).toEqual([true, true, true, false]);
    (await turns[1]!.result)!.fail();
    (await turns[2]!.result)!.release();
    (await turns[3]!.result)!.release();
    (await other.result)!.release();
    expect(guard.verifying('a')).toBe(0);
  });

  it('counts logins being verified toward the ban: failures + running never pass banAfter, and the ban refuses the waiters', async () => {
    const guard = new LoginGuard({ banAfter: 3, delay: 0 });
    const [a, b, c, d, e] = Array.from({ length: 5 }, () => waitTurn(guard));
    await tick();
    const first = (await a!.result)!;
    const second = (await b!.result)!;
    expect(first.fail().failures).toBe(1); // 1 failure + 1 running: c may run
    await tick();
    expect(c!.settled()).toBe(true);
    expect(second.fail().failures).toBe(2); // 2 failures + c running = banAfter: d waits
    await tick();
    expect(d!.settled()).toBe(false);
    (await c!.result)!.release(); // c was right: 2 failures, nothing running, d goes
    await tick();
    expect(d!.settled()).toBe(true);
    expect(e!.settled()).toBe(false);
    const verdict = (await d!.result)!.fail();
    expect(verdict.banned).toBe(true);
    expect(await e!.result).toBeUndefined(); // refused, never verified
    expect(await guard.admit('a')).toBeUndefined();
    expect(guard.verifying('a')).toBe(0);
  });

  it('a waiter whose signal aborts (the connection closed) leaves the queue', async () => {
    const guard = new LoginGuard();
    const running = [await guard.admit('a'), await guard.admit('a')];
    const controller = new AbortController();
    const waiting = waitTurn(guard, 'a', controller.signal);
    const next = waitTurn(guard, 'a');
    controller.abort();
    expect(await waiting.result).toBeUndefined();
    running[0]!.release();
    const turn = await next.result;
    expect(typeof turn?.release).toBe('function'); // a turn, after the released one
    expect(guard.verifying('a')).toBe(2);
    turn!.release();
    running[1]!.release();
    expect(guard.verifying('a')).toBe(0);
    expect(await guard.admit('a', controller.signal)).toBeUndefined();
  });

  it('an attempt ends once: release() after fail() frees nothing more, a second fail() throws', async () => {
    const guard = new LoginGuard({ banAfter: 10 });
    const attempt = (await guard.admit('a'))!;
    attempt.fail();
    attempt.release();
    expect(guard.verifying('a')).toBe(0);
    expect(() => attempt.fail()).toThrow(/already ended/);
  });

  it('banAfter 0 and banDuration 0 never ban, and do not hold logins back for failures', async () => {
    for (const options of [{ banAfter: 0 }, { banAfter: 2, banDuration: 0 }]) {
      const guard = new LoginGuard({ delay: 0, ...options });
      for (let i = 0; i < 20; i++) {
        const both = [await guard.admit('a'), await guard.admit('a')];
        for (const attempt of both) expect(attempt!.fail().banned).toBe(false);
      }
      expect(guard.bannedFor('a')).toBe(0);
    }
  });
});

describe('LoginGuard.unban', () => {
  it('lifts one ban or all, returns how many, and forgets the failures', () => {
    const guard = new LoginGuard({ banAfter: 2, window: 60_000, banDuration: 60_000 });
    const t = 1_000_000;
    for (const address of ['a', 'b', 'c']) {
      guard.failure(address, t);
      guard.failure(address, t);
    }
    guard.failure('d', t);
    expect(guard.bannedFor('a', t)).toBe(60_000);
    expect(guard.unban('a', t)).toBe(1);
    expect(guard.bannedFor('a', t)).toBe(0);
    expect(guard.failure('a', t).failures).toBe(1); // starts over
    expect(guard.unban('d', t)).toBe(0); // failures, no ban
    expect(guard.failure('d', t).failures).toBe(1);
    expect(guard.unban(undefined, t)).toBe(2);
    expect(guard.bannedFor('b', t)).toBe(0);
    expect(guard.bannedFor('c', t)).toBe(0);
    expect(guard.unban(undefined, t)).toBe(0);
    expect(guard.unban('b', t + 120_000)).toBe(0); // an expired ban is not counted
  });
});

describe('password verification and the thread pool', () => {
  it(`runs at most ${SCRYPT_CONCURRENCY} scrypt at once; ${MAX_WAITING_VERIFICATIONS} may wait, the rest get FTPKIT_ERR_BUSY`, async () => {
    expect(SCRYPT_CONCURRENCY).toBeLessThanOrEqual(2);
    const hash = await hashPassword('right', FAST);
    let peak = 0;
    let sampling = true;
    const sample = (): void => {
      peak = Math.max(peak, scryptGate.running);
      if (sampling) setImmediate(sample);
    };
    sample();
    const results = await Promise.allSettled(Array.from({ length: 100 }, (_, i) => verifyPassword(i === 0 ? 'right' : 'wrong', hash)));
    sampling = false;
    const busy = results.filter((r) => r.status === 'rejected');
    expect(busy).toHaveLength(100 - SCRYPT_CONCURRENCY - MAX_WAITING_VERIFICATIONS);
    for (const r of busy) expect((r as PromiseRejectedResult).reason).toMatchObject({ code: 'FTPKIT_ERR_BUSY' });
    expect((busy[0] as PromiseRejectedResult).reason).toBeInstanceOf(FtpError);
    expect(results[0]).toEqual({ status: 'fulfilled', value: true });
    expect(results.filter((r) => r.status === 'fulfilled' && r.value === false)).toHaveLength(SCRYPT_CONCURRENCY + MAX_WAITING_VERIFICATIONS - 1);
    expect(peak).toBe(SCRYPT_CONCURRENCY);
    expect(scryptGate.running).toBe(0);
    expect(scryptGate.waiting).toBe(0);
  });

  it("compares exactly: 'pw\\0' and 'pw\\0\\0' do not verify against 'pw', and no password with NUL is hashed", async () => {
    const hash = await hashPassword('pw', FAST);
    expect(await verifyPassword('pw', hash)).toBe(true);
    expect(await verifyPassword('pw\0', hash)).toBe(false);
    expect(await verifyPassword('pw\0\0', hash)).toBe(false);
    await expect(hashPassword('a\0b', FAST)).rejects.toThrow(/password must not contain NUL/);
  });
});
