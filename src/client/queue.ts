import { setMaxListeners } from 'node:events';
import { FtpError } from '../errors.js';

export function abortError(signal: AbortSignal): FtpError {
  return new FtpError('FTPKIT_ERR_ABORTED', 'the operation was aborted', { cause: signal.reason });
}

/**
 * Runs one operation at a time. The caller's promise rejects as soon as its
 * signal fires, while the task itself keeps the queue until it has cleaned up
 * (sent ABOR, drained the replies), so the next operation starts on a
 * connection that is back in step.
 */
export class OperationQueue {
  #tail: Promise<void> = Promise.resolve();
  #pending = 0;

  get idle(): boolean {
    return this.#pending === 0;
  }

  run<T>(task: () => Promise<T>, signal?: AbortSignal): Promise<T> {
    if (signal?.aborted) return Promise.reject(abortError(signal));
    this.#pending++;
    const result = this.#tail.then(() => {
      if (signal?.aborted) throw abortError(signal);
      return task();
    });
    this.#tail = result.then(
      () => void this.#pending--,
      () => void this.#pending--,
    );
    return signal ? raceAbort(result, signal) : result;
  }
}

/** Settles with `promise`, or rejects early when `signal` fires; the listener is always removed. */
export function raceAbort<T>(promise: Promise<T>, signal: AbortSignal): Promise<T> {
  return new Promise<T>((resolve, reject) => {
    const onAbort = (): void => reject(abortError(signal));
    if (signal.aborted) return onAbort();
    signal.addEventListener('abort', onAbort, { once: true });
    promise.then(
      (v) => {
        signal.removeEventListener('abort', onAbort);
        resolve(v);
      },
      (e: unknown) => {
        signal.removeEventListener('abort', onAbort);
        reject(e);
      },
    );
  });
}

/**
 * A child signal that follows `parent` with a single listener on it. Work that
 * fans one caller signal out to many streams and waits (pipelines, several
 * clients) listens on the child instead, so the caller's signal never collects
 * enough listeners to trip Node's leak warning.
 */
export function linkSignal(parent: AbortSignal | undefined): { signal: AbortSignal; dispose(): void } {
  const controller = new AbortController();
  setMaxListeners(0, controller.signal);
  if (!parent) return { signal: controller.signal, dispose: () => {} };
  const onAbort = (): void => controller.abort(parent.reason);
  if (parent.aborted) onAbort();
  else parent.addEventListener('abort', onAbort, { once: true });
  return { signal: controller.signal, dispose: () => parent.removeEventListener('abort', onAbort) };
}

/** Rejects with a TIMEOUT FtpError when `promise` takes longer than `ms`; the timer is always cleared. */
export function withTimeout<T>(promise: Promise<T>, ms: number, what: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new FtpError('FTPKIT_ERR_TIMEOUT', `${what} took longer than ${ms} ms`)), ms);
  });
  return Promise.race([promise, timeout]).finally(() => clearTimeout(timer));
}
