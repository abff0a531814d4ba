import { describe, expect, it } from "vitest";
import { ADVANTAGE_NAMES, AdvantageInputError, computeAdvantages, groupStats } from "./advantages.js";

// Three prompts with n_i = 4, 1, 3.
const input = { rewards: [1, 0, 1, 0, 1, 0, 0, 1], groupSizes: [4, 1, 3] };

describe("advantages", () => {
  it("raft: 1 accepted, 0 rejected", () => {
    expect([...computeAdvantages("raft", input)]).toEqual([1, 0, 1, 0, 1, 0, 0, 1]);
    expect(() => computeAdvantages("raft", { rewards: [0.5], groupSizes: [1] })).toThrow(/rewards\[0\] = 0.5: raft needs 0/);
  });

  it("group stats: sample std (n - 1), a group of one gets mean 0 and std 1", () => {
    const { mean, std } = groupStats(input);
    expect([...mean]).toEqual([0.5, 0, 1 / 3]);
    // group 1: squared deviations 4 * 0.25 = 1 over n - 1 = 3; group 3: (1/9 + 1/9 + 4/9) / 2 = 1/3.
    expect(std[0]).toBeCloseTo(Math.sqrt(1 / 3), 14);
    expect(std[1]).toBe(1);
    expect(std[2]).toBeCloseTo(Math.sqrt(1 / 3), 14);
  });

  it("grpo: (r - mean) / (std + 1e-6) per group of its own size", () => {
    const a = computeAdvantages("grpo", input);
    const s = Math.sqrt(1 / 3) + 1e-6;
    const expected = [0.5 / s, -0.5 / s, 0.5 / s, -0.5 / s, 1 / (1 + 1e-6), -1 / 3 / s, -1 / 3 / s, 2 / 3 / s];
    expected.forEach((v, i) => expect(a[i]).toBeCloseTo(v, 12));
    expect(a[0]).toBeCloseTo(0.866024, 5);
  });

  it("grpo: a group where every response has the same reward gets zero advantage", () => {
    expect([...computeAdvantages("grpo", { rewards: [1, 1, 0, 0, 0], groupSizes: [2, 3] })]).toEqual([0, 0, 0, 0, 0]);
  });

  it("dr_grpo: r - mean, no std", () => {
    const a = computeAdvantages("dr_grpo", input);
    [0.5, -0.5, 0.5, -0.5, 1, -1 / 3, -1 / 3, 2 / 3].forEach((v, i) => expect(a[i]).toBeCloseTo(v, 14));
  });

  it("empty groups (n_i = 0) contribute nothing", () => {
    const a = computeAdvantages("grpo", { rewards: [1, 0], groupSizes: [0, 2, 0] });
    expect(a.length).toBe(2);
    expect(a[0]).toBeCloseTo(0.5 / (Math.SQRT1_2 + 1e-6), 12);
  });

  it("rejects mismatched sizes, non-finite rewards, bad epsilon and unknown names", () => {
    expect(() => computeAdvantages("grpo", { rewards: [1, 0, 1], groupSizes: [2] })).toThrow(/sum to 2 but there are 3 rewards/);
    expect(() => computeAdvantages("grpo", { rewards: [1, Number.NaN], groupSizes: [2] })).toThrow(AdvantageInputError);
    expect(() => computeAdvantages("grpo", { rewards: [1], groupSizes: [1.5] })).toThrow(/groupSizes\[0\]/);
    expect(() => computeAdvantages("grpo", input, { epsilon: -1 })).toThrow(/epsilon/);
    expect(() => computeAdvantages("ppo", input)).toThrow(/known: raft, grpo, dr_grpo/);
    expect(ADVANTAGE_NAMES).toEqual(["raft", "grpo", "dr_grpo"]);
  });
});
