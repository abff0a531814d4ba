/**
 * The continuous allocation under per-prompt caps ("water-filling").
 *
 * Minimising sum_i c_i / x_i with sum_i x_i = B and lo <= x_i <= hi has the
 * KKT solution x_i = clamp(t * s_i, lo, hi) with s_i = sqrt(c_i) (the
 * weights) and one level t chosen so the x_i sum to B: budget a capped prompt
 * cannot take flows to the others in proportion to their weights.
 */

export interface WaterfillResult {
  /** Continuous allocation per weight, in input order. */
  x: number[];
  /** How many sit at lo (and would take less if allowed). */
  atMin: number;
  /** How many sit at hi (and would take more if allowed). */
  atMax: number;
}

/**
 * x_i = clamp(t * weights_i, lo, hi) summing to `budget`. Weights must be
 * positive and finite; requires weights.length * lo <= budget <= weights.length * hi
 * (hi may be Infinity). The level t lies between two breakpoints lo / w_i,
 * hi / w_i; a binary search over them finds that segment, and every sum is
 * taken afresh (running sums would cancel when weights span many decades).
 */
export function waterfill(weights: readonly number[], budget: number, lo: number, hi: number): WaterfillResult {
  const k = weights.length;
  if (k === 0) return { x: [], atMin: 0, atMax: 0 };
  if (budget <= k * lo) return { x: weights.map(() => lo), atMin: lo > 0 ? k : 0, atMax: 0 };
  if (budget >= k * hi) return { x: weights.map(() => hi), atMin: 0, atMax: k };

  // Scale-free weights keep t in a sane range whatever the magnitude of G.
  let sum = 0;
  for (const w of weights) sum += w;
  const s = weights.map((w) => w / sum);

  const total = (t: number): number => {
    let acc = 0;
    for (const si of s) acc += Math.min(hi, Math.max(lo, t * si));
    return acc;
  };
  const points: number[] = [];
  for (const si of s) {
    points.push(lo / si);
    if (Number.isFinite(hi)) points.push(hi / si);
  }
  points.sort((a, b) => a - b);
  const bp = points.filter((t, i) => i === 0 || t !== points[i - 1]);

  // Smallest j with total(bp[j]) >= budget; bp.length when the level lies beyond every breakpoint.
  let left = 0;
  let right = bp.length;
  while (left < right) {
    const mid = (left + right) >> 1;
    if (total(bp[mid] as number) >= budget) right = mid;
    else left = mid + 1;
  }
  const below = bp[left - 1] as number;
  const probe = left < bp.length ? (below + (bp[left] as number)) / 2 : below * 2 + 1;

  // Inside the segment each prompt is pinned at lo, pinned at hi or free; solve for t over the free ones.
  let pinned = 0;
  let freeWeight = 0;
  const state = s.map((si) => {
    const v = probe * si;
    if (v <= lo) {
      pinned += lo;
      return -1;
    }
    if (v >= hi) {
      pinned += hi;
      return 1;
    }
    freeWeight += si;
    return 0;
  });
  const level = (budget - pinned) / freeWeight;

  let atMin = 0;
  let atMax = 0;
  const x = s.map((si, i) => {
    if (state[i] === -1) {
      if (lo > 0) atMin++;
      return lo;
    }
    if (state[i] === 1) {
      atMax++;
      return hi;
    }
    return Math.min(hi, Math.max(lo, level * si));
  });
  return { x, atMin, atMax };
}
