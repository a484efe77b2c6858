// A local attacker for jail tests: swaps two names inside a root (a folder and a symlink to the
// outside) with renameat2(RENAME_EXCHANGE), as fast as it can, in a separate process.
//
//   const racer = await startSwapRacer(join(root, 'd'), join(root, 'swap'));
//   ... commands on /d ...
//   await racer.stop();
import { spawn } from 'node:child_process';
import { hasTool, PYTHON } from '../../helpers/tools.js';

// Exits on its own after `secs` (a safety net if the test process dies first).
const RACER = `
import ctypes, os, sys, time
libc = ctypes.CDLL(None, use_errno=True)
f = libc.renameat2
f.argtypes = [ctypes.c_int, ctypes.c_char_p, ctypes.c_int, ctypes.c_char_p, ctypes.c_uint]
a, b, secs = sys.argv[1].encode(), sys.argv[2].encode(), float(sys.argv[3])
if f(-100, a, -100, b, 2) != 0:
    sys.exit('renameat2: ' + os.strerror(ctypes.get_errno()))
print('ready', flush=True)
n, end = 1, time.monotonic() + secs
while n & 0xfff or time.monotonic() < end:
    f(-100, a, -100, b, 2)
    n += 1
`;

/** Linux with python3 (renameat2 through ctypes); with CI=true a missing python3 throws. */
export function canRace(): boolean {
  return process.platform === 'linux' && hasTool('python3');
}

export interface SwapRacer {
  /** Kills the racer and waits for it to exit. Idempotent. */
  stop(): Promise<void>;
}

/** Starts swapping `a` and `b`; resolves once the first swap is done. */
export async function startSwapRacer(a: string, b: string, maxSeconds = 120): Promise<SwapRacer> {
  const child = spawn(PYTHON, ['-c', RACER, a, b, String(maxSeconds)], { stdio: ['ignore', 'pipe', 'pipe'] });
  let stderr = '';
  child.stderr.on('data', (c: Buffer) => (stderr += c.toString()));
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  await new Promise<void>((resolve, reject) => {
    child.stdout.once('data', () => resolve());
    child.once('exit', (code) => reject(new Error(`racer exited (${code}): ${stderr}`)));
  });
  return {
    async stop() {
      if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
      await exited;
    },
  };
}
