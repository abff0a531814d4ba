/**
 * Evaluation of scalar expressions, in two tiers.
 *
 * evalExact: exact Gaussian rationals (BigInt). Handles +, -, *, /, integer
 * powers, roots of perfect powers, factorials, binomials, floor/ceil/abs,
 * percent, numerals in other bases, finite sums. Returns undefined as soon as
 * something irrational appears (pi, sqrt 2, sin 1). Guarded: a result beyond
 * MAX_EXACT_BITS bits, a factorial or binomial beyond MAX_FACTORIAL or a sum
 * of more than MAX_SUM_TERMS terms throws ExactTooLarge, so that the caller
 * knows the value exists but was not computed (the numeric tier may then
 * prove inequality, never equality).
 *
 * evalNum: arbitrary precision complex numbers with error bounds (numeric.ts)
 * for everything else. Undefined mathematics (log 0, 1/0, overflow) throws
 * NumericDomainError; constructs that cannot be evaluated (free symbols
 * without a value, unknown structures) throw Unevaluable.
 *
 * Free symbols take values from `env` (random points chosen by compare.ts).
 * Uninterpreted functions f(x) evaluate to a deterministic pseudo-random
 * value of their name and arguments, so f(2) + f(3) equals f(3) + f(2) but
 * f(x) differs from f(y).
 */
import { type Node } from "../syntax/ast.js";
import { checkDeadline } from "../deadline.js";
import {
  NumericDomainError,
  isRealNum,
  mag,
  numAdd,
  numApprox,
  numAsin,
  numAtan,
  numDiv,
  numE,
  numExp,
  numFromExact,
  numFromRational,
  numLn,
  numMul,
  numNeg,
  numPi,
  numPowInt,
  numRealRoot,
  numSinCos,
  numSqrt,
  numSub,
  type Num,
} from "../numbers/numeric.js";
import {
  abs,
  asInteger,
  bitSize,
  cadd,
  cBitSize,
  cdiv,
  ceil,
  cmp,
  cmul,
  cneg,
  cpowInt,
  cpowUnit,
  exactRoot,
  floor,
  isReal,
  ONE,
  powInt,
  rat,
  ratInt,
  sign,
  ZERO,
  type Exact,
  type Rational,
} from "../numbers/rational.js";
import { bfFromNumber, bfSign, bfToNumber } from "../numbers/bigfloat.js";
import { ExactTooLarge } from "../errors.js";

/** The expression cannot be evaluated at all (a free symbol, a set, an unsupported construct). */
export class Unevaluable extends Error {
  constructor(message: string) {
    super(message);
    this.name = "Unevaluable";
  }
}

/** Exact results larger than this many bits are refused (ExactTooLarge). */
export const MAX_EXACT_BITS = 1 << 16;
const MAX_FACTORIAL = 3000;
const MAX_SUM_TERMS = 2000;

/** A count for a message, not printed in full when huge. */
const shown = (k: bigint): string => (k > 10n ** 12n ? "more than 10^12" : String(k));

/** Throws ExactTooLarge when x has grown past the exact bound; `op` names the operation for the message. */
function bounded(x: Exact, op: string): Exact {
  const bits = cBitSize(x);
  if (bits > MAX_EXACT_BITS) throw new ExactTooLarge(`${op}: exact result of ${bits} bits, more than ${MAX_EXACT_BITS}`);
  return x;
}

export type Env = ReadonlyMap<string, Rational>;

const EMPTY: Env = new Map();

function exactInt(x: Exact | undefined): bigint | undefined {
  if (!x || !isReal(x)) return undefined;
  return asInteger(x.re);
}

function realOf(x: Exact): Rational | undefined {
  return isReal(x) ? x.re : undefined;
}

