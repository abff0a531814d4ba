/**
 * `gvm demo` end to end on a shrunken preset: two real runs (warm start,
 * RL, evaluations), the comparison as JSON and as text, reuse of finished
 * runs, and usage errors.
 */
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import type { Versus } from "../src/report/versus.js";
import { RL_DEFAULT_STRATEGY } from "../src/train/config.js";
import { gvm } from "./cli-helpers.js";

const root = mkdtempSync(join(tmpdir(), "gvm-demo-"));
afterAll(() => rmSync(root, { recursive: true, force: true }));

const small = [
  "model.hiddenSize=32",
  "model.ffn=64",
  "model.layers=1",
  "model.heads=2",
  "model.kvHeads=2",
  "warmStart.steps=12",
  "warmStart.cleanSteps=8",
  "suite.trainSize=40",
  "suite.testSize=12",
  "rl.promptsPerIter=8",
  "rl.budget=32",
  "rl.iterations=2",
  "rl.maxNewTokens=40",
  "eval.every=1",
].flatMap((s) => ["--set", s]);

describe("gvm demo", () => {
  it("runs uniform and the challenger on one warm start and reports both, every response and token counted", async () => {
    const r = await gvm("demo", "--out", root, "--seed", "3", "--json", ...small);
    expect(r.code, r.err).toBe(0);
    const v = JSON.parse(r.out) as Versus;
    expect([v.baseline.strategy, v.challenger.strategy]).toEqual(["uniform", RL_DEFAULT_STRATEGY]);
    for (const run of [v.baseline, v.challenger]) {
      expect(run.seed).toBe(3);
      expect(run.method).toBe("raftpp");
      expect(run.curve.map((p) => p.responses)).toEqual([0, 32, 64]);
      expect(run.responses).toBe(64);
      expect(run.tokens).toBeGreaterThanOrEqual(64);
      expect(run.curve[0]?.tokens).toBe(0);
      expect(run.gain).toBeCloseTo(run.final.accuracy - run.start.accuracy, 12);
      expect(Object.keys(run.start.byLevel)).toEqual(["1", "2", "3", "4", "5", "6"]);
    }
    // The same warm start and the same evaluation dice: one starting point.
    expect(v.challenger.start).toEqual(v.baseline.start);
    expect(["baseline-flat", "not-reached", "reached"]).toContain(v.verdict);
    if (v.verdict === "baseline-flat") expect(v.ratio.samples).toBeNull();
  }, 240_000);

  it("reuses finished runs and prints the tables", async () => {
    const first = await gvm("demo", "--out", root, "--seed", "3", "--json", ...small);
    const r = await gvm("demo", "--out", root, "--seed", "3", ...small);
    expect(r.code, r.err).toBe(0);
    expect(r.out).toContain("Accuracy per level (start = the warm start both runs share)");
    expect(r.out).toMatch(new RegExp(`raftpp/uniform +\\| raftpp/${RL_DEFAULT_STRATEGY}`));
    // Runs trained again would log other wall-clock seconds.
    expect((await gvm("demo", "--out", root, "--seed", "3", "--json", ...small)).out).toBe(first.out);
  }, 120_000);

  it("refuses bad options with exit code 2 and a message naming them", async () => {
    expect((await gvm("demo", "--method", "ppo")).err).toMatch(/--method must be one of raft, raftpp, grpo, got "ppo"/);
    expect((await gvm("demo", "--seed", "1.5")).code).toBe(2);
    expect((await gvm("demo", "--strategy", "uniform")).err).toMatch(/other than uniform/);
    expect((await gvm("demo", "--regime", "hard")).code).toBe(2);
  });
});
