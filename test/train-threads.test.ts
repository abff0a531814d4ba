/**
 * End to end: the thread count changes how fast a run goes, not what it
 * learns. The same config on 1 and on 3 threads logs the same metrics, bit
 * for bit, apart from the fields that measure time. The model is sized so
 * the update's products, the attention and the elementwise kernels all pass
 * their thresholds for threading.
 */
import { spawnSync } from "node:child_process";
import { mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { comparableLog, GVM_BIN, TSX } from "./run-files.js";

const CONFIG = `
seed: 5
model: { hiddenSize: 96, layers: 2, heads: 4, kvHeads: 2, ffn: 256, maxPositions: 128 }
suite: { trainSize: 64, testSize: 16 }
warmStart: { steps: 20, cleanSteps: 10, batchSize: 16 }
rl: { method: grpo, strategy: uniform, promptsPerIter: 16, budget: 64, stepsPerIter: 1, epochs: 2, iterations: 2, maxNewTokens: 40 }
eval: { every: 1, k: 2 }
`;

describe("gvm train on any thread count", () => {
  it("logs the same metrics on 1 and 3 threads", () => {
    const dir = mkdtempSync(join(tmpdir(), "gvm-threads-"));
    const cfg = join(dir, "cfg.yaml");
    writeFileSync(cfg, CONFIG);
    const runs = ["1", "3"].map((threads) => {
      const runDir = join(dir, `t${threads}`);
      const env = { ...process.env, GVM_PROGRESS: "0", GVM_LOG_LEVEL: "warn", GVM_THREADS: threads };
      const r = spawnSync(TSX, [GVM_BIN, "train", "--config", cfg, "--run-dir", runDir, "--quiet"], { env, encoding: "utf8" });
      expect(r.status, r.stderr).toBe(0);
      return comparableLog(join(runDir, "metrics.jsonl"));
    });
    expect(runs[0]?.length).toBeGreaterThan(5);
    expect(runs[1]).toEqual(runs[0]);
  }, 300_000);
});
