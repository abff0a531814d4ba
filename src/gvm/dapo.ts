/**
 * `dapo`: DAPO's dynamic sampling (Yu et al., *DAPO: An Open-Source LLM
 * Reinforcement Learning System at Scale*, arXiv 2503.14476; code: verl
 * `recipe/dapo/dapo_ray_trainer.py`, `algorithm.filter_groups`, defaults
 * from `recipe/dapo/config/dapo_trainer.yaml` and
 * `recipe/dapo/run_dapo_qwen2.5_32b.sh`).
 *
 * Generation batches of genPrompts prompts, groupSize samples each, drawn
 * in stream order (the iteration's m prompts first, then new ones from the
 * run's prompt stream). A group whose rewards are all equal has zero
 * advantage everywhere and is dropped (a group of one is kept, as verl's
 * `std > 0 or len == 1`). Batches continue until m groups are kept, up to
 * maxGenBatches; the first m kept groups, in drawing order, are trained on
 * and any further ones dropped (verl's `batch[:traj_bsz]`).
 *
 * Where this differs from the reference, and why:
 * - Every response counts against the iteration's budget N: a generation
 *   batch that does not fit is cut to the whole groups that do, and when no
 *   group fits the rounds stop. verl has no budget.
 * - When the cap or the budget stops the rounds short of m groups, verl
 *   raises ("Generated too many. Please check if your data are too
 *   difficult.") and the run dies; here the iteration trains on the groups
 *   it kept and a note says so.
 */
import type { DapoOptions } from "./options.js";
import { checkRoundState, rewardCounts, type RoundContext, type RoundPlanner, type RoundRequest, type RoundReward, type RoundSelection, type RoundState, type RoundStatus, roundGenerated } from "./rounds.js";

const STRATEGY = "dapo";

/** Group size in use: the option, or the largest n with 2 x genPrompts x n <= N, at least 2. */
export function dapoGroupSize(context: RoundContext, options: DapoOptions): number {
  if (options.groupSize !== null) return options.groupSize;
  return Math.max(2, Math.floor(context.budget / (2 * dapoGenPrompts(context, options))));
}

/** Prompts per generation batch in use: the option, or m. */
export function dapoGenPrompts(context: RoundContext, options: DapoOptions): number {
  return options.genPrompts ?? context.prompts;
}

/** verl's filter: a group is kept when its rewards are not all equal, or it has exactly one. */
export function dapoKeepsGroup(rewards: readonly RoundReward[]): boolean {
  if (rewards.length === 1) return true;
  const { accepted, rejected } = rewardCounts(rewards);
  return accepted > 0 && rejected > 0;
}

/** Sampled groups that pass the filter, in drawing order. */
function keptGroups(state: RoundState): number {
  return state.rewards.filter((r) => r.length > 0 && dapoKeepsGroup(r)).length;
}

/** The next generation batch, or null once m groups are kept, the cap is reached or no whole group fits the budget. */
export function planDapo(context: RoundContext, state: RoundState, options: DapoOptions): RoundRequest | null {
  checkRoundState(STRATEGY, context, state);
  if (options.maxGenBatches !== null && state.rounds >= options.maxGenBatches) return null;
  if (keptGroups(state) >= context.prompts) return null;
  const n = dapoGroupSize(context, options);
  const batch = Math.min(dapoGenPrompts(context, options), Math.floor((context.budget - roundGenerated(state)) / n));
  if (batch <= 0) return null;
  // Prompts already drawn but never sampled come first (the iteration's own, when a batch is smaller than m).
  const more = state.rewards.map(() => 0);
  let placed = 0;
  state.rewards.forEach((r, i) => {
    if (r.length === 0 && placed < batch) {
      more[i] = n;
      placed++;
    }
  });
  return { more, fresh: new Array<number>(batch - placed).fill(n) };
}

/** The first m kept groups whole; every other group dropped. */
export function selectDapo(context: RoundContext, state: RoundState, options: DapoOptions): RoundSelection {
  checkRoundState(STRATEGY, context, state);
  const keep: number[][] = [];
  const status: RoundStatus[] = [];
  let kept = 0;
  let equal = 0;
  let surplus = 0;
  let unsampled = 0;
  for (const r of state.rewards) {
    if (r.length === 0) {
      status.push("unsampled");
      keep.push([]);
      unsampled++;
    } else if (!dapoKeepsGroup(r)) {
      status.push("all-equal");
      keep.push([]);
      equal++;
    } else if (kept < context.prompts) {
      status.push("kept");
      keep.push(r.map((_, j) => j));
      kept++;
    } else {
      status.push("surplus");
      keep.push([]);
      surplus++;
    }
  }
  const n = dapoGroupSize(context, options);
  const notes = [
    `dapo: ${state.rounds} generation batch(es) of groups of ${n}; ${kept} of ${context.prompts} groups kept, ${equal} all-equal dropped${surplus > 0 ? `, ${surplus} surplus dropped` : ""}${unsampled > 0 ? `, ${unsampled} drawn but unsampled` : ""}`,
  ];
  if (kept < context.prompts) {
    const why = options.maxGenBatches !== null && state.rounds >= options.maxGenBatches ? `maxGenBatches (${options.maxGenBatches}) reached` : `the budget (${context.budget}) left no room for another group`;
    notes.push(`dapo: short of ${context.prompts} groups: ${why}; training on the ${kept} kept (verl would stop the run here)`);
  }
  return { keep, status, notes };
}

export const DAPO_PLANNER: RoundPlanner<DapoOptions> = { plan: planDapo, select: selectDapo };
