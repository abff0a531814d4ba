/**
 * Arbitrary-precision binary floating point on BigInt: a value is m * 2^e with
 * |m| kept to at most `p` bits (truncated). Elementary functions are computed
 * in fixed point with guard bits and are accurate to a few units in the last
 * place of the requested precision; numeric.ts adds rigorous-enough error
 * bounds on top. Out-of-range inputs (overflowing exponents, huge trig
 * arguments) give undefined rather than a wrong number.
 */
import { NumericDomainError } from "../errors.js";
import { bigBitLength, type Rational } from "./rational.js";
import { checkDeadline } from "../deadline.js";

export interface BigFloat {
  readonly m: bigint;
  readonly e: number;
}

export const BF_ZERO: BigFloat = { m: 0n, e: 0 };
export const BF_ONE: BigFloat = { m: 1n, e: 0 };

/** Guard bits used inside series evaluations. */
const GUARD = 24;
/** Exponents beyond this magnitude are treated as overflow (the value is not representable). */
export const MAX_EXPONENT = 2 ** 40;

export function bfNormalize(m: bigint, e: number, p: number): BigFloat {
  if (m === 0n) return BF_ZERO;
  const bl = bigBitLength(m);
  if (bl > p) {
    const s = bl - p;
    return { m: m >> BigInt(s), e: e + s };
  }
  return { m, e };
}

export function bfFromRational(q: Rational, p: number): BigFloat {
  if (q.d === 1n) return bfNormalize(q.n, 0, p);
  const k = Math.max(0, p + bigBitLength(q.d) - bigBitLength(q.n) + 2);
  return bfNormalize((q.n << BigInt(k)) / q.d, -k, p);
}

export function bfFromNumber(x: number, p: number): BigFloat {
  if (x === 0 || !Number.isFinite(x)) return BF_ZERO;
  let e = 0;
  let v = Math.abs(x);
  while (v >= 2 ** 53) {
    v /= 2 ** 20;
    e += 20;
  }
  while (v < 2 ** 52) {
    v *= 2 ** 20;
    e -= 20;
  }
  const m = BigInt(Math.round(v));
  return bfNormalize(x < 0 ? -m : m, e, p);
}

export function bfIsZero(a: BigFloat): boolean {
  return a.m === 0n;
}

export function bfSign(a: BigFloat): number {
  return a.m < 0n ? -1 : a.m > 0n ? 1 : 0;
}

export function bfNeg(a: BigFloat): BigFloat {
  return { m: -a.m, e: a.e };
}

export function bfAbs(a: BigFloat): BigFloat {
  return a.m < 0n ? { m: -a.m, e: a.e } : a;
}

/** log2|a| as a double (-Infinity for zero). */
export function bfLog2(a: BigFloat): number {
  if (a.m === 0n) return -Infinity;
  const m = a.m < 0n ? -a.m : a.m;
  const bl = bigBitLength(m);
  const top = bl > 60 ? Number(m >> BigInt(bl - 60)) : Number(m);
  return Math.log2(top) + (bl > 60 ? bl - 60 : 0) + a.e;
}

export function bfToNumber(a: BigFloat): number {
  if (a.m === 0n) return 0;
  const bl = bigBitLength(a.m);
  const shift = bl > 60 ? bl - 60 : 0;
  const top = Number(shift > 0 ? a.m >> BigInt(shift) : a.m);
  const e = a.e + shift;
  if (e > 1100) return top > 0 ? Infinity : -Infinity;
  if (e < -1200) return 0;
  return top * 2 ** e;
}

export function bfAdd(a: BigFloat, b: BigFloat, p: number): BigFloat {
  if (a.m === 0n) return bfNormalize(b.m, b.e, p);
  if (b.m === 0n) return bfNormalize(a.m, a.e, p);
  const topA = bigBitLength(a.m) + a.e;
  const topB = bigBitLength(b.m) + b.e;
  // An addend entirely below the precision window changes nothing but the last bit.
  if (topA - topB > p + 2) return bfNormalize(a.m, a.e, p);
  if (topB - topA > p + 2) return bfNormalize(b.m, b.e, p);
  if (a.e >= b.e) return bfNormalize((a.m << BigInt(a.e - b.e)) + b.m, b.e, p);
  return bfNormalize(a.m + (b.m << BigInt(b.e - a.e)), a.e, p);
}

export function bfSub(a: BigFloat, b: BigFloat, p: number): BigFloat {
  return bfAdd(a, bfNeg(b), p);
}

export function bfMul(a: BigFloat, b: BigFloat, p: number): BigFloat {
  return bfNormalize(a.m * b.m, a.e + b.e, p);
}

