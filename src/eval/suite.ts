/**
 * The built-in arithmetic suite as an evaluation set: its test split, each
 * problem carrying its difficulty level, prompted exactly as in training
 * (the raw "Q: ...\n" prompt, no system prompt or instruction) and graded
 * by exact match of the last \boxed{}, the suite's own reward rule.
 */
import { buildSuite, type SuiteOptions } from "../tasks/index.js";
import type { EvalProblem } from "./benchmarks.js";
import { exactMatchGrader } from "./grade.js";
import type { PromptTemplate } from "./prompt.js";
import type { EvalSet } from "./store.js";

export const SUITE_SET = "suite";

/** The question is the suite's prompt as is. */
export const SUITE_TEMPLATE: PromptTemplate = { system: null, instruction: "", chat: "raw" };

/** Test problems of the suite built from `options` (only the test split is generated). */
export function suiteProblems(options: Partial<Pick<SuiteOptions, "seed" | "testSize" | "testMix">> = {}): EvalProblem[] {
  const suite = buildSuite({ ...options, trainSize: 0 });
  return suite.test.map((p) => ({ id: p.id, question: p.prompt, gold: p.answer, level: String(p.level) }));
}

export function suiteSet(options: Partial<Pick<SuiteOptions, "seed" | "testSize" | "testMix">> = {}): EvalSet {
  return { name: SUITE_SET, problems: suiteProblems(options), grader: exactMatchGrader, template: SUITE_TEMPLATE };
}
