/**
 * Seeded fuzzing of the math verifier (issue #14 s5): generated (gold,
 * response) pairs of LaTeX-token soup, deep nesting, huge numbers,
 * megabyte inputs, boxes holding mathematics the verifier cannot evaluate,
 * and random rational expressions. Case i of a seed is a pure function of
 * (seed, i), so a failure is reproduced by its index alone, and a long run
 * can be split into ranges.
 *
 * What each case checks (runCase): verify() neither throws nor answers
 * "error"; cases built from two different values are never `correct`; and
 * the property of the issue: when the response's last box does not parse
 * (read by an oracle written here, not by the verifier's extractor), the
 * verdict is not `correct` unless the box is the gold's text itself.
 * Latency is measured per call, wall clock and CPU.
 */
import { goldCandidates, normalizeAnswer, parseMath, verify } from "../../src/verify/index.js";
import { Rng } from "../../src/util/rng.js";

export const FUZZ_KINDS = ["soup", "nesting", "huge-number", "megabyte", "unparsable-box", "expression"] as const;
export type FuzzKind = (typeof FUZZ_KINDS)[number];

export interface FuzzCase {
  kind: FuzzKind;
  /** What the generator built, e.g. "nines 7000 vs 8000" (for reports). */
  shape: string;
  gold: string;
  response: string;
  /** Built from two different values: `correct` would be a false positive. */
  mustFail: boolean;
  /** Built from one value in two forms: `correct` is expected (counted, not required). */
  expectCorrect: boolean;
}

/** Cases per 10,000 of each kind; megabyte inputs are rare because each one costs milliseconds to build. */
const MIX: ReadonlyArray<readonly [FuzzKind, number]> = [
  ["soup", 3800],
  ["nesting", 1400],
  ["huge-number", 1400],
  ["megabyte", 20],
  ["unparsable-box", 2200],
  ["expression", 1180],
];

const TOKENS = [
  "\\frac", "{", "}", "\\sqrt", "^", "_", "(", ")", "[", "]", "\\left(", "\\right)", "\\left.", "\\right|", "1", "0", "2", "7", "9", "42", "x", "y", "n",
  "\\boxed{", "$", "$$", "\\(", "\\)", "\\[", "\\]", "\\\\", "&", "\\begin{pmatrix}", "\\end{pmatrix}", "\\begin{cases}", "\\end{cases}", "10^{", "!", "\\pi", "e", "i",
  ",", ";", "=", "<", "\\le", "\\ge", "\\ne", "\\pm", "\\mp", "%", "\\%", "\\$", "\\text{", "\\mathrm{", "\\operatorname{", "\\infty", ".", " ", "\\cup", "\\cap",
  "\\{", "\\}", "|", "\\sum_{k=1}^{", "\\prod_{", "\\int_", "\\lim_{", "\\to", "\\ln", "\\log_", "\\sin", "\\cos", "\\tan", "\\arctan", "-", "+", "/", ":", "*",
  "\\cdot", "\\times", "\\div", "\\approx", "\\binom", "\\dfrac", "\\tfrac", "\\circ", "^\\circ", "\\,", "\\!", "~", "\\quad", "and", "or", "the answer is",
  "\\mathbb{R}", "\\emptyset", "\\varnothing", "\\in", "\\subset", "\\angle", "\\overline{", "\\hat{", "\\vec{", "\\mathbf{", "'", "\"", "\u00b0", "\u2212", "\u00d7",
  "\u221a", "\u03c0", "\u2264", "\t", "\n", "\f", "\u0000", "\ud800", "\u202e", "\\fbox{", "\\displaystyle", "\\limits", "\\not", "\\neq", "\\lfloor", "\\rfloor",
];

