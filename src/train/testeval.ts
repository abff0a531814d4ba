/**
 * Test accuracy on the built-in suite during training, through the eval
 * harness: k samples per test problem, each problem on its own fixed seed,
 * so every run and every evaluation point draws the same random numbers
 * (common random numbers: differences between runs are the policies', not
 * the dice's).
 */
import { evaluateProblems, exactMatchGrader, SUITE_SET, SUITE_TEMPLATE, summarizeSet } from "../eval/index.js";
import type { Sampler } from "../model/index.js";
import type { SuiteProblem } from "../tasks/index.js";
import type { ProgressBar } from "../util/progress.js";

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

export async function evaluateSuite(sampler: Sampler, problems: readonly SuiteProblem[], o: SuiteEvalOptions, progress?: ProgressBar): Promise<SuiteEvalResult> {
  const records = await evaluateProblems({
    sampler,
    set: SUITE_SET,
    problems: problems.map((p) => ({ id: p.id, question: p.prompt, gold: p.answer, level: String(p.level) })),
    settings: { k: o.k, temperature: o.temperature, topP: 1, topK: 0, maxTokens: o.maxNewTokens, seed: o.seed, stop: [] },
    template: SUITE_TEMPLATE,
    grader: exactMatchGrader,
    chunk: 256,
    ...(progress ? { progress } : {}),
  });
  const s = summarizeSet(SUITE_SET, records);
  const byId = new Map(records.map((r) => [r.id, r.avg]));
  return {
    accuracy: s.avg,
    ci: s.ci,
    byLevel: Object.fromEntries(Object.entries(s.byLevel).map(([level, v]) => [level, v.avg])),
    perProblem: problems.map((p) => byId.get(p.id) ?? Number.NaN),
  };
}
