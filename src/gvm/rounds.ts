/**
 * The interface of strategies that generate in rounds (dapo, reinforce-ada).
 * A one-shot strategy turns statistics into n_i once; a round planner is
 * asked again after every round, given the rewards of every sample drawn so
 * far this iteration, which prompts get how many more samples (or whether
 * to stop), and at the end which samples the update trains on. Planners
 * are pure: the trainer owns the sampler and drives the rounds
 * (src/train/iteration.ts), checking every request with `checkRoundRequest`
 * so that no planner can spend past the iteration's budget.
 */
import { GvmError } from "../util/errors.js";

/** 1: the verifier accepted the response; 0: it did not. */
export type RoundReward = 0 | 1;

/** What a planner is planning for; fixed for the iteration. */
export interface RoundContext {
  /** Groups the update wants: the iteration's prompts m (DAPO draws more prompts until it keeps this many). Integer >= 1. */
  readonly prompts: number;
  /** Responses the iteration may generate in all, every round and every discarded group included (N). Integer >= 0. */
  readonly budget: number;
}

/** Everything sampled so far this iteration. */
export interface RoundState {
  /**
   * Per prompt drawn so far, the rewards of its samples in the order they
   * were drawn: the iteration's m prompts first, then any drawn from the
   * run's prompt stream for later rounds, in drawing order.
   */
  readonly rewards: readonly (readonly RoundReward[])[];
  /** Rounds sampled so far (0 before the first). */
  readonly rounds: number;
}

/** One round's samples. */
export interface RoundRequest {
  /** More samples for each prompt drawn so far (length = rewards.length; 0 for a prompt that gets none). */
  readonly more: number[];
  /** Samples for each new prompt to draw next from the run's prompt stream (empty: none). */
  readonly fresh: number[];
}

/** What happened to one prompt's samples. */
export type RoundStatus =
  /** dapo: its rewards differ (or it has one sample), within the first m such groups: trained on. */
  | "kept"
  /** dapo: every reward equal, so every advantage is 0: dropped. */
  | "all-equal"
  /** dapo: its rewards differ, but m groups were kept before it: dropped (verl trims the batch to m groups). */
  | "surplus"
  /** reinforce-ada: left the active set; its down-sampled group is trained on. */
  | "resolved"
  /** reinforce-ada: still active when the rounds or the budget ran out; down-sampled all the same. */
  | "unresolved"
  /** The budget ran out before the prompt got a sample. */
  | "unsampled";

/** Which samples the update trains on. */
export interface RoundSelection {
  /** Per prompt drawn, indices into its rewards of the samples trained on, ascending; empty: the group is dropped. */
  readonly keep: number[][];
  /** Per prompt drawn, its fate. */
  readonly status: RoundStatus[];
  /** One line per notable event, the first a summary (rounds, groups kept and dropped). */
  readonly notes: string[];
}

/** The decision rules of a strategy that generates in rounds; both functions pure. */
export interface RoundPlanner<O> {
  /** The next round's samples, or null to stop; never more than the budget left. */
  plan(context: RoundContext, state: RoundState, options: O): RoundRequest | null;
  /** The samples the update trains on, once the rounds are over. */
  select(context: RoundContext, state: RoundState, options: O): RoundSelection;
}

/** A round planner was given an impossible state, or asked for more than the budget left. */
export class RoundPlanError extends GvmError {}

/** Responses generated so far this iteration. */
export function roundGenerated(state: RoundState): number {
  return state.rewards.reduce((a, r) => a + r.length, 0);
}

/** Accepted and rejected counts of one prompt's rewards. */
export function rewardCounts(rewards: readonly RoundReward[]): { accepted: number; rejected: number } {
  let accepted = 0;
  for (const r of rewards) accepted += r;
  return { accepted, rejected: rewards.length - accepted };
}

/** Checks a context and state before planning on them; RoundPlanError naming the field otherwise. */
export function checkRoundState(strategy: string, context: RoundContext, state: RoundState): void {
  const fail = (what: string): never => {
    throw new RoundPlanError(`rounds of '${strategy}': ${what}`);
  };
  if (!Number.isSafeInteger(context.prompts) || context.prompts < 1) fail(`prompts = ${context.prompts} must be an integer >= 1`);
  if (!Number.isSafeInteger(context.budget) || context.budget < 0) fail(`budget = ${context.budget} must be an integer >= 0`);
  if (!Number.isSafeInteger(state.rounds) || state.rounds < 0) fail(`rounds = ${state.rounds} must be an integer >= 0`);
  if (state.rewards.length < context.prompts) fail(`rewards has ${state.rewards.length} prompts, fewer than the iteration's ${context.prompts}`);
  state.rewards.forEach((list, i) =>
    list.forEach((r, j) => {
      if (r !== 0 && r !== 1) fail(`rewards[${i}][${j}] = ${String(r)} must be 0 or 1`);
    }),
  );
  const generated = roundGenerated(state);
  if (generated > context.budget) fail(`${generated} responses generated, past the budget ${context.budget}`);
}

/**
 * Checks a planner's request against the state it was made for: integer
 * counts >= 0, one per prompt drawn, at least one sample in all, and no
 * more than the budget left. The trainer calls it before sampling.
 */
export function checkRoundRequest(strategy: string, context: RoundContext, state: RoundState, request: RoundRequest): number {
  const fail = (what: string): never => {
    throw new RoundPlanError(`round ${state.rounds + 1} of '${strategy}': ${what}`);
  };
  if (request.more.length !== state.rewards.length) fail(`more has ${request.more.length} entries for ${state.rewards.length} prompts drawn`);
  let total = 0;
  for (const [field, list] of [["more", request.more], ["fresh", request.fresh]] as const) {
    list.forEach((n, i) => {
      if (!Number.isSafeInteger(n) || n < 0) fail(`${field}[${i}] = ${String(n)} must be an integer >= 0`);
      total += n;
    });
  }
  if (total === 0) fail("asks for no samples (a planner stops by returning null)");
  const left = context.budget - roundGenerated(state);
  if (total > left) fail(`asks for ${total} samples with ${left} of the budget ${context.budget} left`);
  return total;
}

/** Spreads `amount` evenly over `targets` (floor each, the first ones one more), each at most `cap`; the counts in target order. */
export function spreadCapped(targets: number, amount: number, cap: number): number[] {
  if (targets === 0) return [];
  const total = Math.min(amount, targets * cap);
  const q = Math.floor(total / targets);
  const r = total - q * targets;
  return Array.from({ length: targets }, (_, i) => (i < r ? q + 1 : q));
}
