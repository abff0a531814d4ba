import { describe, expect, it } from "vitest";
import { ConfigError } from "../util/errors.js";
import { Rng } from "../util/rng.js";
import { AllocationInfeasibleError, AllocationInputError } from "./errors.js";
import { greedyKnapsack, knapsackCost, knapsackLogGain, knapsackValue } from "./knapsack.js";
import { type OnlinePromptState, updateOnlineState } from "./online.js";
import { allocate, getStrategy } from "./strategies.js";
import type { AllocationInput } from "./types.js";

const sum = (xs: readonly number[]) => xs.reduce((a, b) => a + b, 0);

/** A prompt that drew `total` samples at clock 0, `accepted` of them accepted. */
function seen(accepted: number, total: number): OnlinePromptState {
  return updateOnlineState(null, { total, accepted }, 0, { halfLife: null });
}

function input(states: (OnlinePromptState | null)[], now = 0): AllocationInput {
  return { prompts: states.length, online: { now, states } };
}

describe("knapsack value", () => {
  it("is the chance of a mixed group times p (1 - p)^2, 0 at p = 0 or 1", () => {
    expect(knapsackValue(4, 0.5)).toBeCloseTo((1 - 2 / 16) * 0.125, 15);
    expect(knapsackValue(3, 0.25)).toBeCloseTo((1 - 0.25 ** 3 - 0.75 ** 3) * 0.25 * 0.75 * 0.75, 15);
    expect(knapsackValue(10, 0)).toBe(0);
    expect(knapsackValue(10, 1)).toBe(0);
    expect(knapsackValue(0, 0.5)).toBe(0);
  });

  it("is concave in n: its gains (computed in logs) fall strictly, which makes the greedy split exact", () => {
    for (const p of [0.01, 0.125, 1 / 3, 0.5, 0.9, 0.999]) {
      let prev = Number.POSITIVE_INFINITY;
      for (let n = 1; n < 60; n++) {
        const g = knapsackLogGain(n, p);
        expect(Math.exp(g)).toBeCloseTo(knapsackValue(n + 1, p) - knapsackValue(n, p), 14);
        expect(g).toBeLessThan(prev);
        prev = g;
      }
      // Far past double precision the gains still order by n.
      expect(knapsackLogGain(5000, p)).toBeLessThan(knapsackLogGain(4999, p));
    }
    expect(knapsackLogGain(3, 0)).toBe(Number.NEGATIVE_INFINITY);
  });

  it("greedy equals the best split found by enumeration", () => {
    const rng = new Rng(7);
    for (let trial = 0; trial < 40; trial++) {
      const p = [rng.float(), rng.float(), rng.float()].map((x) => 0.02 + 0.96 * x);
      const lo = 1 + rng.int(3);
      const hi = lo + 1 + rng.int(8);
      const extra = rng.int(3 * (hi - lo) + 1);
      const n = [lo, lo, lo];
      expect(greedyKnapsack(n, p, [0, 1, 2], extra, hi)).toBe(extra);
      let best = Number.NEGATIVE_INFINITY;
      for (let a = lo; a <= hi; a++) {
        for (let b = lo; b <= hi; b++) {
          const c = lo * 3 + extra - a - b;
          if (c < lo || c > hi) continue;
          best = Math.max(best, knapsackValue(a, p[0] as number) + knapsackValue(b, p[1] as number) + knapsackValue(c, p[2] as number));
        }
      }
      const got = n.reduce((s, v, i) => s + knapsackValue(v, p[i] as number), 0);
      expect(got).toBeCloseTo(best, 12);
    }
  });

  it("costs ln(1 - c) / ln(max(p, 1 - p)) samples to see both outcomes", () => {
    expect(knapsackCost(0.5, 0.9)).toBeCloseTo(Math.log(0.1) / Math.log(0.5), 12); // 3.32
    expect(knapsackCost(0.1, 0.9)).toBeCloseTo(Math.log(0.1) / Math.log(0.9), 12); // 21.9
  });
});