const OPENERS = ["(", "{", "[", "\\frac{1}{", "\\sqrt{", "2^{", "\\left(", "\\boxed{", "\\text{", "\\{", "-", "\\sqrt[3]{", "\\dfrac{", "\\binom{", "|", "\\mathrm{", "x_{", "\\overline{", "\\begin{pmatrix}", "$"];
const CLOSERS: Record<string, string> = {
  "(": ")", "{": "}", "[": "]", "\\frac{1}{": "}", "\\sqrt{": "}", "2^{": "}", "\\left(": "\\right)", "\\boxed{": "}", "\\text{": "}", "\\{": "\\}", "-": "",
  "\\sqrt[3]{": "}", "\\dfrac{": "}{3}", "\\binom{": "}{2}", "|": "|", "\\mathrm{": "}", "x_{": "}", "\\overline{": "}", "\\begin{pmatrix}": "\\end{pmatrix}", "$": "$",
};

const PROSE = "Let's work through this carefully. First we set up the equations, then substitute 3 and 4, which gives 12; checking the cases again confirms it. ";

const pick = <T>(rng: Rng, xs: readonly T[]): T => xs[rng.int(xs.length)] as T;
/** Log-uniform integer in [lo, hi]. */
const logInt = (rng: Rng, lo: number, hi: number): number => Math.min(hi, Math.floor(Math.exp(Math.log(lo) + rng.float() * (Math.log(hi + 1) - Math.log(lo)))));

function digits(rng: Rng, n: number): string {
  const out = new Array<string>(n);
  out[0] = String(1 + rng.int(9));
  for (let i = 1; i < n; i++) out[i] = String(rng.int(10));
  return out.join("");
}

function soupText(rng: Rng, n: number): string {
  let s = "";
  for (let i = 0; i < n; i++) s += pick(rng, TOKENS);
  return s;
}

const boxed = (rng: Rng, x: string): string => pick(rng, [`${PROSE}Therefore the answer is $\\boxed{${x}}$.`, `\\boxed{${x}}`, `${PROSE}\n\n$$\\boxed{${x}}$$`, `So \\(\\boxed{${x}}\\).`]);

function soup(rng: Rng): FuzzCase {
  const a = soupText(rng, logInt(rng, 1, 400));
  const b = soupText(rng, logInt(rng, 1, 60));
  const v = rng.int(4);
  const gold = v === 0 ? a : v === 1 ? String(rng.int(100)) : b;
  const response = rng.float() < 0.5 ? boxed(rng, b) : a;
  return { kind: "soup", shape: `${a.length + b.length} chars`, gold, response, mustFail: false, expectCorrect: false };
}

function nesting(rng: Rng): FuzzCase {
  const depth = logInt(rng, 20, 40_000);
  const open = pick(rng, OPENERS);
  const close = CLOSERS[open] ?? "";
  const balanced = rng.float() < 0.7;
  const inner = pick(rng, ["1", "2", "x", "\\pi", "10^{10}", ""]);
  const body = open.repeat(depth) + inner + (balanced ? close.repeat(depth) : close.repeat(rng.int(depth)));
  const response = rng.float() < 0.6 ? boxed(rng, body) : body;
  const gold = rng.float() < 0.8 ? pick(rng, ["1", "2", "x", "\\pi"]) : body.slice(0, 10_000);
  return { kind: "nesting", shape: `${JSON.stringify(open)} x${depth}${balanced ? "" : " unbalanced"}`, gold, response, mustFail: false, expectCorrect: false };
}