export function evalExact(n: Node, env: Env = EMPTY): Exact | undefined {
  checkDeadline();
  switch (n.k) {
    case "num":
      return { re: n.q };
    case "sym": {
      const v = env.get(n.name);
      if (v === undefined) throw new Unevaluable(`free symbol ${n.name}`);
      return { re: v };
    }
    case "const":
      if (n.name === "i") return { re: ZERO, im: ONE };
      if (n.name === "inf") throw new Unevaluable("infinity");
      return undefined;
    case "add": {
      let acc: Exact = { re: ZERO };
      for (const a of n.args) {
        const v = evalExact(a, env);
        if (!v) return undefined;
        // fractions with unlike denominators multiply them: a long sum can outgrow its terms
        acc = bounded(cadd(acc, v), "sum");
      }
      return acc;
    }
    case "mul": {
      let acc: Exact = { re: ONE };
      try {
        for (const a of n.args) {
          const v = evalExact(a, env);
          if (!v) return undefined;
          acc = bounded(cmul(acc, v), "product");
        }
      } catch (err) {
        // a literal zero factor makes the product exactly zero however large the others ("0 \cdot 10^{100000}")
        if (err instanceof ExactTooLarge && n.args.some((a) => a.k === "num" && a.q.n === 0n)) return { re: ZERO };
        throw err;
      }
      return acc;
    }
    case "div": {
      const a = evalExact(n.num, env);
      const b = evalExact(n.den, env);
      if (!a || !b) return undefined;
      if (b.re.n === 0n && (b.im === undefined || b.im.n === 0n)) throw new NumericDomainError("division by zero");
      // a quotient cross-multiplies: its parts can be as large as both operands together
      return bounded(cdiv(a, b), "quotient");
    }
    case "neg": {
      const a = evalExact(n.arg, env);
      return a ? cneg(a) : undefined;
    }
    case "pct": {
      const a = evalExact(n.arg, env);
      return a ? cdiv(a, { re: ratInt(100) }) : undefined;
    }
    case "pow":
      return exactPow(n.base, n.exp, env);
    case "fn":
      return exactFn(n, env);
    case "base": {
      let v = 0n;
      for (const ch of n.digits) {
        const d = parseInt(ch, 36);
        if (!(d < n.base)) throw new Unevaluable(`digit ${ch} in base ${n.base}`);
        v = v * BigInt(n.base) + BigInt(d);
      }
      return { re: ratInt(v) };
    }
    case "bigop":
      return exactBigop(n, env);
    case "apply":
      return undefined;
    default:
      throw new Unevaluable(`a ${n.k} is not a number`);
  }
}

function exactPow(baseNode: Node, expNode: Node, env: Env): Exact | undefined {
  const e = evalExact(expNode, env);
  if (!e || !isReal(e)) return undefined;
  const b = evalExact(baseNode, env);
  if (!b) return undefined;
  const q = e.re;
  const isZeroBase = b.re.n === 0n && (b.im === undefined || b.im.n === 0n);
  if (isZeroBase) {
    if (q.n < 0n) throw new NumericDomainError("zero to a negative power");
    if (q.n === 0n) return { re: ONE };
    return { re: ZERO };
  }
  if (q.d === 1n) {
    const unit = cpowUnit(b, q.n);
    if (unit) return unit;
    const k = q.n < 0n ? -q.n : q.n;
    const tooLarge = k > BigInt(MAX_EXACT_BITS) || Number(k) * Math.max(1, cBitSize(b)) > MAX_EXACT_BITS;
    if (tooLarge) throw new ExactTooLarge(`power: exponent ${shown(k)} on a base of ${cBitSize(b)} bits passes ${MAX_EXACT_BITS} bits`);
    return cpowInt(b, q.n);
  }
  // rational exponent p/q: exact only for perfect powers of real numbers
  if (!isReal(b) || q.d > 64n) return undefined;
  const root = exactRoot(b.re, Number(q.d));
  if (!root) return undefined;
  const k = q.n < 0n ? -q.n : q.n;
  if (Number(k) * Math.max(1, bitSize(root)) > MAX_EXACT_BITS) throw new ExactTooLarge(`power: ${k} times a root of ${bitSize(root)} bits passes ${MAX_EXACT_BITS} bits`);
  return { re: powInt(root, q.n) };
}

