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

/**
 * Mean of per-problem scores in [0, 1] (avg@k with k samples each) and a
 * 95% Wilson score interval, which stays inside [0, 1]: the normal interval
 * it replaces went below 0 near 0 accuracy and gave [p, p] when every score
 * was equal. The interval counts n_eff trials, the number of single draws
 * whose spread matches the scores' (n p(1-p) / s^2), bounded to
 * [n, n k]: for 0/1 scores it is the textbook Wilson interval over n
 * problems, and with no spread (all 0, all 1) that over all n k samples.
 */
export function meanWithCi(xs: readonly number[], k = 1): { mean: number; lo: number; hi: number; n: number } {
  const n = xs.length;
  if (n === 0) return { mean: Number.NaN, lo: Number.NaN, hi: Number.NaN, n };
  for (const x of xs) if (!(x >= 0 && x <= 1)) throw new MetricError(`meanWithCi: scores must lie in [0, 1], got ${x}`);
  if (!(Number.isInteger(k) && k >= 1)) throw new MetricError(`meanWithCi: k must be an integer >= 1, got ${k}`);
  const mean = xs.reduce((a, b) => a + b, 0) / n;
  const varc = n > 1 ? xs.reduce((a, b) => a + (b - mean) ** 2, 0) / (n - 1) : 0;
  const bernoulli = mean * (1 - mean);
  const trials = varc > 0 ? Math.min(n * k, Math.max(n, (n * bernoulli) / varc)) : n * k;
  const [lo, hi] = wilson(mean, trials);
  return { mean, lo, hi, n };
}

/** The 95% Wilson score interval of a proportion p observed over `trials` draws. */
export function wilson(p: number, trials: number, z = 1.959963984540054): [number, number] {
  const z2n = (z * z) / trials;
  const centre = (p + z2n / 2) / (1 + z2n);
  const half = (z / (1 + z2n)) * Math.sqrt((p * (1 - p)) / trials + z2n / (4 * trials));
  // Exactly, lo <= p <= hi within [0, 1]; rounding can miss by 1e-17 at p = 0 or 1.
  return [Math.min(p, Math.max(0, centre - half)), Math.max(p, Math.min(1, centre + half))];
}
