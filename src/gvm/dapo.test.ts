import { describe, expect, it } from "vitest";
import { dapoGroupSize, dapoKeepsGroup, planDapo, selectDapo } from "./dapo.js";
import { parseDapoOptions } from "./options.js";
import { RoundPlanError, type RoundReward, type RoundState } from "./rounds.js";

const defaults = parseDapoOptions({});
const state = (rewards: RoundReward[][], rounds: number): RoundState => ({ rewards, rounds });
const none = (m: number): RoundReward[][] => Array.from({ length: m }, () => []);

describe("dapo: which groups it keeps", () => {
  it("keeps a group whose rewards differ, or of one sample (verl: std > 0 or len == 1), and drops all-equal ones", () => {
    expect(dapoKeepsGroup([1, 0])).toBe(true);
    expect(dapoKeepsGroup([0, 0, 0, 1])).toBe(true);
    expect(dapoKeepsGroup([1])).toBe(true);
    expect(dapoKeepsGroup([0])).toBe(true);
    expect(dapoKeepsGroup([1, 1, 1])).toBe(false);
    expect(dapoKeepsGroup([0, 0])).toBe(false);
  });

  it("trains on the first m kept groups in drawing order; later ones are surplus", () => {
    const rewards: RoundReward[][] = [
      [1, 0, 1, 0], // kept
      [1, 1, 1, 1], // all-equal
      [0, 0, 0, 0], // all-equal
      [0, 1, 0, 0], // kept
      [1, 0, 0, 0], // kept (second batch)
      [0, 0, 0, 0], // all-equal
      [1, 1, 0, 0], // kept: the fourth
      [0, 1, 1, 1], // surplus: m = 4 already kept
    ];
    const sel = selectDapo({ prompts: 4, budget: 32 }, state(rewards, 2), defaults);
    expect(sel.status).toEqual(["kept", "all-equal", "all-equal", "kept", "kept", "all-equal", "kept", "surplus"]);
    expect(sel.keep).toEqual([[0, 1, 2, 3], [], [], [0, 1, 2, 3], [0, 1, 2, 3], [], [0, 1, 2, 3], []]);
    expect(sel.notes).toEqual(["dapo: 2 generation batch(es) of groups of 4; 4 of 4 groups kept, 3 all-equal dropped, 1 surplus dropped"]);
  });
});

describe("dapo: generation batches", () => {
  it("defaults to batches of m prompts and groups the budget pays twice for (at least 2)", () => {
    expect(dapoGroupSize({ prompts: 4, budget: 32 }, defaults)).toBe(4);
    expect(dapoGroupSize({ prompts: 64, budget: 512 }, defaults)).toBe(4);
    expect(dapoGroupSize({ prompts: 64, budget: 100 }, defaults)).toBe(2);
    expect(dapoGroupSize({ prompts: 4, budget: 32 }, { ...defaults, genPrompts: 2 })).toBe(8);
    expect(dapoGroupSize({ prompts: 4, budget: 32 }, { ...defaults, groupSize: 3 })).toBe(3);
    expect(planDapo({ prompts: 4, budget: 32 }, state(none(4), 0), defaults)).toEqual({ more: [4, 4, 4, 4], fresh: [] });
  });

  it("draws a new batch of prompts while fewer than m groups are kept, and stops once m are", () => {
    const ctx = { prompts: 4, budget: 32 };
    const first: RoundReward[][] = [[1, 0, 1, 0], [1, 1, 1, 1], [0, 0, 0, 0], [0, 1, 0, 0]];
    expect(planDapo(ctx, state(first, 1), defaults)).toEqual({ more: [0, 0, 0, 0], fresh: [4, 4, 4, 4] });
    const second: RoundReward[][] = [...first, [1, 0, 0, 0], [0, 0, 0, 0], [1, 1, 0, 0], [0, 1, 1, 1]];
    expect(planDapo(ctx, state(second, 2), defaults)).toBeNull();
  });

  it("stops at maxGenBatches short of m groups, trains on what it kept and says why", () => {
    const ctx = { prompts: 4, budget: 64 };
    const first: RoundReward[][] = [[1, 0, 1, 0], [1, 1, 1, 1], [0, 0, 0, 0], [0, 0, 0, 0]];
    const capped = { ...defaults, maxGenBatches: 1 };
    expect(planDapo(ctx, state(first, 1), capped)).toBeNull();
    const sel = selectDapo(ctx, state(first, 1), capped);
    expect(sel.keep.map((k) => k.length)).toEqual([4, 0, 0, 0]);
    expect(sel.notes[1]).toBe("dapo: short of 4 groups: maxGenBatches (1) reached; training on the 1 kept (verl would stop the run here)");
    // No cap: only the budget stops it.
    expect(planDapo(ctx, state(first, 50), { ...defaults, maxGenBatches: null })).not.toBeNull();
  });

  it("cuts a batch to the whole groups the budget still pays for, then stops", () => {
    const ctx = { prompts: 4, budget: 22 };
    const o = { ...defaults, groupSize: 4 };
    const first: RoundReward[][] = [[1, 1, 1, 1], [1, 1, 1, 1], [0, 0, 0, 0], [0, 0, 0, 0]];
    // 16 generated, 6 left: one more group of 4 fits, not two.
    expect(planDapo(ctx, state(first, 1), o)).toEqual({ more: [0, 0, 0, 0], fresh: [4] });
    const second = [...first, [1, 1, 1, 1] as RoundReward[]];
    expect(planDapo(ctx, state(second, 2), o)).toBeNull();
    expect(selectDapo(ctx, state(second, 2), o).notes[1]).toMatch(/the budget \(22\) left no room for another group; training on the 0 kept/);
  });

  it("samples the iteration's own prompts first when a batch is smaller than m, and over-samples new ones when it is larger", () => {
    const small = { ...defaults, genPrompts: 2, groupSize: 2 };
    const ctx = { prompts: 4, budget: 32 };
    expect(planDapo(ctx, state(none(4), 0), small)).toEqual({ more: [2, 2, 0, 0], fresh: [] });
    expect(planDapo(ctx, state([[1, 1], [0, 0], [], []], 1), small)).toEqual({ more: [0, 0, 2, 2], fresh: [] });
    expect(planDapo(ctx, state([[1, 1], [0, 0], [1, 1], [0, 0]], 2), small)).toEqual({ more: [0, 0, 0, 0], fresh: [2, 2] });
    const large = { ...defaults, genPrompts: 6, groupSize: 2 };
    expect(planDapo(ctx, state(none(4), 0), large)).toEqual({ more: [2, 2, 2, 2], fresh: [2, 2] });
  });

  it("refuses impossible states, naming the field", () => {
    expect(() => planDapo({ prompts: 4, budget: 32 }, state(none(3), 0), defaults)).toThrow(RoundPlanError);
    expect(() => planDapo({ prompts: 4, budget: 32 }, state(none(3), 0), defaults)).toThrow(/rewards has 3 prompts, fewer than the iteration's 4/);
    expect(() => planDapo({ prompts: 1, budget: 4 }, state([[1, 2 as RoundReward]], 1), defaults)).toThrow(/rewards\[0\]\[1\] = 2 must be 0 or 1/);
    expect(() => planDapo({ prompts: 1, budget: 1 }, state([[1, 0]], 1), defaults)).toThrow(/2 responses generated, past the budget 1/);
  });
});
