/**
 * `npm run bench:engine [-- --preset tiny|small] [--workloads train,decode,rss] [--no-torch]`
 *
 * Times our engine on the workloads of ../shared/anchors/torch_llama_bench.py
 * (same architecture, sizes, batch and context): one AdamW train step, and
 * one sampled token for a batch of 64 with a KV cache after a 64-token
 * prefill. Where /usr/bin/python3 has torch, the anchor runs in the same
 * process tree right after ours, with the threading its header recommends,
 * and each line gains torch_tokens_per_s and ratio (ours / PyTorch).
 * `rss` runs 500 train steps of the preset and reports peak RSS after
 * warm-up against the end (memory must stay flat).
 *
 * One JSON object per line on stdout.
 */
import { spawnSync } from "node:child_process";
import { existsSync, realpathSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { parseArgs } from "node:util";
import { generateStep, type Preset, PRESETS, trainStepper } from "./engine-workloads.js";
import { median } from "./stats.js";

const here = dirname(fileURLToPath(import.meta.url));
const ANCHOR = join(here, "..", "..", "shared", "anchors", "torch_llama_bench.py");

const { values } = parseArgs({
  options: {
    preset: { type: "string" },
    workloads: { type: "string", default: "train,decode" },
    "no-torch": { type: "boolean", default: false },
    runs: { type: "string", default: "7" },
    "rss-steps": { type: "string", default: "500" },
  },
});

const presets = values.preset ? [values.preset] : Object.keys(PRESETS);
for (const p of presets) if (!(p in PRESETS)) throw new Error(`unknown preset ${p}; known: ${Object.keys(PRESETS).join(", ")}`);
const workloads = new Set(values.workloads.split(","));
const runs = Number(values.runs);

function emit(obj: Record<string, unknown>): void {
  process.stdout.write(`${JSON.stringify(obj)}\n`);
}

function timeMedian(fn: () => void, warmup: number, n: number): number {
  for (let i = 0; i < warmup; i++) fn();
  const ts: number[] = [];
  for (let i = 0; i < n; i++) {
    const t0 = performance.now();
    fn();
    ts.push(performance.now() - t0);
  }
  return median(ts);
}

/** Which BLAS /usr/bin/python3's torch will load; netlib's reference BLAS would make the anchor ~10x slow. */
function torchBlas(): string {
  const lib = "/usr/lib/x86_64-linux-gnu/libblas.so.3";
  if (!existsSync(lib)) return "unknown";
  const real = realpathSync(lib);
  return real.includes("openblas") ? "openblas" : real.includes("blis") ? "blis" : `reference (${real}); install libopenblas0-pthread for a fair anchor`;
}

function runAnchor(preset: string, wl: string[]): Map<string, number> {
  const out = new Map<string, number>();
  if (values["no-torch"] || !existsSync(ANCHOR)) return out;
  const probe = spawnSync("/usr/bin/python3", ["-c", "import torch"], { encoding: "utf8" });
  if (probe.status !== 0) return out;
  const env: NodeJS.ProcessEnv = { ...process.env, OPENBLAS_NUM_THREADS: "2" };
  delete env.OPENBLAS_CORETYPE;
  const r = spawnSync("/usr/bin/python3", [ANCHOR, "--torch-threads", "1", "--preset", preset, "--workloads", wl.join(",")], { env, encoding: "utf8", maxBuffer: 1 << 24 });
  for (const line of r.stdout.split("\n")) {
    if (!line.startsWith("{")) continue;
    const j = JSON.parse(line) as { workload: string; tokens_per_s: number };
    out.set(j.workload, j.tokens_per_s);
  }
  return out;
}

for (const name of presets) {
  const preset = PRESETS[name] as Preset;
  const ours = new Map<string, Record<string, unknown>>();
  if (workloads.has("train")) {
    const step = trainStepper(preset, 0);
    const ms = timeMedian(step, 3, runs);
    ours.set("train", { preset: name, workload: "train", ms: round(ms), tokens_per_s: Math.round((preset.batch * preset.ctx * 1000) / ms), batch: preset.batch, ctx: preset.ctx });
  }
  if (workloads.has("decode")) {
    const dec = generateStep(preset, 64, 64, 0);
    const ms = timeMedian(dec.step, 3, 32);
    ours.set("decode", { preset: name, workload: "decode", ms: round(ms, 3), tokens_per_s: Math.round((64 * 1000) / ms), batch: 64, prefill: 64 });
  }
  const anchor = runAnchor(name, [...ours.keys()]);
  const blas = anchor.size > 0 ? torchBlas() : undefined;
  for (const [wl, line] of ours) {
    const torch = anchor.get(wl);
    emit(torch === undefined ? line : { ...line, torch_tokens_per_s: torch, ratio: round((line.tokens_per_s as number) / torch, 2), torch_blas: blas });
  }
  if (workloads.has("rss")) {
    const steps = Number(values["rss-steps"]);
    const step = trainStepper(preset, 1);
    const warm = Math.min(20, Math.floor(steps / 10));
    let peakAfterWarmup = 0;
    let atWarmup = 0;
    for (let i = 0; i < steps; i++) {
      step();
      const rss = process.memoryUsage.rss();
      if (i === warm) atWarmup = rss;
      if (i >= warm) peakAfterWarmup = Math.max(peakAfterWarmup, rss);
    }
    const mb = (x: number) => round(x / 2 ** 20, 1);
    emit({ preset: name, workload: "rss", steps, rss_mb_after_warmup: mb(atWarmup), peak_rss_mb: mb(peakAfterWarmup), final_rss_mb: mb(process.memoryUsage.rss()), growth_mb: mb(peakAfterWarmup - atWarmup) });
  }
}

function round(x: number, digits = 2): number {
  const f = 10 ** digits;
  return Math.round(x * f) / f;
}
