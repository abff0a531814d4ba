import { describe, expect, it } from "vitest";
import { ConfigError } from "../util/errors.js";
import { AllocationInfeasibleError, AllocationInputError } from "./errors.js";
import { ALLOCATION_STRATEGIES, STRATEGY_NAMES, allocate, getStrategy } from "./strategies.js";
import { gvmWeight } from "./weights.js";

const sum = (xs: readonly number[]) => xs.reduce((a, b) => a + b, 0);

function inputError(fn: () => unknown): AllocationInputError {
  try {
    fn();
  } catch (err) {
    if (err instanceof AllocationInputError) return err;
    throw err;
  }
  throw new Error("expected an AllocationInputError");
}

describe("uniform", () => {
  it("gives floor(N/m) each and one more to the first N mod m prompts", () => {
    expect(allocate("uniform", { prompts: 4 }, 10).n).toEqual([3, 3, 2, 2]);
    expect(allocate("uniform", { prompts: 3 }, 2).n).toEqual([1, 1, 0]);
    expect(allocate("uniform", { prompts: 0 }, 0).n).toEqual([]);
  });
  it("takes no options", () => {
    expect(() => allocate("uniform", { prompts: 2 }, 4, { alpha: 1 })).toThrow(ConfigError);
  });
});

describe("gvm on hand-computed cases", () => {
  it("follows the weights; p = 0 and G = 0 prompts get nothing", () => {
    const r = allocate("gvm", { prompts: 4, acceptRate: [0.5, 0.25, 0, 1], gradNorm: [1, 1, 1, 0] }, 10);
    const w0 = 1 / Math.sqrt(0.5 + 0.002);
    const w1 = 1 / Math.sqrt(0.25 + 0.004);
    expect(r.weights[0]).toBeCloseTo(w0, 12);
    expect(r.weights[1]).toBeCloseTo(w1, 12);
    expect(r.continuous[0]).toBeCloseTo((10 * w0) / (w0 + w1), 9); // 4.1565
    expect(r.n).toEqual([4, 6, 0, 0]);
    expect(r.status).toEqual(["allocated", "allocated", "zero-weight", "zero-weight"]);
    expect(r.fallback).toBe("none");
  });

  it("the two rounding rules differ where the leftover meets a low acceptance rate", () => {
    const input = { prompts: 2, acceptRate: [0.25, 0.5], gradNorm: [1, 3] };
    const lr = allocate("gvm", input, 7, { rounding: "largest-remainder" });
    const laf = allocate("gvm", input, 7, { rounding: "low-acceptance-first" });
    expect(lr.continuous[0]).toBeCloseTo(2.2336, 3);
    expect(lr.n).toEqual([2, 5]); // round(2.23) = 2, round(4.77) = 5
    expect(laf.n).toEqual([3, 4]); // floor -> [2, 4]; the leftover goes to p = 0.25
  });

  it("filterThreshold drops p > T and renormalises over the rest", () => {
    const r = allocate("gvm", { prompts: 3, acceptRate: [0.9, 0.5, 0.3], gradNorm: [1, 1, 1] }, 20, { filterThreshold: 0.8 });
    expect(r.status[0]).toBe("filtered-threshold");
    const w1 = gvmWeight(0.5, 1, 1e-3, 2);
    const w2 = gvmWeight(0.3, 1, 1e-3, 2);
    expect(r.continuous[1]).toBeCloseTo((20 * w1) / (w1 + w2), 9);
    expect(r.n[0]).toBe(0);
    expect(sum(r.n)).toBe(20);
  });

  it("filterInsufficient drops prompts whose expected accepted count p_i * share_i * N is below F", () => {
    // w = [3.78, 1.41, 1.41]: prompt 0 expects 0.05 * 0.572 * 12 = 0.34 accepted (< 1); the others 1.28.
    const r = allocate("gvm", { prompts: 3, acceptRate: [0.05, 0.5, 0.5], gradNorm: [1, 1, 1] }, 12, { filterInsufficient: 1 });
    expect(r.status).toEqual(["filtered-insufficient", "allocated", "allocated"]);
    expect(r.n).toEqual([0, 6, 6]);
  });

  it("filterInsufficient sees the shares renormalised after the threshold filter (SPEC: each filter renormalises)", () => {
    // Without renormalisation prompt 2 would expect 0.5 * (1.41 / 4.23) * 6 = 1.0 - just under 1.01;
    // after dropping prompt 0 its share is 1/2, so it expects 1.5 and stays.
    const r = allocate("gvm", { prompts: 3, acceptRate: [0.95, 0.5, 0.5], gradNorm: [2.05, 1, 1] }, 6, {
      filterThreshold: 0.9,
      filterInsufficient: 1.01,
    });
    expect(r.status).toEqual(["filtered-threshold", "allocated", "allocated"]);
    expect(r.n).toEqual([0, 3, 3]);
  });

  it("nMax caps a prompt and water-fills its surplus over the others", () => {
    // Uncapped prompt 0 would take 9.43 of 20; capped at 6, the other three share 14 (4.67 each).
    const r = allocate("gvm", { prompts: 4, acceptRate: [0.05, 0.5, 0.5, 0.5], gradNorm: [1, 1, 1, 1] }, 20, { nMax: 6 });
    expect(r.continuous[0]).toBe(6);
    for (const i of [1, 2, 3]) expect(r.continuous[i]).toBeCloseTo(14 / 3, 9);
    expect(r.atMax).toBe(1);
    // round -> [6, 5, 5, 5] = 21; the excess leaves the first of the tied smallest residuals.
    expect(r.n).toEqual([6, 4, 5, 5]);
  });

  it("nMin lifts every prompt, zero-weight ones included", () => {
    const r = allocate("gvm", { prompts: 4, acceptRate: [0.5, 0.5, 0.9, 0], gradNorm: [1, 1, 0.01, 0] }, 15, { nMin: 3 });
    expect(r.continuous[2]).toBe(3);
    expect(r.continuous[3]).toBe(3);
    expect(r.continuous[0]).toBeCloseTo(4.5, 9);
    expect(r.n).toEqual([5, 4, 3, 3]); // 4.5 rounds half-even to 4; the missing one goes to the lower index
  });

  it("when every kept prompt is at nMax, the rest of the budget spreads over the other prompts", () => {
    const r = allocate("gvm", { prompts: 3, acceptRate: [0.5, 0, 0], gradNorm: [1, 1, 1] }, 10, { nMax: 4 });
    expect(r.n).toEqual([4, 3, 3]);
    expect(r.overflow).toBe(6);
    expect(r.notes.join("\n")).toMatch(/reached nMax/);
  });
});

