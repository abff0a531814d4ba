/**
 * Parsing and extraction, checked through the canonical printed form and
 * the extracted text.
 */
import { describe, expect, it } from "vitest";
import { print } from "./ast.js";
import { extractAnswer, goldCandidates } from "./extract.js";
import { normalizeAnswer } from "./normalize.js";
import { AnswerParseError, parseMath } from "./parse.js";
import type { LexMode } from "./lexer.js";

const p = (s: string, mode: LexMode = "latex"): string => print(parseMath(normalizeAnswer(s), mode));

describe("parser", () => {
  it("reads TeX argument rules, implicit products and functions", () => {
    expect(p("\\frac12")).toBe("(1/2)");
    expect(p("\\frac1{72}")).toBe("(1/72)");
    expect(p("\\sqrt3x")).toBe("(sqrt(3)*x)");
    expect(p("\\sqrt[3]{x}")).toBe("root(x,3)");
    expect(p("2^10")).toBe("(2^10)");
    expect(p("e^xy")).toBe("((e^x)*y)");
    expect(p("\\sin^2 x + \\cos^{2}(x)")).toBe("((cos(x)^2)+(sin(x)^2))");
    expect(p("\\sin 2x \\cos y")).toBe("(cos(y)*sin((2*x)))");
    expect(p("\\arcsin x + \\sin^{-1} y")).toBe("(asin(x)+asin(y))");
    expect(p("\\log_2 8")).toBe("log(8,2)");
    expect(p("n(n+1)")).toBe("((1+n)*n)");
    expect(p("f(x)+I(0)")).toBe("(I(0)+f(x))");
    expect(p("5!")).toBe("fact(5)");
    expect(p("x_{12} + a_3'")).toBe("(a_3'+x_12)");
    expect(p("|x-1|")).toBe("abs(((-1)+x))");
    expect(p("\\lfloor x \\rfloor")).toBe("floor(x)");
    expect(p("\\binom{5}{2}")).toBe("binom(5,2)");
    expect(p("204_5")).toBe("204_5");
  });

  it("reads numbers: thousands, decimal commas in plain text, scientific notation", () => {
    expect(p("7,425,000")).toBe("7425000");
    expect(p("1,22", "plain")).toBe("1, 22");
    expect(p("1\\frac{4}{5}")).toBe("((4/5)+1)");
    expect(p("-137 \\frac{1}{2}")).toBe("(-((1/2)+137))");
    expect(p("2\\frac{3}{2}")).toBe("((3/2)*2)");
    expect(p("1,22")).toBe("1, 22");
    expect(p("(12,102)")).toBe("(12, 102)");
    expect(p("1 000", "plain")).toBe("1000");
    expect(p("7.02e5")).toBe("702000");
    expect(p("2e^{x}")).toBe("((e^x)*2)");
  });

  it("reads structures: relations, sets, intervals, tuples, matrices, lists", () => {
    expect(p("x \\geq 5")).toBe("x >= 5");
    expect(p("-2 \\le x < 7")).toBe("(-2) <= x < 7");
    expect(p("\\{1, 2\\}")).toBe("{1, 2}");
    expect(p("[0, 1)")).toBe("[0, 1)");
    expect(p("(0, 1]")).toBe("(0, 1]");
    expect(p("(1, 2, 3)")).toBe("(1, 2, 3)");
    expect(p("(-\\infty, 0) \\cup \\{1\\}")).toBe("(((-oo), 0) cup {1})");
    expect(p("\\begin{pmatrix} 1 & 2 \\\\ 3 & 4 \\end{pmatrix}")).toBe("[1 & 2 \\\\ 3 & 4]");
    expect(p("1 \\pm \\sqrt{2}")).toBe("(1+-sqrt(2))");
    expect(p("3 or 5")).toBe("3, 5");
    expect(p("p=5,q=2;p=7,q=2")).toBe("p = 5, q = 2; p = 7, q = 2");
    expect(p("x \\in [1, 2]")).toBe("x in [1, 2]");
    expect(p("12:00")).toBe("12:0");
  });

  it("drops units, degrees and spacing; keeps words as text", () => {
    expect(p("15\\mbox{ cm}^2")).toBe("15");
    expect(p("90^\\circ")).toBe("90");
    expect(p("28\\%")).toBe("28%");
    expect(p("\\text{Evelyn}")).toBe('"Evelyn"');
    expect(p("x_{1}=1,\\quadx_{2}=2")).toBe("x_1 = 1, x_2 = 2");
  });

  it("refuses what it cannot read, with a message naming the place", () => {
    expect(() => parseMath("\\frac{1}{")).toThrow(AnswerParseError);
    expect(() => parseMath("\\int x dx")).toThrow(/not supported/);
    expect(() => parseMath("(".repeat(1000) + "1" + ")".repeat(1000))).toThrow(/nested too deeply/);
  });
});

describe("extraction", () => {
  it("prefers boxes and final-answer phrases, then the last math or number", () => {
    expect(extractAnswer("a $x=1$ then \\boxed{2}")?.text).toBe("2");
    expect(extractAnswer("The final answer is $\\frac{3}{4}$. I hope it is correct.")).toMatchObject({ text: "\\frac{3}{4}", source: "final-answer" });
    expect(extractAnswer("the answer: 42 apples")).toMatchObject({ text: "42", source: "answer-phrase" });
    expect(extractAnswer("we have $a=1$ and finally $b = 7$")?.text).toBe("b = 7");
    expect(extractAnswer("total 1,000.99€")).toMatchObject({ text: "1,000.99", mode: "plain" });
    expect(extractAnswer("(x-2)(x+2)")).toMatchObject({ text: "(x-2)(x+2)", source: "whole" });
    expect(extractAnswer("nothing to see")).toBeUndefined();
  });

  it("reads golds: bare answers whole, solutions by their last box, spans joined", () => {
    expect(goldCandidates("1,22")[0]).toMatchObject({ text: "1,22", mode: "plain" });
    expect(goldCandidates("so $x = 2$ and the area is $\\boxed{12}$.")[0]?.text).toBe("12");
    expect(goldCandidates("$21,16$ or $11$")[0]?.text).toBe("21,16, 11");
    expect(goldCandidates("$125$ miles")[0]?.text).toBe("125");
  });
});
