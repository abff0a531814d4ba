/**
 * Run directories written the way the trainer writes them (config.json,
 * metrics.jsonl records of src/train/records.ts, samples.jsonl, and the
 * lock and heartbeat of a live run), without training: for the dashboard's
 * tests and its benchmark, which need many runs, long runs, or a run that
 * gains an evaluation at a moment of their choosing.
 */
import { appendFileSync, mkdirSync, writeFileSync } from "node:fs";
import { hostname } from "node:os";
import { join } from "node:path";
import type { EvalRecord, IterationRecord, RunRecord, StepRecord } from "../src/train/records.js";

export interface SyntheticRun {
  dir: string;
  method?: string;
  strategy: string;
  seed: number;
  /** Iterations written now. */
  iterations: number;
  /** Iterations planned (config.json rl.iterations); more than written: the run is not finished. */
  planned?: number;
  evalEvery?: number;
  stepsPerIter?: number;
  prompts?: number;
  /** Write a lock and heartbeat naming this PID (a live run) or another (a dead one). */
  lockPid?: number;
  regime?: string;
}

/** A small deterministic generator (no dependence on the code under test). */
function lcg(seed: number): () => number {
  let s = (seed * 2654435761 + 12345) >>> 0;
  return () => {
    s = (Math.imul(s, 1664525) + 1013904223) >>> 0;
    return s / 2 ** 32;
  };
}

const BUDGET = 512;

/** Counters as the trainer keeps them. */
interface Counters {
  step: number;
  samples: number;
  tokens: number;
  wallclock: number;
}

export class SyntheticWriter {
  private readonly rand: () => number;
  readonly counters: Counters = { step: 0, samples: 0, tokens: 0, wallclock: 0 };
  iter = 0;
  private readonly o: Required<Omit<SyntheticRun, "lockPid">> & { lockPid?: number };

  constructor(o: SyntheticRun) {
    this.o = { method: "raftpp", planned: o.iterations, evalEvery: 2, stepsPerIter: 3, prompts: 64, regime: "natural", ...o };
    this.rand = lcg(o.seed * 7919 + o.strategy.length * 31 + o.strategy.charCodeAt(0));
  }

  get metricsPath(): string {
    return join(this.o.dir, "metrics.jsonl");
  }

  /** config.json, the run record, the evaluation before training, and the iterations asked for. */
  writeAll(): this {
    const o = this.o;
    mkdirSync(o.dir, { recursive: true });
    const config = { seed: o.seed, runDir: o.dir, label: `${o.method}/${o.strategy}`, rl: { method: o.method, strategy: o.strategy, budget: BUDGET, iterations: o.planned, maxSamples: 0, promptsPerIter: o.prompts }, eval: { every: o.evalEvery, k: 2 } };
    writeFileSync(join(o.dir, "config.json"), `${JSON.stringify(config, null, 2)}\n`);
    const run: RunRecord = { kind: "run", iter: 0, method: o.method, strategy: o.strategy, label: `${o.method}/${o.strategy}`, seed: o.seed, regime: o.regime, budget: BUDGET, budgetMode: "inclusive" };
    const lines = [JSON.stringify(run), JSON.stringify(this.evalRecord())];
    for (let i = 0; i < o.iterations; i++) lines.push(...this.iterationLines());
    writeFileSync(this.metricsPath, `${lines.join("\n")}\n`);
    writeFileSync(join(o.dir, "samples.jsonl"), `${JSON.stringify({ iter: 0, kind: "eval", set: "suite", id: "test-1", prompt: "Q: 2+2\n", response: "2+2=4\n\\boxed{4}", correct: true })}\n`);
    if (o.lockPid !== undefined) {
      writeFileSync(join(o.dir, "lock"), `${JSON.stringify({ pid: o.lockPid, host: hostname(), started: new Date().toISOString(), token: "t" })}\n`);
      this.heartbeat();
    }
    return this;
  }

  /** One more iteration (and its evaluation when due), appended as the trainer appends. */
  appendIteration(): void {
    appendFileSync(this.metricsPath, `${this.iterationLines().join("\n")}\n`);
    appendFileSync(join(this.o.dir, "samples.jsonl"), `${JSON.stringify({ iter: this.iter, prompt: "Q: (1+2)*3\n", response: "1+2=3\n3*3=9\n\\boxed{9}", reward: 1 })}\n`);
    if (this.o.lockPid !== undefined) this.heartbeat();
  }

  /** An evaluation record now (its own line), as the trainer writes before the iteration's record. */
  appendEval(): EvalRecord {
    const e = this.evalRecord();
    appendFileSync(this.metricsPath, `${JSON.stringify(e)}\n`);
    return e;
  }

