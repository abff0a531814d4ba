/**
 * The shared body of every weighted strategy (SPEC §1.3, step 3):
 * weights -> threshold filter -> renormalise -> insufficient filter ->
 * renormalise -> caps (water-filling) -> integer rounding.
 */
import { GvmError } from "../util/errors.js";
import { AllocationInfeasibleError } from "./errors.js";
import type { GvmCommonOptions, RoundingRule } from "./options.js";
import { roundAllocation } from "./rounding.js";
import type { AllocationFallback, AllocationResult, PromptStatus } from "./types.js";
import { waterfill } from "./waterfill.js";
import { gvmWeight } from "./weights.js";

/** The p_i / G_i a strategy settled on, ready for the shared pipeline. */
export interface WeightedProblem {
  readonly strategy: string;
  readonly budget: number;
  /** p_i used for weights, filters and low-acceptance-first rounding. */
  readonly acceptRate: readonly number[];
  /** G_i used for weights (all 1 for the p-only variants). */
  readonly gradNorm: readonly number[];
  readonly evidence: readonly number[] | null;
  readonly options: GvmCommonOptions;
}

/** Throws unless m * nMin <= N <= m * nMax. */
export function checkCaps(strategy: string, prompts: number, budget: number, nMin: number, nMax: number | null): void {
  if (prompts * nMin > budget) {
    throw new AllocationInfeasibleError(
      `allocation '${strategy}': nMin ${nMin} for ${prompts} prompts needs ${prompts * nMin} samples, more than the budget ${budget}`,
    );
  }
  if (nMax !== null && prompts * nMax < budget) {
    throw new AllocationInfeasibleError(
      `allocation '${strategy}': nMax ${nMax} for ${prompts} prompts places at most ${prompts * nMax} samples, less than the budget ${budget}`,
    );
  }
}

/**
 * A strategy's raw options when stage 1 counts inside the budget
 * ("inclusive"): every prompt already holds its stage-1 responses, so its
 * n_i is at least their number (nMin raised to stage1, never lowered).
 */
export function inclusiveOptions(raw: Readonly<Record<string, unknown>>, stage1: number): Record<string, unknown> {
  return { ...raw, nMin: Math.max(Number(raw.nMin ?? 0), stage1) };
}

/** floor(N / m) each; the first N mod m prompts (lowest indices) get one more. */
export function uniformCounts(prompts: number, budget: number): number[] {
  if (prompts === 0) return [];
  const q = Math.floor(budget / prompts);
  const r = budget - q * prompts;
  return Array.from({ length: prompts }, (_, i) => (i < r ? q + 1 : q));
}

/**
 * Deals `amount` samples one at a time over `targets` in their order, round
 * after round, skipping prompts already at `cap`: every target gets the same
 * number more, the earlier ones one more when it does not divide. Mutates
 * `n`; returns how many were placed (less than `amount` only when every
 * target is at cap).
 */
export function spreadEvenly(n: number[], targets: readonly number[], amount: number, cap: number): number {
  let left = amount;
  let open = targets.filter((i) => (n[i] as number) < cap);
  while (left > 0 && open.length > 0) {
    for (const i of open) {
      if (left === 0) break;
      n[i] = (n[i] as number) + 1;
      left--;
    }
    open = open.filter((i) => (n[i] as number) < cap);
  }
  return amount - left;
}

/** Asserts the output contract; a failure here is a bug, not a user error. */
export function checkOutput(strategy: string, n: readonly number[], budget: number, lo: number, hi: number): void {
  let sum = 0;
  for (let i = 0; i < n.length; i++) {
    const v = n[i] as number;
    if (!Number.isSafeInteger(v) || v < lo || v > hi) {
      throw new GvmError(`allocation '${strategy}': internal error: n[${i}] = ${v} outside [${lo}, ${hi}]`);
    }
    sum += v;
  }
  if (sum !== budget) throw new GvmError(`allocation '${strategy}': internal error: counts sum to ${sum}, budget ${budget}`);
}

function sumOf(xs: readonly number[]): number {
  let s = 0;
  for (const x of xs) s += x;
  return s;
}