describe("edge cases", () => {
  it("all weights zero: uniform over all prompts, flagged", () => {
    const r = allocate("gvm", { prompts: 3, acceptRate: [0, 0, 0.5], gradNorm: [0, 0, 0] }, 7);
    expect(r.n).toEqual([3, 2, 2]);
    expect(r.fallback).toBe("all-weights-zero");
    expect(r.notes[0]).toMatch(/uniformly/);
  });

  it("every positive weight filtered: uniform over all prompts, flagged differently", () => {
    const r = allocate("gvm", { prompts: 2, acceptRate: [0.95, 1], gradNorm: [1, 1] }, 5, { filterThreshold: 0.9 });
    expect(r.n).toEqual([3, 2]);
    expect(r.fallback).toBe("all-filtered");
  });

  it("N below the number of eligible prompts: largest-remainder gives one each to the largest shares", () => {
    const p = [0.1, 0.2, 0.3, 0.4, 0.5];
    const r = allocate("gvm", { prompts: 5, acceptRate: p, gradNorm: [1, 1, 1, 1, 1] }, 3);
    // Weights fall with p here, so the three lowest-p prompts hold the three largest shares.
    expect(r.n).toEqual([1, 1, 1, 0, 0]);
    const g = [1, 1, 1, 5, 5];
    expect(allocate("gvm", { prompts: 5, acceptRate: p, gradNorm: g }, 3).n).toEqual([1, 0, 0, 1, 1]);
    // x = [0.41, 0.30, 0.25, 1.08, 0.96]: floors hold one sample; the two leftovers go to the lowest p.
    expect(allocate("gvm", { prompts: 5, acceptRate: p, gradNorm: g }, 3, { rounding: "low-acceptance-first" }).n).toEqual([1, 1, 0, 1, 0]);
  });

  it("one prompt takes the whole budget, weight or not", () => {
    expect(allocate("gvm", { prompts: 1, acceptRate: [0.3], gradNorm: [2] }, 9).n).toEqual([9]);
    const r = allocate("gvm", { prompts: 1, acceptRate: [0], gradNorm: [0] }, 9);
    expect(r.n).toEqual([9]);
    expect(r.fallback).toBe("all-weights-zero");
  });

  it("empty input: an empty allocation for budget 0, an error for a positive budget", () => {
    const r = allocate("gvm", { prompts: 0, acceptRate: [], gradNorm: [] }, 0);
    expect(r.n).toEqual([]);
    expect(r.fallback).toBe("none");
    const e = inputError(() => allocate("gvm", { prompts: 0, acceptRate: [], gradNorm: [] }, 4));
    expect(e.field).toBe("prompts");
  });

  it("budget 0 gives zeros", () => {
    expect(allocate("gvm", { prompts: 2, acceptRate: [0.5, 0.2], gradNorm: [1, 1] }, 0).n).toEqual([0, 0]);
  });

  it("rejects NaN, negative and out-of-range inputs, naming the field and the prompt index", () => {
    const cases: [Record<string, number[]>, string, number][] = [
      [{ acceptRate: [0.5, 0.5, Number.NaN], gradNorm: [1, 1, 1] }, "acceptRate", 2],
      [{ acceptRate: [0.5, 1.5, 0.5], gradNorm: [1, 1, 1] }, "acceptRate", 1],
      [{ acceptRate: [-0.1, 0.5, 0.5], gradNorm: [1, 1, 1] }, "acceptRate", 0],
      [{ acceptRate: [0.5, 0.5, 0.5], gradNorm: [1, -2, 1] }, "gradNorm", 1],
      [{ acceptRate: [0.5, 0.5, 0.5], gradNorm: [1, 1, Number.POSITIVE_INFINITY] }, "gradNorm", 2],
    ];
    for (const [arrays, field, index] of cases) {
      const e = inputError(() => allocate("gvm", { prompts: 3, ...arrays }, 6));
      expect(e.field).toBe(field);
      expect(e.index).toBe(index);
      expect(e.message).toContain(`${field}[${index}]`);
    }
  });

  it("rejects missing fields, wrong lengths and bad budgets", () => {
    expect(inputError(() => allocate("gvm", { prompts: 2, acceptRate: [0.5, 0.5] }, 4)).message).toMatch(/gradNorm is required by strategy 'gvm'/);
    expect(inputError(() => allocate("gvm", { prompts: 3, acceptRate: [0.5, 0.5], gradNorm: [1, 1, 1] }, 4)).message).toMatch(/2 entries for 3 prompts/);
    expect(inputError(() => allocate("gvm-ponly", { prompts: 1, acceptRate: [0.5] }, 2.5)).field).toBe("budget");
    expect(inputError(() => allocate("uniform", { prompts: 1 }, -1)).field).toBe("budget");
    expect(inputError(() => allocate("gvm", { prompts: 1, acceptRate: [0.5], gradNorm: [1] }, 3, { acceptRateEstimate: "posterior" })).field).toBe("sampleCount");
  });

  it("rejects caps that cannot hold the budget", () => {
    const input = { prompts: 3, acceptRate: [0.5, 0.5, 0.5], gradNorm: [1, 1, 1] };
    expect(() => allocate("gvm", input, 10, { nMin: 4 })).toThrow(AllocationInfeasibleError);
    expect(() => allocate("gvm", input, 10, { nMax: 3 })).toThrow(/at most 9 samples/);
  });

  it("is deterministic and leaves its inputs untouched", () => {
    const acceptRate = Object.freeze([0.5, 0.125, 0.875, 0.25, 0]);
    const gradNorm = Object.freeze([1.5, 2, 0.5, 1, 0]);
    const input = { prompts: 5, acceptRate, gradNorm };
    const a = allocate("gvm", input, 37, { rounding: "low-acceptance-first", nMax: 12 });
    const b = allocate("gvm", input, 37, { rounding: "low-acceptance-first", nMax: 12 });
    expect(a).toEqual(b);
    expect(acceptRate).toEqual([0.5, 0.125, 0.875, 0.25, 0]);
  });

  it("accepts typed arrays", () => {
    const r = allocate("gvm", { prompts: 2, acceptRate: new Float32Array([0.5, 0.25]), gradNorm: new Float64Array([1, 1]) }, 10);
    expect(sum(r.n)).toBe(10);
  });
});