/** Two different values of huge size, or one value in two forms. */
function hugeNumber(rng: Rng): FuzzCase {
  const v = rng.int(9);
  const len = logInt(rng, 20, 100_000);
  const mk = (shape: string, gold: string, pred: string, mustFail: boolean, expectCorrect = false): FuzzCase => ({ kind: "huge-number", shape, gold, response: boxed(rng, pred), mustFail, expectCorrect });
  switch (v) {
    case 0: {
      const a = digits(rng, len);
      const at = rng.int(len);
      const b = a.slice(0, at) + String((Number(a[at]) + 1 + rng.int(8)) % 10) + a.slice(at + 1);
      return b === a || (at === 0 && b[0] === "0") ? mk(`${len} digits, same`, a, a, false, true) : mk(`${len} digits, one changed`, a, b, true);
    }
    case 1: {
      const m = logInt(rng, 100, 20_000);
      return mk(`nines ${m} vs ${m + 1 + rng.int(1000)}`, "9".repeat(m), "9".repeat(m + 1 + rng.int(1000)), true);
    }
    case 2: {
      const m = 1 + rng.int(9);
      const e = logInt(rng, 1, 10_000_000);
      return mk(`${m}e${e} vs ${m}`, String(m), pick(rng, [`${m}e${e}`, `${m}E${e}`, `${m}\\times 10^{${e}}`, `${m}\\cdot10^{${e}}`]), true);
    }
    case 3: {
      const k = 1 + rng.int(6);
      let tower = "10";
      for (let i = 0; i < k; i++) tower = `10^{${tower}}`;
      return mk(`tower of ${k + 1}`, pick(rng, ["10", "1", "100"]), tower, true);
    }
    case 4: {
      const n = logInt(rng, 50, 10_000_000);
      return mk(`${n}! vs ${n}`, String(n), `${n}!`, true);
    }
    case 5: {
      const a = digits(rng, Math.min(len, 5000));
      return mk(`-a vs a, ${a.length} digits`, a, `-${a}`, true);
    }
    case 6: {
      const a = digits(rng, Math.min(len, 3000));
      const b = digits(rng, Math.min(len, 3000));
      // Golds over 300 characters are read like responses (goldCandidates): only shorter ones are expected to verify.
      return rng.float() < 0.5 ? mk(`a/b vs 2a/2b, ${a.length} digits`, `\\frac{${a}}{${b}}`, `\\frac{${a}0}{${b}0}`, false, a.length + b.length < 290) : mk(`a/b vs (a+1)/b, ${a.length} digits`, `\\frac{${a}}{${b}}`, `\\frac{${incr(a)}}{${b}}`, true);
    }
    case 7: {
      const a = digits(rng, Math.min(len, 5000));
      return mk(`a vs a+1, ${a.length} digits`, a, incr(a), true);
    }
    default: {
      const a = digits(rng, Math.min(len, 2000));
      return mk(`a vs a^2, ${a.length} digits`, a, `${a}^{2}`, a !== "1");
    }
  }
}

/** The decimal string of a + 1. */
function incr(a: string): string {
  return (BigInt(a) + 1n).toString();
}

const MB = 1 << 20;

function megabyte(rng: Rng): FuzzCase {
  const v = rng.int(6);
  const fill = (unit: string): string => unit.repeat(Math.ceil(MB / unit.length)).slice(0, MB);
  const gold = String(1 + rng.int(99));
  switch (v) {
    case 0:
      return { kind: "megabyte", shape: "prose, box at the end", gold, response: `${fill(PROSE)}\\boxed{${gold}}`, mustFail: false, expectCorrect: true };
    case 1:
      return { kind: "megabyte", shape: "a megabyte number in a box", gold, response: `\\boxed{${digits(rng, MB)}}`, mustFail: true, expectCorrect: false };
    case 2:
      return { kind: "megabyte", shape: "token soup", gold, response: soupText(rng, MB / 4).slice(0, MB), mustFail: false, expectCorrect: false };
    case 3:
      return { kind: "megabyte", shape: "open boxes", gold, response: fill("\\boxed{"), mustFail: false, expectCorrect: false };
    case 4:
      return { kind: "megabyte", shape: "dollars and numbers", gold, response: fill(`$${gold}$ and $`), mustFail: false, expectCorrect: false };
    default:
      return { kind: "megabyte", shape: "megabyte gold", gold: fill(`${gold}+`), response: `\\boxed{${gold}}`, mustFail: false, expectCorrect: false };
  }
}

