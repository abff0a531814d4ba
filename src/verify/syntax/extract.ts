/**
 * Finding the final answer in a chain-of-thought response. Candidates come
 * in priority tiers, and inside a tier the one that ends last wins:
 *   1. the last \boxed{} / \fbox{} (joined with earlier boxes when only a
 *      connective separates them: "\boxed{1} and \boxed{2}"), and
 *      "The final answer is X. I hope it is correct.";
 *   2. "final answer ... is X";
 *   3. "answer: X" / "the answer is X" (and the same phrase in a few other
 *      languages);
 *   4. the last math span ($...$, $$...$$, \(...\), \[...\]) or plain
 *      number or arithmetic expression ("2/3", "1,000.99", "25%").
 * verify() parses candidates in order and keeps the first that parses.
 * Every scan is linear in the length of the text; tier 4 looks at a bounded
 * window around the last digit, widened to take in the whole of a long
 * number or expression. No candidate is ever a cut piece of a longer one:
 * where a scan stops early it stops past MAX_PARSE_CHARS, so the piece is
 * refused as too large instead of read as a smaller number.
 */
import type { LexMode } from "./lexer.js";
import { repairText } from "./normalize.js";
import { MAX_PARSE_CHARS } from "./parse.js";

export type AnswerSource = "boxed" | "final-answer" | "answer-phrase" | "math" | "number" | "whole";

export interface Candidate {
  /** The answer text as written (normalizeAnswer is applied before parsing). */
  readonly text: string;
  /** "latex" for math spans and boxes, "plain" for numbers read from prose. */
  readonly mode: LexMode;
  readonly source: AnswerSource;
  /** Offset of the answer in the (repaired) text: with `end`, what later candidates may not be cut out of. */
  readonly start: number;
  /** Offset just past the answer in the (repaired) text, for ordering. */
  readonly end: number;
  /**
   * The response marks this as its final answer (a box, "The final answer
   * is X. I hope it is correct."): when it does not parse, the answer is
   * unreadable, and no other candidate stands in for it.
   */
  readonly marked: boolean;
}

interface Span {
  start: number;
  end: number;
  content: string;
}

const MAX_JOINED = 20;
const DISCOURSE = /\b(but|thus|so|then|therefore|hence|however|wait|actually|instead|rather|correction|no|not)\b/i;
/** Words between two boxes other than connectives and LaTeX spacing: more than two means prose, not a list. */
function proseWords(between: string): number {
  const words = between.replace(/\\[a-zA-Z]+/g, " ").match(/[A-Za-z]{3,}/g) ?? [];
  return words.filter((w) => !/^(and|or)$/i.test(w)).length;
}
const CONNECTIVE = /\b(and|or)\b|[,;]/i;

function isSpace(c: string | undefined): boolean {
  return c === " " || c === "\n" || c === "\t" || c === "\r";
}

/** The argument of a \boxed at `argStart`, searching no further than `limit`. */
function boxArgument(s: string, argStart: number, limit: number): { content: string; end: number; closed: boolean } {
  let i = argStart;
  while (i < limit && isSpace(s[i])) i++;
  if (s[i] !== "{") {
    // "\boxed 5": the next run of non-space characters
    let e = i;
    while (e < limit && !isSpace(s[e]) && s[e] !== "$") e++;
    return { content: s.slice(i, e), end: e, closed: true };
  }
  let depth = 0;
  for (let j = i; j < limit; j++) {
    const c = s[j];
    if (c === "\\") {
      j++;
      continue;
    }
    if (c === "{") depth++;
    else if (c === "}") {
      depth--;
      if (depth === 0) return { content: s.slice(i + 1, j), end: j + 1, closed: true };
    }
  }
  return { content: s.slice(i + 1, limit), end: limit, closed: false };
}

function lastBoxStart(s: string, before: number): { start: number; argStart: number } | undefined {
  const a = before > 0 ? s.lastIndexOf("\\boxed", before - 1) : -1;
  const b = before > 0 ? s.lastIndexOf("\\fbox", before - 1) : -1;
  if (a < 0 && b < 0) return undefined;
  return a > b ? { start: a, argStart: a + 6 } : { start: b, argStart: b + 5 };
}