describe("gvm-ponly and the posterior acceptance rate", () => {
  it("ignores G (G_i := 1)", () => {
    const a = allocate("gvm-ponly", { prompts: 3, acceptRate: [0.5, 0.25, 0.75], gradNorm: [9, 1, 0] }, 30);
    const b = allocate("gvm-ponly", { prompts: 3, acceptRate: [0.5, 0.25, 0.75] }, 30);
    expect(a.n).toEqual(b.n);
    expect(a.gradNorm).toEqual([1, 1, 1]);
  });

  it("posterior p_i = (a0 + p N') / (a0 + b0 + N') gives p = 0 prompts a weight in the p-only variant", () => {
    const input = { prompts: 2, acceptRate: [0, 0.5], gradNorm: [0, 1], sampleCount: [4, 4] };
    const r = allocate("gvm-ponly", input, 12, { acceptRateEstimate: "posterior" });
    expect(r.acceptRate).toEqual([1 / 6, 3 / 6]);
    expect(r.n[0]).toBeGreaterThan(0);
    expect(r.evidence).toEqual([4, 4]);
    // gvm keeps G_0 = 0, so the posterior alone does not revive it.
    expect(allocate("gvm", input, 12, { acceptRateEstimate: "posterior" }).n).toEqual([0, 12]);
  });
});

