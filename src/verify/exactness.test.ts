/**
 * Exactness (issue #14, section 1): the verifier never accepts an answer it
 * cannot read exactly. A box that does not parse is the response's answer
 * (never a number picked out of it), sizes beyond the bounds are refused as
 * "too-large", big numbers compare exactly or not at all, and the domain
 * errors of the arithmetic are typed. Each probe below came back correct
 * (source "number") before the fix.
 */
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { GvmError } from "../util/errors.js";
import { bfDiv, bfFromNumber, bfLn, bfSqrt } from "./numbers/bigfloat.js";
import { NumericDomainError } from "./errors.js";
import { extractAnswer } from "./syntax/extract.js";
import { normalizeAnswer } from "./syntax/normalize.js";
import { parseMath } from "./syntax/parse.js";
import { div, powInt, rat, ratInt, ZERO } from "./numbers/rational.js";
import { verify, type VerifyReason } from "./verify.js";

type Probe = readonly [gold: string, response: string, reason: VerifyReason];

function refused(rows: readonly Probe[]): void {
  for (const [gold, response, reason] of rows) {
    const v = verify(gold, response);
    const label = `${JSON.stringify(gold.slice(0, 40))} vs ${JSON.stringify(response.slice(0, 60))}: ${v.reason} (${v.source})`;
    expect(v.correct, label).toBe(false);
    expect(v.reason, label).toBe(reason);
  }
}

const nines = (n: number): string => "9".repeat(n);
const onesMatrix = (n: number): string => `\\begin{pmatrix}${Array.from({ length: n }, () => Array(n).fill("1").join("&")).join("\\\\")}\\end{pmatrix}`;
const counting = (n: number): string => Array.from({ length: n + 1 }, (_, i) => String(i)).join(",");

describe("the issue's probes", () => {
  it("limits and integrals are unparsable, not graded by their last number", () => {
    refused([
      ["2", "\\boxed{\\lim_{x \\to 2} x^2}", "unparsable"],
      ["3", "\\boxed{\\int_0^{3} x\\,dx}", "unparsable"],
    ]);
  });

  it("numerals whose exponent is beyond the exact bound are too large", () => {
    refused([
      ["2", "\\boxed{2e99999}", "too-large"],
      ["1", "\\boxed{1e100000}", "too-large"],
      ["0", "\\boxed{1e-100000}", "too-large"],
    ]);
  });

  it("answers past the size bounds are too large", () => {
    const sum = `${"x+".repeat(3000)}7`;
    expect(sum.length).toBeGreaterThan(6000);
    refused([
      ["7", `\\boxed{${sum}}`, "too-large"],
      ["1", `\\boxed{${onesMatrix(300)}}`, "too-large"],
      ["42", `\\boxed{${counting(2000)},42}`, "too-large"],
      ["7", `\\boxed{${"(".repeat(200)}7${")".repeat(200)}}`, "too-large"],
    ]);
    // just under the bound the same sum parses, and is simply wrong
    refused([["7", `\\boxed{${"x+".repeat(2990)}7}`, "mismatch"]]);
  });

  it("a short list in place of one number stays a mismatch", () => {
    refused([["42", "\\boxed{0,1,2,42}", "mismatch"]]);
  });

  it("long lists parse but are refused past the item bound", () => {
    refused([["42", `\\boxed{${counting(400)}}`, "too-large"]]);
  });

  it("two different long integers never compare equal", () => {
    refused([
      [nines(7000), `\\boxed{${nines(8000)}}`, "too-large"],
      [nines(7000), nines(8000), "too-large"],
      [nines(7000), `The answer is ${nines(8000)}.`, "too-large"],
      [nines(5000), `\\boxed{${nines(4999)}8}`, "mismatch"],
      [nines(5000), nines(4999), "mismatch"],
      [`${nines(2500)}1${nines(2500)}`, `\\boxed{${nines(2500)}2${nines(2500)}}`, "mismatch"],
    ]);
    expect(verify(nines(5000), `\\boxed{${nines(5000)}}`).correct).toBe(true);
    expect(verify(nines(5000), `so the count is ${nines(5000)}`).correct).toBe(true);
  });
});