export function bfDiv(a: BigFloat, b: BigFloat, p: number): BigFloat {
  if (b.m === 0n) throw new NumericDomainError("bfDiv: division by zero");
  if (a.m === 0n) return BF_ZERO;
  const k = Math.max(0, p + bigBitLength(b.m) - bigBitLength(a.m) + 2);
  return bfNormalize((a.m << BigInt(k)) / b.m, a.e - b.e - k, p);
}

export function bfMulPow2(a: BigFloat, k: number): BigFloat {
  return { m: a.m, e: a.e + k };
}

function isqrt(x: bigint): bigint {
  if (x < 2n) return x;
  let r = 1n << BigInt(Math.ceil(bigBitLength(x) / 2) + 1);
  for (;;) {
    const next = (r + x / r) >> 1n;
    if (next >= r) break;
    r = next;
  }
  while (r * r > x) r -= 1n;
  return r;
}

export function bfSqrt(a: BigFloat, p: number): BigFloat {
  if (a.m < 0n) throw new NumericDomainError(`bfSqrt: square root of a negative number (${bfToNumber(a)})`);
  if (a.m === 0n) return BF_ZERO;
  let k = 2 * p + 4 - bigBitLength(a.m);
  if ((a.e - k) % 2 !== 0) k += 1;
  const shifted = k >= 0 ? a.m << BigInt(k) : a.m >> BigInt(-k);
  return bfNormalize(isqrt(shifted), (a.e - k) / 2, p);
}

/** x / 2^k rounded toward zero (">>" alone floors, so a negative series term would never reach 0). */
function shr(x: bigint, k: bigint): bigint {
  return x >= 0n ? x >> k : -(-x >> k);
}

/** The value as a fixed-point integer with w fraction bits. */
function toFixed(a: BigFloat, w: number): bigint {
  const s = a.e + w;
  return s >= 0 ? a.m << BigInt(s) : a.m >> BigInt(-s);
}

function fromFixed(x: bigint, w: number, p: number): BigFloat {
  return bfNormalize(x, -w, p);
}

// Constants cached at the largest precision asked for so far.
let piCache: { w: number; v: bigint } | undefined;
let ln2Cache: { w: number; v: bigint } | undefined;

/** atan(1/x) for a small integer x, fixed point with w bits. */
function atanInv(x: bigint, w: number): bigint {
  const one = 1n << BigInt(w);
  const x2 = x * x;
  let term = one / x;
  let sum = term;
  let k = 1n;
  let sign = -1n;
  while (term !== 0n) {
    term /= x2;
    sum += (sign * term) / (2n * k + 1n);
    sign = -sign;
    k += 1n;
  }
  return sum;
}

function piFixed(w: number): bigint {
  if (!piCache || piCache.w < w) {
    const ww = Math.max(w, 256) + 16;
    piCache = { w: ww, v: (16n * atanInv(5n, ww) - 4n * atanInv(239n, ww)) };
  }
  return piCache.v >> BigInt(piCache.w - w);
}

function ln2Fixed(w: number): bigint {
  if (!ln2Cache || ln2Cache.w < w) {
    const ww = Math.max(w, 256) + 16;
    // ln 2 = 2 atanh(1/3)
    const one = 1n << BigInt(ww);
    let term = one / 3n;
    let sum = 0n;
    let k = 0n;
    while (term !== 0n) {
      sum += term / (2n * k + 1n);
      term /= 9n;
      k += 1n;
    }
    ln2Cache = { w: ww, v: 2n * sum };
  }
  return ln2Cache.v >> BigInt(ln2Cache.w - w);
}

export function bfPi(p: number): BigFloat {
  const w = p + GUARD;
  return fromFixed(piFixed(w), w, p);
}

export function bfLn2(p: number): BigFloat {
  const w = p + GUARD;
  return fromFixed(ln2Fixed(w), w, p);
}

/** e^a, or undefined when the result's exponent would overflow. */
export function bfExp(a: BigFloat, p: number): BigFloat | undefined {
  if (a.m === 0n) return BF_ONE;
  const approx = bfToNumber(a);
  if (!Number.isFinite(approx) || Math.abs(approx) > MAX_EXPONENT * 0.69) return undefined;
  const k = Math.round(approx / Math.LN2);
  const kBits = k === 0 ? 0 : Math.ceil(Math.log2(Math.abs(k) + 1));
  const w = p + GUARD + kBits;
  // r = a - k ln2, |r| <= ~0.35
  let r = toFixed(a, w) - BigInt(k) * ln2Fixed(w);
  const halvings = 8;
  r >>= BigInt(halvings);
  const one = 1n << BigInt(w);
  let sum = one;
  let term = one;
  let n = 1n;
  const W = BigInt(w);
  while (term !== 0n) {
    term = shr(term * r, W) / n;
    checkDeadline();
    sum += term;
    n += 1n;
  }
  for (let i = 0; i < halvings; i++) sum = shr(sum * sum, W);
  const res = fromFixed(sum, w, p);
  return { m: res.m, e: res.e + k };
}