describe("registry and options", () => {
  it("lists every strategy and describes what each needs", () => {
    expect(STRATEGY_NAMES).toEqual(["uniform", "gvm", "gvm-ponly", "gvm-online", "knapsack", "greso", "dapo", "reinforce-ada"]);
    expect(ALLOCATION_STRATEGIES.gvm.needsStage1).toBe(true);
    expect(ALLOCATION_STRATEGIES["gvm-online"].needsStage1).toBe(false);
    const online = getStrategy("gvm-online");
    expect(online.needsGradNorms(online.parseOptions({ gradNorm: "ignore" }))).toBe(false);
    expect(getStrategy("gvm-ponly").needsGradNorms(getStrategy("gvm-ponly").parseOptions({}))).toBe(false);
  });

  it("fills documented defaults", () => {
    expect(getStrategy("gvm").parseOptions({})).toEqual({
      alpha: 1e-3,
      beta: 2,
      rounding: "largest-remainder",
      filterThreshold: null,
      filterInsufficient: 0,
      nMin: 0,
      nMax: null,
      acceptRateEstimate: "empirical",
      priorAccept: 1,
      priorReject: 1,
    });
  });

  it("rejects unknown strategies and bad options with ConfigError naming the option", () => {
    expect(() => getStrategy("gvm2")).toThrow(/unknown allocation strategy 'gvm2'; known: uniform, gvm, gvm-ponly, gvm-online, knapsack, greso, dapo, reinforce-ada/);
    const bad: [Record<string, unknown>, RegExp][] = [
      [{ alpha: -1 }, /'alpha' must be >= 0/],
      [{ beta: 0.5 }, /'beta' must be >= 1/],
      [{ rounding: "nearest" }, /'rounding'/],
      [{ filterThreshold: 0 }, /'filterThreshold' must be in \(0, 1\]/],
      [{ nMin: 1.5 }, /'nMin' must be an integer/],
      [{ nMin: 4, nMax: 2 }, /'nMax' nMax must be >= nMin/],
      [{ alpah: 1 }, /unknown option\(s\) 'alpah'/],
      [{ alpha: Number.NaN }, /'alpha'/],
    ];
    for (const [options, message] of bad) {
      expect(() => getStrategy("gvm").parseOptions(options)).toThrow(ConfigError);
      expect(() => getStrategy("gvm").parseOptions(options)).toThrow(message);
    }
  });
});

