// The one parser for numbers, sizes and durations given on the command line. Every refusal is a
// UsageError naming the flag and quoting what was given, e.g. "--parallel takes 1 to 32, got '0'".
import { UsageError } from './usage-error.js';

export interface CountRange {
  /** Default 0. */
  min?: number;
  /** Default Number.MAX_SAFE_INTEGER. */
  max?: number;
}

function describeRange(min: number, max: number): string {
  if (max < Number.MAX_SAFE_INTEGER) return `${min} to ${max}`;
  return min === 0 ? 'a whole number' : `a whole number from ${min}`;
}

/** A whole number in decimal digits (no sign, no fraction, no exponent) within [min, max]. */
export function parseCount(text: string, flag: string, { min = 0, max = Number.MAX_SAFE_INTEGER }: CountRange = {}): number {
  const value = /^\d{1,16}$/.test(text) ? Number(text) : NaN;
  if (!Number.isSafeInteger(value) || value < min || value > max) throw new UsageError(`${flag} takes ${describeRange(min, max)}, got '${text}'`);
  return value;
}

/** A TCP port, 0 (any free port) to 65535 unless `min` says otherwise. */
export function parsePort(text: string, flag: string, min = 0): number {
  const value = /^\d{1,5}$/.test(text) ? Number(text) : NaN;
  if (!(value >= min && value <= 65535)) throw new UsageError(`${flag} takes a port from ${min} to 65535, got '${text}'`);
  return value;
}

const SIZE_UNITS: Record<string, number> = { '': 1, k: 1024, m: 1024 ** 2, g: 1024 ** 3, t: 1024 ** 4 };

/**
 * Bytes: a whole number, or a number with k, M, G or T (binary: 1k = 1024), e.g. `5M`, `1.5G`.
 * A trailing `B`/`iB` is allowed (`5MiB`). The result is rounded down to whole bytes.
 */
export function parseSize(text: string, flag: string, { min = 0, max = Number.MAX_SAFE_INTEGER }: CountRange = {}): number {
  const m = /^(\d{1,16}(?:\.\d{1,6})?)([kKmMgGtT]?)(?:i?B)?$/.exec(text);
  const value = m && (m[2] !== '' || !m[1]!.includes('.')) ? Math.floor(Number(m[1]) * SIZE_UNITS[m[2]!.toLowerCase()]!) : NaN;
  if (!Number.isSafeInteger(value) || value < min || value > max) {
    const range = max < Number.MAX_SAFE_INTEGER ? ` from ${min} to ${max}` : min > 0 ? ` of at least ${min}` : '';
    throw new UsageError(`${flag} takes a size in bytes${range} (optionally with k, M or G), got '${text}'`);
  }
  return value;
}

const DURATION_UNITS: Record<string, number> = { ms: 1, s: 1000, '': 1000, m: 60_000, h: 3_600_000 };

export interface DurationRange {
  /** Least milliseconds accepted. Default 0. */
  minMs?: number;
  /** Most milliseconds accepted. Default one year. */
  maxMs?: number;
}

function seconds(ms: number): string {
  return String(ms / 1000);
}

/**
 * A duration, returned in milliseconds: seconds by default (fractions allowed: `0.5`), or with a
 * unit: `250ms`, `30s`, `15m`, `1h`.
 */
export function parseDuration(text: string, flag: string, { minMs = 0, maxMs = 365 * 86_400_000 }: DurationRange = {}): number {
  const m = /^(\d{1,12}(?:\.\d{1,6})?)(ms|s|m|h)?$/.exec(text);
  const value = m ? Math.round(Number(m[1]) * DURATION_UNITS[m[2] ?? '']!) : NaN;
  if (!Number.isSafeInteger(value) || value < minMs || value > maxMs) {
    throw new UsageError(`${flag} takes seconds from ${seconds(minMs)} to ${seconds(maxMs)} (or a number with ms, s, m or h), got '${text}'`);
  }
  return value;
}
