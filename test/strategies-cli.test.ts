/** `gvm strategies` lists the registry; `gvm train` accepts the peer strategies by name and validates their options. */
import { existsSync, mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { STRATEGY_NAMES, getStrategy } from "../src/gvm/index.js";
import { loadTrainConfig, RL_DEFAULT_STRATEGY } from "../src/train/config.js";
import { gvm } from "./cli-helpers.js";

const dir = mkdtempSync(join(tmpdir(), "gvm-strategies-"));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe("gvm strategies", () => {
  it("prints one JSON line per registered strategy: name, reads, needsStage1, default, summary", async () => {
    const r = await gvm("strategies");
    expect(r.code).toBe(0);
    const lines = r.out.trim().split("\n").map((l) => JSON.parse(l) as Record<string, unknown>);
    expect(lines.map((l) => l.name)).toEqual(STRATEGY_NAMES);
    const by = new Map(lines.map((l) => [l.name, l]));
    expect(by.get("uniform")).toMatchObject({ reads: [], needsStage1: false });
    expect(by.get("gvm")).toMatchObject({ reads: ["acceptance rates", "gradient norms", "sample counts"], needsStage1: true });
    expect(by.get("gvm-ponly")).toMatchObject({ reads: ["acceptance rates", "sample counts"], needsStage1: true });
    // gvm-online measures gradient norms for its history unless told to ignore them.
    expect(by.get("gvm-online")).toMatchObject({ reads: ["history", "gradient norms"], needsStage1: false });
    expect(by.get("knapsack")).toMatchObject({ reads: ["history"], needsStage1: false });
    expect(by.get("greso")).toMatchObject({ reads: ["history"], needsStage1: false });
    expect(by.get("dapo")).toMatchObject({ reads: ["extra rounds"], needsStage1: false });
    expect(by.get("reinforce-ada")).toMatchObject({ reads: ["extra rounds"], needsStage1: false });
    for (const l of lines) {
      expect(Object.keys(l)).toEqual(["name", "reads", "needsStage1", "default", "summary"]);
      expect(l.summary).toBe(getStrategy(l.name as string).summary);
    }
    // exactly one default, the one a config without rl.strategy gets
    expect(lines.filter((l) => l.default === true).map((l) => l.name)).toEqual([RL_DEFAULT_STRATEGY]);
    expect(loadTrainConfig(undefined, []).rl.strategy).toBe(RL_DEFAULT_STRATEGY);
  });

  it("is listed in gvm --help and refuses arguments", async () => {
    expect((await gvm("--help")).out).toMatch(/strategies\s+List the allocation strategies/);
    const bad = await gvm("strategies", "--all");
    expect(bad.code).toBe(2);
    expect(bad.err).toMatch(/gvm strategies: .*--all/);
  });
});

describe("the peer strategies in gvm train and gvm allocate", () => {
  it("accepts --set rl.strategy=knapsack / greso with their options", () => {
    const k = loadTrainConfig(undefined, ["rl.strategy=knapsack", "rl.strategyOptions.nMin=3", "rl.strategyOptions.nMax=64"]);
    expect(k.rl.strategy).toBe("knapsack");
    expect(getStrategy(k.rl.strategy).parseOptions(k.rl.strategyOptions)).toMatchObject({ nMin: 3, nMax: 64, minSamples: 8 });
    const g = loadTrainConfig(undefined, ["rl.strategy=greso", "rl.strategyOptions.pEasy=0.25"]);
    expect(getStrategy(g.rl.strategy).parseOptions(g.rl.strategyOptions)).toMatchObject({ pEasy: 0.25, pHard: 0.5 });
  });

  it("accepts --set rl.strategy=dapo / reinforce-ada with their options", () => {
    const d = loadTrainConfig(undefined, ["rl.strategy=dapo", "rl.strategyOptions.maxGenBatches=3"]);
    expect(getStrategy(d.rl.strategy).parseOptions(d.rl.strategyOptions)).toEqual({ groupSize: null, genPrompts: null, maxGenBatches: 3 });
    const a = loadTrainConfig(undefined, ["rl.strategy=reinforce-ada", "rl.strategyOptions.variant=positive-focused"]);
    expect(getStrategy(a.rl.strategy).parseOptions(a.rl.strategyOptions)).toEqual({ groupSize: 4, roundSize: 8, maxRounds: 4, variant: "positive-focused" });
  });

  it("refuses a strategy the registry does not have, listing those it has", () => {
    expect(() => loadTrainConfig(undefined, ["rl.strategy=gvm2"])).toThrow(/field 'rl\.strategy' is "gvm2"; allowed: "uniform" \| "gvm" \| "gvm-ponly" \| "gvm-online" \| "knapsack" \| "greso" \| "dapo" \| "reinforce-ada"/);
  });

  it("gvm train refuses a bad strategy option before making the run directory", async () => {
    const runDir = join(dir, "never");
    const r = await gvm("train", "--strategy", "knapsack", "--set", "rl.strategyOptions.nMin=0", "--run-dir", runDir, "--quiet");
    expect(r.code).toBe(2);
    expect(r.err).toMatch(/allocation 'knapsack': option 'nMin' must be >= 1/);
    expect(existsSync(runDir)).toBe(false);
  });

  it("gvm train refuses a bad reinforce-ada option before making the run directory", async () => {
    const runDir = join(dir, "never-ada");
    const r = await gvm("train", "--strategy", "reinforce-ada", "--set", "rl.strategyOptions.groupSize=1", "--run-dir", runDir, "--quiet");
    expect(r.code).toBe(2);
    expect(r.err).toMatch(/allocation 'reinforce-ada': option 'groupSize' must be >= 2/);
    expect(existsSync(runDir)).toBe(false);
  });

  it("gvm allocate refuses strategies that generate in rounds: they need a sampler", async () => {
    for (const name of ["dapo", "reinforce-ada"]) {
      const r = await gvm("allocate", "--jsonl", join(dir, "absent.jsonl"), "--budget", "8", "--strategy", name);
      expect(r.code).toBe(2);
      expect(r.err).toMatch(new RegExp(`strategy '${name}' generates in extra rounds and needs a sampler, so it has no allocation from a file; use it in gvm train \\(--strategy ${name}\\), or uniform, gvm, gvm-ponly here`));
    }
  });

  it("gvm allocate refuses strategies that need a run's history", async () => {
    for (const name of ["knapsack", "greso", "gvm-online"]) {
      const r = await gvm("allocate", "--jsonl", join(dir, "absent.jsonl"), "--budget", "8", "--strategy", name);
      expect(r.code).toBe(2);
      expect(r.err).toMatch(new RegExp(`strategy '${name}' needs per-prompt history from a training run; use uniform, gvm, gvm-ponly here`));
    }
  });
});