function exactFn(n: Extract<Node, { k: "fn" }>, env: Env): Exact | undefined {
  const args = n.args;
  const a0 = args[0] as Node;
  switch (n.name) {
    case "sqrt":
    case "root": {
      const x = evalExact(a0, env);
      if (!x || !isReal(x)) return undefined;
      let k = 2;
      if (n.name === "root") {
        const idx = exactInt(evalExact(args[1] as Node, env));
        if (idx === undefined || idx < 1n || idx > 64n) return undefined;
        k = Number(idx);
      }
      if (sign(x.re) < 0 && k % 2 === 0) {
        const r = exactRoot(abs(x.re), k);
        return r && k === 2 ? { re: ZERO, im: r } : undefined;
      }
      const r = exactRoot(x.re, k);
      return r ? { re: r } : undefined;
    }
    case "abs": {
      const x = evalExact(a0, env);
      if (!x) return undefined;
      if (isReal(x)) return { re: abs(x.re) };
      const im = x.im ?? ZERO;
      const r = exactRoot({ n: x.re.n * x.re.n * im.d * im.d + im.n * im.n * x.re.d * x.re.d, d: x.re.d * x.re.d * im.d * im.d }, 2);
      return r ? { re: rat(r.n, r.d) } : undefined;
    }
    case "floor":
    case "ceil": {
      const x = evalExact(a0, env);
      const r = x ? realOf(x) : undefined;
      if (!r) return undefined;
      return { re: ratInt(n.name === "floor" ? floor(r) : ceil(r)) };
    }
    case "fact": {
      const k = exactInt(evalExact(a0, env));
      if (k === undefined) return undefined;
      if (k < 0n) throw new NumericDomainError("factorial of a negative integer");
      if (k > BigInt(MAX_FACTORIAL)) throw new ExactTooLarge(`factorial: the factorial of ${shown(k)} is past ${MAX_FACTORIAL}!`);
      let v = 1n;
      for (let i = 2n; i <= k; i++) {
        v *= i;
        if ((i & 63n) === 0n) checkDeadline();
      }
      return { re: ratInt(v) };
    }
    case "binom": {
      const top = exactInt(evalExact(a0, env));
      const bottom = exactInt(evalExact(args[1] as Node, env));
      if (top === undefined || bottom === undefined) return undefined;
      if (bottom < 0n || top < 0n || bottom > top) return { re: ZERO };
      const k = bottom > top - bottom ? top - bottom : bottom;
      // the value has at most k times the bits of the top: both bounds keep the loop and its result small
      const topBits = bitSize({ n: top, d: 1n });
      if (k > BigInt(MAX_FACTORIAL) || Number(k) * topBits > 2 * MAX_EXACT_BITS) throw new ExactTooLarge(`binomial: choosing ${shown(k)} of a ${topBits}-bit number`);
      let v = 1n;
      for (let i = 1n; i <= k; i++) {
        v = (v * (top - k + i)) / i;
        if ((i & 63n) === 0n) checkDeadline();
      }
      return bounded({ re: ratInt(v) }, "binomial");
    }
    case "gcd":
    case "lcm": {
      const vals = args.map((a) => exactInt(evalExact(a, env)));
      if (vals.some((v) => v === undefined)) return undefined;
      const g2 = (a: bigint, b: bigint): bigint => {
        a = a < 0n ? -a : a;
        b = b < 0n ? -b : b;
        while (b) [a, b] = [b, a % b];
        return a;
      };
      let acc = vals[0] as bigint;
      for (const v of vals.slice(1) as bigint[]) acc = n.name === "gcd" ? g2(acc, v) : (acc / g2(acc, v || 1n)) * v;
      return { re: ratInt(acc < 0n ? -acc : acc) };
    }
    case "max":
    case "min": {
      const vals = args.map((a) => evalExact(a, env));
      if (vals.some((v) => !v || !isReal(v))) return undefined;
      let best = (vals[0] as Exact).re;
      for (const v of vals.slice(1) as Exact[]) if ((n.name === "max" ? cmp(v.re, best) : cmp(best, v.re)) > 0) best = v.re;
      return { re: best };
    }
    case "mod": {
      const a = exactInt(evalExact(a0, env));
      const m = exactInt(evalExact(args[1] as Node, env));
      if (a === undefined || m === undefined || m === 0n) return undefined;
      const r = a % m;
      return { re: ratInt(r < 0n ? r + (m < 0n ? -m : m) : r) };
    }
    case "exp": {
      const x = evalExact(a0, env);
      return x && x.re.n === 0n && isReal(x) ? { re: ONE } : undefined;
    }
    case "ln": {
      const x = evalExact(a0, env);
      return x && isReal(x) && x.re.n === 1n && x.re.d === 1n ? { re: ZERO } : undefined;
    }
    case "log":
      return exactLog(args, env);
    case "sin":
    case "tan":
    case "asin":
    case "atan":
    case "sinh":
    case "tanh": {
      const x = evalExact(a0, env);
      return x && x.re.n === 0n && isReal(x) ? { re: ZERO } : undefined;
    }
    case "cos":
    case "cosh": {
      const x = evalExact(a0, env);
      return x && x.re.n === 0n && isReal(x) ? { re: ONE } : undefined;
    }
    case "re":
    case "im":
    case "conj": {
      const x = evalExact(a0, env);
      if (!x) return undefined;
      if (n.name === "re") return { re: x.re };
      if (n.name === "im") return { re: x.im ?? ZERO };
      return x.im ? { re: x.re, im: { n: -x.im.n, d: x.im.d } } : x;
    }
    default:
      return undefined;
  }
}

