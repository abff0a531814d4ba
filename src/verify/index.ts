/**
 * The math answer verifier: extraction of a final answer from a
 * chain-of-thought response, normalization, parsing and equivalence with a
 * gold answer in bounded time. See docs/verifier.md.
 */
export { verify, makeRewardFunction, clearGoldCache, VerifyInputError, DEFAULT_TIMEOUT_MS, type Verdict, type VerifyOptions, type VerifyReason, type RewardFunction } from "./verify.js";
export { extractAnswer, extractCandidates, candidateStream, goldCandidates, type Candidate, type AnswerSource } from "./extract.js";
export { VerifierPool, verifyBatch, makePooledRewardFunction, VerifierPoolError, type Pair, type PoolOptions } from "./batch.js";
export { parseMath, AnswerParseError, AnswerTooLarge } from "./parse.js";
export { NumericDomainError, ExactTooLarge } from "./errors.js";
export { normalizeAnswer } from "./normalize.js";
export { compareAnswers, type CompareOptions, type Comparison } from "./compare.js";
export type { Node } from "./ast.js";
