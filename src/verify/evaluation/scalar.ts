/**
 * Equality of two scalar expressions, the bounded method:
 *  1. identical canonical forms;
 *  2. constants: exact Gaussian-rational evaluation decides when both sides
 *     are rational; otherwise both are evaluated at 128 bits with error
 *     bounds (numeric.ts) and, if the bounds cannot separate or certify
 *     them, again at 512 bits; still undecided counts as unequal;
 *  3. expressions with variables: evaluation at up to 6 seeded random
 *     points (3 positive, 3 negative; exact rationals, so polynomial and
 *     rational identities are decided exactly); a point where either side
 *     is undefined is skipped; at least 2 points must agree and none may
 *     differ; if too few points are defined, small integers are tried;
 *  4. when a side contains a decimal literal, values are compared with the
 *     float tolerance: |pred - gold| <= max(min(0.5*10^-d, 2%*|gold|),
 *     floatRelTol*|gold|), d = floatDigits (6); 0.5*10^-d when gold is 0;
 *  5. anything that cannot be evaluated falls back to (1);
 *  6. a rational value past the exact bounds (evaluate.ts) is "too-large":
 *     the numeric tier may still prove it unequal, but agreement to 512 bits
 *     is no proof that two numbers of 65536 bits are equal.
 */
import { freeSymbols, hasFloat, print, type Node } from "../syntax/ast.js";
import { bfAbs, bfLog2, bfToNumber } from "../numbers/bigfloat.js";
import { evalExact, evalNum, Unevaluable, type Env } from "./evaluate.js";
import { l2add, mag, numFromExact, numSub, NumericDomainError, type Num } from "../numbers/numeric.js";
import { ExactTooLarge } from "../errors.js";
import { ceq, ratInt, type Exact, type Rational } from "../numbers/rational.js";
import { mapChildren } from "./semantics.js";

export interface ScalarOptions {
  /** Decimal places a float answer must match (Math-Verify's float_rounding). */
  readonly floatDigits: number;
  /** Relative tolerance that also accepts floats of very large magnitude. */
  readonly floatRelTol: number;
  /** When false, variables are matched by position: f(x) equals f(y). */
  readonly strict: boolean;
}

export type ScalarRule = "identical" | "exact" | "numeric" | "float" | "symbolic" | "structure";

export interface ScalarResult {
  readonly equal: boolean;
  readonly rule: ScalarRule | "undecided" | "too-large";
}

const PRECISIONS = [128, 512];
/** Relative tiny-value guard: a float must also be within 2% of a tiny gold. */
const TINY_REL = 0.02;

type Decision = "equal" | "unequal" | "undecided" | "too-large";

/** Random evaluation points: exact dyadic rationals in [0.5, 2.5), three of them negated. */
function randomPoints(vars: readonly string[], seed: number): Env[] {
  let s = seed >>> 0 || 1;
  const next = (): number => {
    s ^= s << 13;
    s >>>= 0;
    s ^= s >>> 17;
    s ^= s << 5;
    s >>>= 0;
    return s;
  };
  const points: Env[] = [];
  for (let k = 0; k < 6; k++) {
    const env = new Map<string, Rational>();
    for (const v of vars) {
      const frac = BigInt(next() & 0xfffff);
      // value = (2^20 + frac*2) / 2^21 + ... in [0.5, 2.5)
      let n = (1n << 19n) + frac * 2n;
      if (k >= 3) n = -n;
      env.set(v, { n, d: 1n << 20n });
    }
    points.push(env);
  }
  return points;
}

function integerPoints(vars: readonly string[]): Env[] {
  const base = [2, 3, 5, 7, 4, 6];
  return base.map((b, k) => new Map(vars.map((v, j) => [v, ratInt(b + ((j * 3 + k) % 4))] as const)));
}

function hashString(s: string): number {
  let h = 0x811c9dc5;
  for (let i = 0; i < s.length; i++) {
    h ^= s.charCodeAt(i);
    h = Math.imul(h, 0x01000193) >>> 0;
  }
  return h;
}

function rename(n: Node, map: ReadonlyMap<string, string>): Node {
  if (n.k === "sym") {
    const to = map.get(n.name);
    return to === undefined ? n : { k: "sym", name: to };
  }
  return mapChildren(n, (c) => rename(c, map));
}

/** Float tolerance test on two numeric values (gold first). */
export function floatClose(g: Num, p: Num, opts: ScalarOptions): boolean {
  const diff = numSub(p, g, 256);
  const d = Math.max(bfLog2(bfAbs(diff.re)), bfLog2(bfAbs(diff.im)));
  const diffMag = d === -Infinity ? -Infinity : d + 0.5;
  const gMag = mag(g);
  const absTol = Math.log2(0.5) - opts.floatDigits * Math.log2(10);
  let tol: number;
  if (gMag === -Infinity) tol = absTol;
  else tol = Math.max(Math.min(absTol, gMag + Math.log2(TINY_REL)), gMag + Math.log2(opts.floatRelTol));
  return diffMag <= l2add(tol, l2add(g.err, p.err));
}

/** Compares two numeric values using their error bounds. */
export function decide(a: Num, b: Num, p: number, final: boolean): Decision {
  const err = l2add(a.err, b.err) + 1;
  if (err === Infinity || Number.isNaN(err)) return "undecided";
  const diff = numSub(a, b, p);
  const dm = mag(diff);
  if (dm === -Infinity) return err <= Math.max(mag(a), mag(b)) - 60 || err <= -(p - 30) ? "equal" : "undecided";
  if (dm - 1.5 > err) return "unequal";
  const scale = Math.max(mag(a), mag(b));
  if (err <= scale - 60) return "equal";
  if (final && err <= -(p - 30)) return "equal";
  return "undecided";
}

