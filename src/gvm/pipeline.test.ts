import { describe, expect, it } from "vitest";
import { inclusiveOptions, uniformCounts } from "./pipeline.js";

describe("pipeline helpers", () => {
  it("inclusiveOptions raises nMin to stage 1, never lowers it, and keeps the other options", () => {
    expect(inclusiveOptions({}, 2)).toEqual({ nMin: 2 });
    expect(inclusiveOptions({ nMin: 1, alpha: 0.5 }, 4)).toEqual({ nMin: 4, alpha: 0.5 });
    expect(inclusiveOptions({ nMin: 6 }, 4)).toEqual({ nMin: 6 });
    const raw = { nMin: 1 };
    inclusiveOptions(raw, 3);
    expect(raw).toEqual({ nMin: 1 });
  });

  it("uniformCounts gives the remainder to the lowest indices", () => {
    expect(uniformCounts(3, 10)).toEqual([4, 3, 3]);
    expect(uniformCounts(0, 5)).toEqual([]);
  });
});
