/**
 * verify(gold, response): is the response's final answer equivalent to the
 * gold answer? Never throws, never runs past its deadline: a parse failure,
 * an unsupported construct or an expired deadline is a verdict.
 *
 * Asymmetry: the gold is trusted. It is read generously (a bare answer is
 * taken whole; a worked solution gives its last box), and its reading
 * decides how the response is read ("x = 3" gold accepts "3"; a percent gold
 * accepts the bare number; a relation gold accepts the equivalent set).
 * The response is untrusted: only its final answer counts (the first
 * extraction candidate that parses, never "any candidate that matches"),
 * several alternatives in place of one answer are a mismatch, and its size
 * and nesting are bounded. An answer that cannot be read exactly is never
 * correct: a box or final-answer statement that does not parse is the
 * answer (no other candidate stands in for it), an answer past a size bound
 * is refused ("too-large"), and no number is picked out of mathematics that
 * failed to parse.
 */
import { errorMessage, GvmError } from "../util/errors.js";
import { defaultLogger } from "../util/log.js";
import { print, type Node } from "./syntax/ast.js";
import { Comparer, type CompareRule } from "./compare.js";
import { armDeadline, checkDeadlineNow, DeadlineExceeded, restoreDeadline } from "./deadline.js";
import { candidateStream, goldCandidates, type AnswerSource, type Candidate } from "./syntax/extract.js";
import { normalizeAnswer } from "./syntax/normalize.js";
import { AnswerParseError, AnswerTooLarge, NumericDomainError } from "./errors.js";
import { parseMath } from "./syntax/parse.js";

export interface VerifyOptions {
  /** Wall-clock bound for one call, in milliseconds (default 1000). */
  readonly timeoutMs?: number;
  /** Decimal places to which float answers must agree (default 6). */
  readonly floatDigits?: number;
  /** Relative tolerance for floats of large magnitude (default 1e-9). */
  readonly floatRelTol?: number;
  /** Variables must match by name (default true); false matches them by position. */
  readonly strict?: boolean;
  /** Let a set-valued gold match an equivalent relation in the response (default false). */
  readonly allowSetRelationComp?: boolean;
}

export type VerifyReason = CompareRule | "mismatch" | "undecided" | "too-large" | "no-answer" | "unparsable" | "gold-unparsable" | "timeout" | "error";

export interface Verdict {
  readonly correct: boolean;
  /** The response's final answer as found, or null when none was found. */
  readonly extracted: string | null;
  /** Canonical forms that were compared (null when not parsed). */
  readonly normalizedGold: string | null;
  readonly normalizedPred: string | null;
  /** The rule that decided, or why the check failed. */
  readonly reason: VerifyReason;
  /** Where the response's answer came from. */
  readonly source?: AnswerSource;
}

export const DEFAULT_TIMEOUT_MS = 1000;
const MAX_CANDIDATES = 8;
const GOLD_CACHE_SIZE = 512;

/** Why a reading has no tree. */
type Failure = "unparsable" | "too-large";

/** One reading of an answer: its text and, when it parses, its tree. */
interface Reading {
  readonly text: string;
  /** normalizeAnswer(text), for the identical-text shortcut. */
  readonly normalized: string;
  readonly node: Node | undefined;
  /** Set when node is undefined. */
  readonly failure?: Failure;
  /** print(node), the verdict's normalized form. */
  readonly printed: string | null;
}

const goldCache = new Map<string, Reading[] | null>();

/** Parses normalizeAnswer(text); a size bound gives "too-large", anything else that fails "unparsable". */
function tryParse(normalized: string, mode: Candidate["mode"]): { node: Node } | { failure: Failure } {
  if (normalized === "") return { failure: "unparsable" };
  try {
    return { node: parseMath(normalized, mode) };
  } catch (err) {
    if (err instanceof AnswerTooLarge) return { failure: "too-large" };
    if (err instanceof AnswerParseError || err instanceof NumericDomainError) return { failure: "unparsable" };
    throw err;
  }
}

