/**
 * `knapsack`: Knapsack-RL (Li et al., arXiv 2509.25849; code:
 * liziniu/KnapsackRL, verl/trainer/ppo/exploration_utils.py) on each
 * prompt's own history, so it needs no stage 1.
 *
 * A prompt with acceptance rate p and n samples is worth
 *
 *     V(n, p) = (1 - p^n - (1 - p)^n) * p (1 - p)^2,
 *
 * the chance that the group holds both outcomes (a non-zero GRPO advantage)
 * times the paper's InfoGain approximation p (1 - p)^2. The budget is split
 * to maximise sum_i V(n_i, p_i) under nMin <= n_i <= nMax.
 *
 * Why greedy is exact here: for n >= 1, V(n + 1, p) - V(n, p) = p (1 - p)^2
 * (p^n (1 - p) + (1 - p)^n p) falls strictly with n for 0 < p < 1 (both
 * terms do), so V is concave in n from n = 1 on (not from 0: V(0) = V(1) = 0,
 * hence nMin >= 1); for a sum of concave functions under a total and box
 * constraints, giving each sample to the largest marginal gain is optimal
 * (Gross 1956; Fox 1966). The reference solves the same problem by a DP.
 *
 * Around the knapsack, the reference's rules, with its defaults:
 * - prompts with too little history (fewer than minSamples samples ever)
 *   get the uniform share N / m;
 * - p = 0 prompts get nNoneAccepted, p = 1 prompts nAllAccepted (both nMin
 *   by default); their value is 0, the knapsack gives them nothing more;
 * - fallback: when the budget left exceeds the mixed prompts' summed cost
 *   floor(min(nMax, ln(1 - c) / ln(max(p, 1 - p)))) (the samples needed to see
 *   both outcomes with confidence c), the excess goes evenly to the p = 0
 *   prompts (or, with none, to every prompt outside the knapsack) and the
 *   knapsack places only that cost;
 * - with no mixed prompt, the budget goes to the p = 0 prompts, or, with
 *   none either, uniformly to all.
 */
import { AllocationInfeasibleError, AllocationInputError } from "./errors.js";
import { validateInput } from "./input.js";
import { checkState, decayOnlineState, samplesOf } from "./online.js";
import type { KnapsackOptions } from "./options.js";
import { checkCaps, checkOutput, spreadEvenly, uniformCounts } from "./pipeline.js";
import type { AllocationFallback, AllocationInput, AllocationResult, PromptStatus } from "./types.js";

const STRATEGY = "knapsack";

/** V(n, p): the chance of a non-zero advantage times p (1 - p)^2; 0 for p = 0 or 1. */
export function knapsackValue(n: number, p: number): number {
  if (!(p > 0 && p < 1) || n <= 0) return 0;
  return (1 - Math.pow(p, n) - Math.pow(1 - p, n)) * p * (1 - p) * (1 - p);
}

/**
 * ln(V(n + 1, p) - V(n, p)) for n >= 1; -Infinity for p = 0 or 1. In logs so
 * that gains of large n, far below the smallest double, still order correctly.
 */
export function knapsackLogGain(n: number, p: number): number {
  if (!(p > 0 && p < 1)) return Number.NEGATIVE_INFINITY;
  const lp = Math.log(p);
  const lq = Math.log1p(-p);
  const a = n * lp + lq;
  const b = n * lq + lp;
  const hi = Math.max(a, b);
  return lp + 2 * lq + hi + Math.log1p(Math.exp(-Math.abs(a - b)));
}

/** Samples to see both outcomes with probability `confidence`: ln(1 - c) / ln(max(p, 1 - p)). */
export function knapsackCost(p: number, confidence: number): number {
  return Math.log(1 - confidence) / Math.log(Math.max(p, 1 - p));
}

/** A max-heap of (gain, index), ties to the lower index, so the greedy result is a function of its input. */
class GainHeap {
  private readonly items: Array<{ gain: number; i: number }> = [];

