// Markdown tables of medians, each server's figure followed by its ratio to vsftpd's.
import type { ManyClientsResult, Phase } from './ftpbench.js';
import type { ServerName } from './servers.js';

/** A measured figure, or why there is none. */
export type Cell = { value: number; note?: string } | { error: string };

export interface Row {
  label: string;
  cells: Partial<Record<string, Cell>>;
  /** Ratios against this column (default vsftpd); none when undefined. */
  baseline?: string;
  digits?: number;
}

function fmt(n: number, digits: number): string {
  if (!Number.isFinite(n)) return '—';
  return n.toFixed(digits);
}

export function renderTable(title: string, columns: readonly string[], rows: readonly Row[]): string {
  const head = `| ${title} | ${columns.join(' | ')} |`;
  const rule = `|---|${columns.map(() => '---:').join('|')}|`;
  const body = rows.map((row) => {
    const base = row.cells[row.baseline ?? 'vsftpd'];
    const baseValue = base && 'value' in base ? base.value : Number.NaN;
    const cells = columns.map((col) => {
      const c = row.cells[col];
      if (!c) return '';
      if ('error' in c) return `error: ${c.error.replace(/\|/g, '/').slice(0, 60)}`;
      let text = fmt(c.value, row.digits ?? 2);
      if (Number.isFinite(baseValue) && baseValue > 0 && Number.isFinite(c.value)) text += ` (${(c.value / baseValue).toFixed(2)}×)`;
      if (c.note) text += ` ${c.note}`;
      return text;
    });
    return `| ${row.label} | ${cells.join(' | ')} |`;
  });
  return [head, rule, ...body].join('\n');
}

const MB = 1e6;

function phaseCell(p: Phase): Cell {
  return { value: p.seconds, ...(p.errors ? { note: `⚠ ${p.errors}/${p.ok + p.errors} failed` } : {}) };
}

/** Bytes the sessions that succeeded moved, over the phase's time. */
function rateCell(p: Phase, bytes: number): Cell {
  return { value: p.seconds > 0 ? (p.ok * bytes) / p.seconds / 1e9 : Number.NaN, ...(p.errors ? { note: `(${p.ok} sessions)` } : {}) };
}

/** The ftpbench rows for one N. */
export function manyRows(results: Partial<Record<ServerName, ManyClientsResult | { error: string }>>, bigLabel: string, smallBytes: number): Row[] {
  const pick = (f: (r: ManyClientsResult) => Cell): Partial<Record<string, Cell>> => {
    const cells: Partial<Record<string, Cell>> = {};
    for (const [name, r] of Object.entries(results)) {
      if (r) cells[name] = 'error' in r ? { error: r.error } : f(r);
    }
    return cells;
  };
  return [
    { label: 'connect + login, all (s)', cells: pick((r) => phaseCell(r.login)) },
    {
      label: `one RETR of ${bigLabel} while N idle (MB/s)`,
      digits: 0,
      cells: pick((r) => (r.idleRetrError ? { error: r.idleRetrError } : { value: r.idleRetrMBps })),
    },
    { label: 'N × RETR 10 MB at once (s)', cells: pick((r) => phaseCell(r.retr)) },
    { label: 'N × RETR 10 MB at once, aggregate (GB/s)', cells: pick((r) => rateCell(r.retr, smallBytes)) },
    { label: 'N × STOR 10 MB at once (s)', cells: pick((r) => phaseCell(r.stor)) },
    { label: 'N × STOR 10 MB at once, aggregate (GB/s)', cells: pick((r) => rateCell(r.stor, smallBytes)) },
    { label: 'N × QUIT (s)', cells: pick((r) => phaseCell(r.quit)) },
    { label: 'server RSS at start (MB)', digits: 1, cells: pick((r) => ({ value: r.memoryStart.rss / MB })) },
    {
      label: 'server RSS, N logged in (MB)',
      digits: 1,
      cells: pick((r) => ({ value: r.memoryLoggedIn.rss / MB, note: r.memoryLoggedIn.processes > 1 ? `[${r.memoryLoggedIn.processes} procs, PSS ${(r.memoryLoggedIn.pss / MB).toFixed(0)}]` : '' })),
    },
  ];
}
