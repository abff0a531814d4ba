/**
 * The math answer verifier: extraction of a final answer from a
 * chain-of-thought response, normalization, parsing and equivalence with a
 * gold answer in bounded time. See docs/verifier.md.
 *
 * One stack, each rung importing only those below it (src/layers.test.ts):
 * numbers/ (exact rationals, big floats, numeric functions), syntax/
 * (lexer, LaTeX parser, normalisation, answer extraction), evaluation/
 * (values, sets and intervals of parsed expressions), then comparison and
 * the entry points here (verify, the worker pool); errors and the time
 * budget are shared by all.
 */
export { verify, makeRewardFunction, clearGoldCache, VerifyInputError, DEFAULT_TIMEOUT_MS, type Verdict, type VerifyOptions, type VerifyReason, type RewardFunction } from "./verify.js";
export { extractAnswer, extractCandidates, candidateStream, goldCandidates, type Candidate, type AnswerSource } from "./syntax/extract.js";
export { VerifierPool, verifyBatch, makePooledRewardFunction, VerifierPoolError, type Pair, type PoolOptions } from "./batch.js";
export { parseMath, AnswerParseError, AnswerTooLarge } from "./syntax/parse.js";
export { NumericDomainError, ExactTooLarge } from "./errors.js";
export { normalizeAnswer } from "./syntax/normalize.js";
export { compareAnswers, type CompareOptions, type Comparison } from "./compare.js";
export type { Node } from "./syntax/ast.js";
