// Runs a command in a real pseudo-terminal (util-linux script(1)) of a chosen width and replays
// what it wrote into a screen, the way a terminal shows it: '\r' returns to column 0, ESC[K
// erases to the end of the line. Lines are not wrapped: `widest` says how far one reached, so a
// test can tell whether it would have wrapped.
//
//   const t = await runInTerminal(`node ${GET} ${url} -`, { cols: 50 });
//   expect(t.screen).toContain('ftp-get: 2 files downloaded (12 B), 0 failed');
//   expect(t.widest).toBeLessThanOrEqual(50);
import { spawnSync } from 'node:child_process';
import { runTool } from './tools.js';

export interface TerminalResult {
  /** The command's exit status (script -e passes it on). */
  code: number | null;
  /** Every byte written to the terminal. */
  raw: string;
  /** The lines on the screen at the end, right-trimmed, empty trailing lines dropped. */
  screen: string[];
  /** The widest any line got (columns); more than `cols` means the terminal wrapped it. */
  widest: number;
  timedOut: boolean;
}

/** True when util-linux script(1) is here (Debian's bsdutils, always installed). */
export function hasScript(): boolean {
  return spawnSync('script', ['--version'], { encoding: 'utf8' }).status === 0;
}

function shellQuote(s: string): string {
  return `'${s.replace(/'/g, "'\\''")}'`;
}

/** Runs `command` (a POSIX shell line) on a terminal `cols` wide; stdout and stderr both go to it. */
export async function runInTerminal(command: string, opts: { cols: number; env?: NodeJS.ProcessEnv; timeoutMs?: number }): Promise<TerminalResult> {
  const line = `stty cols ${opts.cols} rows 40; ${command}`;
  const r = await runTool('script', ['-qfec', `sh -c ${shellQuote(line)}`, '/dev/null'], { timeoutMs: opts.timeoutMs ?? 30_000, env: { ...process.env, ...opts.env, TERM: 'xterm' } });
  return { code: r.code, raw: r.stdout, ...replay(r.stdout), timedOut: r.timedOut };
}

/** What a terminal would show after `raw` (without wrapping). */
export function replay(raw: string): { screen: string[]; widest: number } {
  const lines: string[][] = [[]];
  let row = 0;
  let col = 0;
  let widest = 0;
  const chars = Array.from(raw);
  for (let i = 0; i < chars.length; i++) {
    const ch = chars[i]!;
    if (ch === '\r') col = 0;
    else if (ch === '\n') {
      row++;
      lines[row] ??= [];
    } else if (ch === '\x1b') {
      // CSI: ESC [ params final
      let j = i + 1;
      if (chars[j] === '[') {
        j++;
        while (j < chars.length && /[0-9;?]/.test(chars[j]!)) j++;
        if (chars[j] === 'K') lines[row]!.length = Math.min(lines[row]!.length, col);
      }
      i = j;
    } else if (ch >= ' ') {
      const cur = lines[row]!;
      while (cur.length < col) cur.push(' ');
      cur[col] = ch;
      col++;
      widest = Math.max(widest, col);
    }
  }
  const screen = lines.map((l) => l.join('').trimEnd());
  while (screen.length > 0 && screen.at(-1) === '') screen.pop();
  return { screen, widest };
}
