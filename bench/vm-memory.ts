// Keeps a virtual machine's freed memory backed by its host while the bench runs.
//
// A guest kernel with free page reporting (virtio-balloon) hands memory that has been free
// for a while back to its host, which faults it in again when the guest writes to it: at
// 0.40-0.57 GB/s on the bench machine, against 2.1-2.7 GB/s for memory the host still backs
// (`dd` of 1 GiB into /dev/shm, 2026-12-03). An upload that lands on such pages times the
// host: in a profile of a 0.27 GB/s STOR, ftpkit's receive thread spent 3.8 s of CPU, 84% of
// it copying into fresh tmpfs pages, where a 1.05 GB/s STOR spent 0.11 s on the same copy.
// warmMemory (run.ts) writes and frees memory right before each upload so that the upload
// reuses it, but the kernel goes on reporting what is free meanwhile (about 60 MiB/s here), so
// part of an upload could still land on returned pages. Some kernels (this machine's) let
// root delay the report: `min_free_ms`, how long a page must have been free before it is
// reported. The bench raises it for the run and puts it back when it ends.
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';

/** The kernel's page reporting settings (tests pass a folder of their own). */
const PARAMETERS = '/sys/module/page_reporting/parameters';

export interface MemoryHold {
  /** What was done, for the run's notes; undefined when the machine reports no free pages. */
  note?: string;
  /** Restores the setting (idempotent). */
  release(): void;
}

/** What a run's notes add when the report cannot be held. */
const UNHELD = 'STOR samples may land on memory the host took back';

function read(path: string): string | undefined {
  try {
    return readFileSync(path, 'utf8').trim();
  } catch {
    return undefined;
  }
}

/**
 * Delays the report of freed pages until they have been free for `ms` (this machine's kernel
 * takes up to 5 minutes) when the kernel allows it; see the file's comment.
 */
export function holdFreedMemory(ms = 300_000, parameters = PARAMETERS): MemoryHold {
  const noop = { release() {} };
  const knob = join(parameters, 'min_free_ms');
  const before = read(knob);
  if (before === undefined) {
    // Upstream kernels have page_reporting_order only: nothing to hold, warmMemory does what it can.
    return read(join(parameters, 'page_reporting_order')) === undefined
      ? noop
      : { ...noop, note: `this VM reports freed memory to its host (free page reporting) and has no delay to set: ${UNHELD}` };
  }
  if (Number(before) >= ms) return { ...noop, note: `free page reporting: pages are reported after ${before} ms free (left as it was)` };
  try {
    writeFileSync(knob, String(ms));
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code ?? String(err);
    const why = code === 'EACCES' || code === 'EPERM' ? `${code}: needs root` : code;
    return { ...noop, note: `free page reporting delay could not be set (${why}): ${UNHELD}` };
  }
  const onSignal = (signal: NodeJS.Signals): void => {
    release();
    process.exit(128 + (signal === 'SIGINT' ? 2 : 15));
  };
  let held = true;
  const release = (): void => {
    if (!held) return;
    held = false;
    process.off('exit', release).off('SIGINT', onSignal).off('SIGTERM', onSignal);
    try {
      writeFileSync(knob, before);
    } catch {
      // gone or no longer writable: nothing else to do
    }
  };
  // An interrupted run still puts the setting back.
  process.once('exit', release).once('SIGINT', onSignal).once('SIGTERM', onSignal);
  return { note: `free page reporting held: ${knob} ${before} → ${ms} for the run, restored after`, release };
}
