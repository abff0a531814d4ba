/**
 * Property tests (fast-check): equivalent rewrites of random expressions
 * verify as equal, perturbed values do not, and arbitrary or adversarial
 * input never throws and never runs past the time bound.
 */
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { verify } from "./verify.js";

// A tiny independent rational type for expected values (not the verifier's own).
type Frac = { n: bigint; d: bigint };
const gcd = (a: bigint, b: bigint): bigint => {
  a = a < 0n ? -a : a;
  b = b < 0n ? -b : b;
  while (b) [a, b] = [b, a % b];
  return a;
};
const mk = (n: bigint, d: bigint): Frac => {
  if (d < 0n) [n, d] = [-n, -d];
  const g = gcd(n, d) || 1n;
  return { n: n / g, d: d / g };
};

type Expr = { k: "int"; v: number } | { k: "bin"; op: "+" | "-" | "*" | "/"; a: Expr; b: Expr } | { k: "pow"; a: Expr; e: number };

const exprArb: fc.Arbitrary<Expr> = fc.letrec<{ e: Expr }>((tie) => ({
  e: fc.oneof(
    { depthSize: "small", withCrossShrink: true },
    fc.integer({ min: -12, max: 12 }).map((v): Expr => ({ k: "int", v })),
    fc.record({ op: fc.constantFrom("+", "-", "*", "/"), a: tie("e"), b: tie("e") }).map((r): Expr => ({ k: "bin", ...r }) as Expr),
    fc.record({ a: tie("e"), e: fc.integer({ min: 0, max: 3 }) }).map((r): Expr => ({ k: "pow", ...r })),
  ),
})).e;

function value(x: Expr): Frac | undefined {
  switch (x.k) {
    case "int":
      return { n: BigInt(x.v), d: 1n };
    case "pow": {
      const a = value(x.a);
      if (!a) return undefined;
      if (a.n === 0n && x.e === 0) return { n: 1n, d: 1n };
      return mk(a.n ** BigInt(x.e), a.d ** BigInt(x.e));
    }
    case "bin": {
      const a = value(x.a);
      const b = value(x.b);
      if (!a || !b) return undefined;
      if (x.op === "+") return mk(a.n * b.d + b.n * a.d, a.d * b.d);
      if (x.op === "-") return mk(a.n * b.d - b.n * a.d, a.d * b.d);
      if (x.op === "*") return mk(a.n * b.n, a.d * b.d);
      if (b.n === 0n) return undefined;
      return mk(a.n * b.d, a.d * b.n);
    }
  }
}

/** Standard LaTeX. */
function latex(x: Expr): string {
  switch (x.k) {
    case "int":
      return x.v < 0 ? `(${x.v})` : String(x.v);
    case "pow":
      return `\\left(${latex(x.a)}\\right)^{${x.e}}`;
    case "bin":
      if (x.op === "/") return `\\frac{${latex(x.a)}}{${latex(x.b)}}`;
      return `\\left(${latex(x.a)} ${x.op === "*" ? "\\cdot" : x.op} ${latex(x.b)}\\right)`;
  }
}

/** An equivalent rewrite: operands of + and * swapped, a - b as a + (-1)b, a/b inline, powers as products. */
function rewrite(x: Expr): string {
  switch (x.k) {
    case "int":
      return x.v < 0 ? `(-${-x.v})` : String(x.v);
    case "pow":
      return x.e === 0 ? "1" : `(${Array.from({ length: x.e }, () => `(${rewrite(x.a)})`).join("\\times")})`;
    case "bin":
      if (x.op === "+") return `(${rewrite(x.b)} + ${rewrite(x.a)})`;
      if (x.op === "*") return `(${rewrite(x.b)} * ${rewrite(x.a)})`;
      if (x.op === "-") return `(${rewrite(x.a)} + (-1)(${rewrite(x.b)}))`;
      return `((${rewrite(x.a)}) / (${rewrite(x.b)}))`;
  }
}

function fracLatex(f: Frac): string {
  if (f.d === 1n) return f.n.toString();
  return `${f.n < 0n ? "-" : ""}\\frac{${f.n < 0n ? -f.n : f.n}}{${f.d}}`;
}

function zeroPowZero(x: Expr): boolean {
  if (x.k === "int") return false;
  if (x.k === "pow") return (x.e === 0 && value(x.a)?.n === 0n) || zeroPowZero(x.a);
  return zeroPowZero(x.a) || zeroPowZero(x.b);
}

