import { describe, expect, it } from "vitest";
import { avgAtK, majAtK, meanWithCi, MetricError, passAtK, wilson } from "./metrics.js";

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

  it("mean with a 95% Wilson interval: 0/1 scores give the textbook interval", () => {
    const r = meanWithCi([0, 1, 0, 1]);
    expect(r.mean).toBe(0.5);
    // Wilson over n = 4: centre 0.5, half z/(1 + z^2/4) sqrt(1/16 + z^2/64).
    const z = 1.959963984540054;
    const half = (z / (1 + (z * z) / 4)) * Math.sqrt(1 / 16 + (z * z) / 64);
    expect(r.lo).toBeCloseTo(0.5 - half, 12);
    expect(r.hi).toBeCloseTo(0.5 + half, 12);
    // A published value: 8 successes in 10 draws, 95% Wilson [0.490, 0.943].
    const [lo, hi] = wilson(0.8, 10);
    expect(lo).toBeCloseTo(0.4902, 4);
    expect(hi).toBeCloseTo(0.9433, 4);
  });

  it("the interval stays inside [0, 1] near 0 and 1, where the normal one did not", () => {
    const low = meanWithCi([...Array(49).fill(0), 1]);
    expect(low.mean).toBe(0.02);
    expect(low.mean - 1.96 * Math.sqrt((0.02 * 0.98) / 49)).toBeLessThan(0); // the old interval
    expect(low.lo).toBeGreaterThan(0);
    expect(low.lo).toBeLessThan(low.mean);
    expect(low.hi).toBeGreaterThan(low.mean);
    const high = meanWithCi([...Array(49).fill(1), 0]);
    expect(high.hi).toBeLessThanOrEqual(1);
    expect(high.lo).toBeCloseTo(1 - low.hi, 12);
    for (const xs of [[0], [1], [0, 0, 0], [1, 1], [0.25, 0.25, 0.5, 0, 1]]) {
      for (const k of [1, 4, 16]) {
        const r = meanWithCi(xs, k);
        expect(r.lo).toBeGreaterThanOrEqual(0);
        expect(r.hi).toBeLessThanOrEqual(1);
        expect(r.lo).toBeLessThanOrEqual(r.mean);
        expect(r.hi).toBeGreaterThanOrEqual(r.mean);
      }
    }
  });

  it("all-zero scores are not certain: the interval counts every sample, more with larger k", () => {
    const one = meanWithCi(Array(100).fill(0), 1);
    const four = meanWithCi(Array(100).fill(0), 4);
    expect([one.lo, four.lo]).toEqual([0, 0]);
    expect(one.hi).toBeCloseTo(wilson(0, 100)[1], 12);
    expect(four.hi).toBeCloseTo(wilson(0, 400)[1], 12);
    expect(four.hi).toBeLessThan(one.hi);
    expect(four.hi).toBeGreaterThan(0);
  });

  it("avg@k fractions with less spread than single draws get a narrower interval, never wider than k = 1's", () => {
    const xs = Array.from({ length: 40 }, (_, i) => [0.25, 0.5, 0.5, 0.75][i % 4] as number);
    const one = meanWithCi(xs, 1);
    const four = meanWithCi(xs, 4);
    expect(four.hi - four.lo).toBeLessThan(one.hi - one.lo);
    expect(one.hi - one.lo).toBeCloseTo(wilson(0.5, 40)[1] - wilson(0.5, 40)[0], 12);
  });

  it("refuses scores outside [0, 1] and a bad k", () => {
    expect(() => meanWithCi([0.5, 1.5])).toThrow(MetricError);
    expect(() => meanWithCi([0.5, 1.5])).toThrow(/scores must lie in \[0, 1\], got 1.5/);
    expect(() => meanWithCi([0.5], 0)).toThrow(/k must be an integer >= 1, got 0/);
  });
});