/** The last box, joined with earlier boxes separated only by a short connective. */
export function lastBoxed(s: string): Candidate | undefined {
  const first = lastBoxStart(s, s.length);
  if (!first) return undefined;
  const arg = boxArgument(s, first.argStart, s.length);
  const contents = [arg.content.trim()];
  const end = arg.end;
  let leftStart = first.start;
  for (let n = 0; n < MAX_JOINED; n++) {
    const prev = lastBoxStart(s, leftStart);
    if (!prev) break;
    const parg = boxArgument(s, prev.argStart, leftStart);
    if (!parg.closed) break;
    const between = s.slice(parg.end, leftStart);
    const content = parg.content.trim();
    const close = between.length < 10 && !DISCOURSE.test(between);
    const listed = between.length < 70 && CONNECTIVE.test(between) && !DISCOURSE.test(between) && proseWords(between) <= 2 && content !== contents[0];
    if (!close && !listed) break;
    if (content !== contents[0]) contents.unshift(content);
    leftStart = prev.start;
  }
  const text = contents.filter((c) => c !== "").join(", ");
  if (text === "") return undefined;
  return { text, mode: "latex", source: "boxed", start: leftStart, end, marked: true };
}

/** All math spans in order, found in one linear pass. */
export function mathSpans(s: string): Span[] {
  const spans: Span[] = [];
  const exhausted = new Set<string>();
  const findClose = (close: string, from: number): number => {
    if (exhausted.has(close)) return -1;
    let j = s.indexOf(close, from);
    while (j >= 0 && close.startsWith("$") && s[j - 1] === "\\") j = s.indexOf(close, j + 1);
    if (j < 0) exhausted.add(close);
    return j;
  };
  let i = 0;
  while (i < s.length) {
    const c = s[i];
    if (c === "\\") {
      const d = s[i + 1];
      if (d === "(" || d === "[") {
        const close = d === "(" ? "\\)" : "\\]";
        const j = findClose(close, i + 2);
        if (j >= 0) {
          spans.push({ start: i, end: j + 2, content: s.slice(i + 2, j) });
          i = j + 2;
          continue;
        }
      }
      i += 2;
      continue;
    }
    if (c === "$") {
      if (s[i + 1] === "$") {
        const j = findClose("$$", i + 2);
        if (j >= 0) {
          spans.push({ start: i, end: j + 2, content: s.slice(i + 2, j) });
          i = j + 2;
          continue;
        }
        i += 2;
        continue;
      }
      const j = findClose("$", i + 1);
      if (j >= 0) {
        spans.push({ start: i, end: j + 1, content: s.slice(i + 1, j) });
        i = j + 1;
        continue;
      }
    }
    i++;
  }
  return spans;
}

const PERCENT_AFTER = /^\s*(?:\\?%|percentage\b|percent\b|pct\b)/i;

/** A math span with the spans joined to it by "and"/"or"/"," on its left, and a trailing percent sign. */
function joinSpans(s: string, spans: Span[], idx: number): Candidate {
  const last = spans[idx] as Span;
  // each part is a list of pieces: pieces of one expression split by a stray "$ $" are glued back
  const parts: string[][] = [[last.content.trim()]];
  let k = idx;
  while (k > 0 && parts.length < 6) {
    const prev = spans[k - 1] as Span;
    const between = s.slice(prev.end, spans[k]?.start ?? 0);
    const prevText = prev.content.trim();
    const first = parts[0] as string[];
    if (/^\s*$/.test(between) && (/[+\-*/=^(]$/.test(prevText) || /^[+\-*/=^)]/.test(first[0] ?? ""))) {
      first.unshift(prevText);
      k--;
      continue;
    }
    if (!/^\s*,?\s*(?:(?:and|or|\\text\{\s*(?:and|or)\s*\})\s*)?,?\s*$/i.test(between) || !/[,a-z]/i.test(between)) break;
    parts.unshift([prevText]);
    k--;
  }
  let text = parts
    .map((p) => p.join(" "))
    .filter((p) => p !== "")
    .join(", ");
  let end = last.end;
  const pct = PERCENT_AFTER.exec(s.slice(last.end, last.end + 20));
  if (pct) {
    text += "\\%";
    end += pct[0].length;
  }
  return { text, mode: "latex", source: "math", start: (spans[k] as Span).start, end, marked: false };
}