/** Mathematics the verifier does not evaluate (or refuses as too large), with numbers in it for a grader to pick out. */
function unparsableBox(rng: Rng): FuzzCase {
  const a = 1 + rng.int(50);
  const b = 1 + rng.int(50);
  const n = logInt(rng, 2, 3000);
  const templates = [
    `\\lim_{x \\to ${a}} x^{${b}}`,
    `\\int_0^{${a}} x\\,dx`,
    `\\int_{${a}}^{${b}} x^{2} \\, dx`,
    `\\frac{d}{dx} x^{${a}}`,
    `\\frac{\\partial}{\\partial x} ${a}x`,
    `${Array.from({ length: n }, () => "x").join("+")}+${a}`,
    `${Array.from({ length: n }, (_, i) => i).join(",")},${a}`,
    `\\begin{pmatrix}${Array.from({ length: Math.min(n, 150) }, () => Array(Math.min(n, 150)).fill("1").join("&")).join("\\\\")}\\end{pmatrix}`,
    `\\foo{${a}}`,
    `\\operatorname{frob}(${a})`,
    `\\left. x^{${a}} \\right|_{x=${b}}`,
    `${a} \\text{ apples and } ${b} \\text{ pears}`,
    `\\sum_{k=1}^{${n}} k^{${a}}`,
    `${a}^{${b}^{${n}}}`,
    `\\lim_{n\\to\\infty} \\left(1+\\frac{1}{n}\\right)^{${a}n}`,
    `\\mathcal{O}(${a})`,
    `${a} + \\ldots + ${b}`,
    `\\{${a}, ${b}\\} \\setminus \\{${b}\\}`,
    `\\det\\begin{pmatrix}${a}&${b}\\\\1&1\\end{pmatrix}`,
    `{${a}}{${b}}}{`,
  ];
  const box = pick(rng, templates);
  const nums = box.match(/\d+/g) ?? [String(a)];
  const gold = pick(rng, [nums[nums.length - 1] as string, nums[0] as string, String(a), String(b), String(rng.int(100))]);
  return { kind: "unparsable-box", shape: box.length > 60 ? `${box.slice(0, 57)}...` : box, gold, response: boxed(rng, box), mustFail: false, expectCorrect: false };
}

type Expr = { v: bigint[]; tex: string };

/** A random rational expression with its exact value [numerator, denominator]. */
function expr(rng: Rng, depth: number): Expr {
  if (depth === 0 || rng.float() < 0.3) {
    const k = BigInt(rng.int(25) - 12);
    return { v: [k, 1n], tex: k < 0n ? `(${k})` : String(k) };
  }
  const a = expr(rng, depth - 1);
  const b = expr(rng, depth - 1);
  const [an, ad] = a.v as [bigint, bigint];
  const [bn, bd] = b.v as [bigint, bigint];
  switch (rng.int(4)) {
    case 0:
      return { v: [an * bd + bn * ad, ad * bd], tex: `\\left(${a.tex} + ${b.tex}\\right)` };
    case 1:
      return { v: [an * bd - bn * ad, ad * bd], tex: `\\left(${a.tex} - ${b.tex}\\right)` };
    case 2:
      return { v: [an * bn, ad * bd], tex: `\\left(${a.tex} \\cdot ${b.tex}\\right)` };
    default:
      if (bn === 0n) return a;
      return { v: [an * bd, ad * bn], tex: `\\frac{${a.tex}}{${b.tex}}` };
  }
}

function fracTex([n, d]: bigint[]): string {
  let num = n as bigint;
  let den = d as bigint;
  if (den < 0n) [num, den] = [-num, -den];
  let [x, y] = [num < 0n ? -num : num, den];
  while (y) [x, y] = [y, x % y];
  const g = x || 1n;
  num /= g;
  den /= g;
  if (den === 1n) return num.toString();
  return `${num < 0n ? "-" : ""}\\frac{${num < 0n ? -num : num}}{${den}}`;
}

function expression(rng: Rng): FuzzCase {
  // Golds over 300 characters are read like responses (goldCandidates), so the expressions stay shorter.
  let e = expr(rng, 1 + rng.int(5));
  while (e.tex.length > 300) e = expr(rng, 3);
  const [n, d] = e.v as [bigint, bigint];
  if (rng.float() < 0.5) return { kind: "expression", shape: "expression vs its value", gold: e.tex, response: boxed(rng, fracTex(e.v)), mustFail: false, expectCorrect: true };
  return { kind: "expression", shape: "expression vs value + 1", gold: e.tex, response: boxed(rng, fracTex([n + d, d])), mustFail: true, expectCorrect: false };
}

