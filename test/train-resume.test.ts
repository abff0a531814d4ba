/**
 * End to end: `gvm train` killed with SIGKILL mid-run and rerun with the
 * same command continues from its last checkpoint, loses nothing, and logs
 * the same metrics as an uninterrupted run with the same seed; a strategy
 * that draws extra prompts for its rounds (dapo) resumes where the prompt
 * stream stood.
 */
import { spawn, spawnSync } from "node:child_process";
import { existsSync, mkdtempSync, readFileSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { loadTrainConfig } from "../src/train/config.js";
import type { IterationRecord } from "../src/train/records.js";
import { train } from "../src/train/trainer.js";
import { Logger } from "../src/util/log.js";
import { comparableLog as comparable, GVM_BIN as bin, TSX as tsx } from "./run-files.js";
import { until } from "./wait.js";

const CONFIG = `
seed: 3
model: { hiddenSize: 32, layers: 1, heads: 2, kvHeads: 2, ffn: 64, maxPositions: 128 }
suite: { trainSize: 64, testSize: 12 }
warmStart: { steps: 30, cleanSteps: 20, batchSize: 8 }
rl: { method: raftpp, strategy: gvm, promptsPerIter: 8, budget: 32, stage1: 2, stepsPerIter: 2, iterations: 4, maxNewTokens: 40 }
eval: { every: 1, k: 2 }
`;

function args(runDir: string, cfg: string): string[] {
  return [bin, "train", "--config", cfg, "--run-dir", runDir, "--quiet"];
}

describe("gvm train: kill -9 and resume", () => {
  it("continues from the last checkpoint and logs what an uninterrupted run logs", async () => {
    const dir = mkdtempSync(join(tmpdir(), "gvm-resume-"));
    const cfg = join(dir, "cfg.yaml");
    writeFileSync(cfg, CONFIG);
    const env = { ...process.env, GVM_PROGRESS: "0", GVM_LOG_LEVEL: "warn" };

    const straight = spawnSync(tsx, args(join(dir, "straight"), cfg), { env, encoding: "utf8" });
    expect(straight.status, straight.stderr).toBe(0);

    // Kill once the second iteration has logged its first update step (between checkpoints).
    const runDir = join(dir, "killed");
    const metrics = join(runDir, "metrics.jsonl");
    const child = spawn(tsx, args(runDir, cfg), { env, stdio: "ignore" });
    await until(() => existsSync(metrics) && readFileSync(metrics, "utf8").includes('"kind":"step","iter":2'), 120_000, "the kill point", () => child.exitCode !== null);
    child.kill("SIGKILL");
    await new Promise((r) => child.once("exit", r));
    const partial = readFileSync(metrics, "utf8");
    expect(partial).not.toContain('"kind":"iteration","iter":4');

    const resumed = spawnSync(tsx, args(runDir, cfg), { env, encoding: "utf8" });
    expect(resumed.status, resumed.stderr).toBe(0);
    expect(JSON.parse(resumed.stdout.trim()).finished).toBe(true);
    expect(comparable(metrics)).toEqual(comparable(join(dir, "straight", "metrics.jsonl")));
  }, 300_000);

  it("refuses to resume a run directory with a different config (exit 2, field named)", () => {
    const dir = mkdtempSync(join(tmpdir(), "gvm-resume-"));
    const cfg = join(dir, "cfg.yaml");
    writeFileSync(cfg, CONFIG.replace("iterations: 4", "iterations: 1"));
    const env = { ...process.env, GVM_PROGRESS: "0", GVM_LOG_LEVEL: "warn" };
    const first = spawnSync(tsx, args(join(dir, "r"), cfg), { env, encoding: "utf8" });
    expect(first.status, first.stderr).toBe(0);
    const second = spawnSync(tsx, [...args(join(dir, "r"), cfg), "--set", "rl.lr=0.1"], { env, encoding: "utf8" });
    expect(second.status).toBe(2);
    expect(second.stderr).toMatch(/rl\.lr: 0\.0002 -> 0\.1/);
  }, 300_000);

  it("resumes a dapo run where its prompt stream stood, extra prompts included", async () => {
    const dir = mkdtempSync(join(tmpdir(), "gvm-resume-"));
    const cfg = join(dir, "cfg.yaml");
    writeFileSync(cfg, CONFIG.replace("strategy: gvm", "strategy: dapo").replace("iterations: 4", "iterations: 3"));
    const quiet = { log: new Logger({ level: "warn", sink: () => {} }), progress: false };
    const straight = loadTrainConfig(cfg, [`runDir=${join(dir, "straight")}`]);
    await train(straight, quiet);
    const split = loadTrainConfig(cfg, [`runDir=${join(dir, "split")}`]);
    expect((await train(split, { ...quiet, stopAfter: 1 })).finished).toBe(false);
    expect((await train(split, quiet)).finished).toBe(true);
    const metrics = comparable(join(dir, "split", "metrics.jsonl"));
    expect(metrics).toEqual(comparable(join(dir, "straight", "metrics.jsonl")));
    // The test means something only if the first iteration drew past its own 8 prompts (then iteration 2 starts later in the stream).
    const iterations = metrics.filter((r): r is IterationRecord => (r as { kind: string }).kind === "iteration");
    expect(iterations[0]?.generation?.prompts).toBeGreaterThan(8);
    for (const r of iterations) expect(r.generation?.responses.reduce((a, b) => a + b, 0)).toBeLessThanOrEqual(32);
  }, 300_000);
});
