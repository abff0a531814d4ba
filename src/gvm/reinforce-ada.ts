/**
 * `reinforce-ada`: Reinforce-Ada's online successive elimination (Xiong et
 * al., *Reinforce-Ada: An Adaptive Sampling Framework for Reinforce-Style
 * LLM Training*, arXiv 2510.04996v1; code: RLHFlow/Reinforce-Ada,
 * `verl/trainer/ppo/ray_trainer.py`, `_generate_multi_round_adaptive_downsampling`,
 * defaults from `verl/trainer/config/ppo_trainer.yaml` and
 * `scripts/run_reinforce_ada.sh`).
 *
 * Every round, each still-active prompt gets roundSize samples. After the
 * round a prompt leaves the active set once its samples so far hold
 * floor(n/2) accepted and n - floor(n/2) rejected ("balanced") or one
 * accepted ("positive-focused"), n = groupSize. Rounds stop when no prompt
 * is active or after maxRounds. Each prompt's group is then down-sampled to
 * n: the earliest floor(n/2) accepted and the earliest rejected to fill,
 * topped up from whichever outcome has more when one runs short. A prompt
 * still active at the end is down-sampled by the reference's fallback rule
 * (below).
 *
 * Where this differs from the reference, and why:
 * - Every response counts against the iteration's budget N. A round that
 *   does not fit is spread evenly over the active prompts (the first ones
 *   one more), roundSize each at most; rounds stop when the budget is spent.
 *   The reference has no budget: a step costs m x roundSize to
 *   m x roundSize x maxRounds responses.
 * - `positive_threshold` (0.7) is not an option: rewards here are 0 or 1.
 * - The reference's GRPO baseline from every sample of the prompt
 *   (`global_stat_est`) is part of its learner, not of its sampling; the
 *   learners here compute advantages over the down-sampled group.
 */
import type { ReinforceAdaOptions } from "./options.js";
import { checkRoundState, RoundPlanError, type RoundContext, type RoundPlanner, type RoundRequest, type RoundReward, type RoundSelection, type RoundState, type RoundStatus, roundGenerated, spreadCapped } from "./rounds.js";

const STRATEGY = "reinforce-ada";

/** Whether a prompt with these rewards has left the active set. */
export function reinforceAdaResolved(rewards: readonly RoundReward[], options: Pick<ReinforceAdaOptions, "groupSize" | "variant">): boolean {
  let accepted = 0;
  for (const r of rewards) accepted += r;
  const rejected = rewards.length - accepted;
  if (options.variant === "positive-focused") return accepted >= 1;
  const wantAccepted = Math.floor(options.groupSize / 2);
  return accepted >= wantAccepted && rejected >= options.groupSize - wantAccepted;
}

/** Indices of the accepted and of the rejected samples, each in drawing order. */
function split(rewards: readonly RoundReward[]): { pos: number[]; neg: number[] } {
  const pos: number[] = [];
  const neg: number[] = [];
  rewards.forEach((r, j) => (r === 1 ? pos : neg).push(j));
  return { pos, neg };
}

/**
 * Takes targetPos accepted and targetNeg rejected (each at most what there
 * is), then tops up to `take` from the accepted if any are left, else from
 * the rejected: the reference's rule, earliest samples first.
 */
function takeTargets(pos: readonly number[], neg: readonly number[], take: number, targetPos: number, targetNeg: number): number[] {
  let p = Math.min(pos.length, targetPos);
  let q = Math.min(neg.length, targetNeg);
  if (p + q < take) {
    if (pos.length > p) p += Math.min(pos.length - p, take - p - q);
    else if (neg.length > q) q += Math.min(neg.length - q, take - p - q);
  }
  return [...pos.slice(0, p), ...neg.slice(0, q)].sort((a, b) => a - b);
}

/** The reference's `downsample_cache`: floor(total/2) accepted, the rest rejected, topped up from the other. */
export function balancedDownsample(rewards: readonly RoundReward[], total: number): number[] {
  const { pos, neg } = split(rewards);
  const targetPos = Math.min(Math.floor(total / 2), pos.length);
  return takeTargets(pos, neg, total, targetPos, total - targetPos);
}

/**
 * The reference's fallback for a prompt still active at the end: take
 * min(n, samples); "balanced" aims at floor(n/2) accepted and the rest
 * rejected; "positive-focused" at ceil(share accepted x n) accepted, kept
 * within [1, take - 1], and the rest rejected; then the same top-up.
 */
export function fallbackDownsample(rewards: readonly RoundReward[], options: Pick<ReinforceAdaOptions, "groupSize" | "variant">): number[] {
  const { pos, neg } = split(rewards);
  const n = options.groupSize;
  const take = Math.min(n, rewards.length);
  if (take === 0) return [];
  let targetPos: number;
  let targetNeg: number;
  if (options.variant === "balanced") {
    targetPos = Math.floor(n / 2);
    targetNeg = n - targetPos;
  } else {
    targetPos = Math.max(Math.min(Math.ceil((pos.length / rewards.length) * n), take - 1), 1);
    targetNeg = take - targetPos;
  }
  return takeTargets(pos, neg, take, targetPos, targetNeg);
}

/** The next round: roundSize for every active prompt, or the budget left spread evenly over them; null to stop. */
export function planReinforceAda(context: RoundContext, state: RoundState, options: ReinforceAdaOptions): RoundRequest | null {
  checkRoundState(STRATEGY, context, state);
  if (state.rewards.length !== context.prompts) {
    throw new RoundPlanError(`rounds of '${STRATEGY}': rewards has ${state.rewards.length} prompts; it samples only the iteration's ${context.prompts}`);
  }
  if (state.rounds >= options.maxRounds) return null;
  const active = state.rewards.flatMap((r, i) => (reinforceAdaResolved(r, options) ? [] : [i]));
  const left = context.budget - roundGenerated(state);
  if (active.length === 0 || left <= 0) return null;
  const counts = spreadCapped(active.length, left, options.roundSize);
  const more = state.rewards.map(() => 0);
  active.forEach((i, q) => (more[i] = counts[q] as number));
  return { more, fresh: [] };
}

/** Each prompt's down-sampled group of at most groupSize. */
export function selectReinforceAda(context: RoundContext, state: RoundState, options: ReinforceAdaOptions): RoundSelection {
  checkRoundState(STRATEGY, context, state);
  const keep: number[][] = [];
  const status: RoundStatus[] = [];
  const tally = { resolved: 0, unresolved: 0, unsampled: 0 };
  for (const r of state.rewards) {
    if (r.length === 0) {
      status.push("unsampled");
      keep.push([]);
      tally.unsampled++;
    } else if (reinforceAdaResolved(r, options)) {
      status.push("resolved");
      keep.push(balancedDownsample(r, options.groupSize));
      tally.resolved++;
    } else {
      status.push("unresolved");
      keep.push(fallbackDownsample(r, options));
      tally.unresolved++;
    }
  }
  const notes = [
    `reinforce-ada (${options.variant}): ${state.rounds} round(s); ${tally.resolved} resolved, ${tally.unresolved} still active${tally.unsampled > 0 ? `, ${tally.unsampled} unsampled (budget spent)` : ""}; groups down-sampled to ${options.groupSize}`,
  ];
  return { keep, status, notes };
}

export const REINFORCE_ADA_PLANNER: RoundPlanner<ReinforceAdaOptions> = { plan: planReinforceAda, select: selectReinforceAda };