const MAKERS: Record<FuzzKind, (rng: Rng) => FuzzCase> = { soup, nesting, "huge-number": hugeNumber, megabyte, "unparsable-box": unparsableBox, expression };

/** Case `i` of the stream `seed`. */
export function fuzzCase(seed: number, i: number): FuzzCase {
  const rng = Rng.derive(seed, i);
  let r = rng.int(10_000);
  for (const [kind, weight] of MIX) {
    if (r < weight) return MAKERS[kind](rng);
    r -= weight;
  }
  return soup(rng);
}

/**
 * The last box of a response read independently of the verifier:
 * `\boxed{...}` or `\fbox{...}` with balanced braces, or null when there is
 * none, it is not closed, or the response also states a final answer in
 * words (which the verifier reads in preference to a box).
 */
export function lastBoxOracle(response: string): string | null {
  if (/final answer|i hope/i.test(response)) return null;
  const at = Math.max(response.lastIndexOf("\\boxed"), response.lastIndexOf("\\fbox"));
  if (at < 0) return null;
  let i = at + (response.startsWith("\\boxed", at) ? 6 : 5);
  while (response[i] === " ") i++;
  if (response[i] !== "{") return null;
  let depth = 0;
  for (let j = i; j < response.length; j++) {
    const c = response[j];
    if (c === "\\") {
      j++;
      continue;
    }
    if (c === "{") depth++;
    // An empty box is no answer (the verifier reads on past it).
    else if (c === "}" && --depth === 0) return response.slice(i + 1, j).trim() || null;
  }
  return null;
}

/** Whether the text parses as mathematics (the verifier's parser, outside verify's deadline; its size bounds keep it short). */
function parses(text: string): boolean {
  try {
    parseMath(normalizeAnswer(text), "latex");
    return true;
  } catch {
    return false;
  }
}

export interface FuzzOutcome {
  index: number;
  kind: FuzzKind;
  shape: string;
  /** Characters of gold + response. */
  chars: number;
  wallMs: number;
  cpuMs: number;
  correct: boolean;
  reason: string;
  /** The message when verify() threw (it must not). */
  threw: string | null;
  /** Why the verdict is wrong, or null. */
  violation: string | null;
  expectCorrect: boolean;
}

/** Verifies case `i` of `seed` under the deadline `timeoutMs` and checks the verdict. */
export function runCase(seed: number, i: number, timeoutMs: number): FuzzOutcome {
  const c = fuzzCase(seed, i);
  const cpu0 = process.cpuUsage();
  const t0 = performance.now();
  let correct = false;
  let reason = "threw";
  let extracted: string | null = null;
  let threw: string | null = null;
  try {
    const v = verify(c.gold, c.response, { timeoutMs });
    correct = v.correct;
    reason = v.reason;
    extracted = v.extracted;
  } catch (err) {
    threw = err instanceof Error ? `${err.name}: ${err.message}` : String(err);
  }
  const wallMs = performance.now() - t0;
  const cpu = process.cpuUsage(cpu0);
  let violation: string | null = null;
  if (correct && c.mustFail) violation = "two different values verified correct";
  else if (correct && c.response.length <= 200_000) {
    // The box oracle scans the response: skipped for megabyte responses (their boxes are covered by mustFail).
    const box = lastBoxOracle(c.response);
    // The gold is trusted: an answer that is the gold's own text (as the verifier reads the gold) is identical, parsed or
    // not. That answer may be the last box joined with the one before it ("\boxed{a}, \boxed{b}" reads "a, b").
    const gold = normalizeAnswer(goldCandidates(c.gold)[0]?.text ?? c.gold);
    const ownText = normalizeAnswer(box ?? "") === gold || (reason === "identical" && extracted !== null && normalizeAnswer(extracted) === gold);
    if (box !== null && !parses(box) && !ownText) violation = `the box ${JSON.stringify(box.slice(0, 60))} does not parse, yet the verdict is correct (${reason})`;
  }
  return { index: i, kind: c.kind, shape: c.shape, chars: c.gold.length + c.response.length, wallMs, cpuMs: (cpu.user + cpu.system) / 1000, correct, reason, threw, violation, expectCorrect: c.expectCorrect };
}