describe("no number is picked out of an unread structure", () => {
  it("a failed box is the answer even when a number follows it", () => {
    refused([
      ["2", "\\boxed{\\lim_{x \\to 2} x^2} = 2", "unparsable"],
      ["2", "We get 2 first. \\boxed{\\lim_{x \\to 2} x^2}", "unparsable"],
      ["4.5", "\\fbox{\\int_0^{3} x\\,dx}", "unparsable"],
      ["2", "\\boxed{\\lim_{x \\to 2} x^2", "unparsable"],
    ]);
  });

  it("numbers side by side are no product: any factorisation of the gold would pass", () => {
    const gold = fc.integer({ min: 2, max: 99 });
    fc.assert(
      fc.property(gold, gold, fc.constantFrom(" ", " \\text{ apples and } ", "\\;"), (a, b, gap) => {
        const v = verify(String(a * b), `\\boxed{${a}${gap}${b}}`);
        return !v.correct && v.reason === "unparsable";
      }),
    );
    refused([
      ["0", "\\boxed{1 000}", "unparsable"],
      ["19/5", "\\boxed{3 4/5}", "unparsable"],
    ]);
    // what stays readable: explicit and bracketed products, units, thin-space digit groups
    for (const [gold, response] of [["6", "\\boxed{2\\cdot 3}"], ["6", "\\boxed{2(3)}"], ["5", "\\boxed{5 \\text{ cm}}"], ["1000000", "\\boxed{1\\,000\\,000}"], ["2x", "\\boxed{2 x}"]]) {
      expect(verify(gold as string, response as string).correct, response).toBe(true);
    }
  });

  it("derivatives in Leibniz notation are no fractions that cancel", () => {
    for (const [gold, response] of [
      ["3", "\\boxed{\\frac{d}{dx}(3x)}"],
      ["x", "\\boxed{\\frac{d}{dx} x^2}"],
      ["1", "\\boxed{dy/dy}"],
      ["1", "\\boxed{\\frac{d^2 y}{d y^2}}"],
      ["37", "\\boxed{\\frac{\\partial}{\\partial x} 37x}"],
      ["\\frac{x}{t}=k x-a", "\\boxed{\\frac{d x}{d t}=k x-a}"],
    ]) {
      expect(verify(gold as string, response as string).correct, response).toBe(false);
    }
    // the same derivative, however spaced, is the same answer
    expect(verify("\\frac{d x}{d t}=k x-a", "\\boxed{\\frac{dx}{dt} = kx - a}").correct).toBe(true);
    // fractions of variables that merely contain a d still read
    for (const [gold, response] of [["d/2", "\\boxed{\\frac{d}{2}}"], ["a/x", "\\boxed{\\frac{ad}{dx}}"], ["3", "\\boxed{\\frac{3d}{d}}"]]) {
      expect(verify(gold as string, response as string).correct, response).toBe(true);
    }
  });

  it("a failed final-answer statement is the answer", () => {
    refused([["3", "The final answer is $\\int_0^{3} x\\,dx$. I hope it is correct.", "unparsable"]]);
  });

  it("a failed math span or formula does not give up its numbers", () => {
    refused([
      ["2", "$\\lim_{x \\to 2} x^2$", "unparsable"],
      ["2", "so the value is $\\lim_{x \\to 2} x^2$", "unparsable"],
      ["2", "x^2 + 2 \\frac{", "unparsable"],
      ["3", "The answer is \\int_0^{3} x\\,dx", "unparsable"],
      ["2", "The answer is \\sqrt{2}", "mismatch"],
      ["2", "so we get x^2", "no-answer"],
      // "lim" is no formula word, so this is not taken whole; its last digits are an exponent
      ["2", "\\lim_{x \\to 2} x^2", "no-answer"],
    ]);
  });

  it("prose inside dollars still yields its number (a currency sign, not mathematics)", () => {
    expect(verify("1", "how many $? just about 1$").correct).toBe(true);
  });

  it("scientific notation in prose is one number, not its mantissa", () => {
    refused([
      ["2", "The answer is 2e99999.", "too-large"],
      ["2", "so we get 2e99999", "too-large"],
    ]);
    expect(verify("200000", "The answer is 2e5.").correct).toBe(true);
  });
});

describe("exact where it can be, refused where it cannot", () => {
  it("evaluates finite sums, binomials and factorials of sane size exactly", () => {
    for (const [gold, response] of [
      ["5050", "\\boxed{\\sum_{k=1}^{100} k}"],
      ["126410606437752", "\\boxed{\\binom{50}{25}}"],
      ["2432902008176640000", "\\boxed{20!}"],
      ["1267650600228229401496703205376", "\\boxed{2^{100}}"],
      ["-1", "\\boxed{(-1)^{1000001}}"],
      ["1", "\\boxed{1^{10^{9}}}"],
      ["-1", "\\boxed{i^{100002}}"],
    ] as const) {
      const v = verify(gold, response);
      expect(v.correct, `${response}: ${v.reason}`).toBe(true);
      expect(v.reason).toBe("exact");
    }
  });

  it("refuses sums, factorials and binomials past the bounds", () => {
    refused([
      ["500000000500000000", "\\boxed{\\sum_{k=1}^{10^{9}} k}", "too-large"],
      ["1", "\\boxed{(10^{6})!}", "too-large"],
      ["1", "\\boxed{\\binom{10^{6}}{500000}}", "too-large"],
      ["1", "\\boxed{\\binom{10^{3000}}{2999}}", "too-large"],
    ]);
  });

  it("never calls values equal that are too large to hold exactly", () => {
    refused([
      ["10^{100000}", "\\boxed{10^{100000}+1}", "too-large"],
      ["2^{2^{20}}", "\\boxed{2^{2^{20}}-1}", "too-large"],
      ["1", "\\boxed{\\frac{10^{100000}+1}{10^{100000}}}", "too-large"],
    ]);
  });

  it("still proves values of that size unequal", () => {
    refused([
      ["10^{100000}", "\\boxed{10^{99999}}", "mismatch"],
      ["10^{100000}", "\\boxed{-10^{100000}}", "mismatch"],
    ]);
  });

  it("compares big rationals exactly", () => {
    refused([
      ["1", `\\boxed{\\frac{1${"0".repeat(2000)}1}{1${"0".repeat(2001)}}}`, "mismatch"],
      ["\\frac{1}{2004!}", "\\boxed{\\frac{1}{2006!}}", "mismatch"],
    ]);
    expect(verify(`1${"0".repeat(3000)}`, "\\boxed{10^{3000}}").reason).toBe("exact");
  });

  it("a value not decided within the deadline is a timeout", () => {
    const v = verify("1", "\\boxed{\\sum_{k=1}^{2000} k!}", { timeoutMs: 2 });
    expect(v).toMatchObject({ correct: false, reason: "timeout" });
  });
});

