import { describe, expect, it } from "vitest";
import { avgAtK, majAtK, meanWithCi, passAtK } from "./metrics.js";

function choose(n: number, k: number): number {
  let r = 1;
  for (let i = 1; i <= k; i++) r = (r * (n - k + i)) / i;
  return r;
}

describe("sampling metrics", () => {
  it("avg@k", () => {
    expect(avgAtK([true, false, true, true])).toBe(0.75);
  });

  it("pass@k matches 1 - C(n-c,k)/C(n,k) by hand", () => {
    expect(passAtK(4, 1, 1)).toBeCloseTo(0.25, 12);
    expect(passAtK(4, 1, 2)).toBeCloseTo(1 - 3 / 6, 12);
    expect(passAtK(10, 3, 5)).toBeCloseTo(1 - choose(7, 5) / choose(10, 5), 12);
    expect(passAtK(5, 0, 3)).toBe(0);
    expect(passAtK(5, 3, 3)).toBe(1);
    expect(passAtK(1000, 7, 100)).toBeCloseTo(1 - Array.from({ length: 7 }, (_, i) => 1 - 100 / (994 + i)).reduce((a, b) => a * b, 1), 12);
    expect(() => passAtK(3, 4, 1)).toThrow(/0 <= c <= n/);
  });

  it("maj@k votes on answers, ties to the first seen, nulls abstain", () => {
    expect(majAtK(["5", "7", "5", null], [true, false, true, false])).toBe(true);
    expect(majAtK(["7", "5", "5", "7"], [false, true, true, false])).toBe(false);
    expect(majAtK([null, null], [false, false])).toBe(false);
  });

  it("mean with a 95% interval", () => {
    const r = meanWithCi([0, 1, 0, 1]);
    expect(r.mean).toBe(0.5);
    expect(r.hi - r.lo).toBeCloseTo(2 * 1.96 * Math.sqrt(1 / 3 / 4), 10);
  });
});
