/**
 * Runs `jobs` over `workers` (one FileClient each), each worker taking the
 * next job when free. The first failure stops new jobs from starting; the
 * ones already running finish, then it is thrown.
 */
export async function runPool<W, J>(workers: readonly W[], jobs: readonly J[], run: (worker: W, job: J) => Promise<void>): Promise<void> {
  let next = 0;
  let failure: { error: unknown } | undefined;
  await Promise.all(workers.map(async (worker) => {
    while (!failure && next < jobs.length) {
      const job = jobs[next++]!;
      try {
        await run(worker, job);
      } catch (error) {
        failure ??= { error };
      }
    }
  }));
  if (failure) throw failure.error;
}
