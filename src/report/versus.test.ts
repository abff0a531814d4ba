import { describe, expect, it } from "vitest";
import type { EvalRecord } from "../train/records.js";
import { formatVersus, type RunIdentity, versus } from "./versus.js";

/** An evaluation curve: accuracy after each 1,024 responses (40 tokens each, 10 s and 8 steps per point). */
function curve(accs: readonly number[], half = 0.03): EvalRecord[] {
  return accs.map((accuracy, i) => ({
    kind: "eval",
    iter: 2 * i,
    step: 8 * i,
    samples: 1024 * i,
    tokens: 40 * 1024 * i,
    wallclock: 10 * i,
    accuracy,
    ci: [accuracy - half, accuracy + half],
    byLevel: { "1": Math.min(1, accuracy + 0.2), "2": accuracy - 0.1 },
    k: 2,
  }));
}

const id = (strategy: string): RunIdentity => ({ label: `raftpp/${strategy}`, method: "raftpp", strategy, seed: 0, regime: "natural" });

describe("versus", () => {
  it("reads the costs to the baseline's final accuracy off both curves, by interpolation", () => {
    const v = versus({ id: id("uniform"), evals: curve([0.4, 0.5, 0.6, 0.7]) }, { id: id("gvm"), evals: curve([0.4, 0.6, 0.8, 0.8]) });
    expect(v.verdict).toBe("reached");
    expect(v.target).toBeCloseTo(0.7);
    expect(v.toTarget.baseline.samples).toBeCloseTo(3072);
    // 0.6 at 1,024 and 0.8 at 2,048: 0.7 halfway.
    expect(v.toTarget.challenger.samples).toBeCloseTo(1536);
    expect(v.toTarget.challenger.tokens).toBeCloseTo(1536 * 40);
    expect(v.toTarget.challenger.wallclock).toBeCloseTo(15);
    expect(v.ratio.samples).toBeCloseTo(2);
    expect(v.ratio.step).toBeCloseTo(2);
    expect(v.challenger.gain).toBeCloseTo(0.4);
    expect(v.finalsOverlap).toBe(false);
    const text = formatVersus(v);
    expect(text).toContain("reached it with 2.00x fewer responses, 2.00x fewer tokens");
    expect(text).toContain("differ beyond their 95% intervals (+0.100)");
  });

  it("says when the challenger never reaches the target, and never calls that a cost of 0", () => {
    const v = versus({ id: id("uniform"), evals: curve([0.4, 0.5, 0.7]) }, { id: id("gvm-ponly"), evals: curve([0.4, 0.45, 0.69]) });
    expect(v.verdict).toBe("not-reached");
    expect(v.toTarget.challenger.samples).toBeNull();
    expect(v.ratio.samples).toBeNull();
    expect(v.finalsOverlap).toBe(true);
    expect(formatVersus(v)).toContain("raftpp/gvm-ponly did not reach it within the budget (its best: 0.690)");
  });

  it("has no target when the baseline did not improve: no costs, no ratios, only the finals", () => {
    // The run that motivated this case: both ended where they started.
    const v = versus({ id: id("uniform"), evals: curve([0.193, 0.2, 0.188]) }, { id: id("gvm-ponly"), evals: curve([0.193, 0.19, 0.188]) });
    expect(v.verdict).toBe("baseline-flat");
    expect(Object.values(v.toTarget.challenger).every((x) => x === null)).toBe(true);
    expect(Object.values(v.ratio).every((x) => x === null)).toBe(true);
    const text = formatVersus(v);
    expect(text).toContain("ended no higher than it started (0.193 -> 0.188)");
    expect(text).not.toContain("responses to target");
  });

  it("prints the curves and accuracy per level at the start and the end", () => {
    const text = formatVersus(versus({ id: id("uniform"), evals: curve([0.4, 0.6]) }, { id: id("gvm"), evals: curve([0.4, 0.65]) }));
    expect(text).toMatch(/^ {2}1 +0\.600 +0\.800 +0\.850$/m);
    expect(text).toMatch(/^ {2}all +0\.400 +0\.600 +0\.650$/m);
    expect(text).toMatch(/1024 +40,960 +10 +0\.600 +\| +1024 +40,960 +10 +0\.650/);
  });

  it("refuses a run without evaluations", () => {
    expect(() => versus({ id: id("uniform"), evals: [] }, { id: id("gvm"), evals: curve([0.4]) })).toThrow(/raftpp\/uniform: no evaluation records/);
  });
});