export interface FuzzStats {
  cases: number;
  exceptions: number;
  /** Verdicts with reason "error": an internal fault caught inside verify(). */
  internalErrors: number;
  /** Calls past the deadline (wall clock). */
  overDeadline: number;
  violations: number;
  /** Verdicts that were correct among the cases built to be correct. */
  expectedCorrect: number;
  expectedCorrectHit: number;
  worstWallMs: number;
  worstCpuMs: number;
  worst: FuzzOutcome | null;
  /** The first few failures (exceptions, errors, violations), with their indices. */
  failures: FuzzOutcome[];
  /** The first few calls past the deadline, with their indices. */
  slow: FuzzOutcome[];
  byKind: Record<string, { cases: number; worstWallMs: number; correct: number; reasons: Record<string, number> }>;
}

export function emptyStats(): FuzzStats {
  return { cases: 0, exceptions: 0, internalErrors: 0, overDeadline: 0, violations: 0, expectedCorrect: 0, expectedCorrectHit: 0, worstWallMs: 0, worstCpuMs: 0, worst: null, failures: [], slow: [], byKind: {} };
}

export function addOutcome(s: FuzzStats, o: FuzzOutcome, timeoutMs: number): void {
  s.cases++;
  if (o.threw !== null) s.exceptions++;
  if (o.reason === "error") s.internalErrors++;
  if (o.violation !== null) s.violations++;
  if (o.wallMs > timeoutMs) {
    s.overDeadline++;
    if (s.slow.length < 20) s.slow.push(o);
  }
  if (o.expectCorrect) {
    s.expectedCorrect++;
    if (o.correct) s.expectedCorrectHit++;
  }
  if (o.wallMs > s.worstWallMs) {
    s.worstWallMs = o.wallMs;
    s.worst = o;
  }
  s.worstCpuMs = Math.max(s.worstCpuMs, o.cpuMs);
  if ((o.threw !== null || o.reason === "error" || o.violation !== null) && s.failures.length < 20) s.failures.push(o);
  const k = (s.byKind[o.kind] ??= { cases: 0, worstWallMs: 0, correct: 0, reasons: {} });
  k.cases++;
  k.worstWallMs = Math.max(k.worstWallMs, o.wallMs);
  if (o.correct) k.correct++;
  k.reasons[o.reason] = (k.reasons[o.reason] ?? 0) + 1;
}

/** Merges the stats of two ranges. */
export function mergeStats(a: FuzzStats, b: FuzzStats): FuzzStats {
  const out = emptyStats();
  for (const s of [a, b]) {
    out.cases += s.cases;
    out.exceptions += s.exceptions;
    out.internalErrors += s.internalErrors;
    out.overDeadline += s.overDeadline;
    out.violations += s.violations;
    out.expectedCorrect += s.expectedCorrect;
    out.expectedCorrectHit += s.expectedCorrectHit;
    if (s.worstWallMs > out.worstWallMs) {
      out.worstWallMs = s.worstWallMs;
      out.worst = s.worst;
    }
    out.worstCpuMs = Math.max(out.worstCpuMs, s.worstCpuMs);
    out.failures.push(...s.failures.slice(0, 20 - out.failures.length));
    out.slow.push(...s.slow.slice(0, 20 - out.slow.length));
    for (const [kind, k] of Object.entries(s.byKind)) {
      const o = (out.byKind[kind] ??= { cases: 0, worstWallMs: 0, correct: 0, reasons: {} });
      o.cases += k.cases;
      o.worstWallMs = Math.max(o.worstWallMs, k.worstWallMs);
      o.correct += k.correct;
      for (const [r, n] of Object.entries(k.reasons)) o.reasons[r] = (o.reasons[r] ?? 0) + n;
    }
  }
  return out;
}