/** log_b(x) when x is an exact integer power of b (log_2 8 = 3, log_10 0.01 = -2). */
function exactLog(args: readonly Node[], env: Env): Exact | undefined {
  if (args.length < 2) {
    const x = evalExact(args[0] as Node, env);
    return x && isReal(x) && x.re.n === 1n && x.re.d === 1n ? { re: ZERO } : undefined;
  }
  const x = evalExact(args[0] as Node, env);
  const b = evalExact(args[1] as Node, env);
  if (!x || !b || !isReal(x) || !isReal(b) || sign(x.re) <= 0 || sign(b.re) <= 0) return undefined;
  if (cmp(b.re, ONE) === 0) throw new NumericDomainError("logarithm base 1");
  let p: Rational = ONE;
  const up = cmp(b.re, ONE) > 0 === cmp(x.re, ONE) >= 0;
  const step = up ? b.re : cdiv({ re: ONE }, { re: b.re }).re;
  for (let k = 0; k <= 64; k++) {
    const c = cmp(p, x.re);
    if (c === 0) return { re: ratInt(up ? k : -k) };
    p = cmul({ re: p }, { re: step }).re;
    if (bitSize(p) > 4 * bitSize(x.re) + 64) break;
  }
  return undefined;
}

function exactBigop(n: Extract<Node, { k: "bigop" }>, env: Env): Exact | undefined {
  const lo = exactInt(evalExact(n.lo, env));
  const hi = exactInt(evalExact(n.hi, env));
  if (lo === undefined || hi === undefined) throw new Unevaluable("a sum with symbolic limits");
  if (hi - lo > BigInt(MAX_SUM_TERMS)) throw new ExactTooLarge(`${n.op}: ${shown(hi - lo + 1n)} terms, more than ${MAX_SUM_TERMS}`);
  let acc: Exact = { re: n.op === "sum" ? ZERO : ONE };
  const inner = new Map(env);
  for (let k = lo; k <= hi; k++) {
    inner.set(n.v, ratInt(k));
    const v = evalExact(n.body, inner);
    if (!v) return undefined;
    acc = bounded(n.op === "sum" ? cadd(acc, v) : cmul(acc, v), n.op);
  }
  return acc;
}