  get size(): number {
    return this.items.length;
  }

  private above(a: { gain: number; i: number }, b: { gain: number; i: number }): boolean {
    return a.gain > b.gain || (a.gain === b.gain && a.i < b.i);
  }

  push(gain: number, i: number): void {
    const h = this.items;
    h.push({ gain, i });
    let k = h.length - 1;
    while (k > 0) {
      const parent = (k - 1) >> 1;
      if (!this.above(h[k] as { gain: number; i: number }, h[parent] as { gain: number; i: number })) break;
      [h[k], h[parent]] = [h[parent] as { gain: number; i: number }, h[k] as { gain: number; i: number }];
      k = parent;
    }
  }

  pop(): number | undefined {
    const h = this.items;
    const top = h[0];
    const last = h.pop();
    if (top === undefined || last === undefined) return undefined;
    if (h.length > 0) {
      h[0] = last;
      let k = 0;
      for (;;) {
        const l = 2 * k + 1;
        const r = l + 1;
        let best = k;
        if (l < h.length && this.above(h[l] as { gain: number; i: number }, h[best] as { gain: number; i: number })) best = l;
        if (r < h.length && this.above(h[r] as { gain: number; i: number }, h[best] as { gain: number; i: number })) best = r;
        if (best === k) break;
        [h[k], h[best]] = [h[best] as { gain: number; i: number }, h[k] as { gain: number; i: number }];
        k = best;
      }
    }
    return top.i;
  }
}

/**
 * Adds `amount` samples to the prompts `items` (each 0 < p < 1, n >= 1), one at a
 * time to the largest marginal gain, none past `cap`. Mutates `n`; returns
 * how many were placed.
 */
export function greedyKnapsack(n: number[], p: readonly number[], items: readonly number[], amount: number, cap: number): number {
  const heap = new GainHeap();
  for (const i of items) if ((n[i] as number) < cap) heap.push(knapsackLogGain(n[i] as number, p[i] as number), i);
  let placed = 0;
  while (placed < amount) {
    const i = heap.pop();
    if (i === undefined) break;
    n[i] = (n[i] as number) + 1;
    placed++;
    if ((n[i] as number) < cap) heap.push(knapsackLogGain(n[i] as number, p[i] as number), i);
  }
  return placed;
}

type Kind = "no-history" | "none-accepted" | "all-accepted" | "mixed";

