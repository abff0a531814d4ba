/**
 * End to end: a run directory belongs to one `gvm train` at a time (a second
 * one is refused, a killed holder's lock is taken over), and a damaged
 * latest checkpoint is not resumed: the run falls back to the previous
 * intact one, says so, and logs what an undamaged rerun logs.
 */
import { spawn } from "node:child_process";
import { closeSync, existsSync, mkdtempSync, openSync, readFileSync, statSync, truncateSync, writeFileSync, writeSync } from "node:fs";
import { hostname, tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { loadTrainConfig } from "../src/train/config.js";
import { train } from "../src/train/trainer.js";
import { Logger } from "../src/util/log.js";
import { gvm } from "./cli-helpers.js";
import { comparableLog as comparable, GVM_BIN as bin, REPO_ROOT as root } from "./run-files.js";
import { until } from "./wait.js";


const CONFIG = `
seed: 5
model: { hiddenSize: 32, layers: 1, heads: 2, kvHeads: 2, ffn: 64, maxPositions: 128 }
suite: { trainSize: 64, testSize: 12 }
warmStart: { steps: 30, cleanSteps: 20, batchSize: 8 }
rl: { method: raftpp, strategy: uniform, promptsPerIter: 8, budget: 32, stage1: 2, stepsPerIter: 2, iterations: 3, maxNewTokens: 40 }
eval: { every: 1, k: 2 }
`;

function capture(): { log: Logger; lines: string[] } {
  const lines: string[] = [];
  return { log: new Logger({ level: "info", sink: (l) => lines.push(l) }), lines };
}


/** What the issue did to a checkpoint: 4 KB of 0xFF written into model.safetensors. */
function scribble(path: string): void {
  const fd = openSync(path, "r+");
  writeSync(fd, Buffer.alloc(4096, 0xff), 0, 4096, 8192);
  closeSync(fd);
}

describe("gvm train: one process per run directory, checked checkpoints", () => {
  it("refuses a second train on a directory in use, takes over a killed one's lock, and falls back past a damaged checkpoint", async () => {
    const dir = mkdtempSync(join(tmpdir(), "gvm-runs-"));
    const cfg = join(dir, "cfg.yaml");
    writeFileSync(cfg, CONFIG);
    const runDir = join(dir, "run");
    const metrics = join(runDir, "metrics.jsonl");

    // The holder: a real second process (node itself, so the PID in the lock is the one killed).
    const child = spawn(process.execPath, ["--import", "tsx", bin, "train", "--config", cfg, "--run-dir", runDir, "--quiet"], {
      cwd: root,
      env: { ...process.env, GVM_PROGRESS: "0", GVM_LOG_LEVEL: "warn" },
      stdio: "ignore",
    });
    const exited = new Promise((r) => child.once("exit", r));
    try {
      await until(() => existsSync(metrics) && readFileSync(metrics, "utf8").includes('"kind":"step"'), 120_000, "the holder's first step");
      const before = readFileSync(join(runDir, "lock"), "utf8");
      const second = await gvm("train", "--config", cfg, "--run-dir", runDir, "--quiet");
      expect(second.code).toBe(1);
      expect(second.err).toContain(`in use by PID ${child.pid} on ${hostname()}`);
      expect(second.err).toContain(join(runDir, "lock"));
      // The refused run left the holder's lock as it was.
      expect(readFileSync(join(runDir, "lock"), "utf8")).toBe(before);
    } finally {
      child.kill("SIGKILL");
      await exited;
    }

    // The killed holder's lock is stale: the rerun takes it over, says so, resumes and finishes.
    const c = loadTrainConfig(cfg, [`runDir=${runDir}`]);
    const first = capture();
    const r1 = await train(c, { log: first.log, progress: false });
    expect(r1.finished).toBe(true);
    expect(first.lines.join("\n")).toMatch(new RegExp(`took over the stale lock of PID ${child.pid} on ${hostname()}.*no longer running`));
    expect(existsSync(join(runDir, "lock"))).toBe(false);
    const done = comparable(metrics);

    // 4 KB of 0xFF in the latest weights: resumed from iteration 2 with a warning naming both, iteration 3 redone.
    const ck = join(runDir, "checkpoints");
    expect(readFileSync(join(ck, "latest"), "utf8").trim()).toBe("iter-000003");
    scribble(join(ck, "iter-000003", "model.safetensors"));
    const second = capture();
    const r2 = await train(c, { log: second.log, progress: false });
    expect(r2.finished).toBe(true);
    expect(second.lines.join("\n")).toMatch(/\[warn\] checkpoint \S*iter-000003 is damaged .*model\.safetensors: SHA-256 .* does not match.*falling back to \S*iter-000002/);
    expect(second.lines.join("\n")).toMatch(/resuming .* after iteration 2/);
    expect(comparable(metrics)).toEqual(done);

    // A truncated latest falls back the same way.
    const opt = join(ck, "iter-000003", "optimizer.safetensors");
    truncateSync(opt, statSync(opt).size - 1000);
    const third = capture();
    await train(c, { log: third.log, progress: false });
    expect(third.lines.join("\n")).toMatch(/iter-000003 is damaged .*optimizer\.safetensors.*falling back to \S*iter-000002/);
    expect(comparable(metrics)).toEqual(done);

    // The same directory spelled another way is the same run (nothing redone, nothing refused).
    const again = await gvm("train", "--config", cfg, "--run-dir", join(dir, "elsewhere", "..", "run"), "--quiet");
    expect(again.code, again.err).toBe(0);
    expect(JSON.parse(again.out).finished).toBe(true);
  }, 300_000);

  it("a start that fails writes nothing, so the corrected command is not refused as another run", async () => {
    const dir = mkdtempSync(join(tmpdir(), "gvm-runs-"));
    const runDir = join(dir, "run");
    const bad = await gvm("train", "--model", join(dir, "no-such-model"), "--run-dir", runDir, "--quiet");
    expect(bad.code).not.toBe(0);
    expect(bad.err).toContain("no-such-model");
    expect(existsSync(runDir)).toBe(false);
  });
});
