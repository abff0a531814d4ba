/**
 * The one interface every allocation strategy shares: per-prompt statistics
 * and a budget in, integer sample counts and a record of what happened out.
 */
import type { OnlinePromptState } from "./online.js";
import type { RoundingRule } from "./options.js";

/** Per-prompt statistics, all arrays in prompt order and of length `prompts`. */
export interface AllocationInput {
  /** Number of prompts m. */
  readonly prompts: number;
  /** Stage-1 acceptance rate p_i in [0, 1] (read by gvm, gvm-ponly; optional for uniform). */
  readonly acceptRate?: ArrayLike<number>;
  /** Mean gradient norm G_i >= 0 over the prompt's accepted stage-1 samples (read by gvm). */
  readonly gradNorm?: ArrayLike<number>;
  /** Stage-1 samples N'_i behind p_i, integer >= 0 (read when acceptRateEstimate is "posterior"). */
  readonly sampleCount?: ArrayLike<number>;
  /** Per-prompt history (gvm-online, knapsack, greso): states (null = never seen) and the current clock. */
  readonly online?: OnlineInput;
  /**
   * Seed of strategies that draw (greso): each decision comes from
   * Rng.derive(seed, clock, prompt index), so a run replays exactly. Integer; default 0.
   */
  readonly seed?: number;
}

export interface OnlineInput {
  /** The caller's clock now (e.g. the iteration index); states are decayed up to it. */
  readonly now: number;
  /** One state per prompt; null for a prompt never sampled. */
  readonly states: readonly (OnlinePromptState | null)[];
}

/** What happened to one prompt. */
export type PromptStatus =
  /** Kept: its share follows its weight. */
  | "allocated"
  /** w_i = 0 (G_i = 0 or p_i = 0): gets nMin (or a share of an overflow / fallback). */
  | "zero-weight"
  /** Dropped because p_i > filterThreshold. */
  | "filtered-threshold"
  /** Dropped because p_i * share_i * N < filterInsufficient. */
  | "filtered-insufficient"
  /** Too little history to estimate p_i (knapsack): gets the uniform share N / m. */
  | "no-history"
  /** Skipped: predicted to give a zero-variance group (greso); gets 0 unless the kept prompts are all at nMax. */
  | "skipped";

/** Why the allocation fell back to uniform over all prompts, or "none". */
export type AllocationFallback = "none" | "all-weights-zero" | "all-filtered" | "all-skipped";

export interface AllocationResult {
  /** The strategy that produced it. */
  readonly strategy: string;
  /** N. */
  readonly budget: number;
  /** Integer samples per prompt in input order; sums exactly to budget. */
  readonly n: number[];
  /** The continuous allocation before rounding (sums to budget up to float error). */
  readonly continuous: number[];
  /** w_i per prompt as defined by the strategy (1 for uniform). */
  readonly weights: number[];
  /** p_i the strategy used (posterior or estimated where applicable); null if it read none. */
  readonly acceptRate: number[] | null;
  /** G_i the strategy used (1 for the p-only variants); null if it read none. */
  readonly gradNorm: number[] | null;
  /** Samples of evidence behind each p_i (stage-1 counts, decayed online counts); null if unknown. */
  readonly evidence: number[] | null;
  /** Per-prompt fate. */
  readonly status: PromptStatus[];
  /** Set when no prompt kept a positive weight and the budget was spread uniformly. */
  readonly fallback: AllocationFallback;
  /** The rounding rule applied (uniform: "largest-remainder" in index order). */
  readonly rounding: RoundingRule;
  /** Kept prompts whose continuous allocation sits at nMin > 0 / at nMax. */
  readonly atMin: number;
  readonly atMax: number;
  /** Budget that went to prompts outside the kept set because every kept prompt reached nMax. */
  readonly overflow: number;
  /** One human-readable line per notable event (fallback, filters, caps). */
  readonly notes: string[];
}