  heartbeat(): void {
    writeFileSync(join(this.o.dir, "heartbeat.json"), `${JSON.stringify({ pid: this.o.lockPid ?? process.pid, host: hostname(), time: new Date().toISOString(), iter: this.iter, samples: this.counters.samples })}\n`);
  }

  private evalRecord(): EvalRecord {
    const c = this.counters;
    const gain = this.o.strategy === "uniform" ? 0.3 : this.o.strategy === "gvm" ? 0.35 : 0.25;
    const accuracy = Math.min(0.97, 0.4 + gain * (1 - Math.exp(-this.iter / 8)) + 0.04 * (this.rand() - 0.5));
    const byLevel = Object.fromEntries([1, 2, 3, 4, 5, 6].map((l) => [String(l), Math.max(0, Math.min(1, accuracy + 0.25 - 0.1 * l))]));
    return { kind: "eval", iter: this.iter, step: c.step, samples: c.samples, tokens: c.tokens, wallclock: c.wallclock, accuracy, ci: [accuracy - 0.05, accuracy + 0.05], byLevel, k: 2, set: "suite", problems: 300 };
  }

  private iterationLines(): string[] {
    const o = this.o;
    const c = this.counters;
    this.iter++;
    const lines: string[] = [];
    const t0 = c.wallclock;
    const tokensPer = 30 + 10 * this.rand();
    c.samples += BUDGET;
    c.tokens += Math.round(BUDGET * tokensPer);
    for (let s = 0; s < o.stepsPerIter; s++) {
      c.step++;
      c.wallclock += 1 + this.rand();
      const step: StepRecord = { kind: "step", iter: this.iter, step: c.step, loss: -1 + 0.01 * this.rand(), kl: 0, entropy: 0.1 * Math.exp(-c.step / 50), clipFrac: 0.01 * this.rand(), gradNorm: 0.5 + this.rand(), lr: 2e-4, acceptedFrac: 0.4 + 0.3 * this.rand(), responseLen: tokensPer, tokensPerSec: 3000 + 1000 * this.rand(), samples: c.samples, tokens: c.tokens, wallclock: c.wallclock };
      lines.push(JSON.stringify(step));
    }
    const level = Array.from({ length: o.prompts }, (_, i) => 1 + (i % 6));
    const p = level.map((l) => Math.max(0, Math.min(1, 1.05 - 0.15 * l + 0.1 * (this.rand() - 0.5))));
    const G = level.map((l) => 0.5 + 0.2 * l * this.rand());
    const weights = o.strategy === "uniform" ? level.map(() => 1) : p.map((pi, i) => Math.sqrt(Math.max(1e-3, 1 - pi)) * (G[i] as number));
    const total = weights.reduce((a, b) => a + b, 0);
    const n = weights.map((w) => Math.max(1, Math.round((BUDGET * w) / total)));
    const time = { sampling: 2 + this.rand(), scoring: 0, gradNorms: 0.5 * this.rand(), update: c.wallclock - t0, eval: 0 };
    const due = this.iter % o.evalEvery === 0 || this.iter === o.planned;
    if (due) {
      time.eval = 1 + this.rand();
      lines.push(JSON.stringify(this.evalRecord()));
    }
    const it: IterationRecord = {
      kind: "iteration",
      iter: this.iter,
      step: c.step,
      samples: c.samples,
      tokens: c.tokens,
      wallclock: c.wallclock,
      stage1Samples: 2 * o.prompts,
      stage2Samples: BUDGET - 2 * o.prompts,
      trainReward: 0.5 + 0.2 * this.rand(),
      acceptedFrac: 0.5,
      time,
      allocation: { ids: level.map((_, i) => `train-${i}`), level, p: o.strategy === "uniform" ? level.map(() => Number.NaN) : p, G: o.strategy === "uniform" ? level.map(() => Number.NaN) : G, n, status: "ok" },
    };
    lines.push(JSON.stringify(it));
    return lines;
  }
}

/** `strategies x seeds` finished runs under root, named like the benchmark's (raftpp-gvm-s0, ...). */
export function writeComparison(root: string, strategies: readonly string[], seeds: number, iterations: number): string[] {
  const dirs: string[] = [];
  for (const strategy of strategies) {
    for (let seed = 0; seed < seeds; seed++) {
      const dir = join(root, `raftpp-${strategy}-s${seed}`);
      new SyntheticWriter({ dir, strategy, seed, iterations }).writeAll();
      dirs.push(dir);
    }
  }
  return dirs;
}
