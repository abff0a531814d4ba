/**
 * The records a training run appends to `metrics.jsonl`, one JSON object per
 * line, each tagged by `kind` and carrying `iter` (iterations completed when
 * it was written; 0 before the first). Reports and dashboards read these
 * types; the trainer writes them.
 */

/**
 * Record fields that measure time rather than what was learned: two runs
 * with identical results differ only in these (resume and determinism
 * checks compare records without them).
 */
export const TIMING_FIELDS: readonly string[] = ["wallclock", "tokensPerSec", "time", "cpu"];

/** A record without its TIMING_FIELDS. */
export function withoutTiming(record: Record<string, unknown>): Record<string, unknown> {
  return Object.fromEntries(Object.entries(record).filter(([k]) => !TIMING_FIELDS.includes(k)));
}

/** First line of every run: what was run. */
export interface RunRecord {
  kind: "run";
  iter: 0;
  /** Learner: raft, raftpp or grpo. */
  method: string;
  /** Allocation strategy name from the gvm registry. */
  strategy: string;
  /** Label for plots, e.g. "raftpp/gvm". Runs sharing a label are seeds of one method. */
  label: string;
  seed: number;
  /** Prompt-pool regime of the built-in suite ("natural" or "paper-like"), or a dataset name. */
  regime: string;
  /** Budget N per iteration and how stage 1 is counted ("paper": on top of N; "inclusive": inside N). */
  budget: number;
  budgetMode: "paper" | "inclusive";
}

/** One optimizer step. */
export interface StepRecord {
  kind: "step";
  iter: number;
  /** Optimizer steps so far, this one included. */
  step: number;
  loss: number;
  /** Mean per-token KL to the reference policy (0 when no KL term). */
  kl: number;
  /** Mean per-token entropy of the policy on the batch's responses. */
  entropy: number;
  /** Share of response tokens where the ratio was clipped. */
  clipFrac: number;
  /** Global gradient norm before clipping. */
  gradNorm: number;
  lr: number;
  /** Share of the batch's responses the verifier accepted. */
  acceptedFrac: number;
  /** Mean response length in tokens. */
  responseLen: number;
  /** Response tokens trained on per second of this step's update. */
  tokensPerSec: number;
  /** Generated responses so far, stage 1 included. */
  samples: number;
  /** Response tokens generated so far, stage 1 and every other rollout included (absent in runs logged before tokens were counted). */
  tokens?: number;
  /** Seconds of run time so far (sum over resumed segments). */
  wallclock: number;
}

/** Per-prompt allocation of one iteration. */
export interface AllocationSummary {
  /** Prompt ids, in allocation order (match `prompts.jsonl` of the run directory). */
  ids: string[];
  /** Level (difficulty) of each prompt (NaN, written as null, when unknown). */
  level: number[];
  /** Acceptance rate estimate p_i the strategy used (NaN when it used none). */
  p: number[];
  /** Gradient norm estimate G_i the strategy used (NaN when it used none). */
  G: number[];
  /** Responses allocated n_i (strategies that generate in rounds: responses generated for the prompt, every round). */
  n: number[];
  /** Responses of the prompt the update trained on (absent in runs logged before it was recorded). */
  trained?: number[];
  /** What the strategy reported (fallbacks, filtered prompts, rounds and groups dropped). */
  status: string;
}

/** What one iteration generated, every rollout counted: stage 1, every round, discarded groups. */
export interface GenerationSummary {
  /**
   * Sampling passes: for one-shot strategies stage 1 (when there is one) and
   * one per update mini-batch; for strategies that generate in rounds (dapo,
   * reinforce-ada) one per round.
   */
  rounds: number;
  /** Responses generated in each pass, in order. */
  responses: number[];
  /** Response tokens generated in each pass, in order. */
  tokens: number[];
  /** Responses the update trained on; the others (dropped groups, down-sampled extras, stage 1 not reused) were generated and discarded. */
  trained: number;
  /**
   * Of the trained responses, those that move the policy: used by the loss
   * with a non-zero advantage (not a RAFT-style learner's rejected ones, not
   * a GRPO group whose rewards are all equal). Absent in runs logged before
   * it was recorded.
   */
  informative?: number;
  /** Prompts sampled: the iteration's, plus those drawn from the prompt stream for extra rounds. */
  prompts: number;
}

/** One iteration (stage 1, allocation, k update steps). */
export interface IterationRecord {
  kind: "iteration";
  iter: number;
  step: number;
  samples: number;
  /** Response tokens generated so far, stage 1 and every other rollout included (absent in runs logged before tokens were counted). */
  tokens?: number;
  wallclock: number;
  stage1Samples: number;
  stage2Samples: number;
  /** Mean reward of this iteration's responses. */
  trainReward: number;
  /** Accepted responses / generated responses in this iteration. */
  acceptedFrac: number;
  /** Seconds spent this iteration in each part (scoring: log-probs computed in-process for a server's responses that came without them). */
  time: { sampling: number; scoring: number; gradNorms: number; update: number; eval: number };
  /**
   * CPU seconds (user + system, every thread of the process) over the
   * iteration's own wall-clock (this record's wallclock minus the previous
   * one's; evaluation and checkpoint not included): their ratio is how many
   * cores it kept busy (absent in runs logged before it was recorded).
   */
  cpu?: number;
  allocation: AllocationSummary;
  /** This iteration's generation, pass by pass (absent in runs logged before it was recorded). */
  generation?: GenerationSummary;
}

/** A test-set evaluation. */
export interface EvalRecord {
  kind: "eval";
  iter: number;
  step: number;
  samples: number;
  /** Response tokens generated so far, stage 1 and every other rollout included (absent in runs logged before tokens were counted). */
  tokens?: number;
  wallclock: number;
  /** Mean accuracy over problems (avg@k with k samples each, temperature as configured). */
  accuracy: number;
  /** 95% interval of the mean over problems. */
  ci: [number, number];
  /** Accuracy per difficulty level ("1".."6" for the suite; the test set's levels for datasets). */
  byLevel: Record<string, number>;
  /** Samples per test problem. */
  k: number;
  /** Test set: "suite", a benchmark key (math500, ...) or a file's name (absent in runs logged before datasets). */
  set?: string;
  /** Test problems evaluated. */
  problems?: number;
  /** The prompt template: system message, instruction, and the chat format ("model": the model's own chat template). */
  template?: { system: string | null; instruction: string; chat: string };
}

export type MetricsRecord = RunRecord | StepRecord | IterationRecord | EvalRecord;
