/**
 * Complex numbers in arbitrary precision with a running bound on their
 * absolute error. Each value carries `err`, log2 of an upper bound on
 * |computed - exact| (-Infinity when exact); every operation propagates the
 * bound with first-order error analysis plus its own rounding. Comparisons
 * in compare.ts accept two values as equal only when their difference is
 * within the combined bounds and those bounds are tiny relative to the
 * values, so a cancellation that ate the precision is retried at a higher
 * precision instead of being mistaken for equality.
 */
import {
  BF_ONE,
  BF_ZERO,
  bfAbs,
  bfAdd,
  bfAtan,
  bfDiv,
  bfExp,
  bfFromRational,
  bfIsZero,
  bfLn,
  bfLog2,
  bfMul,
  bfMulPow2,
  bfNeg,
  bfPi,
  bfSign,
  bfSinCos,
  bfSqrt,
  bfSub,
  bfToNumber,
  type BigFloat,
} from "./bigfloat.js";
import { NumericDomainError } from "../errors.js";
import { type Exact, type Rational } from "./rational.js";

export interface Num {
  readonly re: BigFloat;
  readonly im: BigFloat;
  /** log2 of the absolute error bound; -Infinity when the value is exact. */
  readonly err: number;
}

// defined beside the other verifier errors so that bigfloat.ts and rational.ts, below this file, throw it too
export { NumericDomainError };

/** log2(2^x + 2^y), exact enough for error bookkeeping. */
export function l2add(x: number, y: number): number {
  if (x === -Infinity) return y;
  if (y === -Infinity) return x;
  const hi = Math.max(x, y);
  const lo = Math.min(x, y);
  return hi + Math.log2(1 + 2 ** (lo - hi));
}

/** log2 of an upper bound on |z|. */
export function mag(z: Num): number {
  const a = bfLog2(z.re);
  const b = bfLog2(z.im);
  const m = Math.max(a, b);
  return m === -Infinity ? -Infinity : m + 0.5;
}

function rounding(p: number, z: { re: BigFloat; im: BigFloat }): number {
  const m = Math.max(bfLog2(z.re), bfLog2(z.im));
  return m === -Infinity ? -Infinity : m - p + 2;
}

function mk(re: BigFloat, im: BigFloat, err: number, p: number): Num {
  return { re, im, err: l2add(err, rounding(p, { re, im })) };
}

export function numFromRational(q: Rational, p: number): Num {
  const re = bfFromRational(q, p);
  const exact = q.d === 1n || (q.d & (q.d - 1n)) === 0n;
  return { re, im: BF_ZERO, err: exact && bfLog2(re) < p ? -Infinity : rounding(p, { re, im: BF_ZERO }) };
}

export function numFromExact(x: Exact, p: number): Num {
  const re = numFromRational(x.re, p);
  if (x.im === undefined) return re;
  const im = numFromRational(x.im, p);
  return { re: re.re, im: im.re, err: l2add(re.err, im.err) };
}

export function isRealNum(z: Num): boolean {
  return bfIsZero(z.im);
}

export function numAdd(a: Num, b: Num, p: number): Num {
  return mk(bfAdd(a.re, b.re, p), bfAdd(a.im, b.im, p), l2add(a.err, b.err), p);
}

export function numSub(a: Num, b: Num, p: number): Num {
  return mk(bfSub(a.re, b.re, p), bfSub(a.im, b.im, p), l2add(a.err, b.err), p);
}

export function numNeg(a: Num): Num {
  return { re: bfNeg(a.re), im: bfNeg(a.im), err: a.err };
}

export function numMul(a: Num, b: Num, p: number): Num {
  let re: BigFloat;
  let im: BigFloat;
  if (bfIsZero(a.im) && bfIsZero(b.im)) {
    re = bfMul(a.re, b.re, p);
    im = BF_ZERO;
  } else {
    re = bfSub(bfMul(a.re, b.re, p), bfMul(a.im, b.im, p), p);
    im = bfAdd(bfMul(a.re, b.im, p), bfMul(a.im, b.re, p), p);
  }
  const err = l2add(l2add(mag(a) + b.err, mag(b) + a.err), a.err + b.err);
  return mk(re, im, err + 1, p);
}