/** Natural log of a positive number. */
export function bfLn(a: BigFloat, p: number): BigFloat {
  if (a.m <= 0n) throw new NumericDomainError(`bfLn: logarithm of a non-positive number (${bfToNumber(a)})`);
  const bl = bigBitLength(a.m);
  // a = y * 2^j with y in [0.75, 1.5)
  let j = bl + a.e;
  const w = p + GUARD + 8;
  let y = a.m << BigInt(Math.max(0, w - bl));
  if (bl > w) y = a.m >> BigInt(bl - w);
  // y now represents a.m / 2^bl in [0.5, 1) with w fraction bits
  const one = 1n << BigInt(w);
  if (y * 4n < one * 3n) {
    y <<= 1n;
    j -= 1;
  }
  const W = BigInt(w);
  const z = ((y - one) << W) / (y + one);
  const z2 = (z * z) >> W;
  let term = z;
  let sum = 0n;
  let k = 0n;
  while (term !== 0n) {
    sum += term / (2n * k + 1n);
    term = shr(term * z2, W);
    k += 1n;
    checkDeadline();
  }
  let result = 2n * sum;
  if (j !== 0) {
    const jBits = Math.ceil(Math.log2(Math.abs(j) + 1));
    const w2 = w + jBits;
    result = (result << BigInt(jBits)) + BigInt(j) * ln2Fixed(w2);
    return fromFixed(result, w2, p);
  }
  return fromFixed(result, w, p);
}

/** sin and cos together; undefined for arguments too large to reduce reliably. */
export function bfSinCos(a: BigFloat, p: number): { sin: BigFloat; cos: BigFloat } | undefined {
  if (a.m === 0n) return { sin: BF_ZERO, cos: BF_ONE };
  const approx = bfToNumber(a);
  if (!Number.isFinite(approx) || Math.abs(approx) > 2 ** 50) return undefined;
  const q = Math.round(approx / (Math.PI / 2));
  const qBits = q === 0 ? 0 : Math.ceil(Math.log2(Math.abs(q) + 1));
  const w = p + GUARD + qBits;
  const W = BigInt(w);
  const halfPi = piFixed(w) >> 1n;
  const r = toFixed(a, w) - BigInt(q) * halfPi;
  const r2 = shr(r * r, W);
  const one = 1n << W;
  let s = r;
  let term = r;
  let n = 1n;
  while (term !== 0n) {
    term = -shr(term * r2, W) / ((2n * n) * (2n * n + 1n));
    s += term;
    n += 1n;
  }
  let c = one;
  term = one;
  n = 1n;
  while (term !== 0n) {
    term = -shr(term * r2, W) / ((2n * n - 1n) * (2n * n));
    c += term;
    n += 1n;
  }
  const quadrant = ((q % 4) + 4) % 4;
  let sinF: bigint;
  let cosF: bigint;
  if (quadrant === 0) [sinF, cosF] = [s, c];
  else if (quadrant === 1) [sinF, cosF] = [c, -s];
  else if (quadrant === 2) [sinF, cosF] = [-s, -c];
  else [sinF, cosF] = [-c, s];
  return { sin: fromFixed(sinF, w, p), cos: fromFixed(cosF, w, p) };
}

/** arctan, any real argument. */
export function bfAtan(a: BigFloat, p: number): BigFloat {
  if (a.m === 0n) return BF_ZERO;
  const w = p + GUARD;
  const W = BigInt(w);
  const neg = a.m < 0n;
  let x = bfAbs(a);
  let invert = false;
  if (bfLog2(x) > 0) {
    x = bfDiv(BF_ONE, x, w);
    invert = true;
  }
  // Two halvings: atan(x) = 2 atan(x / (1 + sqrt(1 + x^2))), leaving |x| <= tan(pi/16).
  for (let i = 0; i < 2; i++) {
    const s = bfSqrt(bfAdd(BF_ONE, bfMul(x, x, w), w), w);
    x = bfDiv(x, bfAdd(BF_ONE, s, w), w);
  }
  const xf = toFixed(x, w);
  const x2 = (xf * xf) >> W;
  let term = xf;
  let sum = 0n;
  let k = 0n;
  while (term !== 0n) {
    const t = term / (2n * k + 1n);
    sum += k % 2n === 0n ? t : -t;
    term = shr(term * x2, W);
    k += 1n;
    if (k % 64n === 0n) checkDeadline();
  }
  sum *= 4n;
  if (invert) sum = (piFixed(w) >> 1n) - sum;
  const res = fromFixed(sum, w, p);
  return neg ? bfNeg(res) : res;
}
