import { describe, expect, it } from "vitest";
import fc from "fast-check";
import { roundHalfEven, roundLargestRemainder, roundLowAcceptanceFirst } from "./rounding.js";

describe("roundHalfEven", () => {
  it("rounds halves to the even neighbour like numpy", () => {
    expect([0.5, 1.5, 2.5, 3.5, 2.4999, 2.5001].map(roundHalfEven)).toEqual([0, 2, 2, 4, 2, 3]);
  });
});

describe("largest-remainder (reference: round, then fix the total at the largest residuals)", () => {
  it("adds the shortfall to the largest residuals, lower index first on ties", () => {
    // round -> [1, 1, 1] = 3, one short; residuals 0.4, 0.4, 0.2.
    expect(roundLargestRemainder([1.4, 1.4, 1.2], 4)).toEqual([2, 1, 1]);
  });
  it("takes an excess from the smallest residuals", () => {
    // round -> [2, 2, 2] = 6, one over; residuals -0.4, -0.4, -0.2.
    expect(roundLargestRemainder([1.6, 1.6, 1.8], 5)).toEqual([1, 2, 2]);
  });
  it("keeps numpy's half-to-even rounding where it already sums to N (unlike floor-based Hamilton)", () => {
    // Hamilton would give [1, 1, 1, 1]; the reference rounds 0.5 -> 0 and 1.5 -> 2.
    expect(roundLargestRemainder([0.5, 0.5, 1.5, 1.5], 4)).toEqual([0, 0, 2, 2]);
  });
  it("leaves exact integers alone, float noise included", () => {
    expect(roundLargestRemainder([3.0000000000004, 1.9999999999996, 5], 10)).toEqual([3, 2, 5]);
  });
});

describe("low-acceptance-first (paper appendix: leftovers to lower acceptance rates)", () => {
  it("gives the leftover to the lowest acceptance rate", () => {
    // floor -> [1, 1, 1]; one leftover; p lowest at index 2.
    expect(roundLowAcceptanceFirst([1.4, 1.4, 1.2], 4, [0.9, 0.5, 0.1])).toEqual([1, 1, 2]);
  });
  it("never adds to a prompt whose share is already an integer", () => {
    // index 0 has the lowest p but x_0 = 2 exactly; the leftover goes to index 2.
    expect(roundLowAcceptanceFirst([2, 1.5, 0.5], 4, [0.05, 0.8, 0.3])).toEqual([2, 1, 1]);
  });
  it("breaks acceptance-rate ties by the larger fraction, then the lower index", () => {
    expect(roundLowAcceptanceFirst([0.3, 0.7, 1.0], 2, [0.5, 0.5, 0.1])).toEqual([0, 1, 1]);
    expect(roundLowAcceptanceFirst([0.5, 0.5, 1.0], 2, [0.5, 0.5, 0.1])).toEqual([1, 0, 1]);
  });
});

describe("both rules on random allocations", () => {
  const arb = fc
    .record({
      shares: fc.array(fc.double({ min: 0, max: 1, noNaN: true }), { minLength: 1, maxLength: 40 }),
      budget: fc.integer({ min: 0, max: 500 }),
      p: fc.array(fc.double({ min: 0, max: 1, noNaN: true }), { minLength: 40, maxLength: 40 }),
    })
    .filter((r) => r.shares.some((s) => s > 0));
  it("sum exactly to N and move no prompt by a whole sample", () => {
    fc.assert(
      fc.property(arb, ({ shares, budget, p }) => {
        const total = shares.reduce((a, b) => a + b, 0);
        const x = shares.map((s) => (s / total) * budget);
        for (const n of [roundLargestRemainder(x, budget), roundLowAcceptanceFirst(x, budget, p)]) {
          expect(n.reduce((a, b) => a + b, 0)).toBe(budget);
          n.forEach((v, i) => {
            expect(Number.isInteger(v)).toBe(true);
            expect(Math.abs(v - (x[i] as number))).toBeLessThan(1);
          });
        }
      }),
      { numRuns: 300 },
    );
  });
});
