/**
 * Exact rational arithmetic on BigInt, and exact Gaussian rationals (a + bi)
 * on top of it. Every result is in lowest terms with a positive denominator,
 * so equality is structural. Size guards live with the callers (evaluate.ts):
 * these functions never refuse work, they are only ever handed bounded input.
 * Undefined operations (a zero denominator) throw NumericDomainError, which
 * the evaluator turns into "undefined at this point".
 */
import { NumericDomainError } from "../errors.js";

export interface Rational {
  readonly n: bigint;
  readonly d: bigint;
}

function absBig(x: bigint): bigint {
  return x < 0n ? -x : x;
}

export function gcd(a: bigint, b: bigint): bigint {
  a = absBig(a);
  b = absBig(b);
  while (b !== 0n) {
    const t = a % b;
    a = b;
    b = t;
  }
  return a;
}

/** Above this size a full gcd costs too much (Euclid is quadratic); only powers of two are cancelled. */
const REDUCE_LIMIT = 1n << 4096n;

function trailingZeros(x: bigint): number {
  if (x === 0n) return 0;
  if (x < 0n) x = -x;
  return bigBitLength(x & -x) - 1;
}

/**
 * n/d with a positive denominator, in lowest terms when both parts are
 * below REDUCE_BITS bits; larger fractions may stay unreduced, so equality
 * goes through eq() (cross-multiplication), never through field comparison.
 */
export function rat(n: bigint, d: bigint = 1n): Rational {
  if (d === 0n) throw new NumericDomainError(`rat: zero denominator in ${n}/0`);
  if (d < 0n) {
    n = -n;
    d = -d;
  }
  if (d === 1n) return { n, d };
  if (n === 0n) return { n, d: 1n };
  if ((n < 0n ? -n : n) < REDUCE_LIMIT && d < REDUCE_LIMIT) {
    const g = gcd(n, d);
    return g === 1n ? { n, d } : { n: n / g, d: d / g };
  }
  const tz = Math.min(trailingZeros(n), trailingZeros(d));
  return tz === 0 ? { n, d } : { n: n >> BigInt(tz), d: d >> BigInt(tz) };
}

/** The integer value of a, if it is an integer. */
export function asInteger(a: Rational): bigint | undefined {
  if (a.d === 1n) return a.n;
  return a.n % a.d === 0n ? a.n / a.d : undefined;
}

export const ZERO: Rational = { n: 0n, d: 1n };
export const ONE: Rational = { n: 1n, d: 1n };

export function ratInt(n: number | bigint): Rational {
  return { n: BigInt(n), d: 1n };
}

export function isInteger(a: Rational): boolean {
  return asInteger(a) !== undefined;
}

export function add(a: Rational, b: Rational): Rational {
  if (a.d === b.d) return rat(a.n + b.n, a.d);
  return rat(a.n * b.d + b.n * a.d, a.d * b.d);
}

export function sub(a: Rational, b: Rational): Rational {
  if (a.d === b.d) return rat(a.n - b.n, a.d);
  return rat(a.n * b.d - b.n * a.d, a.d * b.d);
}

export function mul(a: Rational, b: Rational): Rational {
  if (a.d === 1n && b.d === 1n) return { n: a.n * b.n, d: 1n };
  return rat(a.n * b.n, a.d * b.d);
}

export function div(a: Rational, b: Rational): Rational {
  if (b.n === 0n) throw new NumericDomainError(`div: division by zero (${ratToString(a)} / 0)`);
  return rat(a.n * b.d, a.d * b.n);
}

export function neg(a: Rational): Rational {
  return { n: -a.n, d: a.d };
}

export function abs(a: Rational): Rational {
  return a.n < 0n ? { n: -a.n, d: a.d } : a;
}

export function cmp(a: Rational, b: Rational): number {
  const l = a.n * b.d;
  const r = b.n * a.d;
  return l < r ? -1 : l > r ? 1 : 0;
}

export function eq(a: Rational, b: Rational): boolean {
  if (a.n === b.n && a.d === b.d) return true;
  return a.n * b.d === b.n * a.d;
}