export function numDiv(a: Num, b: Num, p: number): Num {
  const mb = mag(b);
  if (mb === -Infinity) throw new NumericDomainError("division by zero");
  let re: BigFloat;
  let im: BigFloat;
  if (bfIsZero(b.im)) {
    re = bfDiv(a.re, b.re, p);
    im = bfIsZero(a.im) ? BF_ZERO : bfDiv(a.im, b.re, p);
  } else {
    const den = bfAdd(bfMul(b.re, b.re, p), bfMul(b.im, b.im, p), p);
    re = bfDiv(bfAdd(bfMul(a.re, b.re, p), bfMul(a.im, b.im, p), p), den, p);
    im = bfDiv(bfSub(bfMul(a.im, b.re, p), bfMul(a.re, b.im, p), p), den, p);
  }
  // |b| is known only to within b.err; when that is not small the quotient is unreliable.
  if (b.err > mb - 4) return { re, im, err: Infinity };
  const q: Num = { re, im, err: -Infinity };
  const err = l2add(a.err, mag(q) + b.err) - (mb - 1.5);
  return mk(re, im, err + 1, p);
}

/** z^k for an integer k (|k| bounded by the caller). */
export function numPowInt(z: Num, k: bigint, p: number): Num {
  if (k === 0n) return { re: BF_ONE, im: BF_ZERO, err: -Infinity };
  if (k < 0n) return numDiv({ re: BF_ONE, im: BF_ZERO, err: -Infinity }, numPowInt(z, -k, p), p);
  let result: Num | undefined;
  let base = z;
  let e = k;
  while (e > 0n) {
    if (e & 1n) result = result ? numMul(result, base, p) : base;
    e >>= 1n;
    if (e > 0n) base = numMul(base, base, p);
  }
  return result as Num;
}

export function numSqrt(z: Num, p: number): Num {
  const m = mag(z);
  if (m === -Infinity) return z;
  let re: BigFloat;
  let im: BigFloat;
  if (bfIsZero(z.im)) {
    if (bfSign(z.re) >= 0) {
      re = bfSqrt(z.re, p);
      im = BF_ZERO;
    } else {
      re = BF_ZERO;
      im = bfSqrt(bfNeg(z.re), p);
    }
  } else {
    const modulus = bfSqrt(bfAdd(bfMul(z.re, z.re, p), bfMul(z.im, z.im, p), p), p);
    re = bfSqrt(bfMulPow2(bfAdd(modulus, z.re, p), -1), p);
    const imAbs = bfSqrt(bfMulPow2(bfSub(modulus, z.re, p), -1), p);
    im = bfSign(z.im) < 0 ? bfNeg(imAbs) : imAbs;
  }
  let err: number;
  if (z.err === -Infinity) err = -Infinity;
  else if (z.err < m - 3) err = z.err - m / 2 + 1;
  else err = (z.err + 3) / 2;
  return mk(re, im, err, p);
}

/** Real k-th root of a real number (odd k allows negatives). */
export function numRealRoot(z: Num, k: number, p: number): Num {
  if (!bfIsZero(z.im)) throw new NumericDomainError("real root of a complex number");
  if (bfIsZero(z.re)) return z;
  const neg = bfSign(z.re) < 0;
  if (neg && k % 2 === 0) throw new NumericDomainError("even root of a negative number");
  const abs: Num = { re: bfAbs(z.re), im: BF_ZERO, err: z.err };
  const l = numLn(abs, p);
  const r = numExp(numMul(l, numFromRational({ n: 1n, d: BigInt(k) }, p), p), p);
  return neg ? numNeg(r) : r;
}

export function numExp(z: Num, p: number): Num {
  const r = bfExp(z.re, p);
  if (!r) throw new NumericDomainError("exponential overflow");
  let re = r;
  let im = BF_ZERO;
  let err = -Infinity;
  if (!bfIsZero(z.im)) {
    const sc = bfSinCos(z.im, p);
    if (!sc) throw new NumericDomainError("argument too large");
    re = bfMul(r, sc.cos, p);
    im = bfMul(r, sc.sin, p);
  }
  const res: Num = { re, im, err: -Infinity };
  if (z.err !== -Infinity) {
    const factor = z.err < -20 ? z.err + 0.6 : Math.log2(Math.expm1(2 ** Math.min(z.err, 60)));
    err = mag(res) + factor;
  }
  return mk(re, im, l2add(err, mag(res) - p + 3), p);
}

