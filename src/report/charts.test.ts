import { describe, expect, it } from "vitest";
import { accuracyCurves, accuracySpec, byLabel, curveAxes, thinIndices, timeSplit, trainingSignals } from "./charts.js";
import { runCharts } from "./chartset.js";
import { renderChart } from "./render.js";
import type { RunData } from "./runs.js";

function run(label: string, regime: string, seed: number): RunData {
  return {
    dir: `/runs/${regime}/${label}-s${seed}`,
    run: { kind: "run", iter: 0, method: "raftpp", strategy: "gvm", label, seed, regime, budget: 512, budgetMode: "inclusive" },
    steps: [],
    iterations: [],
    evals: [],
    evalSummaries: [],
  };
}

describe("byLabel", () => {
  it("groups seeds of one label and sorts them", () => {
    const g = byLabel([run("a", "natural", 2), run("b", "natural", 0), run("a", "natural", 1)]);
    expect([...g.keys()]).toEqual(["a", "b"]);
    expect(g.get("a")?.map((r) => r.run.seed)).toEqual([1, 2]);
  });

  it("never groups runs of different regimes as seeds of one method", () => {
    const g = byLabel([run("a", "natural", 0), run("a", "paper-like", 0), run("a", "natural", 1)]);
    expect([...g.keys()]).toEqual(["a [natural]", "a [paper-like]"]);
    expect(g.get("a [natural]")?.length).toBe(2);
  });
});

/** A run with evaluations and steps carrying the counters given (and any extra ones). */
function logged(label: string, seed: number, evals: number, extra: Record<string, number> = {}, tokens = true): RunData {
  const r = run(label, "natural", seed);
  const counters = (i: number) => ({ step: 2 * i, samples: 100 * i, wallclock: 10 * i, ...(tokens ? { tokens: 4000 * i } : {}), ...Object.fromEntries(Object.entries(extra).map(([k, v]) => [k, v * i])) });
  r.evals = Array.from({ length: evals }, (_, i) => ({ kind: "eval" as const, iter: i, ...counters(i), accuracy: 0.4 + 0.01 * i + 0.01 * seed, ci: [0.3, 0.5] as [number, number], byLevel: {}, k: 2, problems: 300 }));
  r.steps = Array.from({ length: 2 * evals }, (_, j) => ({ kind: "step" as const, iter: 1 + (j >> 1), ...counters(j / 2), step: j + 1, loss: -1, kl: 0, entropy: 0.1, clipFrac: 0, gradNorm: 1 + seed, lr: 2e-4, acceptedFrac: 0.5, responseLen: 30, tokensPerSec: 1000, novelty: j }));
  r.iterations = Array.from({ length: evals - 1 }, (_, i) => ({
    kind: "iteration" as const, iter: i + 1, ...counters(i + 1), stage1Samples: 4, stage2Samples: 4, trainReward: 0.5, acceptedFrac: 0.5,
    time: { sampling: 1 + seed, scoring: 0, gradNorms: 0.5, update: 2, eval: 0 }, allocation: { ids: ["a", "b"], level: [1, 2], p: [0.5, 0.9], G: [1, 2], n: [3, 5], status: "ok" },
  }));
  return r;
}

describe("charts driven by the records' fields", () => {
  it("offers an accuracy axis per counter the records carry, known ones first, new ones by name", () => {
    expect(curveAxes([logged("a", 0, 4)])).toEqual(["samples", "tokens", "wallclock", "step"]);
    expect(curveAxes([logged("a", 0, 4, { flops: 1e9 })])).toEqual(["samples", "tokens", "wallclock", "step", "flops"]);
    // Runs logged before tokens were counted have no tokens axis, and no curve on it.
    const old = logged("old", 0, 4, {}, false);
    expect(curveAxes([old])).toEqual(["samples", "wallclock", "step"]);
    expect(new Set(accuracyCurves([old, logged("new", 0, 4)], "tokens").map((p) => p.label))).toEqual(new Set(["new"]));
    const names = runCharts([logged("a", 0, 4, { flops: 1e9 })]).map((c) => c.name);
    expect(names).toEqual(["accuracy-vs-samples", "accuracy-vs-tokens", "accuracy-vs-wallclock", "accuracy-vs-step", "accuracy-vs-flops", "allocation-vs-p", "allocation-vs-g", "budget-by-level", "time-per-iteration", "training-signals"]);
  });

  it("draws one accuracy panel per regime, seeds as bands, and renders it", async () => {
    const paper = (seed: number) => {
      const r = logged("a", seed, 4);
      r.run = { ...r.run, regime: "paper-like" };
      return r;
    };
    const runs = [logged("a", 0, 4), logged("a", 1, 4), paper(0), paper(1)];
    type Faceted = { facet?: unknown; spec?: { layer: unknown[] } };
    const spec = accuracySpec(accuracyCurves(runs, "tokens"), "tokens");
    expect((spec as Faceted).facet).toEqual({ column: { field: "regime", type: "nominal", title: "Regime" } });
    expect((spec as Faceted).spec?.layer).toHaveLength(2); // band + mean line
    expect((await renderChart(spec, 1)).svg).toContain("paper-like");
    // One regime: a single panel.
    expect((accuracySpec(accuracyCurves(runs.slice(0, 2), "tokens"), "tokens") as Faceted).facet).toBeUndefined();
  });

  it("thins long series evenly, keeping the first and last points", () => {
    expect(thinIndices(5, 10)).toEqual([0, 1, 2, 3, 4]);
    expect(thinIndices(101, 3)).toEqual([0, 50, 100]);
    const t = thinIndices(2221, 120);
    expect(t.length).toBe(120);
    expect([t[0], t.at(-1)]).toEqual([0, 2220]);
    expect(accuracyCurves([logged("a", 0, 50)], "step", 10).map((p) => p.index)).toEqual(thinIndices(50, 10));
  });

  it("splits iteration time by the record's own keys and draws every numeric step field, means over seeds", () => {
    const runs = [logged("a", 0, 3), logged("a", 1, 3)];
    const time = timeSplit(runs);
    expect(new Set(time.map((r) => r.part))).toEqual(new Set(["sampling", "scoring", "gradNorms", "update", "eval"]));
    expect(time.find((r) => r.part === "sampling" && r.iter === 1)?.seconds).toBeCloseTo(1.5);
    const signals = trainingSignals(runs);
    expect(new Set(signals.map((r) => r.field))).toEqual(new Set(["loss", "kl", "entropy", "clipFrac", "gradNorm", "lr", "acceptedFrac", "responseLen", "tokensPerSec", "novelty"]));
    expect(signals.find((r) => r.field === "gradNorm" && r.step === 1)?.value).toBeCloseTo(1.5);
  });
});
