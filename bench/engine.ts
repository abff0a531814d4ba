/**
 * `npm run bench:engine [-- --preset tiny|small|demo] [--workloads train,decode,rl,rss] [--rounds 5] [--runs N] [--no-torch] [--profile]`
 *
 * Times our engine on the workloads of ../shared/anchors/torch_llama_bench.py
 * (same architecture, sizes, batch and context): one AdamW train step, and
 * one sampled token for a batch of 64 with a KV cache after a 64-token
 * prefill; and `rl`, the anchor's whole RL iteration (64 prompts x 8
 * samples of 48 tokens, then one policy-gradient step over all 512) through
 * the trainer's own generate and updateStep, in responses per second. Where /usr/bin/python3 has torch, the anchor's model and steps
 * run in the same run with the threading its header recommends (see
 * engine-anchor.ts).
 *
 * The machine is shared, so ours and the anchor alternate: each round times
 * `runs` train steps of ours, then `runs` of the anchor (decode: 8 tokens
 * each), with a short pause between sides so neither side's idle spinning
 * threads run into the other's timing. Background load thus hits both sides
 * alike. One JSON line per round (each side's median), then per (preset,
 * workload) a summary line: medians over all steps and `ratio`, the median
 * of the per-round ratios (ours / PyTorch in tokens per second).
 *
 * `--profile` follows each preset's rl rounds with a breakdown of three
 * more iterations by phase and kernel (engine-profile.ts).
 *
 * `rss` runs 500 train steps of the preset and reports the resident set at
 * the end of warm-up, its peak afterwards, and samples along the way
 * (memory must stay flat after warm-up).
 *
 * One JSON object per line on stdout.
 */
import { existsSync, realpathSync } from "node:fs";
import { loadavg } from "node:os";
import { setTimeout as sleep } from "node:timers/promises";
import { parseArgs } from "node:util";
import { type Anchor, anchorAvailable, startAnchor } from "./engine-anchor.js";
import { profileRl } from "./engine-profile.js";
import { generateStep, type Preset, PRESETS, RL_SHAPE, rlIteration, trainStepper } from "./engine-workloads.js";
import { median } from "../src/util/stats.js";

const DECODE_BATCH = 64;
const PREFILL = 64;
const DECODE_PER_ROUND = 8;
const WARMUP = 3;
// Longer than an idle thread of either side spins before it sleeps.
const SETTLE_MS = 250;

const { values } = parseArgs({
  options: {
    preset: { type: "string" },
    workloads: { type: "string", default: "train,decode" },
    "no-torch": { type: "boolean", default: false },
    rounds: { type: "string", default: "5" },
    runs: { type: "string" },
    "rss-steps": { type: "string", default: "500" },
    profile: { type: "boolean", default: false },
  },
});

const presets = values.preset ? [values.preset] : Object.keys(PRESETS);
for (const p of presets) if (!(p in PRESETS)) throw new Error(`bench:engine: unknown preset ${p}; known: ${Object.keys(PRESETS).join(", ")}`);
const workloads = new Set(values.workloads.split(","));
for (const w of workloads) if (!["train", "decode", "rl", "rss"].includes(w)) throw new Error(`bench:engine: unknown workload ${w}; known: train, decode, rl, rss`);
const rounds = positiveInt("rounds", values.rounds);

function positiveInt(name: string, v: string): number {
  const n = Number(v);
  if (!Number.isInteger(n) || n < 1) throw new Error(`bench:engine: --${name} must be a positive integer, got ${v}`);
  return n;
}

/** Train steps per side per round: the bigger preset's steps take seconds, so fewer. */
function trainRuns(preset: Preset): number {
  if (values.runs !== undefined) return positiveInt("runs", values.runs);
  return preset.dim >= 512 ? 1 : 2;
}

function emit(obj: Record<string, unknown>): void {
  process.stdout.write(`${JSON.stringify(obj)}\n`);
}

function timeEach(fn: () => void, n: number): number[] {
  const ts: number[] = [];
  for (let i = 0; i < n; i++) {
    const t0 = performance.now();
    fn();
    ts.push(performance.now() - t0);
  }
  return ts;
}

/** Which BLAS /usr/bin/python3's torch will load; netlib's reference BLAS would make the anchor ~10x slow. */
function torchBlas(): string {
  const lib = "/usr/lib/x86_64-linux-gnu/libblas.so.3";
  if (!existsSync(lib)) return "unknown";
  const real = realpathSync(lib);
  return real.includes("openblas") ? "openblas" : real.includes("blis") ? "blis" : `reference (${real}); install libopenblas0-pthread for a fair anchor`;
}

function load1(): number {
  return round(loadavg()[0] ?? Number.NaN);
}

interface Tally {
  ours: number[];
  torch: number[];
  ratios: number[];
}

/**
 * What a step produces: `count` units (tokens for train and decode,
 * responses for rl), each `tokensPer` sampled tokens when rates of sampled
 * tokens are wanted too.
 */
interface Yield {
  unit: "tokens" | "responses";
  count: number;
  tokensPer?: number;
}

function rates(y: Yield, ms: number, prefix = ""): Record<string, number> {
  const r: Record<string, number> = { [`${prefix}${y.unit}_per_s`]: round((y.count * 1000) / ms, 1) };
  if (y.tokensPer !== undefined) r[`${prefix}sampled_tokens_per_s`] = Math.round((y.count * y.tokensPer * 1000) / ms);
  return r;
}

/**
 * Alternates `oursBlock` and `torchBlock` for the given rounds; each block
 * returns the ms of its steps. Emits a line per round and returns the tally.
 */