/** Knapsack-RL's allocation from each prompt's history; pure. */
export function allocateKnapsack(input: AllocationInput, budget: number, options: KnapsackOptions): AllocationResult {
  validateInput(STRATEGY, input, budget, ["online"]);
  const online = input.online;
  if (online === undefined) throw new AllocationInputError(`allocation '${STRATEGY}': online history is required`, "online", null);
  const m = input.prompts;
  const cap = options.nMax ?? Number.POSITIVE_INFINITY;
  checkCaps(STRATEGY, m, budget, 0, options.nMax);

  const p: number[] = [];
  const evidence: number[] = [];
  const kind: Kind[] = [];
  online.states.forEach((s, i) => {
    if (s === null) {
      p.push(Number.NaN);
      evidence.push(0);
      kind.push("no-history");
      return;
    }
    checkState(s, i);
    const d = decayOnlineState(s, online.now, options, i);
    const total = d.accepted + d.rejected;
    const pi = total > 0 ? d.accepted / total : Number.NaN;
    p.push(pi);
    evidence.push(total);
    if (!(total > 0) || samplesOf(s) < options.minSamples) kind.push("no-history");
    else kind.push(pi === 0 ? "none-accepted" : pi === 1 ? "all-accepted" : "mixed");
  });

  const share = uniformCounts(m, budget);
  const n = kind.map((k, i) => {
    if (k === "no-history") return share[i] as number;
    if (k === "none-accepted") return options.nNoneAccepted ?? options.nMin;
    if (k === "all-accepted") return options.nAllAccepted ?? options.nMin;
    return options.nMin;
  });
  const idx = (k: Kind) => kind.flatMap((x, i) => (x === k ? [i] : []));
  const mixed = idx("mixed");
  const zeros = idx("none-accepted");
  const outside = kind.flatMap((x, i) => (x !== "mixed" ? [i] : []));
  // Every base count is within nMax: the options check the fixed ones, and m * nMax >= N bounds the uniform share.
  const base = n.reduce((a, b) => a + b, 0);
  const uniform = mixed.length === 0 && zeros.length === 0;
  if (!uniform && base > budget) {
    throw new AllocationInfeasibleError(
      `allocation '${STRATEGY}': the fixed counts (nMin, nNoneAccepted, nAllAccepted, uniform shares) need ${base} samples, more than the budget ${budget}`,
    );
  }
  const notes: string[] = [];
  let fallback: AllocationFallback = "none";
  let left = budget - base;
  let final = n;
  let overflow = 0;

  if (uniform) {
    final = share;
    left = 0;
    if (kind.includes("all-accepted")) {
      fallback = "all-weights-zero";
      notes.push(`no prompt with 0 < p < 1 or p = 0: budget spread uniformly over all ${m} prompts`);
    }
  } else if (mixed.length === 0) {
    left -= spreadEvenly(n, zeros, left, cap);
    left -= spreadEvenly(n, outside, left, cap);
    if (budget > base) notes.push(`no prompt with 0 < p < 1: the remaining ${budget - base} sample(s) went to the ${zeros.length} prompt(s) with p = 0`);
  } else {
    let knap = left;
    if (options.fallback) {
      let cost = 0;
      for (const i of mixed) cost += Math.floor(Math.min(cap, knapsackCost(p[i] as number, options.confidence)));
      const targets = zeros.length > 0 ? zeros : outside;
      if (cost < left && targets.length > 0) {
        const moved = spreadEvenly(n, targets, left - cost, cap);
        knap = left - moved;
        if (moved > 0) notes.push(`fallback: the mixed prompts' cost is ${cost} of ${left} remaining; ${moved} sample(s) went to ${zeros.length > 0 ? "the p = 0 prompts" : "the prompts outside the knapsack"}`);
      }
    }
    let rest = knap - greedyKnapsack(n, p, mixed, knap, cap);
    if (rest > 0) {
      // Every mixed prompt is at nMax; feasibility (m * nMax >= N) leaves room outside.
      const moved = spreadEvenly(n, [...zeros, ...outside.filter((i) => kind[i] !== "none-accepted")], rest, cap);
      notes.push(`every prompt with 0 < p < 1 reached nMax ${cap}: ${moved} sample(s) went to the others`);
      rest -= moved;
      overflow = moved;
    }
    left = rest;
  }
  if (left !== 0) throw new AllocationInfeasibleError(`allocation '${STRATEGY}': ${left} sample(s) could not be placed under nMax ${cap}`);
  checkOutput(STRATEGY, final, budget, 0, cap);

  const status: PromptStatus[] = kind.map((k) => (k === "mixed" ? "allocated" : k === "no-history" ? "no-history" : "zero-weight"));
  const noHistory = kind.filter((k) => k === "no-history").length;
  if (noHistory > 0 && noHistory < m) notes.push(`${noHistory} prompt(s) with fewer than ${options.minSamples} samples of history got the uniform share`);
  return {
    strategy: STRATEGY,
    budget,
    n: final,
    continuous: [...final],
    weights: final.map((v, i) => (kind[i] === "mixed" ? knapsackValue(v, p[i] as number) : 0)),
    acceptRate: p,
    gradNorm: null,
    evidence,
    status,
    fallback,
    rounding: "largest-remainder",
    atMin: mixed.filter((i) => final[i] === options.nMin).length,
    atMax: options.nMax !== null ? final.filter((v) => v === options.nMax).length : 0,
    overflow,
    notes,
  };
}
