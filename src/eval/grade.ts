/**
 * Graders turn (gold, response) pairs into verdicts: correct or not, the
 * extracted final answer, a normalised key for majority voting, and the
 * reason. Math benchmarks go through the verifier; the built-in suite uses
 * its exact-match rule (the same one its RL reward uses).
 */
import { extractLastBoxed } from "../tasks/index.js";
import { normalizeAnswer, verify, type Verdict, type VerifierPool, type VerifyOptions } from "../verify/index.js";

export interface GradeItem {
  gold: string;
  response: string;
}

export interface GradeVerdict {
  correct: boolean;
  /** The response's final answer as found, or null. */
  extracted: string | null;
  /** What majority voting compares (a canonical form when there is one), or null when no answer was found. */
  key: string | null;
  /** Why: the verifier's deciding rule or failure ("mismatch", "no-answer", "timeout", ...). */
  reason: string;
}

export interface Grader {
  readonly name: string;
  grade(items: readonly GradeItem[]): Promise<GradeVerdict[]>;
}

/**
 * The math verifier: equivalence of final answers (bounded time per check).
 * With a pool the checks run on its worker threads; the caller owns (and
 * closes) the pool.
 */
export function mathGrader(options: VerifyOptions = {}, pool?: VerifierPool): Grader {
  const toGrade = (v: Verdict): GradeVerdict => ({
    correct: v.correct,
    extracted: v.extracted,
    key: v.extracted === null ? null : (v.normalizedPred ?? normalizeAnswer(v.extracted)),
    reason: v.reason,
  });
  return {
    name: "math-verify",
    async grade(items) {
      const verdicts = pool ? await pool.verifyAll(items, options) : items.map(({ gold, response }) => verify(gold, response, options));
      return verdicts.map(toGrade);
    },
  };
}

/** Exact match of the last \boxed{} with the gold (the built-in suite's rule). */
export const exactMatchGrader: Grader = {
  name: "exact-match",
  async grade(items) {
    return items.map(({ gold, response }) => {
      const got = extractLastBoxed(response);
      if (got === null) return { correct: false, extracted: null, key: null, reason: "no-answer" };
      const correct = got.trim() === gold.trim();
      return { correct, extracted: got, key: got.trim(), reason: correct ? "exact" : "mismatch" };
    });
  },
};
