/**
 * `npm run bench:gvm [-- --methods raftpp,grpo --strategies uniform,gvm,... --seeds 0,1,2 --regimes natural,paper-like --out DIR]`
 *
 * Every learner with every allocation strategy over several seeds in both
 * regimes, on the experiment preset (src/train/presets.ts). Runs live in
 * DIR and are resumable: an interrupted benchmark continues where it stopped.
 *
 * The target accuracy of a (regime, learner) pair is fixed by rule before
 * any comparison: the median over seeds of the uniform run's final test
 * accuracy (the paper's "reach the baseline's final accuracy"). For each
 * strategy it prints update steps, generated responses and wall-clock to the
 * target (median over seeds, min-max spread, ratio to uniform), the final
 * accuracy with a 95% interval over seeds, and the overhead share: time in
 * gradient-norm passes plus responses generated beyond the budget, against
 * the iteration wall-clock. Evaluations use common random numbers.
 *
 * One JSON object per line per (regime, method, strategy), then a table.
 */
import { existsSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { parseArgs } from "node:util";
import { STRATEGY_NAMES } from "../src/gvm/index.js";
import { costToTarget, median, tInterval } from "../src/report/compare.js";
import { METHODS, type Method } from "../src/train/config.js";
import { experimentConfig, REGIMES, type Regime } from "../src/train/presets.js";
import type { EvalRecord, IterationRecord } from "../src/train/records.js";
import { train } from "../src/train/trainer.js";

const { values } = parseArgs({
  options: {
    methods: { type: "string", default: "raftpp,grpo" },
    strategies: { type: "string", default: STRATEGY_NAMES.join(",") },
    seeds: { type: "string", default: "0,1,2" },
    regimes: { type: "string", default: REGIMES.join(",") },
    out: { type: "string", default: "runs/bench-gvm" },
    iterations: { type: "string" },
  },
});

const methods = values.methods.split(",") as Method[];
for (const m of methods) if (!METHODS.includes(m)) throw new Error(`unknown method ${m}; known: ${METHODS.join(", ")}`);
const strategies = values.strategies.split(",");
if (!strategies.includes("uniform")) strategies.unshift("uniform");
const seeds = values.seeds.split(",").map(Number);
const regimes = values.regimes.split(",") as Regime[];
const overrides: Record<string, unknown> = values.iterations ? { "rl.iterations": Number(values.iterations) } : {};

interface RunData {
  evals: EvalRecord[];
  iterations: IterationRecord[];
}

function readRun(runDir: string): RunData {
  const lines = readFileSync(join(runDir, "metrics.jsonl"), "utf8").trim().split("\n");
  const recs = lines.map((l) => JSON.parse(l) as { kind: string });
  return { evals: recs.filter((r): r is EvalRecord => r.kind === "eval"), iterations: recs.filter((r): r is IterationRecord => r.kind === "iteration") };
}

const round = (x: number | null, d = 3) => (x === null || !Number.isFinite(x) ? null : Math.round(x * 10 ** d) / 10 ** d);
const table: string[] = [];

for (const regime of regimes) {
  for (const method of methods) {
    const runs = new Map<string, RunData[]>();
    for (const strategy of strategies) {
      const list: RunData[] = [];
      for (const seed of seeds) {
        const c = experimentConfig({ method, strategy, regime, seed, out: values.out, overrides });
        if (!existsSync(join(c.runDir, "metrics.jsonl")) || !(await isFinished(c.runDir, c.rl.iterations))) {
          process.stderr.write(`\n== ${regime} ${method}/${strategy} seed ${seed}\n`);
          await train(c);
        }
        list.push(readRun(c.runDir));
      }
      runs.set(strategy, list);
    }
    const uniform = runs.get("uniform") as RunData[];
    const target = median(uniform.map((r) => r.evals[r.evals.length - 1]?.accuracy ?? Number.NaN));
    const cost = (r: RunData, axis: "step" | "samples" | "wallclock") => costToTarget(r.evals, target, axis);
    const base = {
      step: median(uniform.map((r) => cost(r, "step") ?? Number.NaN)),
      samples: median(uniform.map((r) => cost(r, "samples") ?? Number.NaN)),
      wallclock: median(uniform.map((r) => cost(r, "wallclock") ?? Number.NaN)),
    };
    for (const [strategy, list] of runs) {
      const line: Record<string, unknown> = { regime, method, strategy, seeds: list.length, target: round(target) };
      for (const axis of ["step", "samples", "wallclock"] as const) {
        const xs = list.map((r) => cost(r, axis));
        const reached = xs.filter((x): x is number => x !== null);
        const med = reached.length * 2 > xs.length ? median(reached) : null;
        line[`${axis}_to_target`] = { median: round(med, 1), min: round(reached.length ? Math.min(...reached) : null, 1), max: round(reached.length ? Math.max(...reached) : null, 1), reached: `${reached.length}/${xs.length}`, uniform_over_this: med ? round(base[axis] / med, 2) : null };
      }
      const finals = list.map((r) => r.evals[r.evals.length - 1]?.accuracy ?? Number.NaN);
      const ci = finals.length >= 2 ? tInterval(finals) : [Number.NaN, Number.NaN];
      line.final_accuracy = { mean: round(finals.reduce((a, b) => a + b, 0) / finals.length), ci95: [round(ci[0] as number), round(ci[1] as number)], per_seed: finals.map((x) => round(x)) };
      const its = list.flatMap((r) => r.iterations);
      const wall = its.reduce((a, r) => a + r.time.sampling + (r.time.scoring ?? 0) + r.time.gradNorms + r.time.update, 0);
      const gradTime = its.reduce((a, r) => a + r.time.gradNorms, 0);
      const budget = experimentConfig({ method, strategy, regime, seed: 0, out: values.out, overrides }).rl.budget;
      const extra = its.reduce((a, r) => a + Math.max(0, r.stage1Samples + r.stage2Samples - budget), 0);
      const generated = its.reduce((a, r) => a + r.stage1Samples + r.stage2Samples, 0);
      line.overhead = { gradnorm_time_share: round(gradTime / Math.max(wall, 1e-9)), extra_responses_share: round(extra / Math.max(generated, 1)) };
      line.allocation = allocationDiagnostics(its);
      process.stdout.write(`${JSON.stringify(line)}\n`);
      const s = line.samples_to_target as { median: number | null; uniform_over_this: number | null };
      const st = line.step_to_target as { median: number | null; uniform_over_this: number | null };
      table.push(
        `${regime.padEnd(11)} ${method.padEnd(7)} ${strategy.padEnd(11)} final ${String((line.final_accuracy as { mean: number }).mean).padEnd(6)} responses-to-${round(target)} ${String(s.median ?? "never").padStart(8)} (x${s.uniform_over_this ?? "-"})  steps ${String(st.median ?? "never").padStart(5)} (x${st.uniform_over_this ?? "-"})  gradnorm ${(line.overhead as { gradnorm_time_share: number }).gradnorm_time_share}`,
      );
    }
  }
}
process.stdout.write(`\n${table.join("\n")}\n`);

/**
 * Why an allocation can or cannot matter, from the per-prompt estimates the
 * strategy allocated on: the share of prompts whose acceptance rate was 0, 1
 * or in between, how much the gradient norms vary among prompts with p > 0
 * (coefficient of variation: near 0 means G_i adds nothing to p_i), and the
 * largest share of an iteration's budget one prompt received.
 */
function allocationDiagnostics(its: readonly IterationRecord[]): Record<string, number | null> {
  let zero = 0;
  let one = 0;
  let mid = 0;
  const cvs: number[] = [];
  let maxShare = 0;
  for (const it of its) {
    const { p, G, n } = it.allocation;
    for (const x of p) {
      if (x === 0) zero++;
      else if (x === 1) one++;
      else mid++;
    }
    const g = G.filter((_, i) => (p[i] ?? 0) > 0 && Number.isFinite(G[i]));
    if (g.length >= 2) {
      const mean = g.reduce((a, b) => a + b, 0) / g.length;
      const sd = Math.sqrt(g.reduce((a, b) => a + (b - mean) ** 2, 0) / (g.length - 1));
      if (mean > 0) cvs.push(sd / mean);
    }
    const total = n.reduce((a, b) => a + b, 0);
    if (total > 0) maxShare = Math.max(maxShare, Math.max(...n) / total);
  }
  const all = Math.max(1, zero + one + mid);
  return {
    p_zero_share: round(zero / all),
    p_one_share: round(one / all),
    p_between_share: round(mid / all),
    g_cv_median: cvs.length ? round(median(cvs)) : null,
    max_prompt_budget_share: round(maxShare),
  };
}

async function isFinished(runDir: string, iterations: number): Promise<boolean> {
  const its = readRun(runDir).iterations;
  return its.length > 0 && (its[its.length - 1] as IterationRecord).iter >= iterations;
}