export function sign(a: Rational): number {
  return a.n < 0n ? -1 : a.n > 0n ? 1 : 0;
}

/** a^k for an integer k (caller bounds |k| and the size of the result). */
export function powInt(a: Rational, k: bigint): Rational {
  if (k === 0n) return ONE;
  if (k < 0n) {
    if (a.n === 0n) throw new NumericDomainError(`powInt: zero to the negative power ${k}`);
    return powInt(rat(a.d, a.n), -k);
  }
  return { n: a.n ** k, d: a.d ** k };
}

export function floor(a: Rational): bigint {
  const q = a.n / a.d;
  return a.n < 0n && q * a.d !== a.n ? q - 1n : q;
}

export function ceil(a: Rational): bigint {
  return -floor(neg(a));
}

/** Number of bits of the larger of numerator and denominator (a size measure for guards). */
export function bitSize(a: Rational): number {
  return Math.max(bigBitLength(a.n), bigBitLength(a.d));
}

export function bigBitLength(x: bigint): number {
  if (x < 0n) x = -x;
  if (x === 0n) return 0;
  if (x < 0x20000000000000n) return Math.floor(Math.log2(Number(x))) + 1;
  const hex = x.toString(16);
  const first = parseInt(hex[0] ?? "0", 16);
  return (hex.length - 1) * 4 + (32 - Math.clz32(first));
}

/** Exact integer k-th root of a non-negative integer, or undefined if it is not a perfect power. */
export function exactIntRoot(x: bigint, k: number): bigint | undefined {
  if (x < 0n) return undefined;
  if (x < 2n) return x;
  const r = intRootFloor(x, k);
  return r ** BigInt(k) === x ? r : undefined;
}

/** floor(x^(1/k)) for x >= 0 by Newton's method from an upper estimate. */
export function intRootFloor(x: bigint, k: number): bigint {
  if (x < 2n) return x;
  const kb = BigInt(k);
  const bits = bigBitLength(x);
  let r = 1n << BigInt(Math.ceil(bits / k) + 1);
  for (;;) {
    const next = ((kb - 1n) * r + x / r ** (kb - 1n)) / kb;
    if (next >= r) break;
    r = next;
  }
  while (r ** kb > x) r -= 1n;
  while ((r + 1n) ** kb <= x) r += 1n;
  return r;
}

/** Exact k-th root of a rational if both parts are perfect powers (negative allowed for odd k). */
export function exactRoot(a: Rational, k: number): Rational | undefined {
  if (a.n < 0n) {
    if (k % 2 === 0) return undefined;
    const r = exactRoot(neg(a), k);
    return r ? neg(r) : undefined;
  }
  const n = exactIntRoot(a.n, k);
  if (n === undefined) return undefined;
  const d = exactIntRoot(a.d, k);
  return d === undefined ? undefined : { n, d };
}

export function toNumber(a: Rational): number {
  const n = Number(a.n);
  const d = Number(a.d);
  if (Number.isFinite(n) && Number.isFinite(d) && Math.abs(n) < 2 ** 53 && d < 2 ** 53) return n / d;
  // Large parts: scale both down to keep the quotient's leading bits.
  const shift = Math.max(bigBitLength(a.n), bigBitLength(a.d)) - 60;
  const s = BigInt(Math.max(0, shift));
  return Number(a.n >> s) / Number(a.d >> s);
}

/** Parses a plain decimal literal ("12", "-0.5", ".25", "3.", "1e-5", "2.5E3") exactly. */
export function parseDecimal(text: string): Rational | undefined {
  if (/^\d{1,300}$/.test(text)) return { n: BigInt(text), d: 1n };
  const m = /^([+-]?)(\d*)(?:\.(\d*))?(?:[eE]([+-]?\d+))?$/.exec(text);
  if (!m) return undefined;
  const [, signText, intPart = "", fracPart = "", expText] = m;
  if (intPart === "" && fracPart === "") return undefined;
  let n = BigInt((intPart || "0") + fracPart);
  let d = 10n ** BigInt(fracPart.length);
  if (expText !== undefined) {
    const e = Number(expText);
    // the parser reports an exponent past this as too large (parse-atoms.ts)
    if (!Number.isSafeInteger(e) || Math.abs(e) > 4000) return undefined;
    if (e >= 0) n *= 10n ** BigInt(e);
    else d *= 10n ** BigInt(-e);
  }
  if (signText === "-") n = -n;
  return rat(n, d);
}

