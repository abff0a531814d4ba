/**
 * Test accuracy on the built-in suite during training: k samples per test
 * problem at a fixed seed per problem, so every run and every evaluation
 * point draws the same random numbers (common random numbers: differences
 * between runs are the policies', not the dice's).
 */
import { meanWithCi } from "../eval/metrics.js";
import type { Sampler } from "../model/index.js";
import { exactMatchReward, type SuiteProblem } from "../tasks/index.js";
import { Rng } from "../util/rng.js";

export interface SuiteEvalOptions {
  k: number;
  temperature: number;
  maxNewTokens: number;
  seed: number;
}

export interface SuiteEvalResult {
  accuracy: number;
  ci: [number, number];
  byLevel: Record<string, number>;
  /** Per-problem mean correctness, in problem order. */
  perProblem: number[];
}

export async function evaluateSuite(sampler: Sampler, problems: readonly SuiteProblem[], o: SuiteEvalOptions, onProgress?: (done: number, total: number) => void): Promise<SuiteEvalResult> {
  const requests = problems.map((p, i) => ({ prompt: p.prompt, n: o.k, seed: Rng.derive(o.seed, i).u32() }));
  const out = await sampler.sample(requests, { temperature: o.temperature, topP: 1, topK: 0, maxNewTokens: o.maxNewTokens }, onProgress);
  const perProblem = problems.map((p, i) => {
    const rs = out[i] ?? [];
    return rs.reduce((a, r) => a + exactMatchReward(r.text, p.answer), 0) / Math.max(1, rs.length);
  });
  const levels = new Map<number, number[]>();
  problems.forEach((p, i) => {
    const list = levels.get(p.level) ?? [];
    list.push(perProblem[i] as number);
    levels.set(p.level, list);
  });
  const byLevel: Record<string, number> = {};
  for (const [level, xs] of [...levels].sort((a, b) => a[0] - b[0])) byLevel[String(level)] = xs.reduce((a, b) => a + b, 0) / xs.length;
  const s = meanWithCi(perProblem);
  return { accuracy: s.mean, ci: [s.lo, s.hi], byLevel, perProblem };
}
