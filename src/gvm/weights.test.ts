import { describe, expect, it } from "vitest";
import { gvmCost, gvmObjective, gvmWeight } from "./weights.js";

describe("gvmWeight", () => {
  it("is G / sqrt(p + alpha / p^(beta-1))", () => {
    expect(gvmWeight(0.5, 2, 1e-3, 2)).toBeCloseTo(2 / Math.sqrt(0.5 + 0.002), 12);
    expect(gvmWeight(0.1, 1, 0.01, 3)).toBeCloseTo(1 / Math.sqrt(0.1 + 0.01 / 0.01), 12);
    expect(gvmWeight(0.3, 1.5, 0, 2)).toBeCloseTo(1.5 / Math.sqrt(0.3), 12);
  });
  it("is 0 when G or p is 0", () => {
    expect(gvmWeight(0, 3, 1e-3, 2)).toBe(0);
    expect(gvmWeight(0.7, 0, 1e-3, 2)).toBe(0);
  });
  it("peaks near p = sqrt(alpha) for beta = 2 (the penalty stops p -> 0 from taking everything)", () => {
    const alpha = 1e-3;
    const peak = Math.sqrt(alpha);
    expect(gvmWeight(peak, 1, alpha, 2)).toBeGreaterThan(gvmWeight(peak / 3, 1, alpha, 2));
    expect(gvmWeight(peak, 1, alpha, 2)).toBeGreaterThan(gvmWeight(peak * 3, 1, alpha, 2));
  });
});

describe("gvmObjective", () => {
  it("equals sum G^2 / (n p (1 + alpha / p^beta)) over prompts with a positive cost", () => {
    const p = [0.5, 0.2, 0];
    const g = [1, 2, 5];
    const n = [3, 4, 1];
    const expected = 1 / (3 * 0.5 * (1 + 1e-3 / 0.25)) + 4 / (4 * 0.2 * (1 + 1e-3 / 0.04));
    expect(gvmObjective(n, p, g, 1e-3, 2)).toBeCloseTo(expected, 12);
    expect(gvmCost(0.2, 2, 1e-3, 2)).toBeCloseTo(4 / (0.2 * (1 + 1e-3 / 0.04)), 12);
  });
});
