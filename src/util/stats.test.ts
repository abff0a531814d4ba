import { describe, expect, it } from "vitest";
import { mean, median, sampleSd, tInterval } from "./stats.js";

describe("stats", () => {
  it("mean and median, NaN for no values", () => {
    expect(mean([1, 2, 6])).toBe(3);
    expect(median([5, 1, 3])).toBe(3);
    expect(median([4, 1, 3, 2])).toBe(2.5);
    expect(mean([])).toBeNaN();
    expect(median([])).toBeNaN();
  });

  it("sample standard deviation uses n - 1", () => {
    expect(sampleSd([1, 3])).toBeCloseTo(Math.SQRT2, 12);
    expect(sampleSd([7])).toBeNaN();
  });

  it("t interval: Student t for few values, the last table entry past 30 degrees of freedom, NaN below 2", () => {
    const [lo, hi] = tInterval([0.6, 0.62]);
    expect((lo + hi) / 2).toBeCloseTo(0.61, 12);
    expect(hi - lo).toBeCloseTo(2 * 12.706 * (sampleSd([0.6, 0.62]) / Math.SQRT2), 12);
    const many = Array.from({ length: 100 }, (_, i) => i % 2);
    const [a, b] = tInterval(many);
    expect(b - a).toBeCloseTo(2 * 2.042 * (sampleSd(many) / 10), 12);
    expect(tInterval([1]).every(Number.isNaN)).toBe(true);
  });
});
