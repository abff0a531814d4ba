/**
 * Test accuracy during training, through the eval harness: k samples per
 * test problem, each problem on its own fixed seed, so every run and every
 * evaluation point draws the same random numbers (common random numbers:
 * differences between runs are the policies', not the dice's). The test set
 * brings its template, chat format and grader: the suite's raw prompts and
 * exact match, or a dataset's paper template and the math verifier.
 */
import { evaluateProblems, type ProblemRecord, summarizeSet } from "../eval/index.js";
import type { Sampler } from "../rollout/index.js";
import type { ProgressBar } from "../util/progress.js";
import type { TestSet } from "./prompts.js";

export interface TestEvalOptions {
  k: number;
  temperature: number;
  maxNewTokens: number;
  seed: number;
}

export interface TestEvalResult {
  accuracy: number;
  ci: [number, number];
  byLevel: Record<string, number>;
  /** Per-problem mean correctness, in problem order. */
  perProblem: number[];
  /** Every problem's record (responses, verdicts), in evaluation order. */
  records: ProblemRecord[];
}

export async function evaluateTestSet(sampler: Sampler, test: TestSet, o: TestEvalOptions, progress?: ProgressBar): Promise<TestEvalResult> {
  const records = await evaluateProblems({
    sampler,
    set: test.set,
    problems: test.problems,
    settings: { k: o.k, temperature: o.temperature, topP: 1, topK: 0, maxTokens: o.maxNewTokens, seed: o.seed, stop: [] },
    template: test.template,
    format: test.format,
    grader: test.grader,
    chunk: 256,
    ...(progress ? { progress } : {}),
  });
  const s = summarizeSet(test.set, records);
  const byId = new Map(records.map((r) => [r.id, r.avg]));
  return {
    accuracy: s.avg,
    ci: s.ci,
    byLevel: Object.fromEntries(Object.entries(s.byLevel).map(([level, v]) => [level, v.avg])),
    perProblem: test.problems.map((p) => byId.get(p.id) ?? Number.NaN),
    records,
  };
}
