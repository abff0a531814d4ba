/**
 * `greso`: GRESO's pre-rollout skip (Zheng et al., arXiv 2506.02177; code:
 * Infini-AI-Lab/GRESO, verl/trainer/ttis/presampling_selector.py,
 * `filter_examples_all_probabilistic`) on each prompt's history.
 *
 * A prompt whose last z groups were all accepted is kept with probability
 * max(pEasy^z, minKeep); one whose last z groups were all rejected with
 * max(pHard^z, minKeep); every other prompt (a mixed last group, or never
 * seen) is kept. The budget goes evenly to the kept prompts.
 *
 * Where this differs from the reference, and why:
 * - The reference refills the rollout batch with more prompts after a skip;
 *   here an iteration's prompts are fixed, so the skipped prompts' samples
 *   go to the kept ones (more samples per kept prompt, same total).
 * - The reference adapts pEasy and pHard after every step (±0.01 within
 *   [0.05, 0.95], towards a zero-variance share of target/3 all-accepted and
 *   2 target/3 all-rejected, target 0.25). That needs state carried across
 *   iterations beyond per-prompt history, which the trainer does not keep for
 *   strategies yet: pEasy and pHard stay at their option values.
 * - "All accepted" and "all rejected" are exact here; the reference uses a
 *   mean reward >= 0.98 and <= 0.11 on its 8-sample groups (the same thing there).
 *
 * The draw is deterministic: prompt i at clock t is kept when
 * Rng.derive(seed, GRESO_STREAM, t, i).float() < its keep probability.
 */
import { Rng } from "../util/rng.js";
import { AllocationInfeasibleError, AllocationInputError } from "./errors.js";
import { validateInput } from "./input.js";
import { checkState, decayOnlineState, type OnlinePromptState } from "./online.js";
import type { GresoOptions } from "./options.js";
import { checkCaps, checkOutput, spreadEvenly, uniformCounts } from "./pipeline.js";
import type { AllocationFallback, AllocationInput, AllocationResult, PromptStatus } from "./types.js";

const STRATEGY = "greso";

/** Tag of greso's random stream, apart from the trainer's sampling streams under the same seed. */
export const GRESO_STREAM = 0x67e50;

/** The probability that a prompt with this history is kept (sampled) this iteration. */
export function gresoKeepProbability(state: OnlinePromptState | null, options: Pick<GresoOptions, "pEasy" | "pHard" | "minKeep">): number {
  const z = state?.streak ?? 0;
  if (z === 0) return 1;
  const base = z > 0 ? options.pEasy : options.pHard;
  return Math.max(Math.pow(base, Math.abs(z)), options.minKeep);
}

/** GRESO's skip, then the budget evenly over the kept prompts; pure given input.seed. */
export function allocateGreso(input: AllocationInput, budget: number, options: GresoOptions): AllocationResult {
  validateInput(STRATEGY, input, budget, ["online"]);
  const online = input.online;
  if (online === undefined) throw new AllocationInputError(`allocation '${STRATEGY}': online history is required`, "online", null);
  const m = input.prompts;
  const cap = options.nMax ?? Number.POSITIVE_INFINITY;
  checkCaps(STRATEGY, m, budget, 0, options.nMax);
  const seed = input.seed ?? 0;

  const keepProb: number[] = [];
  const p: number[] = [];
  const evidence: number[] = [];
  const kept: number[] = [];
  const skipped: number[] = [];
  online.states.forEach((s, i) => {
    if (s !== null) checkState(s, i);
    const d = s === null ? null : decayOnlineState(s, online.now, { halfLife: null }, i);
    const total = d === null ? 0 : d.accepted + d.rejected;
    p.push(d !== null && total > 0 ? d.accepted / total : Number.NaN);
    evidence.push(total);
    const k = gresoKeepProbability(s, options);
    keepProb.push(k);
    // k = 1 keeps without a draw, so prompts with no streak never depend on the seed.
    (k >= 1 || Rng.derive(seed, GRESO_STREAM, online.now, i).float() < k ? kept : skipped).push(i);
  });

  const notes: string[] = [];
  let fallback: AllocationFallback = "none";
  let n: number[];
  if (kept.length === 0 && m > 0) {
    fallback = "all-skipped";
    notes.push(`every prompt was skipped: budget spread uniformly over all ${m} prompts`);
    n = uniformCounts(m, budget);
  } else {
    n = new Array<number>(m).fill(0);
    let left = budget - spreadEvenly(n, kept, budget, cap);
    if (left > 0) {
      // Every kept prompt is at nMax; feasibility (m * nMax >= N) leaves room among the skipped.
      left -= spreadEvenly(n, skipped, left, cap);
      notes.push(`every kept prompt reached nMax ${cap}: the rest went to skipped prompts`);
    }
    if (left !== 0) throw new AllocationInfeasibleError(`allocation '${STRATEGY}': ${left} sample(s) could not be placed under nMax ${cap}`);
  }
  if (skipped.length > 0 && fallback === "none") notes.push(`${skipped.length} of ${m} prompt(s) skipped (predicted zero-variance groups)`);
  checkOutput(STRATEGY, n, budget, 0, cap);

  const skippedSet = new Set(skipped);
  const status: PromptStatus[] = n.map((_, i) => (skippedSet.has(i) ? "skipped" : "allocated"));
  return {
    strategy: STRATEGY,
    budget,
    n,
    continuous: [...n],
    weights: keepProb,
    acceptRate: p,
    gradNorm: null,
    evidence,
    status,
    fallback,
    rounding: "largest-remainder",
    atMin: 0,
    atMax: options.nMax !== null ? n.filter((v) => v === options.nMax).length : 0,
    overflow: 0,
    notes,
  };
}