/** TeX structure: a candidate containing it that fails to parse is mathematics we could not read, not prose. */
const STRUCTURE = /[\\{}^_&]/;

function overlaps(a: Candidate, b: Candidate): boolean {
  return a.start < b.end && b.start < a.end;
}

/**
 * A plain-text "1,22" is either the list 1, 22 or the decimal 1.22 (a
 * decimal comma); "1,234" is one thousand two hundred thirty-four. Both
 * readings of the ambiguous form are kept, the list first.
 */
const AMBIGUOUS_COMMA = /^\s*([-+]?)(\d+),(\d+)\s*(?:\\?%)?\s*$/;

function readingsOf(c: Candidate): Reading[] {
  const texts = [c.text];
  const m = c.mode === "plain" ? AMBIGUOUS_COMMA.exec(c.text) : null;
  if (m) {
    const [, , int = "", frac = ""] = m;
    const thousands = frac.length === 3 && int.length <= 3 && !int.startsWith("0");
    if (!thousands) texts.push(c.text.replace(",", "."));
  }
  return texts.map((text) => {
    const normalized = normalizeAnswer(text);
    const parsed = tryParse(normalized, c.mode);
    if ("failure" in parsed) return { text, normalized, node: undefined, failure: parsed.failure, printed: null };
    return { text, normalized, node: parsed.node, printed: print(parsed.node) };
  });
}

function parseGold(gold: string): Reading[] | null {
  const cached = goldCache.get(gold);
  if (cached !== undefined) return cached;
  const cands = goldCandidates(gold);
  let result: Reading[] | null = null;
  for (const c of cands.slice(0, MAX_CANDIDATES)) {
    const rs = readingsOf(c);
    if (rs.some((r) => r.node)) {
      result = rs;
      break;
    }
  }
  if (!result && cands[0]) result = readingsOf(cands[0]);
  if (goldCache.size >= GOLD_CACHE_SIZE) goldCache.delete(goldCache.keys().next().value as string);
  goldCache.set(gold, result);
  return result;
}

/** Forgets parsed golds (benchmarks use it to time cold parses). */
export function clearGoldCache(): void {
  goldCache.clear();
}

function resolved(options: VerifyOptions) {
  return {
    timeoutMs: options.timeoutMs ?? DEFAULT_TIMEOUT_MS,
    floatDigits: options.floatDigits ?? 6,
    floatRelTol: options.floatRelTol ?? 1e-9,
    strict: options.strict ?? true,
    allowSetRelationComp: options.allowSetRelationComp ?? false,
  };
}

function verdict(correct: boolean, reason: VerifyReason, extracted: string | null, gold: Reading | undefined, pred: Reading | undefined, source?: AnswerSource): Verdict {
  const normalizedGold = gold?.printed ?? null;
  const normalizedPred = pred?.printed ?? null;
  return source ? { correct, extracted, normalizedGold, normalizedPred, reason, source } : { correct, extracted, normalizedGold, normalizedPred, reason };
}

interface Answer {
  readonly candidate: Candidate;
  readonly readings: Reading[];
}

/**
 * The response's answer: its first candidate that parses, never "whichever
 * matches", with three exceptions that keep an unreadable answer from being
 * replaced by a readable piece of it or of the text around it:
 *  - a marked answer (a box, "The final answer is X. I hope it is
 *    correct.") that does not parse is the answer;
 *  - an answer past a size bound is the answer (refused as too large);
 *  - a math span, number or fraction that lies inside a failed candidate
 *    with TeX structure in it (a limit, an integral) is skipped: "2" is not
 *    the answer of "\lim_{x \to 2} x^2". Prose inside dollars ("$? about
 *    1$") is not structure, and still yields its number.
 * With no candidate parsing, the first failure with structure (else the
 * first candidate) is reported.
 */
