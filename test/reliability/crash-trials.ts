/**
 * Crash-resume trials of `gvm train` (issue #14 s5): a small run is killed
 * with SIGKILL at a chosen or random moment, then rerun with the same
 * command; the rerun must resume and end with the metrics, samples and
 * final weights of an uninterrupted run.
 *
 * Kill moments, through train-child.ts: "phase" trials kill at a random
 * tick of one phase (sampling, scoring, gradient norms, update, checkpoint
 * write, checkpoint rename, evaluation, marking `latest`), cycling through
 * them so each is hit; "timer" trials kill after a random delay once the run
 * has started. Every fifth trial also kills the resumed run (a timer) before
 * the final rerun.
 */
import { spawn } from "node:child_process";
import { createHash } from "node:crypto";
import { existsSync, mkdirSync, readFileSync, statSync, writeFileSync } from "node:fs";
import { dirname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { Rng } from "../../src/util/rng.js";
import { comparableLog as comparable } from "../run-files.js";

const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), "..", "..");
const CHILD = join(ROOT, "test", "reliability", "train-child.ts");
const KILLABLE = ["sampling", "scoring", "gradnorms", "update", "checkpoint-write", "checkpoint-rename", "eval", "mark-latest"] as const;

/** Small enough for seconds per run, large enough that the warm-started policy earns rewards (so updates and gradient norms run). */
export function crashConfig(cacheDir: string): string {
  return [
    "seed: 3",
    "model: { hiddenSize: 64, layers: 2, heads: 2, kvHeads: 2, ffn: 128, maxPositions: 128 }",
    "suite: { trainSize: 64, testSize: 12 }",
    `warmStart: { steps: 600, cleanSteps: 400, batchSize: 16, cacheDir: ${JSON.stringify(cacheDir)} }`,
    "rl: { method: raftpp, strategy: gvm, promptsPerIter: 8, budget: 32, stage1: 2, stepsPerIter: 2, iterations: 4, maxNewTokens: 40 }",
    "eval: { every: 1, k: 2 }",
    "",
  ].join("\n");
}

export interface CrashTrial {
  trial: number;
  mode: "phase" | "timer";
  /** "PHASE:N" or "after N ms". */
  target: string;
  /** The phase the (first) killed process was in when it died. */
  diedIn: string;
  /** Processes killed in this trial (1, or 2 when the resumed run was killed too). */
  kills: number;
  resumed: boolean;
  metricsIdentical: boolean;
  samplesIdentical: boolean;
  weightsIdentical: boolean;
  seconds: number;
  error?: string;
}