describe("knapsack allocation", () => {
  it("is uniform with no history, and gives a prompt with too little history the uniform share", () => {
    const none = allocate("knapsack", input([null, null, null, null]), 30);
    expect(none.n).toEqual(allocate("uniform", { prompts: 4 }, 30).n);
    expect(none.status).toEqual(["no-history", "no-history", "no-history", "no-history"]);
    expect(none.fallback).toBe("none");
    // 4 samples < minSamples 8: no estimate yet, whatever its rate.
    const young = allocate("knapsack", input([seen(0, 4), seen(4, 4), null]), 24);
    expect(young.n).toEqual([8, 8, 8]);
    const grown = allocate("knapsack", input([seen(0, 4), seen(4, 4), null]), 24, { minSamples: 4 });
    expect(grown.n).not.toEqual([8, 8, 8]);
  });

  it("prefers prompts with both outcomes in their history; near-solved ones and p = 0, 1 get nMin", () => {
    // p = 1/2, 7/8, 1/8, 1, 0; no fallback so the knapsack places everything above the floors.
    const states = [seen(4, 8), seen(7, 8), seen(1, 8), seen(8, 8), seen(0, 8)];
    const r = allocate("knapsack", input(states), 40, { fallback: false });
    expect(sum(r.n)).toBe(40);
    expect(r.n[3]).toBe(2);
    expect(r.n[4]).toBe(2);
    expect(r.n[0] as number).toBeGreaterThan(r.n[1] as number);
    // p (1 - p)^2 and the slow rise of 1 - (1 - p)^n give the hard-but-solvable prompt the most.
    expect(r.n[2] as number).toBeGreaterThan(r.n[0] as number);
    expect(r.status).toEqual(["allocated", "allocated", "allocated", "zero-weight", "zero-weight"]);
    expect(r.acceptRate).toEqual([0.5, 0.875, 0.125, 1, 0]);
    // The split is the knapsack optimum: no single move of one sample between mixed prompts raises the value.
    const value = (n: readonly number[]) => [0, 1, 2].reduce((s, i) => s + knapsackValue(n[i] as number, r.acceptRate?.[i] as number), 0);
    for (const from of [0, 1, 2]) {
      for (const to of [0, 1, 2]) {
        if (from === to || (r.n[from] as number) <= 2) continue;
        const moved = [...r.n];
        moved[from] = (moved[from] as number) - 1;
        moved[to] = (moved[to] as number) + 1;
        expect(value(moved)).toBeLessThanOrEqual(value(r.n) + 1e-15);
      }
    }
  });

  it("fallback: budget beyond the mixed prompts' cost goes to the p = 0 prompts", () => {
    const r = allocate("knapsack", input([seen(4, 8), seen(0, 8), seen(8, 8)]), 30);
    // Floors 2 + 2 + 2; cost floor(3.32) = 3 for p = 1/2; the other 21 go to the p = 0 prompt.
    expect(r.n).toEqual([5, 23, 2]);
    expect(r.notes.join(" ")).toMatch(/fallback: the mixed prompts' cost is 3 of 24 remaining; 21 sample\(s\) went to the p = 0 prompts/);
    // Without a p = 0 prompt the excess goes to every prompt outside the knapsack.
    // Floors 2 (mixed), 2 (p = 1), 10 (no history: the uniform share); 13 dealt evenly over the last two.
    expect(allocate("knapsack", input([seen(4, 8), seen(8, 8), null]), 30).n).toEqual([5, 9, 16]);
    expect(allocate("knapsack", input([seen(4, 8), seen(0, 8), seen(8, 8)]), 30, { fallback: false }).n).toEqual([26, 2, 2]);
  });

  it("with no mixed prompt: the budget goes to p = 0 prompts, or uniformly when there are none", () => {
    expect(allocate("knapsack", input([seen(0, 8), seen(8, 8), seen(0, 8)]), 20).n).toEqual([9, 2, 9]);
    const solved = allocate("knapsack", input([seen(8, 8), seen(8, 8), null]), 20);
    expect(solved.n).toEqual([7, 7, 6]);
    expect(solved.fallback).toBe("all-weights-zero");
    // The floors play no part then: a budget below them is still placed.
    expect(allocate("knapsack", input([seen(8, 8), seen(8, 8), seen(8, 8)]), 3).n).toEqual([1, 1, 1]);
  });

  it("sums to the budget and keeps nMin <= n <= nMax on random histories", () => {
    const rng = new Rng(11);
    for (let trial = 0; trial < 200; trial++) {
      const m = 1 + rng.int(12);
      const states = Array.from({ length: m }, () => {
        const r = rng.int(10);
        if (r === 0) return null;
        const total = 1 + rng.int(16);
        return seen(r === 1 ? 0 : r === 2 ? total : rng.int(total + 1), total);
      });
      const nMin = 1 + rng.int(3);
      const nMax = 4 + rng.int(30);
      const budget = Math.min(m * nMax, 3 * m + rng.int(12 * m));
      const options = { nMin, nMax, minSamples: rng.int(10), fallback: rng.int(2) === 0, halfLife: null };
      let r;
      try {
        r = allocate("knapsack", input(states), budget, options);
      } catch (err) {
        // Only floors larger than the budget may refuse.
        expect(err).toBeInstanceOf(AllocationInfeasibleError);
        continue;
      }
      expect(sum(r.n)).toBe(budget);
      r.n.forEach((v, i) => {
        expect(v).toBeLessThanOrEqual(nMax);
        if (r.status[i] === "allocated") expect(v).toBeGreaterThanOrEqual(nMin);
      });
    }
  });

  it("reads the decayed rate: recent groups outweigh old ones", () => {
    const opts = { halfLife: 1 };
    let s = updateOnlineState(null, { total: 8, accepted: 8 }, 0, opts);
    s = updateOnlineState(s, { total: 8, accepted: 0 }, 10, opts);
    const r = allocate("knapsack", input([s], 10), 8, opts);
    expect(r.acceptRate?.[0]).toBeCloseTo(8 / 1024 / (8 / 1024 + 8), 9);
    expect(r.evidence?.[0]).toBeCloseTo(8 + 8 / 1024, 9);
  });

  it("refuses budgets the floors or caps cannot hold, and needs the history", () => {
    expect(() => allocate("knapsack", input([seen(4, 8), seen(4, 8)]), 3)).toThrow(AllocationInfeasibleError);
    expect(() => allocate("knapsack", input([seen(4, 8), seen(4, 8)]), 30, { nMax: 10 })).toThrow(/nMax 10 for 2 prompts/);
    expect(() => allocate("knapsack", { prompts: 2 }, 8)).toThrow(AllocationInputError);
    expect(() => allocate("knapsack", input([{ ...seen(1, 2), accepted: Number.NaN }]), 8)).toThrow(/states\[0\]\.accepted/);
  });

  it("is deterministic and leaves its input untouched", () => {
    const states = Object.freeze([seen(3, 8), seen(5, 8), seen(1, 8), null].map((s) => (s ? Object.freeze(s) : s)));
    const a = allocate("knapsack", input([...states]), 50);
    const b = allocate("knapsack", input([...states]), 50);
    expect(a).toEqual(b);
  });

  it("fills documented defaults and rejects bad options naming them", () => {
    const k = getStrategy("knapsack");
    expect(k.parseOptions({})).toEqual({ nMin: 2, nMax: 128, nNoneAccepted: null, nAllAccepted: null, minSamples: 8, halfLife: 10, confidence: 0.9, fallback: true });
    expect(k.needsStage1).toBe(false);
    expect(k.needsGradNorms(k.parseOptions({}))).toBe(false);
    const bad: [Record<string, unknown>, RegExp][] = [
      [{ nMin: 4, nMax: 3 }, /'nMax' nMax must be >= nMin \(4\)/],
      [{ nNoneAccepted: 9, nMax: 8 }, /nMax must be >= nNoneAccepted/],
      [{ confidence: 1 }, /'confidence' must be in \(0, 1\)/],
      [{ minSamples: -1 }, /'minSamples' must be >= 0/],
      [{ nMin: 0 }, /'nMin' must be >= 1/],
      [{ alpha: 1 }, /unknown option\(s\) 'alpha'/],
    ];
    for (const [options, message] of bad) {
      expect(() => k.parseOptions(options)).toThrow(ConfigError);
      expect(() => k.parseOptions(options)).toThrow(message);
    }
  });
});
