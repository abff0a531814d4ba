import { describe, expect, it } from "vitest";
import { byLabel } from "./charts.js";
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