describe("the registry's input contract", () => {
  // A full input for three prompts; each one-shot strategy must allocate from it, and fail without any field it says it requires.
  const full = { prompts: 3, acceptRate: [0.5, 0.25, 0.75], gradNorm: [1, 2, 1], sampleCount: [4, 4, 4], online: { now: 1, states: [null, null, null] }, seed: 7 };
  it("requires only fields it reads; allocate fails without each required one and works without the rest", () => {
    for (const name of STRATEGY_NAMES) {
      const s = getStrategy(name);
      for (const raw of [{}, ...(s.reads.includes("sampleCount") ? [{ acceptRateEstimate: "posterior" }] : [])]) {
        const options = s.parseOptions(raw);
        const required = s.requires(options);
        for (const f of required) expect(s.reads).toContain(f);
        if (s.rounds) continue;
        expect(s.allocate(full, 12, options).n.reduce((a, b) => a + b, 0)).toBeLessThanOrEqual(12);
        for (const f of required) {
          const { [f as keyof typeof full]: _dropped, ...without } = full;
          expect(() => s.allocate({ ...without, prompts: 3 }, 12, options), `${name} without ${f}`).toThrow(AllocationInputError);
        }
        for (const f of s.reads.filter((f) => !required.includes(f))) {
          const { [f as keyof typeof full]: _dropped, ...without } = full;
          expect(s.allocate({ ...without, prompts: 3 }, 12, options).n, `${name} without ${f}`).toHaveLength(3);
        }
      }
    }
  });
  it("says which history-reading strategies let old evidence fade, by their halfLife option", () => {
    expect(getStrategy("gvm-online").historyHalfLife?.(getStrategy("gvm-online").parseOptions({ halfLife: 3 }))).toBe(3);
    expect(getStrategy("knapsack").historyHalfLife?.(getStrategy("knapsack").parseOptions({ halfLife: null }))).toBeNull();
    expect(getStrategy("greso").historyHalfLife).toBeUndefined();
  });
});

describe("strategies that generate in rounds", () => {
  it("have a round planner, read extra rounds, and refuse a one-shot allocation", () => {
    for (const name of ["dapo", "reinforce-ada"] as const) {
      const s = getStrategy(name);
      expect(s.rounds).toBeDefined();
      expect(s.reads).toEqual(["rounds"]);
      expect(s.needsStage1).toBe(false);
      expect(() => allocate(name, { prompts: 2 }, 8)).toThrow(ConfigError);
      expect(() => allocate(name, { prompts: 2 }, 8)).toThrow(new RegExp(`allocation '${name}' generates in extra rounds and needs a sampler`));
    }
    for (const name of ["uniform", "gvm", "knapsack", "greso"]) expect(getStrategy(name).rounds).toBeUndefined();
  });

  it("fill documented defaults and name bad options", () => {
    expect(getStrategy("dapo").parseOptions({})).toEqual({ groupSize: null, genPrompts: null, maxGenBatches: 10 });
    expect(getStrategy("reinforce-ada").parseOptions({})).toEqual({ groupSize: 4, roundSize: 8, maxRounds: 4, variant: "balanced" });
    const bad: [string, Record<string, unknown>, RegExp][] = [
      ["dapo", { groupSize: 0 }, /allocation 'dapo': option 'groupSize' must be >= 1/],
      ["dapo", { maxGenBatches: 0 }, /option 'maxGenBatches' must be >= 1/],
      ["dapo", { genPrompts: 2.5 }, /option 'genPrompts' must be an integer/],
      ["dapo", { filterGroups: true }, /unknown option\(s\) 'filterGroups'/],
      ["reinforce-ada", { groupSize: 1 }, /allocation 'reinforce-ada': option 'groupSize' must be >= 2/],
      ["reinforce-ada", { maxRounds: 0 }, /option 'maxRounds' must be >= 1/],
      ["reinforce-ada", { variant: "positive" }, /option 'variant'/],
    ];
    for (const [name, options, message] of bad) {
      expect(() => getStrategy(name).parseOptions(options)).toThrow(ConfigError);
      expect(() => getStrategy(name).parseOptions(options)).toThrow(message);
    }
  });
});