async function alternate(base: Record<string, unknown>, y: Yield, oursBlock: () => number[], torchBlock: (() => Promise<number[]>) | null): Promise<Tally> {
  const tally: Tally = { ours: [], torch: [], ratios: [] };
  for (let r = 1; r <= rounds; r++) {
    const load = load1();
    const ours = oursBlock();
    tally.ours.push(...ours);
    const ms = median(ours);
    const line: Record<string, unknown> = { ...base, round: r, ms: round(ms, 3), ...rates(y, ms) };
    if (torchBlock) {
      await sleep(SETTLE_MS);
      const theirs = await torchBlock();
      await sleep(SETTLE_MS);
      tally.torch.push(...theirs);
      const tms = median(theirs);
      tally.ratios.push(tms / ms);
      Object.assign(line, { torch_ms: round(tms, 3), ...rates(y, tms, "torch_"), ratio: round(tms / ms) });
    }
    emit({ ...line, load1: load });
  }
  return tally;
}

function summary(base: Record<string, unknown>, y: Yield, t: Tally, blas: string | undefined): Record<string, unknown> {
  const ms = median(t.ours);
  const line: Record<string, unknown> = { ...base, ms: round(ms, 3), ...rates(y, ms), rounds, steps: t.ours.length };
  if (t.torch.length > 0) {
    const tms = median(t.torch);
    Object.assign(line, {
      torch_ms: round(tms, 3),
      ...rates(y, tms, "torch_"),
      ratio: round(median(t.ratios)),
      ratio_of_medians: round(tms / ms),
      ratio_range: [round(Math.min(...t.ratios)), round(Math.max(...t.ratios))],
      torch_blas: blas,
    });
  }
  return line;
}

const withTorch = !values["no-torch"] && anchorAvailable();
const blas = withTorch ? torchBlas() : undefined;

for (const name of presets) {
  const preset = PRESETS[name] as Preset;
  const timed = workloads.has("train") || workloads.has("decode") || workloads.has("rl");
  const anchor: Anchor | null = withTorch && timed ? await startAnchor(name, DECODE_BATCH, PREFILL, RL_SHAPE) : null;
  if (workloads.has("train")) {
    const runs = trainRuns(preset);
    const base = { preset: name, workload: "train", batch: preset.batch, ctx: preset.ctx };
    const y: Yield = { unit: "tokens", count: preset.batch * preset.ctx };
    const step = trainStepper(preset, 0);
    timeEach(step, WARMUP);
    await anchor?.train(WARMUP);
    const t = await alternate(base, y, () => timeEach(step, runs), anchor ? () => anchor.train(runs) : null);
    emit(summary(base, y, t, blas));
  }
  if (workloads.has("decode")) {
    const base = { preset: name, workload: "decode", batch: DECODE_BATCH, prefill: PREFILL };
    const dec = generateStep(preset, DECODE_BATCH, PREFILL, 0);
    timeEach(dec.step, WARMUP);
    if (anchor) {
      await anchor.decodeReset();
      await anchor.decode(WARMUP);
    }
    const y: Yield = { unit: "tokens", count: DECODE_BATCH };
    const t = await alternate(base, y, () => timeEach(dec.step, DECODE_PER_ROUND), anchor ? () => anchor.decode(DECODE_PER_ROUND) : null);
    emit(summary(base, y, t, blas));
  }
  if (workloads.has("rl")) {
    const y: Yield = { unit: "responses", count: RL_SHAPE.prompts * RL_SHAPE.n, tokensPer: RL_SHAPE.newTokens };
    const base = { preset: name, workload: "rl", ...RL_SHAPE };
    const iteration = rlIteration(preset, RL_SHAPE, 0);
    iteration();
    await anchor?.rl(1);
    // One iteration per side per round: an iteration takes seconds.
    const t = await alternate(base, y, () => timeEach(iteration, 1), anchor ? () => anchor.rl(1) : null);
    emit(summary(base, y, t, blas));
    if (values.profile) for (const p of profileRl(preset, RL_SHAPE, 3)) emit({ preset: name, workload: "rl-profile", ...p });
  }
  anchor?.close();
  if (workloads.has("rss")) rss(name, preset);
}

function rss(name: string, preset: Preset): void {
  const steps = positiveInt("rss-steps", values["rss-steps"]);
  const step = trainStepper(preset, 1);
  const warm = Math.min(20, Math.floor(steps / 10));
  const mb = (x: number) => round(x / 2 ** 20, 1);
  let peakAfterWarmup = 0;
  let atWarmup = 0;
  const samples: number[] = [];
  const every = Math.max(1, Math.floor(steps / 10));
  const t0 = performance.now();
  for (let i = 1; i <= steps; i++) {
    step();
    const now = process.memoryUsage.rss();
    if (i === warm) atWarmup = now;
    if (i >= warm) peakAfterWarmup = Math.max(peakAfterWarmup, now);
    if (i % every === 0) samples.push(mb(now));
  }
  emit({
    preset: name,
    workload: "rss",
    steps,
    warmup_steps: warm,
    rss_mb_after_warmup: mb(atWarmup),
    peak_rss_mb: mb(peakAfterWarmup),
    final_rss_mb: mb(process.memoryUsage.rss()),
    growth_mb: mb(peakAfterWarmup - atWarmup),
    samples_mb: samples,
    sample_every_steps: every,
    ms_per_step: round((performance.now() - t0) / steps),
  });
}

function round(x: number, digits = 2): number {
  const f = 10 ** digits;
  return Math.round(x * f) / f;
}