/** Numeric evaluation at precision p bits. */
export function evalNum(n: Node, env: Env, p: number): Num {
  checkDeadline();
  switch (n.k) {
    case "num":
      return numFromRational(n.q, p);
    case "sym": {
      const v = env.get(n.name);
      if (v === undefined) throw new Unevaluable(`free symbol ${n.name}`);
      return numFromRational(v, p);
    }
    case "const":
      if (n.name === "pi") return numPi(p);
      if (n.name === "e") return numE(p);
      if (n.name === "i") return numFromExact({ re: ZERO, im: ONE }, p);
      throw new Unevaluable("infinity");
    case "add":
      return n.args.map((a) => evalNum(a, env, p)).reduce((x, y) => numAdd(x, y, p));
    case "mul":
      return n.args.map((a) => evalNum(a, env, p)).reduce((x, y) => numMul(x, y, p));
    case "div":
      return numDiv(evalNum(n.num, env, p), evalNum(n.den, env, p), p);
    case "neg":
      return numNeg(evalNum(n.arg, env, p));
    case "pct":
      return numDiv(evalNum(n.arg, env, p), numFromRational(ratInt(100), p), p);
    case "pow":
      return numPow(n.base, n.exp, env, p);
    case "fn":
      return numFn(n, env, p);
    case "apply":
      return opaqueValue(n.name, n.args.map((a) => evalNum(a, env, p)), p);
    case "base":
    case "bigop": {
      const x = evalExact(n, env);
      if (!x) throw new Unevaluable(`${n.k} too large`);
      return numFromExact(x, p);
    }
    default:
      throw new Unevaluable(`a ${n.k} is not a number`);
  }
}

function numPow(baseNode: Node, expNode: Node, env: Env, p: number): Num {
  let e: Exact | undefined;
  try {
    e = evalExact(expNode, env);
  } catch (err) {
    if (!(err instanceof Unevaluable)) throw err;
  }
  const b = evalNum(baseNode, env, p);
  if (e && isReal(e)) {
    const q = e.re;
    if (q.d === 1n) {
      const k = q.n < 0n ? -q.n : q.n;
      const m = mag(b);
      if (m === -Infinity) {
        if (q.n < 0n) throw new NumericDomainError("zero to a negative power");
        return q.n === 0n ? numFromRational(ONE, p) : b;
      }
      // |b|^k must keep a representable exponent
      if (Math.abs(m) * Number(k) > 2 ** 40) throw new NumericDomainError("power overflow");
      return numPowInt(b, q.n, p);
    }
    if (isRealNum(b) && q.d % 2n === 1n && q.d <= 1_000_001n) {
      // real odd roots: (-8)^(1/3) = -2, x^(2/3) = (x^(1/3))^2 for negative x too
      const r = numRealRoot(b, Number(q.d), p);
      return numPowInt(r, q.n, p);
    }
  }
  const ex = evalNum(expNode, env, p);
  if (mag(b) === -Infinity) {
    if (isRealNum(ex) && bfSign(ex.re) > 0) return b;
    throw new NumericDomainError("zero to a non-positive power");
  }
  return numExp(numMul(ex, numLn(b, p), p), p);
}

