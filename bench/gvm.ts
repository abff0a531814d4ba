/**
 * `npm run bench:gvm [-- --methods raftpp,grpo --strategies uniform,gvm,... --seeds 0,1,2 --regimes natural,paper-like --out DIR --set section.field=value ... --from CHECKPOINT]`
 *
 * Every learner with every allocation strategy over several seeds in both
 * regimes, on the experiment preset (src/train/presets.ts). Runs live in
 * DIR and are resumable: an interrupted benchmark continues where it stopped.
 *
 * Seeds are paired: a seed fixes the warm start, the prompt order and the
 * evaluation's random numbers (common random numbers) for every strategy.
 * The target of a (regime, learner, seed) is fixed by rule before any
 * comparison: that seed's uniform run's final test accuracy (the paper's
 * "reach the baseline's final accuracy"); seeds where uniform ended no
 * higher than it started have nothing to reach and are left out of the
 * ratios (and counted). For each strategy it prints update steps, generated
 * responses and wall-clock to the target (median over seeds, and the ratio
 * uniform / strategy per seed: median, min, max, and their geometric mean
 * with a 95% t-interval of log ratios), the area under accuracy against
 * generated tokens up to each seed's common budget (the least any strategy
 * generated; a mean accuracy) and the final accuracy, each with its paired
 * difference to uniform and a 95% t-interval over seeds, the
 * overhead share (time in gradient-norm passes, responses beyond the
 * budget) of the iteration wall-clock, the share of trained responses with a
 * non-zero advantage (median over seeds), and allocation diagnostics.
 *
 * --from starts every run of seed s from a checkpoint instead of the warm
 * start, "{seed}" in the path replaced by s: a later phase of training,
 * e.g. each seed's own uniform run's last checkpoint, where a policy has
 * learned the easy prompts and many prompts sit at p = 0 or 1.
 *
 * One JSON object per line per (regime, method, strategy), then a table.
 */
import { existsSync } from "node:fs";
import { join } from "node:path";
import { parseArgs } from "node:util";
import { STRATEGY_NAMES } from "../src/gvm/index.js";
import { costToTarget, meanAccuracyUpTo } from "../src/report/compare.js";
import { readRun, type RunData } from "../src/report/runs.js";
import { parseOverride } from "../src/util/config.js";
import { mean, median, sampleSd, tInterval } from "../src/util/stats.js";
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
    set: { type: "string", multiple: true, default: [] },
    from: { type: "string" },
  },
});

const methods = values.methods.split(",") as Method[];
for (const m of methods) if (!METHODS.includes(m)) throw new Error(`unknown method ${m}; known: ${METHODS.join(", ")}`);
const strategies = values.strategies.split(",");
if (!strategies.includes("uniform")) strategies.unshift("uniform");
const seeds = values.seeds.split(",").map(Number);
const regimes = values.regimes.split(",") as Regime[];
// --set section.field=value changes the preset for every run (e.g. a smaller
// pool revisited over several epochs); the runs then differ from docs/training.md.
const overrides: Record<string, unknown> = Object.fromEntries(values.set.map((o) => {
  const { path, value } = parseOverride(o);
  return [path.join("."), value];
}));
if (values.iterations) overrides["rl.iterations"] = Number(values.iterations);

const round = (x: number | null, d = 3) => (x === null || !Number.isFinite(x) ? null : Math.round(x * 10 ** d) / 10 ** d);
const table: string[] = [];