export function ratToString(a: Rational): string {
  return a.d === 1n ? a.n.toString() : `${a.n}/${a.d}`;
}

/** An exact complex number re + im*i; im === undefined means a real number. */
export interface Exact {
  readonly re: Rational;
  readonly im?: Rational;
}

export function isReal(x: Exact): boolean {
  return x.im === undefined || x.im.n === 0n;
}

function mk(re: Rational, im: Rational): Exact {
  return im.n === 0n ? { re } : { re, im };
}

export function cadd(a: Exact, b: Exact): Exact {
  if (a.im === undefined && b.im === undefined) return { re: add(a.re, b.re) };
  return mk(add(a.re, b.re), add(a.im ?? ZERO, b.im ?? ZERO));
}

export function csub(a: Exact, b: Exact): Exact {
  if (a.im === undefined && b.im === undefined) return { re: sub(a.re, b.re) };
  return mk(sub(a.re, b.re), sub(a.im ?? ZERO, b.im ?? ZERO));
}

export function cneg(a: Exact): Exact {
  return a.im === undefined ? { re: neg(a.re) } : { re: neg(a.re), im: neg(a.im) };
}

export function cmul(a: Exact, b: Exact): Exact {
  if (a.im === undefined && b.im === undefined) return { re: mul(a.re, b.re) };
  const ai = a.im ?? ZERO;
  const bi = b.im ?? ZERO;
  return mk(sub(mul(a.re, b.re), mul(ai, bi)), add(mul(a.re, bi), mul(ai, b.re)));
}

export function cdiv(a: Exact, b: Exact): Exact {
  if (a.im === undefined && b.im === undefined) return { re: div(a.re, b.re) };
  const bi = b.im ?? ZERO;
  const den = add(mul(b.re, b.re), mul(bi, bi));
  if (den.n === 0n) throw new NumericDomainError("cdiv: division by zero (a complex divisor 0 + 0i)");
  const conj: Exact = mk(b.re, neg(bi));
  const num = cmul(a, conj);
  return mk(div(num.re, den), div(num.im ?? ZERO, den));
}

export function ceq(a: Exact, b: Exact): boolean {
  return eq(a.re, b.re) && eq(a.im ?? ZERO, b.im ?? ZERO);
}

export function cBitSize(a: Exact): number {
  return Math.max(bitSize(a.re), a.im ? bitSize(a.im) : 0);
}

/** a^k for integer k by repeated squaring (caller guards the size). */
export function cpowInt(a: Exact, k: bigint): Exact {
  if (a.im === undefined || a.im.n === 0n) return { re: powInt(a.re, k) };
  if (k < 0n) return cdiv({ re: ONE }, cpowInt(a, -k));
  let result: Exact = { re: ONE };
  let base = a;
  let e = k;
  while (e > 0n) {
    if (e & 1n) result = cmul(result, base);
    e >>= 1n;
    if (e > 0n) base = cmul(base, base);
  }
  return result;
}

/** u^k for the units 1, -1, i, -i, whatever k (their powers cycle with period 4, so no size guard applies); undefined for other bases. */
export function cpowUnit(a: Exact, k: bigint): Exact | undefined {
  const im = a.im ?? ZERO;
  const realUnit = a.re.d === 1n && im.n === 0n && (a.re.n === 1n || a.re.n === -1n);
  const imaginaryUnit = a.re.n === 0n && im.d === 1n && (im.n === 1n || im.n === -1n);
  return realUnit || imaginaryUnit ? cpowInt(a, ((k % 4n) + 4n) % 4n) : undefined;
}