// a decimal exponent belongs to the number: without it "2e99999" would be read as 2
const NUMBER_RE = /(?<![A-Za-z0-9_.\\])(?:-?\d{1,3}(?:[ ,]\d{3})+(?:\.\d+)?|-?\d+(?:[.,]\d+)?|\.\d+)(?:[eE][-+]?\d+)?(?:\s*(?:%|percentage\b|percent\b|pct\b))?/gi;
const EXPR_CHARS = /[0-9.()+\-*/^×÷ ]/;
/** What a plain number or arithmetic expression is made of: the window widens over these. */
const NUMBER_CHARS = /[0-9.,()+\-*/^×÷ ]/;

/** The last number in the text, and the arithmetic expression ending with it ("2/3", "(1/2)*(4/3)"). */
function lastNumbers(s: string, limitEnd: number): Candidate[] {
  let last = limitEnd - 1;
  while (last >= 0 && !(s.charCodeAt(last) >= 48 && s.charCodeAt(last) <= 57)) last--;
  if (last < 0) return [];
  let runStart = last;
  while (runStart > 0 && /[0-9.]/.test(s[runStart - 1] as string)) runStart--;
  // the last digits close a TeX group, subscript or a power of a letter ("\sqrt{2}", "x_1", "x^2"): they are a piece of
  // a structure this scan cannot read, and an earlier number would not be the answer either
  const before = s[runStart - 1];
  if (before === "{" || before === "_" || (before === "^" && /[A-Za-z}]/.test(s[runStart - 2] ?? ""))) return [];
  // widen the window over a long number or expression so that none is cut short; one still longer than the
  // parser's bound is cut past that bound, so the piece is refused as too large rather than read as a smaller value
  let from = Math.max(0, last - 400);
  while (from > 0 && last - from <= 400 + MAX_PARSE_CHARS && NUMBER_CHARS.test(s[from - 1] as string)) from--;
  // the character before the window, when the widening stopped at it, is context for the regex's lookbehind ("AZYUK2A")
  const ctx = from > 0 && !NUMBER_CHARS.test(s[from - 1] as string) ? from - 1 : from;
  const window = s.slice(ctx, Math.min(s.length, last + 30));
  let best: RegExpExecArray | undefined;
  NUMBER_RE.lastIndex = 0;
  for (let m = NUMBER_RE.exec(window); m; m = NUMBER_RE.exec(window)) best = m;
  if (!best) return [];
  const numText = best[0].trim();
  const numStart = ctx + best.index;
  const numEnd = numStart + best[0].length;
  const out: Candidate[] = [];
  let k = numStart;
  while (k > from && EXPR_CHARS.test(s[k - 1] as string)) k--;
  let expr = s.slice(k, numEnd).trim();
  const count = (t: string, c: string): number => t.split(c).length - 1;
  while (expr.startsWith(")")) expr = expr.slice(1).trim();
  // an opening parenthesis of the surrounding prose, "(so 3/4", is not part of the expression
  while (expr.startsWith("(") && count(expr, "(") > count(expr, ")")) expr = expr.slice(1).trim();
  if (expr !== numText && count(expr, "(") === count(expr, ")") && /\d\s*[+\-*/^×÷]\s*[\d(.]/.test(expr)) {
    out.push({ text: expr, mode: "plain", source: "number", start: numEnd - expr.length, end: numEnd, marked: false });
  }
  out.push({ text: numText, mode: "plain", source: "number", start: numStart, end: numEnd, marked: false });
  return out;
}