const boxed = (s: string): string => `Working through it carefully, we get $\\boxed{${s}}$.`;
const defined = (x: Expr): boolean => value(x) !== undefined && !zeroPowZero(x);

describe("equivalent rewrites stay equal, perturbations do not", () => {
  it("rational expressions: rewritten form and exact value verify; value+1 does not", () => {
    fc.assert(
      fc.property(exprArb.filter(defined), (x) => {
        const v = value(x) as Frac;
        const gold = latex(x);
        expect(verify(gold, boxed(rewrite(x))).correct).toBe(true);
        expect(verify(gold, boxed(fracLatex(v))).correct).toBe(true);
        expect(verify(fracLatex(v), boxed(gold)).correct).toBe(true);
        expect(verify(gold, boxed(fracLatex({ n: v.n + v.d, d: v.d }))).correct).toBe(false);
      }),
      { numRuns: 150 },
    );
  });

  it("polynomial identities with variables", () => {
    fc.assert(
      fc.property(fc.integer({ min: -9, max: 9 }), fc.integer({ min: -9, max: 9 }), fc.integer({ min: 1, max: 5 }), (a, b, c) => {
        const sgn = (n: number) => (n < 0 ? `- ${-n}` : `+ ${n}`);
        const gold = `${c}(x ${sgn(a)})(y ${sgn(b)})`;
        const expanded = `${c}xy ${sgn(c * b)}x ${sgn(c * a)}y ${sgn(c * a * b)}`;
        expect(verify(gold, boxed(expanded)).correct).toBe(true);
        expect(verify(gold, boxed(`${expanded} + 1`)).correct).toBe(false);
        expect(verify(gold, boxed(`${c}xy ${sgn(c * b)}y ${sgn(c * a)}x ${sgn(c * a * b)}`)).correct).toBe(a === b);
      }),
      { numRuns: 80 },
    );
  });

  it("terminating decimals equal their fractions; a changed digit does not", () => {
    fc.assert(
      fc.property(fc.integer({ min: -99999, max: 99999 }), fc.integer({ min: 1, max: 4 }), (n, places) => {
        const d = 10 ** places;
        const f = mk(BigInt(n), BigInt(d));
        const dec = (n / d).toFixed(places);
        expect(verify(fracLatex(f), boxed(dec)).correct).toBe(true);
        const off = ((n + 1) / d).toFixed(places);
        expect(verify(fracLatex(f), boxed(off)).correct).toBe(false);
      }),
      { numRuns: 100 },
    );
  });

  it("sets are unordered, tuples ordered", () => {
    fc.assert(
      fc.property(fc.uniqueArray(fc.integer({ min: -50, max: 50 }), { minLength: 2, maxLength: 6 }), fc.integer({ min: 1, max: 5 }), (xs, shift) => {
        const rotated = [...xs.slice(shift % xs.length), ...xs.slice(0, shift % xs.length)];
        const moved = rotated.join(",") !== xs.join(",");
        expect(verify(`\\{${xs.join(", ")}\\}`, boxed(`\\{${rotated.join(", ")}\\}`)).correct).toBe(true);
        expect(verify(xs.join(", "), boxed(rotated.join(", "))).correct).toBe(true);
        expect(verify(`(${xs.join(", ")})`, boxed(`(${rotated.join(", ")})`)).correct).toBe(!moved);
        const missing = Math.max(...xs) + 1;
        expect(verify(`\\{${xs.join(", ")}\\}`, boxed(`\\{${[...xs.slice(1), missing].join(", ")}\\}`)).correct).toBe(false);
      }),
      { numRuns: 80 },
    );
  });

  it("intervals keep their ends; sqrt and pi forms are compared in high precision", () => {
    fc.assert(
      fc.property(fc.integer({ min: 1, max: 400 }), fc.integer({ min: 2, max: 9 }), (n, k) => {
        expect(verify(`\\sqrt{${n * k * k}}`, boxed(`${k}\\sqrt{${n}}`)).correct).toBe(true);
        expect(verify(`\\sqrt{${n * k * k + 1}}`, boxed(`${k}\\sqrt{${n}}`)).correct).toBe(false);
        expect(verify(`\\frac{${n}\\pi}{${k}}`, boxed(`${n}\\pi/${k}`)).correct).toBe(true);
        expect(verify(`[${n}, ${n + k})`, boxed(`[${n}, ${n + k}]`)).correct).toBe(false);
      }),
      { numRuns: 60 },
    );
  });
});

