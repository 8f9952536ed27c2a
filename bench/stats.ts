/** Small numeric helpers shared by the bench scripts. */

/** Nearest-rank quantile. */
export function quantile(values: number[], q: number): number {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil(q * sorted.length) - 1))] ?? NaN;
}

export const median = (values: number[]): number => quantile(values, 0.5);

export function f(value: number, digits: number): string {
  return value.toFixed(digits);
}

/** A signed difference: `+12.3` or `-4.0`. */
export function signed(value: number, digits: number): string {
  return `${value >= 0 ? '+' : ''}${f(value, digits)}`;
}

export function count(text: string | undefined, flag: string, min: number): number {
  const n = Number(text);
  if (!Number.isInteger(n) || n < min) throw new Error(`${flag} takes an integer ≥ ${min}, got ${String(text)}`);
  return n;
}

export const msSince = (t0: bigint, at = process.hrtime.bigint()): number => Number(at - t0) / 1e6;