describe("typed errors", () => {
  it("rational arithmetic names the operation it refuses", () => {
    expect(() => rat(1n, 0n)).toThrow(NumericDomainError);
    expect(() => div(ratInt(1), ZERO)).toThrow(/division by zero/);
    expect(() => powInt(ZERO, -1n)).toThrow(NumericDomainError);
    try {
      rat(3n, 0n);
    } catch (err) {
      expect(err).toBeInstanceOf(GvmError);
      expect((err as Error).message).toMatch(/3\/0/);
    }
  });

  it("binary floating point names the operation it refuses", () => {
    const one = bfFromNumber(1, 64);
    const zero = bfFromNumber(0, 64);
    const minus = bfFromNumber(-2, 64);
    expect(() => bfDiv(one, zero, 64)).toThrow(NumericDomainError);
    expect(() => bfSqrt(minus, 64)).toThrow(/square root/);
    expect(() => bfLn(zero, 64)).toThrow(NumericDomainError);
    expect(() => bfLn(minus, 64)).toThrow(GvmError);
  });
});

/** Pieces of LaTeX, most of which the parser refuses in some combination. */
const TOKENS = [
  "\\lim_{x \\to 2}",
  "\\int_0^{3}",
  "\\,dx",
  "\\frac",
  "\\sqrt",
  "\\sum",
  "\\to",
  "\\infty",
  "\\partial",
  "\\mathbb{R}",
  "\\begin{pmatrix}",
  "\\end{pmatrix}",
  "&",
  "\\\\",
  "x",
  "y",
  "^",
  "_",
  "{",
  "}",
  "(",
  ")",
  "[",
  "+",
  "-",
  "=",
  ",",
  "!",
  "%",
  " ",
  "e99999",
  "\\cdot",
  "2",
  "3",
  "7",
  "42",
  "0.5",
] as const;
const soup = fc.array(fc.constantFrom(...TOKENS), { minLength: 1, maxLength: 14 }).map((ts) => ts.join(""));
const GOLDS = ["2", "3", "7", "42", "0", "1", "4.5", "\\frac{1}{2}"] as const;
const gold = fc.constantFrom(...GOLDS);

function parses(text: string): boolean {
  const t = normalizeAnswer(text);
  if (t === "") return false;
  try {
    parseMath(t, "latex");
    return true;
  } catch {
    return false;
  }
}

describe("property: an answer that does not parse is never correct", () => {
  it("a box that fails to parse, whatever surrounds it", () => {
    let exercised = 0;
    fc.assert(
      fc.property(
        gold,
        soup,
        fc.constantFrom("", "We find $x = G$ and G. ", "The answer is G. ", "\\boxed{G}, ", "so G = "),
        fc.constantFrom("", ".", " so G", " = G$", ", i.e. G"),
        (g, s, before, after) => {
          const response = `${before.replaceAll("G", g)}\\boxed{${s}}${after.replaceAll("G", g)}`;
          const answer = extractAnswer(response);
          if (!answer || answer.source !== "boxed" || parses(answer.text)) return;
          if (normalizeAnswer(answer.text) === normalizeAnswer(g)) return;
          exercised++;
          const v = verify(g, response);
          expect(v.correct, `${g} vs ${response}: ${v.reason}`).toBe(false);
          expect(["unparsable", "too-large", "timeout"]).toContain(v.reason);
        },
      ),
      { numRuns: 600 },
    );
    // the property must not hold vacuously
    expect(exercised).toBeGreaterThan(100);
  });

  it("a lone math span of mathematics that fails to parse", () => {
    let exercised = 0;
    fc.assert(
      fc.property(gold, soup, (g, s) => {
        const response = `Hence $${s}$`;
        const answer = extractAnswer(response);
        if (!answer || answer.source !== "math" || parses(answer.text) || !/[\\{}^_&]/.test(answer.text)) return;
        if (normalizeAnswer(answer.text) === normalizeAnswer(g)) return;
        exercised++;
        expect(verify(g, response).correct, `${g} vs ${response}`).toBe(false);
      }),
      { numRuns: 400 },
    );
    expect(exercised).toBeGreaterThan(50);
  });
});
