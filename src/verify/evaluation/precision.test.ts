/**
 * The arithmetic under the verifier: exact rationals (reduced or not),
 * arbitrary-precision elementary functions against known digits and
 * identities, and error bounds that cover cancellation.
 */
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { bfExp, bfFromNumber, bfFromRational, bfLn, bfPi, bfSinCos, bfAtan, bfSqrt, bfSub, bfLog2, bfToNumber, bfMul, bfAdd } from "../numbers/bigfloat.js";
import { numAdd, numFromRational, numMul, numSinCos, numSub, mag, numPi } from "../numbers/numeric.js";
import { eq, exactRoot, parseDecimal, powInt, rat, add, mul, div, asInteger } from "../numbers/rational.js";
import { decide } from "./scalar.js";

describe("rationals", () => {
  it("reduce small fractions and compare large unreduced ones exactly", () => {
    expect(rat(6n, -4n)).toEqual({ n: -3n, d: 2n });
    const big = 1n << 5000n;
    const a = rat(3n * big * 7n, 7n * big);
    expect(eq(a, rat(3n))).toBe(true);
    expect(asInteger(a)).toBe(3n);
    expect(eq(div(powInt(rat(2n, 3n), 4000n), powInt(rat(2n, 3n), 3999n)), rat(2n, 3n))).toBe(true);
  });

  it("parse decimals and scientific notation exactly", () => {
    expect(parseDecimal("-0.125")).toEqual({ n: -1n, d: 8n });
    expect(parseDecimal(".5")).toEqual({ n: 1n, d: 2n });
    expect(parseDecimal("7.02e5")).toEqual({ n: 702000n, d: 1n });
    expect(parseDecimal("2.5E-3")).toEqual({ n: 1n, d: 400n });
    expect(parseDecimal("1e99999")).toBeUndefined();
    expect(parseDecimal("abc")).toBeUndefined();
  });

  it("take exact roots only of perfect powers", () => {
    expect(exactRoot(rat(27n, 8n), 3)).toEqual({ n: 3n, d: 2n });
    expect(exactRoot(rat(-27n), 3)).toEqual({ n: -3n, d: 1n });
    expect(exactRoot(rat(2n), 2)).toBeUndefined();
    expect(exactRoot(rat(-4n), 2)).toBeUndefined();
  });

  it("field laws hold on random fractions", () => {
    const q = fc.tuple(fc.bigInt({ min: -(10n ** 30n), max: 10n ** 30n }), fc.bigInt({ min: 1n, max: 10n ** 20n })).map(([n, d]) => rat(n, d));
    fc.assert(
      fc.property(q, q, q, (a, b, c) => {
        expect(eq(mul(a, add(b, c)), add(mul(a, b), mul(a, c)))).toBe(true);
        if (b.n !== 0n) expect(eq(mul(div(a, b), b), a)).toBe(true);
      }),
      { numRuns: 100 },
    );
  });
});

describe("arbitrary precision", () => {
  const P = 200;
  it("computes pi to 60 digits", () => {
    const pi = bfPi(P);
    const digits = (pi.m * 10n ** 60n) >> BigInt(-pi.e);
    expect(digits.toString()).toBe("3141592653589793238462643383279502884197169399375105820974944");
  });

  it("agrees with double-precision Math on random arguments", () => {
    fc.assert(
      fc.property(fc.double({ min: -50, max: 50, noNaN: true }), (x) => {
        const b = bfFromNumber(x, P);
        const close = (got: number, want: number) => expect(Math.abs(got - want)).toBeLessThanOrEqual(1e-13 * Math.max(1, Math.abs(want)));
        close(bfToNumber(bfExp(b, P) ?? bfFromNumber(0, P)), Math.exp(x));
        const sc = bfSinCos(b, P);
        close(bfToNumber(sc?.sin ?? bfFromNumber(NaN, P)), Math.sin(x));
        close(bfToNumber(sc?.cos ?? bfFromNumber(NaN, P)), Math.cos(x));
        close(bfToNumber(bfAtan(b, P)), Math.atan(x));
        if (x > 0) {
          close(bfToNumber(bfLn(b, P)), Math.log(x));
          close(bfToNumber(bfSqrt(b, P)), Math.sqrt(x));
        }
      }),
      { numRuns: 200 },
    );
  });

  it("satisfies identities far beyond double precision", () => {
    const x = bfFromRational(rat(12345n, 1000n), P);
    const sc = bfSinCos(x, P);
    if (!sc) throw new Error("sin/cos undefined");
    const one = bfAdd(bfMul(sc.sin, sc.sin, P), bfMul(sc.cos, sc.cos, P), P);
    expect(bfLog2(bfSub(one, bfFromNumber(1, P), P))).toBeLessThan(-(P - 10));
    const back = bfExp(bfLn(x, P), P);
    if (!back) throw new Error("exp undefined");
    expect(bfLog2(bfSub(back, x, P))).toBeLessThan(4 - (P - 10));
  });

  it("bounds the error of a cancellation and refuses to call it zero", () => {
    const p = 64;
    // (1e30 + pi) - 1e30 at 64 bits: almost all digits of pi are lost, and the bound says so
    const big = numFromRational(rat(10n ** 30n), p);
    const lost = numSub(numAdd(big, numPi(p), p), big, p);
    expect(lost.err).toBeGreaterThan(-10);
    expect(decide(lost, numPi(p), p, false)).toBe("undecided");
    // sin(pi)^2 computed at 128 bits is zero within its bound
    const s = numSinCos(numPi(128), 128).sin;
    expect(decide(numMul(s, s, 128), numFromRational(rat(0n), 128), 128, true)).toBe("equal");
    expect(mag(numFromRational(rat(0n), 128))).toBe(-Infinity);
  });
});
