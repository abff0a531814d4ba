import { describe, expect, it } from "vitest";
import { Rng } from "../util/rng.js";
import { DAPO_PLANNER } from "./dapo.js";
import { parseDapoOptions, parseReinforceAdaOptions } from "./options.js";
import { REINFORCE_ADA_PLANNER } from "./reinforce-ada.js";
import { checkRoundRequest, type RoundContext, type RoundPlanner, RoundPlanError, type RoundReward, spreadCapped } from "./rounds.js";

describe("checkRoundRequest", () => {
  const ctx = { prompts: 2, budget: 8 };
  const state = { rewards: [[1, 0], []] as RoundReward[][], rounds: 1 };

  it("returns the samples asked for when they fit the budget left", () => {
    expect(checkRoundRequest("x", ctx, state, { more: [0, 2], fresh: [4] })).toBe(6);
  });

  it("refuses a request past the budget, of nothing, or of the wrong shape", () => {
    const bad: [{ more: number[]; fresh: number[] }, RegExp][] = [
      [{ more: [0, 3], fresh: [4] }, /round 2 of 'x': asks for 7 samples with 6 of the budget 8 left/],
      [{ more: [0, 0], fresh: [] }, /asks for no samples/],
      [{ more: [1], fresh: [] }, /more has 1 entries for 2 prompts drawn/],
      [{ more: [0, -1], fresh: [2] }, /more\[1\] = -1 must be an integer >= 0/],
      [{ more: [0, 0], fresh: [1.5] }, /fresh\[0\] = 1.5 must be an integer >= 0/],
    ];
    for (const [request, message] of bad) {
      expect(() => checkRoundRequest("x", ctx, state, request)).toThrow(RoundPlanError);
      expect(() => checkRoundRequest("x", ctx, state, request)).toThrow(message);
    }
  });

  it("spreadCapped: floor each, the first ones one more, never past the cap", () => {
    expect(spreadCapped(3, 10, 8)).toEqual([4, 3, 3]);
    expect(spreadCapped(3, 100, 8)).toEqual([8, 8, 8]);
    expect(spreadCapped(0, 5, 8)).toEqual([]);
  });
});

/**
 * Drives a planner as the trainer does, with rewards drawn from a fixed
 * acceptance rate per prompt, and returns what it generated.
 */
function drive<O>(planner: RoundPlanner<O>, ctx: RoundContext, options: O, rng: Rng): { generated: number; rounds: number; rewards: RoundReward[][]; keep: number[][] } {
  const rewards: RoundReward[][] = Array.from({ length: ctx.prompts }, () => []);
  const p: number[] = rewards.map(() => [0, 1, rng.float()][rng.int(3)] as number);
  let rounds = 0;
  for (;;) {
    const state = { rewards, rounds };
    const request = planner.plan(ctx, state, options);
    if (request === null) break;
    checkRoundRequest("sim", ctx, state, request);
    for (const _ of request.fresh) {
      rewards.push([]);
      p.push([0, 1, rng.float()][rng.int(3)] as number);
    }
    [...request.more, ...request.fresh].forEach((n, i) => {
      for (let s = 0; s < n; s++) (rewards[i] as RoundReward[]).push(rng.float() < (p[i] as number) ? 1 : 0);
    });
    rounds++;
    if (rounds > 1000) throw new Error("the planner never stopped");
  }
  const keep = planner.select(ctx, { rewards, rounds }, options).keep;
  return { generated: rewards.reduce((a, r) => a + r.length, 0), rounds, rewards, keep };
}

describe("round planners never spend past the budget", () => {
  it("dapo and reinforce-ada under random prompts, budgets and options", () => {
    const rng = new Rng(12);
    for (let trial = 0; trial < 300; trial++) {
      const m = 1 + rng.int(8);
      const ctx = { prompts: m, budget: m + rng.int(80) };
      const dapo = parseDapoOptions({
        groupSize: rng.int(2) === 0 ? null : 1 + rng.int(6),
        genPrompts: rng.int(2) === 0 ? null : 1 + rng.int(10),
        maxGenBatches: rng.int(2) === 0 ? null : 1 + rng.int(5),
      });
      const d = drive(DAPO_PLANNER, ctx, dapo, rng);
      expect(d.generated).toBeLessThanOrEqual(ctx.budget);
      if (dapo.maxGenBatches !== null) expect(d.rounds).toBeLessThanOrEqual(dapo.maxGenBatches);
      expect(d.keep.filter((k) => k.length > 0).length).toBeLessThanOrEqual(m);
      d.keep.forEach((k, i) => {
        if (k.length > 0) expect(k).toEqual((d.rewards[i] as RoundReward[]).map((_, j) => j));
      });

      const ada = parseReinforceAdaOptions({ groupSize: 2 + rng.int(5), roundSize: 1 + rng.int(9), maxRounds: 1 + rng.int(5), variant: rng.int(2) === 0 ? "balanced" : "positive-focused" });
      const a = drive(REINFORCE_ADA_PLANNER, ctx, ada, rng);
      expect(a.generated).toBeLessThanOrEqual(ctx.budget);
      expect(a.rounds).toBeLessThanOrEqual(ada.maxRounds);
      expect(a.rewards).toHaveLength(m);
      a.keep.forEach((k, i) => {
        expect(k.length).toBeLessThanOrEqual(ada.groupSize);
        expect(new Set(k).size).toBe(k.length);
        for (const j of k) expect(j).toBeLessThan((a.rewards[i] as RoundReward[]).length);
      });
    }
  });
});