export function allocateWeighted(problem: WeightedProblem): AllocationResult {
  const { strategy, budget, acceptRate: p, gradNorm: g, options } = problem;
  const m = p.length;
  const lo = options.nMin;
  const hi = options.nMax ?? Number.POSITIVE_INFINITY;
  checkCaps(strategy, m, budget, lo, options.nMax);
  const notes: string[] = [];

  const weights = p.map((pi, i) => gvmWeight(pi, g[i] as number, options.alpha, options.beta));
  // Weights are scale-free in G; dividing by the largest G keeps every sum finite.
  let gMax = 0;
  for (const gi of g) gMax = Math.max(gMax, gi);
  const rel = p.map((pi, i) => (gMax > 0 ? gvmWeight(pi, (g[i] as number) / gMax, options.alpha, options.beta) : 0));
  const status: PromptStatus[] = rel.map((w) => (w > 0 ? "allocated" : "zero-weight"));
  const anyPositive = status.includes("allocated");

  if (options.filterThreshold !== null) {
    const t = options.filterThreshold;
    let dropped = 0;
    for (let i = 0; i < m; i++) {
      if (status[i] === "allocated" && (p[i] as number) > t) {
        status[i] = "filtered-threshold";
        dropped++;
      }
    }
    if (dropped > 0) notes.push(`${dropped} prompt(s) dropped: acceptance rate above filterThreshold ${t}`);
  }
  if (options.filterInsufficient > 0) {
    const kept = rel.filter((_, i) => status[i] === "allocated");
    const total = sumOf(kept);
    let dropped = 0;
    for (let i = 0; i < m; i++) {
      if (status[i] !== "allocated") continue;
      const expected = (p[i] as number) * ((rel[i] as number) / total) * budget;
      if (expected < options.filterInsufficient) {
        status[i] = "filtered-insufficient";
        dropped++;
      }
    }
    if (dropped > 0) notes.push(`${dropped} prompt(s) dropped: expected accepted samples below filterInsufficient ${options.filterInsufficient}`);
  }

  const keptIdx: number[] = [];
  const others: number[] = [];
  for (let i = 0; i < m; i++) (status[i] === "allocated" ? keptIdx : others).push(i);

  let fallback: AllocationFallback = "none";
  let continuous: number[];
  let n: number[];
  let atMin = 0;
  let atMax = 0;
  let overflow = 0;
  let rounding: RoundingRule = options.rounding;
  if (keptIdx.length === 0) {
    if (m > 0) fallback = anyPositive ? "all-filtered" : "all-weights-zero";
    if (m > 0) {
      notes.push(
        anyPositive
          ? `every prompt with a positive weight was filtered out: budget spread uniformly over all ${m} prompts`
          : `every weight is zero (no prompt has both p_i > 0 and G_i > 0): budget spread uniformly over all ${m} prompts`,
      );
    }
    continuous = p.map(() => budget / m);
    n = uniformCounts(m, budget);
    rounding = "largest-remainder";
  } else {
    continuous = p.map(() => lo);
    const k = keptIdx.length;
    const keptBudget = budget - others.length * lo;
    if (keptBudget > k * hi) {
      for (const i of keptIdx) continuous[i] = hi;
      atMax = k;
      overflow = keptBudget - k * hi;
      // Feasibility (m * nMax >= N) guarantees others exist and stay under hi.
      for (const i of others) continuous[i] = lo + overflow / others.length;
      notes.push(`every kept prompt reached nMax ${hi}: ${overflow} sample(s) spread over the ${others.length} other prompt(s)`);
    } else {
      const wf = waterfill(
        keptIdx.map((i) => rel[i] as number),
        keptBudget,
        lo,
        hi,
      );
      keptIdx.forEach((i, j) => (continuous[i] = wf.x[j] as number));
      atMin = wf.atMin;
      atMax = wf.atMax;
      if (atMax > 0) notes.push(`${atMax} prompt(s) capped at nMax ${hi}${atMax < k ? "; their surplus went to the others" : ""}`);
      if (atMin > 0) notes.push(`${atMin} prompt(s) raised to nMin ${lo}`);
    }
    n = roundAllocation(options.rounding, continuous, budget, p);
  }
  checkOutput(strategy, n, budget, lo, hi);
  return {
    strategy,
    budget,
    n,
    continuous,
    weights,
    acceptRate: [...p],
    gradNorm: [...g],
    evidence: problem.evidence === null ? null : [...problem.evidence],
    status,
    fallback,
    rounding,
    atMin,
    atMax,
    overflow,
    notes,
  };
}