const TOKENS = ["\\frac", "{", "}", "\\sqrt", "^", "_", "(", ")", "[", "]", "\\left(", "\\right)", "1", "0", "9", "x", "\\boxed{", "$", "\\\\", "&", "\\begin{pmatrix}", "\\end{pmatrix}", "10^{", "!", "\\pi", "e", "i", ",", ";", "=", "<", "\\le", "\\pm", "%", "\\text{", "\\infty", ".", " ", "\\cup", "\\{", "\\}", "|", "\\sum_{k=1}^{", "\\ln", "\\sin", "-", "+", "/", ":", "\\approx", "and", "\f", "\t"];

const latexNoise = fc.array(fc.constantFrom(...TOKENS), { maxLength: 60 }).map((ts) => ts.join(""));

const ADVERSARIAL = [
  "{".repeat(50_000),
  "}".repeat(50_000),
  "\\boxed{" + "{".repeat(10_000),
  "x".repeat(100_000),
  "7".repeat(100_000),
  "\\boxed{10^{10^{10^{10}}}}",
  "\\boxed{10^{10^{10^{10^{10^{10}}}}}!}",
  "\\boxed{" + "(".repeat(20_000) + "1" + ")".repeat(20_000) + "}",
  "\\boxed{" + "\\frac{1}{".repeat(5_000) + "2" + "}".repeat(5_000) + "}",
  "\\boxed{" + "\\sqrt{".repeat(5_000) + "2" + "}".repeat(5_000) + "}",
  "\\boxed{" + "2^{".repeat(2_000) + "2" + "}".repeat(2_000) + "}",
  "$".repeat(100_000),
  "\\(".repeat(40_000),
  "\\boxed{".repeat(20_000),
  ("The answer is \\boxed{" + "9".repeat(60) + "} and ").repeat(2_000),
  "\\boxed{\\sum_{k=1}^{10^{12}} k!}",
  "\\boxed{(10^{100000})! - (10^{100000}-1)!}",
  "\\boxed{\\sin(10^{300})}",
  "\\boxed{e^{e^{e^{e^{e^{e}}}}}}",
  "\\boxed{x^{10^{9}} - (x+1)^{10^{9}}}",
  "\\boxed{\\begin{pmatrix}" + Array.from({ length: 100 }, () => Array(100).fill("1").join("&")).join("\\\\") + "\\end{pmatrix}}",
  "\\boxed{" + Array.from({ length: 3_000 }, (_, i) => `${i}`).join(",") + "}",
  "\\boxed{1" + "+1".repeat(5_000) + "}",
  "\u0000\u0001\uffff\ud800 \\boxed{\u202e1}",
];

describe("never throws, never hangs", () => {
  const bounded = (gold: string, response: string): void => {
    const t0 = performance.now();
    const v = verify(gold, response, { timeoutMs: 300 });
    const ms = performance.now() - t0;
    expect(typeof v.correct).toBe("boolean");
    expect(typeof v.reason).toBe("string");
    // the 300 ms bound, with slack for a loaded machine
    expect(ms).toBeLessThan(1500);
  };

  it("adversarial responses and golds", () => {
    for (const s of ADVERSARIAL) {
      bounded("1", s);
      bounded(s.slice(0, 5_000), "\\boxed{1}");
    }
  });

  it("random LaTeX-like noise", () => {
    fc.assert(
      fc.property(latexNoise, latexNoise, (g, r) => {
        bounded(g, r);
        bounded(r, r);
      }),
      { numRuns: 300 },
    );
  });

  it("random unicode strings", () => {
    fc.assert(
      fc.property(fc.string({ unit: "grapheme", maxLength: 200 }), fc.string({ unit: "binary", maxLength: 200 }), (g, r) => {
        bounded(g, r);
        bounded(r, `\\boxed{${g}}`);
      }),
      { numRuns: 200 },
    );
  });

  it("a timeout is a verdict, not an exception", () => {
    const v = verify("1", "\\boxed{\\sum_{k=1}^{1000}\\sum_{j=1}^{1000} j}", { timeoutMs: 20 });
    expect(v).toMatchObject({ correct: false, reason: "timeout" });
  });
});
