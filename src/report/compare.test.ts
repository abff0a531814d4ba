import { describe, expect, it } from "vitest";
import type { EvalRecord } from "../train/records.js";
import { tInterval } from "../util/stats.js";
import { costToTarget, meanAccuracyUpTo, summarize } from "./compare.js";

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

  it("averages accuracy over a common budget: the area under the curve up to it", () => {
    // 0.4 -> 0.5 over the first 1000 (mean 0.45), 0.5 -> 0.6 over the next (mean 0.55)
    expect(meanAccuracyUpTo(curve, "samples", 2000)).toBeCloseTo(0.5, 12);
    expect(meanAccuracyUpTo(curve, "samples", 1000)).toBeCloseTo(0.45, 12);
    // up to 1500: 0.45 * 1000 + (0.5 + 0.55) / 2 * 500, over 1500
    expect(meanAccuracyUpTo(curve, "samples", 1500)).toBeCloseTo((450 + 262.5) / 1500, 12);
    // a curve that rises early beats one that ends at the same accuracy
    expect(meanAccuracyUpTo([ev(0, 0.4), ev(1000, 0.6), ev(2000, 0.6)], "samples", 2000)).toBeGreaterThan(0.5);
    // past the curve's end, before its start, or on an axis not logged: no value
    expect(meanAccuracyUpTo(curve, "samples", 2500)).toBeNull();
    expect(meanAccuracyUpTo(curve.slice(1), "samples", 2000)).toBeNull();
    expect(meanAccuracyUpTo(curve, "tokens", 1000)).toBeNull();
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
