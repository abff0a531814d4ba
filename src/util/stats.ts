/**
 * Summary statistics over plain arrays, shared by evaluation, reports and
 * benchmarks so that "the mean" or "the 95% interval" is one definition.
 * Empty input gives NaN rather than throwing: a missing statistic shows as
 * NaN (or null, by the caller's choice) in a table, not as a crash.
 */

/** Arithmetic mean; NaN for no values. */
export function mean(xs: readonly number[]): number {
  return xs.length === 0 ? Number.NaN : xs.reduce((a, b) => a + b, 0) / xs.length;
}

/** Middle value (mean of the two middle ones for an even count); NaN for no values. */
export function median(xs: readonly number[]): number {
  if (xs.length === 0) return Number.NaN;
  const s = [...xs].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 ? (s[m] as number) : ((s[m - 1] as number) + (s[m] as number)) / 2;
}

/** Sample standard deviation (n - 1 in the denominator); NaN for fewer than 2 values. */
export function sampleSd(xs: readonly number[]): number {
  const n = xs.length;
  if (n < 2) return Number.NaN;
  const m = mean(xs);
  return Math.sqrt(xs.reduce((a, b) => a + (b - m) ** 2, 0) / (n - 1));
}

/** Two-sided 97.5% quantiles of Student's t for 1..30 degrees of freedom. */
const T975 = [12.706, 4.303, 3.182, 2.776, 2.571, 2.447, 2.365, 2.306, 2.262, 2.228, 2.201, 2.179, 2.16, 2.145, 2.131, 2.12, 2.11, 2.101, 2.093, 2.086, 2.08, 2.074, 2.069, 2.064, 2.06, 2.056, 2.052, 2.048, 2.045, 2.042];

/**
 * 95% interval of a mean from n >= 2 values (Student t; past 30 degrees of
 * freedom the table's last entry, a slight over-cover). NaN bounds for fewer.
 */
export function tInterval(xs: readonly number[]): [number, number] {
  const n = xs.length;
  const m = mean(xs);
  const t = T975[Math.min(n - 1, T975.length) - 1] ?? Number.NaN;
  const half = (t * sampleSd(xs)) / Math.sqrt(n);
  return [m - half, m + half];
}