/** Principal natural logarithm. */
export function numLn(z: Num, p: number): Num {
  const m = mag(z);
  if (m === -Infinity) throw new NumericDomainError("logarithm of zero");
  if (z.err > m - 4) return { re: BF_ZERO, im: BF_ZERO, err: Infinity };
  let re: BigFloat;
  let im: BigFloat = BF_ZERO;
  if (bfIsZero(z.im)) {
    re = bfLn(bfAbs(z.re), p);
    if (bfSign(z.re) < 0) im = bfPi(p);
  } else {
    const mod2 = bfAdd(bfMul(z.re, z.re, p + 8), bfMul(z.im, z.im, p + 8), p + 8);
    re = bfMulPow2(bfLn(mod2, p), -1);
    im = atan2(z.im, z.re, p);
  }
  const err = z.err === -Infinity ? -Infinity : z.err - m + 2.5;
  return mk(re, im, l2add(err, 2 - p + Math.max(0, Math.log2(Math.abs(bfToNumber(re)) + 1))), p);
}

function atan2(y: BigFloat, x: BigFloat, p: number): BigFloat {
  if (bfIsZero(x)) {
    const half = bfMulPow2(bfPi(p), -1);
    return bfSign(y) < 0 ? bfNeg(half) : half;
  }
  const base = bfAtan(bfDiv(y, x, p + 8), p);
  if (bfSign(x) > 0) return base;
  return bfSign(y) >= 0 ? bfAdd(base, bfPi(p), p) : bfSub(base, bfPi(p), p);
}

const I: Num = { re: BF_ZERO, im: BF_ONE, err: -Infinity };

export function numSinCos(z: Num, p: number): { sin: Num; cos: Num } {
  if (bfIsZero(z.im)) {
    const sc = bfSinCos(z.re, p);
    if (!sc) throw new NumericDomainError("trigonometric argument too large");
    const internal = 3 - p + Math.max(0, Math.log2(Math.abs(bfToNumber(z.re)) + 1));
    const err = l2add(z.err, internal);
    return { sin: mk(sc.sin, BF_ZERO, err, p), cos: mk(sc.cos, BF_ZERO, err, p) };
  }
  // sin z = (e^{iz} - e^{-iz}) / 2i, cos z = (e^{iz} + e^{-iz}) / 2
  const eiz = numExp(numMul(I, z, p), p);
  const emiz = numExp(numNeg(numMul(I, z, p)), p);
  const two: Num = { re: { m: 2n, e: 0 }, im: BF_ZERO, err: -Infinity };
  const sin = numDiv(numSub(eiz, emiz, p), numMul(two, I, p), p);
  const cos = numDiv(numAdd(eiz, emiz, p), two, p);
  return { sin, cos };
}

export function numAtan(z: Num, p: number): Num {
  if (!bfIsZero(z.im)) throw new NumericDomainError("arctangent of a complex number");
  return mk(bfAtan(z.re, p), BF_ZERO, l2add(z.err, 3 - p), p);
}

/** arcsin for real |x| <= 1 via atan(x / sqrt(1 - x^2)). */
export function numAsin(z: Num, p: number): Num {
  if (!bfIsZero(z.im)) throw new NumericDomainError("arcsine of a complex number");
  const one = numFromRational({ n: 1n, d: 1n }, p);
  const rest = numSub(one, numMul(z, z, p), p);
  const restSign = bfSign(rest.re);
  if (restSign < 0 && mag(rest) > rest.err) throw new NumericDomainError("arcsine outside [-1, 1]");
  if (restSign === 0 || mag(rest) <= rest.err + 1) {
    const half = bfMulPow2(bfPi(p), -1);
    return mk(bfSign(z.re) < 0 ? bfNeg(half) : half, BF_ZERO, (rest.err + 2) / 2, p);
  }
  return numAtan(numDiv(z, numSqrt(rest, p), p), p);
}

export function numPi(p: number): Num {
  return { re: bfPi(p), im: BF_ZERO, err: 2 - p };
}

export function numE(p: number): Num {
  return numExp({ re: BF_ONE, im: BF_ZERO, err: -Infinity }, p);
}

/** A double approximation of the real part, for hashing and coarse decisions. */
export function numApprox(z: Num): { re: number; im: number } {
  return { re: bfToNumber(z.re), im: bfToNumber(z.im) };
}
