import { describe, expect, it } from "vitest";
import { parseReinforceAdaOptions } from "./options.js";
import { balancedDownsample, fallbackDownsample, planReinforceAda, reinforceAdaResolved, selectReinforceAda } from "./reinforce-ada.js";
import { RoundPlanError, type RoundReward, type RoundState } from "./rounds.js";

const balanced = parseReinforceAdaOptions({});
const positive = parseReinforceAdaOptions({ variant: "positive-focused" });
const state = (rewards: RoundReward[][], rounds: number): RoundState => ({ rewards, rounds });
const ones = (k: number): RoundReward[] => new Array<RoundReward>(k).fill(1);
const zeros = (k: number): RoundReward[] => new Array<RoundReward>(k).fill(0);

describe("reinforce-ada: when a prompt leaves the active set", () => {
  it("balanced: floor(n/2) accepted and n - floor(n/2) rejected so far", () => {
    expect(reinforceAdaResolved([1, 1, 0], balanced)).toBe(false);
    expect(reinforceAdaResolved([1, 0, 1, 0], balanced)).toBe(true);
    expect(reinforceAdaResolved([1, 0, 0, 0, 0, 0, 0, 0], balanced)).toBe(false);
    expect(reinforceAdaResolved([1, 0, 0, 0, 0, 0, 0, 1], balanced)).toBe(true);
    expect(reinforceAdaResolved(ones(16), balanced)).toBe(false);
    // n = 5: two accepted, three rejected.
    expect(reinforceAdaResolved([1, 1, 0, 0], { ...balanced, groupSize: 5 })).toBe(false);
    expect(reinforceAdaResolved([1, 1, 0, 0, 0], { ...balanced, groupSize: 5 })).toBe(true);
  });

  it("positive-focused: one accepted", () => {
    expect(reinforceAdaResolved(zeros(8), positive)).toBe(false);
    expect(reinforceAdaResolved([0, 0, 0, 1], positive)).toBe(true);
    expect(reinforceAdaResolved(ones(8), positive)).toBe(true);
  });
});

describe("reinforce-ada: rounds", () => {
  it("gives every still-active prompt roundSize samples a round, up to maxRounds", () => {
    const ctx = { prompts: 3, budget: 1000 };
    expect(planReinforceAda(ctx, state([[], [], []], 0), balanced)).toEqual({ more: [8, 8, 8], fresh: [] });
    const after: RoundReward[][] = [[1, 0, 1, 0, 1, 1, 1, 0], zeros(8), ones(8)];
    expect(planReinforceAda(ctx, state(after, 1), balanced)).toEqual({ more: [0, 8, 8], fresh: [] });
    // positive-focused: the all-right prompt has left too.
    expect(planReinforceAda(ctx, state(after, 1), positive)).toEqual({ more: [0, 8, 0], fresh: [] });
    expect(planReinforceAda(ctx, state(after, 4), balanced)).toBeNull();
    expect(planReinforceAda(ctx, state(after, 2), { ...balanced, maxRounds: 2 })).toBeNull();
    expect(planReinforceAda(ctx, state([[1, 0], [0, 1], [1, 0]], 1), { ...balanced, groupSize: 2 })).toBeNull();
  });

  it("spreads what is left of the budget evenly over the active prompts (the first ones one more), then stops", () => {
    const after: RoundReward[][] = [zeros(8), zeros(8), ones(8)];
    expect(planReinforceAda({ prompts: 3, budget: 30 }, state(after, 1), balanced)).toEqual({ more: [2, 2, 2], fresh: [] });
    expect(planReinforceAda({ prompts: 3, budget: 28 }, state(after, 1), balanced)).toEqual({ more: [2, 1, 1], fresh: [] });
    expect(planReinforceAda({ prompts: 3, budget: 25 }, state(after, 1), balanced)).toEqual({ more: [1, 0, 0], fresh: [] });
    expect(planReinforceAda({ prompts: 3, budget: 24 }, state(after, 1), balanced)).toBeNull();
    // Even the first round may not fit.
    expect(planReinforceAda({ prompts: 3, budget: 10 }, state([[], [], []], 0), balanced)).toEqual({ more: [4, 3, 3], fresh: [] });
  });

  it("samples only the iteration's prompts", () => {
    expect(() => planReinforceAda({ prompts: 2, budget: 100 }, state([[], [], []], 0), balanced)).toThrow(RoundPlanError);
    expect(() => planReinforceAda({ prompts: 2, budget: 100 }, state([[], [], []], 0), balanced)).toThrow(/it samples only the iteration's 2/);
  });
});

describe("reinforce-ada: the down-sample", () => {
  it("a resolved prompt keeps its earliest floor(n/2) accepted and earliest rejected to fill", () => {
    expect(balancedDownsample([1, 1, 1, 0, 1, 0, 0], 4)).toEqual([0, 1, 3, 5]);
    expect(balancedDownsample([0, 0, 0, 1, 0, 1, 1, 1], 5)).toEqual([0, 1, 2, 3, 5]);
    // positive-focused exits with one accepted: the rejected fill the rest.
    expect(balancedDownsample([0, 0, 0, 0, 0, 1, 0, 0], 4)).toEqual([0, 1, 2, 5]);
    // Too few rejected: topped up with accepted.
    expect(balancedDownsample([1, 1, 1, 1, 0], 4)).toEqual([0, 1, 2, 4]);
  });

  it("an unresolved prompt follows the reference's fallback", () => {
    // balanced: aim at 2 + 2, top up from whichever outcome has more left (accepted first).
    expect(fallbackDownsample(ones(8), balanced)).toEqual([0, 1, 2, 3]);
    expect(fallbackDownsample(zeros(8), balanced)).toEqual([0, 1, 2, 3]);
    expect(fallbackDownsample([0, 0, 0, 0, 0, 0, 0, 1], balanced)).toEqual([0, 1, 2, 7]);
    // Fewer samples than n (the budget ran out): all of them.
    expect(fallbackDownsample([0, 1], balanced)).toEqual([0, 1]);
    expect(fallbackDownsample([], balanced)).toEqual([]);
    // positive-focused: no accepted sample, so n rejected.
    expect(fallbackDownsample(zeros(8), positive)).toEqual([0, 1, 2, 3]);
  });

  it("selects per prompt: resolved, unresolved, unsampled", () => {
    const rewards: RoundReward[][] = [[1, 0, 0, 1, 1, 0], ones(16), [0, 0, 1, 0, 0, 0, 0, 0, 0, 1], []];
    const sel = selectReinforceAda({ prompts: 4, budget: 64 }, state(rewards, 2), balanced);
    expect(sel.status).toEqual(["resolved", "unresolved", "resolved", "unsampled"]);
    expect(sel.keep).toEqual([[0, 1, 2, 3], [0, 1, 2, 3], [0, 1, 2, 9], []]);
    expect(sel.notes).toEqual(["reinforce-ada (balanced): 2 round(s); 2 resolved, 1 still active, 1 unsampled (budget spent); groups down-sampled to 4"]);
  });
});