function responseAnswer(response: string): Answer | undefined {
  let firstFailed: Answer | undefined;
  let firstUnread: Answer | undefined;
  const unread: Candidate[] = [];
  let tried = 0;
  for (const c of candidateStream(response)) {
    const readings = readingsOf(c);
    if (readings.some((r) => r.node)) {
      const inside = (c.source === "math" || c.source === "number") && unread.some((f) => overlaps(f, c));
      if (!inside) return { candidate: c, readings };
    } else {
      if (c.marked || readings.some((r) => r.failure === "too-large")) return { candidate: c, readings };
      firstFailed ??= { candidate: c, readings };
      if (STRUCTURE.test(c.text)) {
        firstUnread ??= { candidate: c, readings };
        unread.push(c);
      }
    }
    if (++tried >= MAX_CANDIDATES) break;
  }
  return firstUnread ?? firstFailed;
}

/** Checks a response against a gold answer. Always returns within the deadline (plus a few ms). */
export function verify(gold: string, response: string, options: VerifyOptions = {}): Verdict {
  const opts = resolved(options);
  // the internal deadline leaves room for the last uninterruptible step and the unwinding
  const previous = armDeadline(Math.max(1, opts.timeoutMs * 0.85 - 5));
  // parse failures and undefined values travel as exceptions that never leave this call: skip their stack traces
  const stackLimit = Error.stackTraceLimit;
  Error.stackTraceLimit = 0;
  let extracted: string | null = null;
  let source: AnswerSource | undefined;
  try {
    const golds = parseGold(String(gold));
    if (!golds || golds.length === 0) return verdict(false, "gold-unparsable", null, undefined, undefined);
    const g0 = golds[0] as Reading;
    checkDeadlineNow();
    const answer = responseAnswer(String(response));
    if (!answer) return verdict(false, "no-answer", null, g0, undefined);
    const { candidate: used, readings: preds } = answer;
    extracted = used.text;
    source = used.source;
    let first: Verdict | undefined;
    for (const g of golds) {
      for (const p of preds) {
        let v: Verdict;
        // text past the size bound may be a cut piece (extract.ts cuts long scans past that bound): never "identical"
        if (p.failure === "too-large") v = verdict(false, "too-large", extracted, g, p, source);
        else if (g.normalized !== "" && g.normalized === p.normalized) v = verdict(true, "identical", extracted, g, p, source);
        else if (!g.node) v = verdict(false, "gold-unparsable", extracted, g, p, source);
        else if (!p.node) v = verdict(false, p.failure ?? "unparsable", extracted, g, p, source);
        else {
          const cmp = new Comparer(opts).compare(g.node, p.node);
          v = verdict(cmp.equal, cmp.rule, extracted, g, p, source);
        }
        if (v.correct) return v;
        first ??= v;
      }
    }
    return first as Verdict;
  } catch (err) {
    if (err instanceof DeadlineExceeded) return verdict(false, "timeout", extracted, undefined, undefined, source);
    defaultLogger().debug(`verify: internal error: ${errorMessage(err)}`);
    return verdict(false, "error", extracted, undefined, undefined, source);
  } finally {
    Error.stackTraceLimit = stackLimit;
    restoreDeadline(previous);
  }
}

/** Misuse of the verifier API (mismatched array lengths). */
export class VerifyInputError extends GvmError {}

/** 1 for a correct response, 0 otherwise: the reward shape RAFT and GRPO use. */
export type RewardFunction = (responses: readonly string[], golds: readonly string[]) => number[];

/** A reward function over parallel arrays of responses and golds (same length). */
export function makeRewardFunction(options: VerifyOptions = {}): RewardFunction {
  return (responses, golds) => {
    if (responses.length !== golds.length) {
      throw new VerifyInputError(`reward: ${responses.length} responses but ${golds.length} golds; they must pair up one to one`);
    }
    return responses.map((r, i) => (verify(golds[i] as string, r, options).correct ? 1 : 0));
  };
}