function numFn(n: Extract<Node, { k: "fn" }>, env: Env, p: number): Num {
  const args = n.args;
  const exact = (): Num => {
    const x = evalExact(n, env);
    if (!x) throw new Unevaluable(`${n.name} of a non-integer`);
    return numFromExact(x, p);
  };
  switch (n.name) {
    case "fact":
    case "binom":
    case "gcd":
    case "lcm":
    case "mod":
      return exact();
    default:
      break;
  }
  const x = evalNum(args[0] as Node, env, p);
  switch (n.name) {
    case "sqrt":
      return numSqrt(x, p);
    case "root": {
      let k: bigint | undefined;
      try {
        k = exactRootIndex(args[1] as Node, env);
      } catch (err) {
        if (!(err instanceof Unevaluable)) throw err;
      }
      if (k !== undefined && isRealNum(x) && (k % 2n === 1n || bfSign(x.re) >= 0)) return numRealRoot(x, Number(k), p);
      const idx = evalNum(args[1] as Node, env, p);
      return numExp(numDiv(numLn(x, p), idx, p), p);
    }
    case "exp":
      return numExp(x, p);
    case "ln":
      return numLn(x, p);
    case "log":
      return args.length > 1 ? numDiv(numLn(x, p), numLn(evalNum(args[1] as Node, env, p), p), p) : numLn(x, p);
    case "sin":
      return numSinCos(x, p).sin;
    case "cos":
      return numSinCos(x, p).cos;
    case "tan":
    case "cot":
    case "sec":
    case "csc": {
      const sc = numSinCos(x, p);
      const one = numFromRational(ONE, p);
      if (n.name === "tan") return numDiv(sc.sin, sc.cos, p);
      if (n.name === "cot") return numDiv(sc.cos, sc.sin, p);
      if (n.name === "sec") return numDiv(one, sc.cos, p);
      return numDiv(one, sc.sin, p);
    }
    case "asin":
      return numAsin(x, p);
    case "acos":
      return numSub(numDiv(numPi(p), numFromRational(ratInt(2), p), p), numAsin(x, p), p);
    case "atan":
      return numAtan(x, p);
    case "acot":
      return numAtan(numDiv(numFromRational(ONE, p), x, p), p);
    case "sinh":
    case "cosh":
    case "tanh": {
      const a = numExp(x, p);
      const b = numExp(numNeg(x), p);
      const two = numFromRational(ratInt(2), p);
      if (n.name === "sinh") return numDiv(numSub(a, b, p), two, p);
      if (n.name === "cosh") return numDiv(numAdd(a, b, p), two, p);
      return numDiv(numSub(a, b, p), numAdd(a, b, p), p);
    }
    case "abs":
      if (isRealNum(x)) return bfSign(x.re) < 0 ? numNeg(x) : x;
      return numSqrt(numMul(x, conj(x), p), p);
    case "floor":
    case "ceil": {
      if (!isRealNum(x)) throw new NumericDomainError("floor of a complex number");
      const v = bfToNumber(x.re);
      const r = n.name === "floor" ? Math.floor(v) : Math.ceil(v);
      if (Math.abs(v - Math.round(v)) < 1e-9 || !Number.isSafeInteger(r)) return exact();
      return numFromRational(ratInt(r), p);
    }
    case "max":
    case "min": {
      const vals = args.map((a) => evalNum(a, env, p));
      if (vals.some((v) => !isRealNum(v))) throw new NumericDomainError("max of complex numbers");
      return vals.reduce((best, v) => {
        const d = bfSign(numSub(v, best, p).re);
        return (n.name === "max" ? d > 0 : d < 0) ? v : best;
      });
    }
    case "re":
      return { re: x.re, im: numFromRational(ZERO, p).im, err: x.err };
    case "im":
      return { re: x.im, im: numFromRational(ZERO, p).im, err: x.err };
    case "conj":
      return conj(x);
    default:
      throw new Unevaluable(`cannot evaluate ${n.name}`);
  }
}

function conj(x: Num): Num {
  return { re: x.re, im: { m: -x.im.m, e: x.im.e }, err: x.err };
}

function exactRootIndex(n: Node, env: Env): bigint | undefined {
  const k = exactInt(evalExact(n, env));
  return k !== undefined && k >= 1n && k <= 1_000_001n ? k : undefined;
}

/** FNV-1a over the function name and rounded argument values: a stand-in value for f(args). */
function opaqueValue(name: string, args: Num[], p: number): Num {
  let h = 0x811c9dc5;
  const feed = (s: string): void => {
    for (let i = 0; i < s.length; i++) {
      h ^= s.charCodeAt(i);
      h = Math.imul(h, 0x01000193) >>> 0;
    }
  };
  feed(name);
  for (const a of args) {
    const { re, im } = numApprox(a);
    feed(`|${re.toPrecision(10)},${im.toPrecision(10)}`);
  }
  const v = 0.5 + (h >>> 0) / 2 ** 32;
  return { re: bfFromNumber(v, p), im: numFromRational(ZERO, p).im, err: -Infinity };
}
