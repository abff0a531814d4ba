import { describe, expect, it } from "vitest";
import { ConfigError } from "../util/errors.js";
import { AllocationInfeasibleError, AllocationInputError } from "./errors.js";
import { gresoKeepProbability } from "./greso.js";
import { type OnlinePromptState, updateOnlineState } from "./online.js";
import { parseGresoOptions } from "./options.js";
import { allocate, getStrategy } from "./strategies.js";
import type { AllocationInput } from "./types.js";

const sum = (xs: readonly number[]) => xs.reduce((a, b) => a + b, 0);
const defaults = parseGresoOptions({});

/** A prompt sampled once per clock tick, one group of 8 each, with these accepted counts. */
function history(...accepted: number[]): OnlinePromptState {
  let s: OnlinePromptState | null = null;
  accepted.forEach((a, t) => (s = updateOnlineState(s, { total: 8, accepted: a }, t, { halfLife: null })));
  if (s === null) throw new Error("history needs at least one group");
  return s;
}

function input(states: (OnlinePromptState | null)[], seed = 0, now = 10): AllocationInput {
  return { prompts: states.length, online: { now, states }, seed };
}

describe("greso keep probability", () => {
  it("is pEasy^z after z all-accepted groups, pHard^z after z all-rejected ones, floored at minKeep; 1 otherwise", () => {
    expect(gresoKeepProbability(null, defaults)).toBe(1);
    expect(gresoKeepProbability(history(8, 3), defaults)).toBe(1);
    expect(gresoKeepProbability(history(3, 8), defaults)).toBe(0.5);
    expect(gresoKeepProbability(history(8, 8, 8), defaults)).toBe(0.125);
    expect(gresoKeepProbability(history(0, 0), { ...defaults, pHard: 0.8 })).toBeCloseTo(0.64, 15);
    expect(gresoKeepProbability(history(8, 8, 8, 8, 8, 8, 8, 8), defaults)).toBe(0.01); // 0.5^8 = 0.0039 < floor
    expect(gresoKeepProbability(history(0, 0, 0, 0, 0, 0, 0, 0), { ...defaults, minKeep: 0 })).toBe(0.5 ** 8);
  });
});

describe("greso allocation", () => {
  it("is uniform with no history (nothing to predict from)", () => {
    const r = allocate("greso", input([null, null, null, null, null]), 42);
    expect(r.n).toEqual(allocate("uniform", { prompts: 5 }, 42).n);
    expect(r.status.every((s) => s === "allocated")).toBe(true);
  });

  it("skips prompts whose history is all correct (or all wrong) and gives the budget evenly to the rest", () => {
    // minKeep 0 and a tiny pEasy / pHard: keep probability ~1e-9, so the skip is certain for any seed.
    const states = [history(8, 8), history(2, 5), history(0, 0), null, history(8, 8, 8)];
    for (const seed of [0, 1, 2, 3]) {
      const r = allocate("greso", input(states, seed), 20, { pEasy: 1e-9, pHard: 1e-9, minKeep: 0 });
      expect(r.n).toEqual([0, 10, 0, 10, 0]);
      expect(r.status).toEqual(["skipped", "allocated", "skipped", "allocated", "skipped"]);
      expect(r.notes.join(" ")).toMatch(/3 of 5 prompt\(s\) skipped/);
    }
  });

  it("skips at the stated rate: kept fraction near pEasy^z, never below the exploration floor", () => {
    const m = 4000;
    const once = allocate("greso", input(Array.from({ length: m }, () => history(8)), 5), m);
    const keptOnce = once.status.filter((s) => s === "allocated").length / m;
    expect(Math.abs(keptOnce - 0.5)).toBeLessThan(5 * Math.sqrt(0.25 / m));
    const long = allocate("greso", input(Array.from({ length: m }, () => history(0, 0, 0, 0, 0, 0, 0, 0, 0, 0)), 5), m);
    const keptLong = long.status.filter((s) => s === "allocated").length / m;
    expect(Math.abs(keptLong - 0.01)).toBeLessThan(5 * Math.sqrt(0.01 * 0.99 / m));
    expect(sum(long.n)).toBe(m);
  });

  it("is deterministic given the seed and the clock; another seed or clock draws again", () => {
    const states = Array.from({ length: 64 }, () => history(8));
    const a = allocate("greso", input(states, 7), 128);
    expect(allocate("greso", input(states, 7), 128)).toEqual(a);
    expect(allocate("greso", input(states, 8), 128).status).not.toEqual(a.status);
    expect(allocate("greso", input(states, 7, 11), 128).status).not.toEqual(a.status);
  });

  it("falls back to uniform when every prompt is skipped", () => {
    const r = allocate("greso", input([history(8), history(0)]), 9, { pEasy: 1e-9, pHard: 1e-9, minKeep: 0 });
    expect(r.n).toEqual([5, 4]);
    expect(r.fallback).toBe("all-skipped");
  });

  it("caps kept prompts at nMax and hands the rest to skipped ones; always sums to the budget", () => {
    const states = [history(8, 8), history(2, 5), history(0, 0), history(4)];
    const r = allocate("greso", input(states), 20, { pEasy: 1e-9, pHard: 1e-9, minKeep: 0, nMax: 6 });
    expect(r.n).toEqual([4, 6, 4, 6]);
    expect(r.atMax).toBe(2);
    for (let budget = 0; budget <= 24; budget++) expect(sum(allocate("greso", input(states), budget, { nMax: 6 }).n)).toBe(budget);
    expect(() => allocate("greso", input(states), 25, { nMax: 6 })).toThrow(AllocationInfeasibleError);
  });

  it("needs the history and an integer seed; reports each prompt's rate and keep probability", () => {
    expect(() => allocate("greso", { prompts: 1 }, 4)).toThrow(AllocationInputError);
    expect(() => allocate("greso", { ...input([null]), seed: 0.5 }, 4)).toThrow(/seed = 0.5 must be an integer/);
    const r = allocate("greso", input([history(2, 6), null]), 4);
    expect(r.acceptRate?.[0]).toBe(0.5);
    expect(Number.isNaN(r.acceptRate?.[1])).toBe(true);
    expect(r.weights).toEqual([1, 1]);
  });

  it("fills documented defaults and rejects bad options naming them", () => {
    const g = getStrategy("greso");
    expect(g.parseOptions({})).toEqual({ pEasy: 0.5, pHard: 0.5, minKeep: 0.01, nMax: null });
    expect(g.needsStage1).toBe(false);
    expect(g.reads).toEqual(["online"]);
    const bad: [Record<string, unknown>, RegExp][] = [
      [{ pEasy: 0 }, /'pEasy' must be in \(0, 1\]/],
      [{ pHard: 1.5 }, /'pHard' must be in \(0, 1\]/],
      [{ minKeep: -0.1 }, /'minKeep' must be in \[0, 1\]/],
      [{ nMax: 0 }, /'nMax' must be >= 1/],
      [{ halfLife: 3 }, /unknown option\(s\) 'halfLife'/],
    ];
    for (const [options, message] of bad) {
      expect(() => g.parseOptions(options)).toThrow(ConfigError);
      expect(() => g.parseOptions(options)).toThrow(message);
    }
  });
});