for (const regime of regimes) {
  for (const method of methods) {
    const runs = new Map<string, RunData[]>();
    for (const strategy of strategies) {
      const list: RunData[] = [];
      for (const seed of seeds) {
        const from = values.from === undefined ? {} : { "policy.kind": "hf", "policy.path": values.from.replaceAll("{seed}", String(seed)) };
        const c = experimentConfig({ method, strategy, regime, seed, out: values.out, overrides: { ...overrides, ...from } });
        if (!existsSync(join(c.runDir, "metrics.jsonl")) || !(await isFinished(c.runDir, c.rl.iterations))) {
          process.stderr.write(`\n== ${regime} ${method}/${strategy} seed ${seed}\n`);
          await train(c);
        }
        list.push(readRun(c.runDir));
      }
      runs.set(strategy, list);
    }
    // Seeds are paired: a seed fixes the warm start, the prompt order and the
    // evaluation's random numbers for every strategy, so each seed has its
    // own target (its uniform run's final accuracy) and its own ratio.
    const uniform = runs.get("uniform") as RunData[];
    const final = (r: RunData) => r.evals[r.evals.length - 1]?.accuracy ?? Number.NaN;
    const initial = (r: RunData) => r.evals[0]?.accuracy ?? Number.NaN;
    const targets = uniform.map(final);
    // A seed whose uniform run ended no higher than it started has no
    // improvement to reach: every strategy "reaches" it at step 0.
    const informative = uniform.map((r) => final(r) > initial(r));
    // Equal budget in tokens: per seed, the least any strategy generated by its end.
    const tokensAt = (r: RunData) => r.evals[r.evals.length - 1]?.tokens ?? Number.NaN;
    const commonTokens = seeds.map((_, i) => Math.min(...[...runs.values()].map((l) => tokensAt(l[i] as RunData))));
    const uniformAuc = uniform.map((r, i) => meanAccuracyUpTo(r.evals, "tokens", commonTokens[i] as number));
    for (const [strategy, list] of runs) {
      const line: Record<string, unknown> = {
        regime,
        method,
        strategy,
        seeds: list.length,
        targets: targets.map((t) => round(t)),
        seeds_where_uniform_improved: `${informative.filter(Boolean).length}/${list.length}`,
      };
      for (const axis of ["step", "samples", "tokens", "wallclock"] as const) {
        const costs: (number | null)[] = [];
        const ratios: number[] = [];
        list.forEach((r, i) => {
          if (!informative[i]) return;
          const mine = costToTarget(r.evals, targets[i] as number, axis);
          const base = costToTarget((uniform[i] as RunData).evals, targets[i] as number, axis);
          costs.push(mine);
          if (mine !== null && mine > 0 && base !== null) ratios.push(base / mine);
        });
        const reached = costs.filter((x): x is number => x !== null);
        // Ratios multiply, so their interval is a t-interval of log ratios
        // (a geometric mean), over the seeds that reached the target.
        const logCi = ratios.length >= 2 ? tInterval(ratios.map(Math.log)) : null;
        line[`${axis}_to_target`] = {
          median: reached.length * 2 > costs.length ? round(median(reached), 1) : null,
          reached: `${reached.length}/${costs.length}`,
          uniform_over_this: {
            median: ratios.length ? round(median(ratios), 2) : null,
            min: ratios.length ? round(Math.min(...ratios), 2) : null,
            max: ratios.length ? round(Math.max(...ratios), 2) : null,
            geo_mean: ratios.length ? round(Math.exp(mean(ratios.map(Math.log))), 2) : null,
            ci95: logCi ? [round(Math.exp(logCi[0]), 2), round(Math.exp(logCi[1]), 2)] : null,
          },
        };
      }
      // What RL itself bought: each seed's gain over its warm start, overall and per level.
      const gains = list.map((r) => final(r) - initial(r));
      const gci = gains.length >= 2 ? tInterval(gains) : [Number.NaN, Number.NaN];
      const levelKeys = Object.keys(list[0]?.evals[0]?.byLevel ?? {});
      const meanLevel = (pick: (r: RunData) => EvalRecord | undefined, l: string) => round(list.reduce((a, r) => a + (pick(r)?.byLevel[l] ?? Number.NaN), 0) / list.length);
      line.gain = {
        start_per_seed: list.map((r) => round(initial(r))),
        final_per_seed: list.map((r) => round(final(r))),
        mean: round(mean(gains)),
        ci95: [round(gci[0] as number), round(gci[1] as number)],
        seeds_below_start: gains.filter((g) => g < 0).length,
        by_level: Object.fromEntries(levelKeys.map((l) => [l, { start: meanLevel((r) => r.evals[0], l), final: meanLevel((r) => r.evals[r.evals.length - 1], l) }])),
      };
      const finals = list.map(final);
      const diffs = finals.map((f, i) => f - final(uniform[i] as RunData));
      const ci = diffs.length >= 2 ? tInterval(diffs) : [Number.NaN, Number.NaN];
      line.final_accuracy = {
        mean: round(mean(finals)),
        per_seed: finals.map((x) => round(x)),
        minus_uniform: { mean: round(mean(diffs)), ci95: [round(ci[0] as number), round(ci[1] as number)] },
      };
      // Area under accuracy-vs-tokens up to the seed's common budget, as a mean accuracy, and its paired difference to uniform.
      const auc = list.map((r, i) => meanAccuracyUpTo(r.evals, "tokens", commonTokens[i] as number));
      const aucDiffs = auc.flatMap((a, i) => (a === null || uniformAuc[i] === null ? [] : [a - (uniformAuc[i] as number)]));
      const aucCi = aucDiffs.length >= 2 ? tInterval(aucDiffs) : [Number.NaN, Number.NaN];
      const aucSeen = auc.filter((a): a is number => a !== null);
      const aucTokens = {
        mean: aucSeen.length ? round(mean(aucSeen)) : null,
        minus_uniform: { mean: aucDiffs.length ? round(mean(aucDiffs)) : null, ci95: [round(aucCi[0] as number), round(aucCi[1] as number)] },
      };
      line.auc_tokens = aucTokens;
      const its = list.flatMap((r) => r.iterations);
      const wall = its.reduce((a, r) => a + r.time.sampling + (r.time.scoring ?? 0) + r.time.gradNorms + r.time.update, 0);
      const gradTime = its.reduce((a, r) => a + r.time.gradNorms, 0);
      const budget = experimentConfig({ method, strategy, regime, seed: 0, out: values.out, overrides }).rl.budget;
      const extra = its.reduce((a, r) => a + Math.max(0, r.stage1Samples + r.stage2Samples - budget), 0);
      const generated = its.reduce((a, r) => a + r.stage1Samples + r.stage2Samples, 0);
      // Bookkeeping: an iteration's wall-clock outside its sampling, scoring,
      // gradient-norm and update phases (allocation, rewards, history), per
      // run, then the median over seeds.
      const bookkeeping = median(list.map((r) => bookkeepingShare(r.iterations)));
      const overhead = {
        gradnorm_time_share: round(gradTime / Math.max(wall, 1e-9)),
        bookkeeping_time_share: round(bookkeeping, 4),
        extra_responses_share: round(extra / Math.max(generated, 1)),
      };
      line.overhead = overhead;
      line.allocation = allocationDiagnostics(its);
      const moved = list.map((r) => nonzeroAdvantageShare(r.iterations)).filter((x): x is number => x !== null);
      const nonzeroAdvantage = moved.length ? round(median(moved)) : null;
      line.nonzero_advantage_share = nonzeroAdvantage;
      process.stdout.write(`${JSON.stringify(line)}\n`);
      const ratio = (axis: string) => {
        const r = (line[`${axis}_to_target`] as { uniform_over_this: { median: number | null; ci95: number[] | null } }).uniform_over_this;
        return r.median === null ? null : `${r.median}${r.ci95 ? ` [${r.ci95.join(", ")}]` : ""}`;
      };
      const fa = line.final_accuracy as { mean: number; minus_uniform: { mean: number; ci95: number[] } };
      const gain = line.gain as { mean: number; ci95: number[] };
      table.push(
        `${regime.padEnd(11)} ${method.padEnd(7)} ${strategy.padEnd(11)} gain ${String(gain.mean).padStart(6)} [${gain.ci95.join(", ")}]  final ${String(fa.mean).padEnd(6)} vs uniform ${String(fa.minus_uniform.mean).padStart(7)} [${fa.minus_uniform.ci95.join(", ")}]  auc ${aucTokens.minus_uniform.mean ?? "-"} [${aucTokens.minus_uniform.ci95.join(", ")}]  fewer responses x${ratio("samples") ?? "-"}  fewer tokens x${ratio("tokens") ?? "-"}  fewer steps x${ratio("step") ?? "-"}  gradnorm time ${overhead.gradnorm_time_share}  bookkeeping ${overhead.bookkeeping_time_share}  non-zero advantage ${nonzeroAdvantage ?? "-"}`,
      );
    }
  }
}
process.stdout.write(`\n${table.join("\n")}\n`);

/**
 * Share of a run's trained responses that moved the policy (non-zero
 * advantage), over its iterations; null for runs logged before it was counted.
 */
function nonzeroAdvantageShare(its: readonly IterationRecord[]): number | null {
  let trained = 0;
  let informative = 0;
  for (const it of its) {
    if (it.generation?.informative === undefined) return null;
    trained += it.generation.trained;
    informative += it.generation.informative;
  }
  return trained > 0 ? informative / trained : null;
}

/**
 * Share of a run's iteration wall-clock (each record's wallclock minus the
 * previous one's: evaluations are outside it) spent outside the timed phases.
 */
function bookkeepingShare(its: readonly IterationRecord[]): number {
  let wall = 0;
  let phases = 0;
  let prev = 0;
  for (const it of [...its].sort((a, b) => a.iter - b.iter)) {
    wall += it.wallclock - prev;
    prev = it.wallclock;
    phases += it.time.sampling + (it.time.scoring ?? 0) + it.time.gradNorms + it.time.update;
  }
  return wall > 0 ? Math.max(0, wall - phases) / wall : Number.NaN;
}

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
      const m = mean(g);
      if (m > 0) cvs.push(sampleSd(g) / m);
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