type Value = { kind: "exact"; v: Exact } | { kind: "undefined" } | { kind: "inexact" } | { kind: "too-large" };

function tryExact(n: Node, env: Env): Value {
  try {
    const v = evalExact(n, env);
    return v ? { kind: "exact", v } : { kind: "inexact" };
  } catch (err) {
    if (err instanceof NumericDomainError) return { kind: "undefined" };
    if (err instanceof ExactTooLarge) return { kind: "too-large" };
    throw err;
  }
}

/** How the last equalAt() call decided: exactly, by the float tolerance, or numerically. */
let lastHow: "exact" | "float" | "numeric" = "exact";

/** Equality of two expressions at one point (or as constants). Unevaluable propagates. */
function equalAt(g: Node, p: Node, env: Env, floatMode: boolean, opts: ScalarOptions): Decision | "skip" {
  const eg = tryExact(g, env);
  const ep = tryExact(p, env);
  if (eg.kind === "undefined" || ep.kind === "undefined") return "skip";
  if (eg.kind === "exact" && ep.kind === "exact") {
    lastHow = "exact";
    if (ceq(eg.v, ep.v)) return "equal";
    if (!floatMode) return "unequal";
    lastHow = "float";
    return floatClose(numFromExact(eg.v, 256), numFromExact(ep.v, 256), opts) ? "equal" : "unequal";
  }
  lastHow = floatMode ? "float" : "numeric";
  // a side the exact tier refused for its size: numbers can prove it unequal, never equal
  const sized = eg.kind === "too-large" || ep.kind === "too-large";
  for (let k = 0; k < PRECISIONS.length; k++) {
    const prec = PRECISIONS[k] as number;
    let a: Num;
    let b: Num;
    try {
      a = evalNum(g, env, prec);
      b = evalNum(p, env, prec);
    } catch (err) {
      if (err instanceof NumericDomainError) return sized ? "too-large" : "skip";
      if (err instanceof ExactTooLarge) return "too-large";
      throw err;
    }
    if (floatMode) {
      // a decimal answer is compared to the float tolerance, which is relative: size does not matter
      if (a.err > -40 || b.err > -40) continue;
      return floatClose(a, b, opts) ? "equal" : "unequal";
    }
    const d = decide(a, b, prec, k === PRECISIONS.length - 1);
    if (d === "unequal") return d;
    if (sized) return "too-large";
    if (d !== "undecided") return d;
  }
  return sized ? "too-large" : "undecided";
}

export function scalarEqual(gold: Node, pred: Node, opts: ScalarOptions): ScalarResult {
  if (print(gold) === print(pred)) return { equal: true, rule: "identical" };
  const fg = freeSymbols(gold);
  let fp = freeSymbols(pred);
  let p = pred;
  if (!opts.strict && fg.size === fp.size && fg.size > 0) {
    const gs = [...fg].sort();
    const ps = [...fp].sort();
    if (gs.join() !== ps.join()) {
      p = rename(pred, new Map(ps.map((v, i) => [v, gs[i] as string])));
      fp = freeSymbols(p);
      if (print(gold) === print(p)) return { equal: true, rule: "identical" };
    }
  }
  const vars = [...new Set([...fg, ...fp])].sort();
  const floatMode = hasFloat(gold) || hasFloat(p);
  try {
    if (vars.length === 0) {
      const d = equalAt(gold, p, new Map(), floatMode, opts);
      if (d === "equal") return { equal: true, rule: lastHow };
      if (d === "unequal") return { equal: false, rule: "exact" };
      return { equal: false, rule: d === "too-large" ? "too-large" : "undecided" };
    }
    const seed = hashString(vars.join(","));
    for (const points of [randomPoints(vars, seed), integerPoints(vars)]) {
      let agree = 0;
      let undecided = false;
      let tooLarge = false;
      let usedFloat = false;
      for (const env of points) {
        const d = equalAt(gold, p, env, floatMode, opts);
        if (d === "unequal") return { equal: false, rule: "symbolic" };
        if (d === "equal") agree++;
        if (d === "undecided") undecided = true;
        if (d === "too-large") tooLarge = true;
        if (lastHow === "float") usedFloat = true;
      }
      // a point that could not be decided for size is no more a pass than an undecided one
      if (tooLarge) return { equal: false, rule: "too-large" };
      if (agree >= 2 && !undecided) return { equal: true, rule: usedFloat ? "float" : "symbolic" };
      if (agree >= 2) return { equal: false, rule: "undecided" };
    }
    return { equal: false, rule: "undecided" };
  } catch (err) {
    if (err instanceof Unevaluable) return { equal: false, rule: "structure" };
    throw err;
  }
}

/** A double approximation of a constant expression, or undefined. */
export function approxValue(n: Node, env: Env = new Map()): number | undefined {
  try {
    const v = evalNum(n, env, 96);
    if (v.err > -20 || bfToNumber(v.im) !== 0) return undefined;
    return bfToNumber(v.re);
  } catch (err) {
    if (err instanceof Unevaluable || err instanceof NumericDomainError || err instanceof ExactTooLarge) return undefined;
    throw err;
  }
}
