/**
 * `npm run bench:warmstart [-- --seeds 0,1,2,3,4 --regime natural --k 8 --out DIR]`
 *
 * The experiment preset's warm start (src/train/presets.ts) for each seed,
 * and what RL has to work with: sampled test accuracy at temperature 1
 * (pass@1 = avg@k), pass@k (the headroom: what the policy can do some of
 * the time), greedy accuracy (what it does at its mode), the mean token
 * entropy of its own sampled responses, each per level, and the seconds the
 * warm start took (0 when it came from the cache in DIR/.cache).
 *
 * One JSON object per seed, then one with the spread over seeds.
 */
import { parseArgs } from "node:util";
import { summarizeSet } from "../src/eval/index.js";
import { ByteTokenizer, type LlamaModel, packSequences, type PromptResponse } from "../src/model/index.js";
import { LocalSampler, type SampledResponse } from "../src/rollout/index.js";
import * as T from "../src/tensor/index.js";
import { experimentConfig, REGIMES, type Regime } from "../src/train/presets.js";
import { suitePromptSource } from "../src/train/prompts.js";
import { evaluateTestSet } from "../src/train/testeval.js";
import { buildTaskSuite } from "../src/train/trainer.js";
import { warmStart } from "../src/train/warmstart.js";
import { defaultLogger } from "../src/util/log.js";
import { mean } from "../src/util/stats.js";

const { values } = parseArgs({
  options: {
    seeds: { type: "string", default: "0,1,2,3,4" },
    regime: { type: "string", default: "natural" },
    k: { type: "string", default: "8" },
    out: { type: "string", default: "runs/bench-gvm" },
  },
});
const seeds = values.seeds.split(",").map(Number);
const regime = values.regime as Regime;
if (!REGIMES.includes(regime)) throw new Error(`--regime must be one of ${REGIMES.join(", ")}`);
const k = Number(values.k);
const r3 = (x: number) => Math.round(x * 1000) / 1000;
const levels = (byLevel: Record<string, number>) => Object.fromEntries(Object.entries(byLevel).map(([l, v]) => [l, r3(v)]));

/** Mean entropy (nats) of the policy's next-token distribution over the response tokens it sampled. */
function meanEntropy(model: LlamaModel, items: readonly PromptResponse[], padId: number): number {
  let sum = 0;
  let count = 0;
  for (let i = 0; i < items.length; i += 128) {
    const chunk = items.slice(i, i + 128);
    const packed = packSequences(chunk, padId);
    const ent = T.noGrad(() => T.tidy(() => T.entropyOf(model.forward(packed.ids, packed.B, packed.T))));
    for (let j = 0; j < ent.length; j++) {
      sum += (ent[j] as number) * (packed.mask[j] as number);
      count += packed.mask[j] as number;
    }
  }
  return sum / Math.max(1, count);
}

const rows: Array<{ pass1: number; passK: number; greedy: number }> = [];
for (const seed of seeds) {
  const c = experimentConfig({ method: "raftpp", strategy: "uniform", regime, seed, out: values.out });
  const suite = buildTaskSuite(c.suite);
  const tok = new ByteTokenizer();
  const t0 = performance.now();
  const warm = warmStart(c, suite, tok, defaultLogger());
  const seconds = warm.cached ? 0 : (performance.now() - t0) / 1000;
  const test = suitePromptSource(c.suite.regime, suite).test;
  const sampler = new LocalSampler(warm.model, tok, { batchSize: c.sampler.batchSize });
  const sampled = await evaluateTestSet(sampler, test, { k, temperature: 1, maxNewTokens: c.rl.maxNewTokens, seed: c.eval.seed });
  const greedy = await evaluateTestSet(sampler, test, { k: 1, temperature: 0, maxNewTokens: c.rl.maxNewTokens, seed: c.eval.seed });
  const summary = summarizeSet(test.set, sampled.records);
  const passK = summary.pass[String(k)] ?? Number.NaN;
  // Entropy over one sampled response per test problem, as RL's first rollouts would see it.
  const firsts = await sampler.sample(test.problems.map((p, i) => ({ prompt: p.question, n: 1, seed: c.eval.seed + i })), { temperature: 1, topP: 1, topK: 0, maxNewTokens: c.rl.maxNewTokens });
  const items = test.problems.map((p, i) => ({ prompt: sampler.promptTokens(p.question), response: ((firsts[i] as SampledResponse[])[0] as SampledResponse).tokens }));
  const entropy = meanEntropy(warm.model, items, tok.padId);
  rows.push({ pass1: sampled.accuracy, passK, greedy: greedy.accuracy });
  process.stdout.write(
    `${JSON.stringify({ seed, regime, warm_start_seconds: Math.round(seconds), pass1: r3(sampled.accuracy), ci95: sampled.ci.map(r3), [`pass${k}`]: r3(passK), greedy: r3(greedy.accuracy), token_entropy_nats: r3(entropy), pass1_by_level: levels(sampled.byLevel), greedy_by_level: levels(greedy.byLevel) })}\n`,
  );
}const pass1 = rows.map((r) => r.pass1);
process.stdout.write(
  `${JSON.stringify({ summary: true, seeds, pass1_mean: r3(mean(pass1)), pass1_range: [r3(Math.min(...pass1)), r3(Math.max(...pass1))], pass1_max_deviation_from_mean: r3(Math.max(...pass1.map((x) => Math.abs(x - mean(pass1))))), [`pass${k}_minus_pass1_mean`]: r3(mean(rows.map((r) => r.passK - r.pass1))), greedy_mean: r3(mean(rows.map((r) => r.greedy))) })}\n`,
);
