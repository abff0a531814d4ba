/**
 * Sampling metrics over k responses per problem: avg@k (mean accuracy),
 * pass@k (the unbiased estimator of Chen et al. 2021 from n >= k samples)
 * and maj@k (majority vote over normalised final answers).
 */
import { GvmError } from "../util/errors.js";

export class MetricError extends GvmError {}

/** Mean correctness of the samples of one problem. */
export function avgAtK(correct: readonly boolean[]): number {
  if (correct.length === 0) throw new MetricError("avg@k: no samples");
  let c = 0;
  for (const x of correct) if (x) c++;
  return c / correct.length;
}

/**
 * Probability that at least one of k samples drawn without replacement from
 * n samples with c correct is correct: 1 - C(n - c, k) / C(n, k), computed
 * as a product so large n never overflows.
 */
export function passAtK(n: number, c: number, k: number): number {
  if (!(Number.isInteger(n) && Number.isInteger(c) && Number.isInteger(k)) || n < 1 || c < 0 || c > n || k < 1 || k > n) {
    throw new MetricError(`pass@k: need integers 0 <= c <= n, 1 <= k <= n; got n=${n}, c=${c}, k=${k}`);
  }
  if (n - c < k) return 1;
  let fail = 1;
  for (let i = n - c + 1; i <= n; i++) fail *= 1 - k / i;
  return 1 - fail;
}

/**
 * Majority vote: the most frequent non-null answer key wins (ties go to the
 * answer seen first); the vote is correct when a sample with that key is.
 * keys: normalised extracted answers (null when none was found).
 */
export function majAtK(keys: readonly (string | null)[], correct: readonly boolean[]): boolean {
  if (keys.length !== correct.length) throw new MetricError(`maj@k: ${keys.length} answers but ${correct.length} verdicts`);
  const counts = new Map<string, { n: number; first: number; correct: boolean }>();
  keys.forEach((k, i) => {
    if (k === null) return;
    const e = counts.get(k);
    if (e) e.n++;
    else counts.set(k, { n: 1, first: i, correct: correct[i] as boolean });
  });
  let best: { n: number; first: number; correct: boolean } | null = null;
  for (const e of counts.values()) if (!best || e.n > best.n || (e.n === best.n && e.first < best.first)) best = e;
  return best?.correct ?? false;
}

/** Mean and a normal-approximation 95% interval of per-problem scores. */
export function meanWithCi(xs: readonly number[]): { mean: number; lo: number; hi: number; n: number } {
  const n = xs.length;
  if (n === 0) return { mean: Number.NaN, lo: Number.NaN, hi: Number.NaN, n };
  const mean = xs.reduce((a, b) => a + b, 0) / n;
  const varc = n > 1 ? xs.reduce((a, b) => a + (b - mean) ** 2, 0) / (n - 1) : 0;
  const half = 1.96 * Math.sqrt(varc / n);
  return { mean, lo: mean - half, hi: mean + half, n };
}
