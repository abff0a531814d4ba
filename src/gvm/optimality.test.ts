/**
 * Proposition 1, checked numerically: the continuous allocation minimises
 * sum_i G_i^2 / (n_i p_i (1 + alpha / p_i^beta)) over the kept prompts under
 * sum n_i = N and the caps, so no feasible move of budget between two prompts
 * lowers it; and the integers stay within one sample of it.
 */
import { describe, expect, it } from "vitest";
import fc from "fast-check";
import { allocate } from "./strategies.js";
import type { AllocationResult } from "./types.js";
import { gvmObjective } from "./weights.js";

const ALPHA = 1e-3;
const BETA = 2;

// Acceptance rates as stage 1 produces them (k / N'), plus arbitrary reals, with many 0s and 1s.
const pArb = fc.oneof(
  fc.constantFrom(0, 1),
  fc.tuple(fc.integer({ min: 0, max: 8 }), fc.constant(8)).map(([k, n]) => k / n),
  fc.double({ min: 0, max: 1, noNaN: true }),
);
const gArb = fc.oneof(fc.constant(0), fc.double({ min: 1e-3, max: 50, noNaN: true }));

const caseArb = fc
  .record({
    stats: fc.array(fc.tuple(pArb, gArb), { minLength: 1, maxLength: 30 }),
    perPrompt: fc.integer({ min: 0, max: 40 }),
    extra: fc.integer({ min: 0, max: 30 }),
    nMin: fc.option(fc.integer({ min: 0, max: 3 }), { nil: undefined }),
    nMax: fc.option(fc.integer({ min: 1, max: 60 }), { nil: undefined }),
    rounding: fc.constantFrom("largest-remainder" as const, "low-acceptance-first" as const),
    filterThreshold: fc.option(fc.double({ min: 0.05, max: 1, noNaN: true }), { nil: null }),
    filterInsufficient: fc.option(fc.double({ min: 0, max: 4, noNaN: true }), { nil: 0 }),
  })
  .map((c) => {
    const m = c.stats.length;
    let budget = c.perPrompt * m + c.extra;
    const nMin = c.nMin ?? 0;
    const nMax = c.nMax === undefined ? null : Math.max(c.nMax, nMin);
    budget = Math.max(budget, m * nMin);
    if (nMax !== null) budget = Math.min(budget, m * nMax);
    return { ...c, m, budget, nMin, nMax };
  });

function objective(r: AllocationResult, x: readonly number[]): number {
  const p = r.acceptRate as number[];
  const g = r.gradNorm as number[];
  return gvmObjective(x, p, g, ALPHA, BETA, (i) => r.status[i] === "allocated");
}

/** Moving a little budget from i to j (where the caps allow) must not lower the objective. */
function checkNoImprovingMove(r: AllocationResult, lo: number, hi: number): void {
  const x = r.continuous;
  const base = objective(r, x);
  for (let i = 0; i < x.length; i++) {
    for (let j = 0; j < x.length; j++) {
      if (i === j) continue;
      const room = Math.min((x[i] as number) - lo, hi - (x[j] as number));
      if (room <= 1e-9) continue;
      const delta = Math.min(room, 1e-3 * Math.max(x[i] as number, 1e-3));
      const moved = [...x];
      moved[i] = (moved[i] as number) - delta;
      moved[j] = (moved[j] as number) + delta;
      const after = objective(r, moved);
      expect(after, `move ${delta} from ${i} to ${j}`).toBeGreaterThanOrEqual(base * (1 - 1e-12));
    }
  }
}

describe("gvm continuous allocation is optimal", () => {
  it("no feasible pairwise move lowers the objective; integers within rounding; caps and sum hold", () => {
    fc.assert(
      fc.property(caseArb, (c) => {
        const input = { prompts: c.m, acceptRate: c.stats.map((s) => s[0]), gradNorm: c.stats.map((s) => s[1]) };
        const options = {
          alpha: ALPHA,
          beta: BETA,
          nMin: c.nMin,
          nMax: c.nMax,
          rounding: c.rounding,
          filterThreshold: c.filterThreshold,
          filterInsufficient: c.filterInsufficient,
        };
        const r = allocate("gvm", input, c.budget, options);
        const lo = c.nMin;
        const hi = c.nMax ?? Number.POSITIVE_INFINITY;
        expect(r.n.reduce((a, b) => a + b, 0)).toBe(c.budget);
        const cont = r.continuous.reduce((a, b) => a + b, 0);
        expect(Math.abs(cont - c.budget)).toBeLessThanOrEqual(1e-9 * Math.max(1, c.budget));
        r.n.forEach((v, i) => {
          expect(v).toBeGreaterThanOrEqual(lo);
          expect(v).toBeLessThanOrEqual(hi);
          expect(Math.abs(v - (r.continuous[i] as number))).toBeLessThan(1);
        });
        if (r.fallback === "none") {
          checkNoImprovingMove(r, lo, hi);
          // Prompts outside the kept set only hold nMin, plus an even share of any overflow past nMax.
          const others = r.status.map((st, i) => (st === "allocated" ? -1 : i)).filter((i) => i >= 0);
          for (const i of others) expect(r.continuous[i]).toBeCloseTo(lo + (others.length ? r.overflow / others.length : 0), 9);
        } else {
          expect(r.status.includes("allocated")).toBe(false);
        }
      }),
      { numRuns: 200 },
    );
  });

  it("without caps, shares are exactly proportional to the weights", () => {
    fc.assert(
      fc.property(
        fc.array(fc.tuple(fc.double({ min: 0.01, max: 1, noNaN: true }), fc.double({ min: 0.01, max: 10, noNaN: true })), {
          minLength: 2,
          maxLength: 20,
        }),
        fc.integer({ min: 1, max: 5000 }),
        (stats, budget) => {
          const r = allocate("gvm", { prompts: stats.length, acceptRate: stats.map((s) => s[0]), gradNorm: stats.map((s) => s[1]) }, budget);
          const wsum = r.weights.reduce((a, b) => a + b, 0);
          r.continuous.forEach((x, i) => expect(x).toBeCloseTo(((r.weights[i] as number) / wsum) * budget, 6));
        },
      ),
      { numRuns: 100 },
    );
  });
});