/** Reads the answer that starts at `pos` (after "final answer is", "answer:"). */
function answerAt(s: string, pos: number, spans: Span[], source: AnswerSource): Candidate | undefined {
  let i = pos;
  while (i < s.length && (isSpace(s[i]) || s[i] === '"' || s[i] === "*" || s[i] === ":" || (s[i] === "\\" && s[i + 1] === '"'))) i += s[i] === "\\" ? 2 : 1;
  if (s.startsWith("\\boxed", i) || s.startsWith("\\fbox", i)) {
    const arg = boxArgument(s, i + (s.startsWith("\\boxed", i) ? 6 : 5), s.length);
    return { text: arg.content, mode: "latex", source, start: i, end: arg.end, marked: false };
  }
  const spanIdx = spans.findIndex((sp) => sp.start === i);
  if (spanIdx >= 0) {
    // include the spans joined after this one ("$12$ and $13$")
    let j = spanIdx;
    while (j + 1 < spans.length && j - spanIdx < 5) {
      const between = s.slice((spans[j] as Span).end, (spans[j + 1] as Span).start);
      const glued = /^\s*$/.test(between) && (/[+\-*/=^(]\s*$/.test((spans[j] as Span).content) || /^\s*[+\-*/=^)]/.test((spans[j + 1] as Span).content));
      if (!glued && !(/^\s*,?\s*(?:and|or)?\s*,?\s*$/i.test(between) && /[,a-z]/i.test(between))) break;
      j++;
    }
    const c = joinSpans(s, spans.slice(spanIdx, j + 1), j - spanIdx);
    return { ...c, source };
  }
  // plain text up to the end of the sentence; a sentence cut short is cut past the parser's bound, so that a long
  // number or expression is refused as too large rather than read in part
  let e = i;
  while (e < s.length && s[e] !== "\n" && !(s[e] === "." && (e + 1 >= s.length || isSpace(s[e + 1]))) && e - i <= MAX_PARSE_CHARS) e++;
  let sentence = s.slice(i, e);
  const hope = sentence.search(/\s*I hope/i);
  if (hope >= 0) sentence = sentence.slice(0, hope);
  sentence = sentence.replace(/[."*]+$/, "").trim();
  if (sentence === "") return undefined;
  const num = /^[-+(]?(?:\d[\d,. ]*|\.\d+)(?:[eE][-+]?\d+)?(?:\s*[+\-*/^×÷]\s*\(?[\d.]+\)?)*\s*(?:%|percent\b|pct\b)?/i.exec(sentence);
  if (num && /\d/.test(num[0])) {
    const rest = sentence.slice(num[0].length);
    // a number that runs into TeX ("2^{10}", "3}") is part of an expression, not the whole answer
    if (!/^\s*[\\{}^_]/.test(rest)) return { text: num[0].trim(), mode: "plain", source, start: i, end: i + num[0].length, marked: false };
  }
  if (isProse(sentence)) return undefined;
  if (sentence.includes("\\")) return { text: sentence, mode: "latex", source, start: i, end: i + sentence.length, marked: false };
  if (sentence.length <= 40) return { text: sentence, mode: "plain", source, start: i, end: i + sentence.length, marked: false };
  return undefined;
}

const MATH_WORDS = new Set(["sqrt", "sin", "cos", "tan", "cot", "sec", "csc", "log", "exp", "frac", "dfrac", "tfrac", "text", "mathrm", "infty", "cdot", "times", "left", "right", "boxed", "percent", "pct", "and", "pm", "mbox", "textbf", "mathbf", "begin", "end", "pmatrix", "bmatrix", "arcsin", "arccos", "arctan", "quad", "qquad", "circ", "leq", "geq", "neq", "approx", "cup", "cap", "sinh", "cosh", "tanh", "det", "gcd", "lcm", "max", "min", "mod", "pmod", "pi", "theta", "alpha", "beta", "gamma", "delta", "lambda", "omega", "sigma", "phi", "mu", "rho", "tau", "sum", "prod", "ldots", "cdots", "dots", "infinity", "matrix", "array"]);

/** Running prose (three or more words that are not LaTeX or math), not an answer. */
function isProse(text: string): boolean {
  const words = text.replace(/\\(?:text|mathrm|textbf|mbox)\{[^}]*\}/g, " ").match(/[A-Za-z]{3,}/g) ?? [];
  return words.filter((w) => !MATH_WORDS.has(w.toLowerCase())).length >= 2;
}

/** A response that is nothing but a short formula ("(x-2)(x+2)", "1 000", "\\frac34i"). */
function wholeFormula(s: string): Candidate | undefined {
  const t = s.trim();
  if (t === "" || t.length > 300 || t.includes("\n\n") || /\\boxed|\\fbox|\$|\\\(|\\\[/.test(t)) return undefined;
  const unglued = t.replace(/(?<=[\d)}\]])\s*(?:and|or)\s*(?=[A-Z([{\\$\d-])/g, ", ");
  if ((unglued.match(/[A-Za-z]{3,}/g) ?? []).some((w) => !MATH_WORDS.has(w.toLowerCase()))) return undefined;
  if (!/[\d\\]/.test(t)) return undefined;
  return { text: t, mode: /[\\{}]/.test(t) ? "latex" : "plain", source: "whole", start: s.indexOf(t), end: s.indexOf(t) + t.length, marked: false };
}

function findAll(lower: string, needle: string): number[] {
  const out: number[] = [];
  for (let i = lower.indexOf(needle); i >= 0; i = lower.indexOf(needle, i + needle.length)) out.push(i);
  return out;
}

/** Tier 1 (with "I hope") and tier 2 "final answer" candidates. */
function finalAnswers(s: string, lower: string, spans: Span[]): { strong: Candidate[]; weak: Candidate[] } {
  const strong: Candidate[] = [];
  const weak: Candidate[] = [];
  const hits = findAll(lower, "final answer").slice(-20);
  for (const idx of hits.reverse()) {
    const after = idx + "final answer".length;
    const direct = /^\s*(?:is|:)\s*/i.exec(s.slice(after, after + 20));
    if (direct) {
      const c = answerAt(s, after + direct[0].length, spans, "final-answer");
      if (c && /^\s*\.?\s?I hope/i.test(s.slice(c.end, c.end + 20).replace(/^[$"\\]+/, ""))) strong.push({ ...c, marked: true });
    }
    const window = s.slice(after, after + 110);
    const starts: number[] = [];
    for (const m of window.matchAll(/\s(?:is|are|was)\s*:?\s*/gi)) starts.push(m.index + m[0].length);
    const colon = /^\s*:\s*/.exec(window);
    if (colon) starts.push(colon[0].length);
    for (const at of starts) {
      const c = answerAt(s, after + at, spans, "final-answer");
      if (c && (c.mode === "latex" || /\d/.test(c.text))) {
        weak.push(c);
        break;
      }
    }
  }
  return { strong, weak };
}

const ANSWER_WORDS = ["answer", "réponse", "reponse", "respuesta", "antwort", "risposta", "resposta", "ответ", "答案", "答", "الإجابة", "الجواب", "उत्तर", "정답"];

/** Tier 3: "answer: X", "the answer is X". */
function answerPhrases(s: string, lower: string, spans: Span[]): Candidate[] {
  const out: Candidate[] = [];
  const hits: Array<{ idx: number; len: number }> = [];
  for (const w of ANSWER_WORDS) for (const idx of findAll(lower, w).slice(-10)) hits.push({ idx, len: w.length });
  hits.sort((a, b) => b.idx - a.idx);
  for (const { idx, len } of hits.slice(0, 12)) {
    const from = idx + len;
    const sentenceEnd = (() => {
      let e = from;
      while (e < s.length && e - from < 120 && s[e] !== "\n" && !(s[e] === "." && (e + 1 >= s.length || isSpace(s[e + 1])))) e++;
      return e;
    })();
    const sentence = s.slice(from, sentenceEnd);
    const eq = sentence.lastIndexOf("=");
    const start = eq >= 0 && !spans.some((sp) => sp.start < from + eq && sp.end > from + eq) ? from + eq + 1 : from;
    // the first math span, box, fraction or number within 50 characters
    for (let j = start; j < Math.min(sentenceEnd, start + 50); j++) {
      const c = s[j] as string;
      const startsSpan = spans.some((sp) => sp.start === j);
      const startsBox = c === "\\" && (s.startsWith("\\boxed", j) || s.startsWith("\\fbox", j) || s.startsWith("\\frac", j) || s.startsWith("\\dfrac", j));
      // a digit inside a TeX group or exponent ("\sqrt{2}", "x^{2}") does not start an answer; the command does
      const startsNum = /[\d.-]/.test(c) && (c !== "." || /\d/.test(s[j + 1] ?? "")) && (c !== "-" || /\d/.test(s[j + 1] ?? "")) && !/[A-Za-z0-9_.\\{^]/.test(s[j - 1] ?? " ");
      const startsCmd = (c === "\\" && !startsBox && /[A-Za-z]/.test(s[j + 1] ?? "")) || (c === "-" && s[j + 1] === "\\" && /[A-Za-z]/.test(s[j + 2] ?? ""));
      if (startsSpan || startsBox || startsNum || startsCmd) {
        const frac = startsBox && !s.startsWith("\\boxed", j) && !s.startsWith("\\fbox", j);
        // a \frac that is not a plain fraction of numerals ("\frac{\sqrt{3}}{3}") is read as the LaTeX it starts
        const cand = (frac ? fracAt(s, j) : undefined) ?? answerAt(s, j, spans, "answer-phrase");
        if (cand) {
          out.push(cand);
          break;
        }
      }
    }
  }
  return out;
}

const BARE_FRAC = /-?\\d?frac\{-?\d+(?:[.,]\d+)?\}\{-?\d+(?:[.,]\d+)?\}/y;

function fracAt(s: string, j: number): Candidate | undefined {
  BARE_FRAC.lastIndex = j;
  const m = BARE_FRAC.exec(s);
  return m ? { text: m[0], mode: "latex", source: "answer-phrase", start: j, end: j + m[0].length, marked: false } : undefined;
}

/** Tier 4: the last math span or number (whichever ends later), then earlier ones. */
function lastMathOrNumber(s: string, spans: Span[]): Candidate[] {
  const out: Candidate[] = [];
  for (let k = spans.length - 1; k >= Math.max(0, spans.length - 4); k--) out.push(joinSpans(s, spans, k));
  const fracRe = /-?\\d?frac\{-?\d+(?:[.,]\d+)?\}\{-?\d+(?:[.,]\d+)?\}/g;
  const tail = s.slice(Math.max(0, s.length - 4000));
  const offset = s.length - tail.length;
  let lastFrac: RegExpExecArray | undefined;
  for (let m = fracRe.exec(tail); m; m = fracRe.exec(tail)) lastFrac = m;
  if (lastFrac && !spans.some((sp) => sp.start <= offset + lastFrac.index && sp.end >= offset + lastFrac.index)) {
    out.push({ text: lastFrac[0], mode: "latex", source: "math", start: offset + lastFrac.index, end: offset + lastFrac.index + lastFrac[0].length, marked: false });
  }
  out.push(...lastNumbers(s, s.length));
  // rightmost end first; on ties the longer (earlier-starting) candidate first
  return out.map((c, i) => ({ c, i })).sort((a, b) => b.c.end - a.c.end || a.i - b.i).map((x) => x.c);
}

/**
 * Answer candidates of a response, best first, produced lazily: verify()
 * usually stops at the first (a box), so later tiers are never computed.
 */
export function* candidateStream(response: string): Generator<Candidate> {
  const s = repairText(response);
  const lower = s.toLowerCase();
  const spans = mathSpans(s);
  const { strong, weak } = finalAnswers(s, lower, spans);
  const boxed = lastBoxed(s);
  const tier1 = [...strong, ...(boxed ? [boxed] : [])].sort((a, b) => b.end - a.end);
  if (tier1.length === 0) {
    const whole = wholeFormula(s);
    if (whole) yield whole;
  }
  yield* tier1;
  yield* weak.sort((a, b) => b.end - a.end);
  yield* answerPhrases(s, lower, spans).sort((a, b) => b.end - a.end);
  yield* lastMathOrNumber(s, spans);
}

/** All answer candidates of a response, best first. */
export function extractCandidates(response: string): Candidate[] {
  return [...candidateStream(response)];
}

/** The final answer of a response, or undefined when none is found. */
export function extractAnswer(response: string): Candidate | undefined {
  return candidateStream(response).next().value ?? undefined;
}

/**
 * Candidates for a gold answer. A bare answer ("10/9", "x = 3", "1,22") is
 * taken whole; a boxed solution gives its last box; a single math span its
 * content; anything else is read like a response.
 */
export function goldCandidates(gold: string): Candidate[] {
  // a stray "$ $" inside a bare formula (a Minerva box holds "\cos (\omega t)+$ $\dot{x}_{0}") is glue, not a math span
  const s = repairText(gold).trim().replace(/\$[ \t]+\$/g, " ");
  if (s.includes("\\boxed") || s.includes("\\fbox")) {
    const boxed = lastBoxed(s);
    if (boxed) return [boxed, ...extractCandidates(s).filter((c) => c.source !== "boxed")];
  }
  const spans = mathSpans(s);
  if (spans.length > 0) {
    const outside = spans.reduce((acc, sp, k) => acc + s.slice(k === 0 ? 0 : (spans[k - 1] as Span).end, sp.start), "") + s.slice((spans[spans.length - 1] as Span).end);
    if (/^[\s,.;]*(?:(?:and|or)\b[\s,.;]*)*$/i.test(outside) || (outside.trim().split(/\s+/).length <= 3 && s.length < 200)) {
      const c = joinSpans(s, spans, spans.length - 1);
      return [{ ...c, source: "whole" }];
    }
    return extractCandidates(s);
  }
  if (s.length > 300 || /final answer|the answer is/i.test(s)) return extractCandidates(s);
  const mode: LexMode = /[\\{}]/.test(s) ? "latex" : "plain";
  return [{ text: s, mode, source: "whole", start: 0, end: s.length, marked: false }];
}