interface RunResult {
  code: number | null;
  signal: NodeJS.Signals | null;
  stdout: string;
  stderr: string;
  /** Milliseconds from the first phase change (the run past startup) to exit. */
  runMs: number;
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** One `gvm train` through train-child.ts; `killAfterMs` kills it that long after it leaves startup. */
async function runChild(cfg: string, runDir: string, phaseFile: string, env: Record<string, string>, killAfterMs?: number): Promise<RunResult> {
  const child = spawn(process.execPath, ["--import", "tsx", CHILD, "train", "--config", cfg, "--run-dir", runDir, "--quiet"], {
    cwd: ROOT,
    env: { ...process.env, GVM_PROGRESS: "0", GVM_LOG_LEVEL: "warn", GVM_PHASE_FILE: phaseFile, ...env },
    stdio: ["ignore", "pipe", "pipe"],
  });
  let stdout = "";
  let stderr = "";
  child.stdout.on("data", (c: Buffer) => (stdout += String(c)));
  child.stderr.on("data", (c: Buffer) => (stderr += String(c)));
  let ended = false;
  const done = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((res) =>
    child.once("exit", (code, signal) => {
      ended = true;
      res({ code, signal });
    }),
  );
  const started = (): boolean => existsSync(phaseFile) && statSync(phaseFile).size > 0;
  while (!ended && !started()) await sleep(5);
  const t0 = performance.now();
  if (killAfterMs !== undefined && !ended) {
    await Promise.race([sleep(killAfterMs), done]);
    if (!ended) child.kill("SIGKILL");
  }
  const { code, signal } = await done;
  return { code, signal, stdout, stderr, runMs: performance.now() - t0 };
}

function lastPhase(phaseFile: string): string {
  const lines = existsSync(phaseFile) ? readFileSync(phaseFile, "utf8").trim().split("\n").filter((l) => !l.startsWith("ticks")) : [];
  return lines[lines.length - 1] ?? "startup";
}


function finalWeights(runDir: string): string {
  const ck = join(runDir, "checkpoints");
  const latest = readFileSync(join(ck, "latest"), "utf8").trim();
  return createHash("sha256").update(readFileSync(join(ck, latest, "model.safetensors"))).digest("hex");
}

const same = (a: unknown, b: unknown): boolean => JSON.stringify(a) === JSON.stringify(b);

export interface CrashReport {
  /** Seconds of an uninterrupted run past startup (the range of timer kills). */
  referenceSeconds: number;
  /** Ticks per phase of the uninterrupted run (the range of kill points). */
  ticks: Record<string, number>;
  trials: CrashTrial[];
}

export async function crashTrials(o: { dir: string; trials: number; seed: number; onTrial?: (t: CrashTrial) => void }): Promise<CrashReport> {
  mkdirSync(o.dir, { recursive: true });
  const cfg = join(o.dir, "cfg.yaml");
  writeFileSync(cfg, crashConfig(join(o.dir, ".cache")));
  // The reference run also trains and caches the warm start every trial then loads.
  const refDir = join(o.dir, "reference");
  const ref = await runChild(cfg, refDir, join(o.dir, "reference.phases"), {});
  if (ref.code !== 0) throw new Error(`the reference run failed (${ref.code}): ${ref.stderr.slice(-2000)}`);
  const again = await runChild(cfg, join(o.dir, "reference-2"), join(o.dir, "reference-2.phases"), {});
  const ticksLine = readFileSync(join(o.dir, "reference-2.phases"), "utf8").split("\n").find((l) => l.startsWith("ticks "));
  const ticks = JSON.parse(ticksLine?.slice(6) ?? "{}") as Record<string, number>;
  const want = { metrics: comparable(join(refDir, "metrics.jsonl")), samples: comparable(join(refDir, "samples.jsonl")), weights: finalWeights(refDir) };
  if (!same(comparable(join(o.dir, "reference-2", "metrics.jsonl")), want.metrics)) throw new Error("two uninterrupted runs logged different metrics: the run is not deterministic, so trials cannot be compared");
  const rng = new Rng(o.seed);
  const phases = KILLABLE.filter((p) => (ticks[p] ?? 0) > 0);
  const trials: CrashTrial[] = [];
  let phaseTrials = 0;
  for (let t = 0; t < o.trials; t++) {
    const started = performance.now();
    const runDir = join(o.dir, `trial-${t}`);
    const timer = t % 4 === 3 || phases.length === 0;
    let target: string;
    let first: RunResult;
    if (timer) {
      const ms = Math.floor(rng.float() * 0.9 * again.runMs);
      target = `after ${ms} ms`;
      first = await runChild(cfg, runDir, join(o.dir, `trial-${t}.phases`), {}, ms);
    } else {
      const phase = phases[phaseTrials++ % phases.length] as string;
      target = `${phase}:${1 + rng.int(ticks[phase] as number)}`;
      first = await runChild(cfg, runDir, join(o.dir, `trial-${t}.phases`), { GVM_KILL_AT: target });
    }
    const trial: CrashTrial = { trial: t, mode: timer ? "timer" : "phase", target, diedIn: lastPhase(join(o.dir, `trial-${t}.phases`)), kills: 0, resumed: false, metricsIdentical: false, samplesIdentical: false, weightsIdentical: false, seconds: 0 };
    try {
      if (first.signal !== "SIGKILL") throw new Error(`the run was not killed (exit ${first.code}): ${first.stderr.slice(-500)}`);
      trial.kills++;
      if (t % 5 === 4) {
        const second = await runChild(cfg, runDir, join(o.dir, `trial-${t}.resume.phases`), {}, Math.floor(rng.float() * 0.7 * again.runMs));
        if (second.signal === "SIGKILL") trial.kills++;
        else if (second.code !== 0) throw new Error(`the first rerun failed (${second.code}): ${second.stderr.slice(-1000)}`);
      }
      const last = await runChild(cfg, runDir, join(o.dir, `trial-${t}.final.phases`), {});
      if (last.code !== 0) throw new Error(`the rerun failed (${last.code}): ${last.stderr.slice(-1000)}`);
      trial.resumed = (JSON.parse(last.stdout.trim().split("\n").pop() ?? "{}") as { finished?: boolean }).finished === true;
      trial.metricsIdentical = same(comparable(join(runDir, "metrics.jsonl")), want.metrics);
      trial.samplesIdentical = same(comparable(join(runDir, "samples.jsonl")), want.samples);
      trial.weightsIdentical = finalWeights(runDir) === want.weights;
    } catch (err) {
      trial.error = (err as Error).message;
    }
    trial.seconds = (performance.now() - started) / 1000;
    trials.push(trial);
    o.onTrial?.(trial);
  }
  return { referenceSeconds: again.runMs / 1000, ticks, trials };
}
