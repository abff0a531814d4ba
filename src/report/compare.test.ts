import { describe, expect, it } from "vitest";
import type { EvalRecord } from "../train/records.js";
import { tInterval } from "../util/stats.js";
import { costToTarget, summarize } from "./compare.js";

function ev(samples: number, accuracy: number): EvalRecord {
  return { kind: "eval", iter: 0, step: samples / 100, samples, wallclock: samples / 10, accuracy, ci: [accuracy - 0.02, accuracy + 0.02], byLevel: {}, k: 4 };
}

describe("comparing runs", () => {
  const curve = [ev(0, 0.4), ev(1000, 0.5), ev(2000, 0.6)];
  it("interpolates the first crossing of the target", () => {
    expect(costToTarget(curve, 0.55, "samples")).toBeCloseTo(1500, 9);
    expect(costToTarget(curve, 0.55, "wallclock")).toBeCloseTo(150, 9);
    expect(costToTarget(curve, 0.4, "samples")).toBe(0);
    expect(costToTarget(curve, 0.7, "samples")).toBeNull();
  });

  it("summarises seeds: medians to target, t intervals", () => {
    const groups = new Map([
      ["a", [curve, [ev(0, 0.4), ev(1000, 0.6), ev(2000, 0.62)]]],
      ["b", [[ev(0, 0.4), ev(2000, 0.45)]]],
    ]);
    const [a, b] = summarize(groups, 0.55);
    expect(a?.toTarget.samples.map((x) => Math.round(x ?? -1))).toEqual([1500, 750]);
    expect(a?.medianToTarget.samples).toBeCloseTo(1125, 9);
    expect(a?.finalAccuracy).toBeCloseTo(0.61, 9);
    expect(b?.medianToTarget.samples).toBeNull();
    expect(b?.finalCi[0]).toBeCloseTo(0.43, 9);
    expect(b?.finalCi[1]).toBeCloseTo(0.47, 9);
    const [lo, hi] = tInterval([0.6, 0.62]);
    expect(hi - lo).toBeCloseTo(2 * 12.706 * Math.sqrt(0.0002) / Math.sqrt(2), 9);
  });
});
