/**
 * verify() behaviour, rule by rule: extraction, normalization, equivalence,
 * options, reasons, the reward function. Each row is (gold, response,
 * expected correct).
 */
import { describe, expect, it } from "vitest";
import { makeRewardFunction, verify, VerifyInputError, type VerifyOptions } from "./verify.js";

type Row = readonly [gold: string, response: string, correct: boolean, options?: VerifyOptions];

function check(rows: readonly Row[]): void {
  for (const [gold, response, correct, options] of rows) {
    const v = verify(gold, response, options);
    expect(v.correct, `${JSON.stringify(gold)} vs ${JSON.stringify(response)}: ${v.reason} (${v.normalizedGold} | ${v.normalizedPred})`).toBe(correct);
  }
}

describe("extraction", () => {
  it("takes the last box, with nested braces, \\fbox and \\boxed 5", () => {
    check([
      ["3", "First \\boxed{2}, then after checking \\boxed{3}.", true],
      ["\\frac{1}{2}", "so $\\boxed{\\frac{1}{2}}$", true],
      ["5", "thus \\fbox{5}", true],
      ["5", "the answer: \\boxed 5", true],
      ["\\{1, 2\\}", "\\boxed{\\{1, 2\\}}", true],
      ["2", "\\boxed{\\frac{4}{{2}}}", true],
    ]);
  });

  it("joins boxes separated by a connective, not boxes that correct each other", () => {
    check([
      ["1, 2", "\\boxed{1} and \\boxed{2}", true],
      ["(2,2), (6,2)", "$\\boxed{(2, 2)} \\quad \\text{and} \\quad \\boxed{(6, 2)}$", true],
      ["2", "\\boxed{1} but wait, that is wrong, so \\boxed{2}", true],
      ["1, 2", "\\boxed{1} no no no no no \\boxed{2}", false],
    ]);
  });

  it("reads final-answer phrases, answer: lines, the last math span and plain numbers", () => {
    check([
      ["10455", "earlier \\boxed{255}. Final Answer: The final answer is $10,455$. I hope it is correct.", true],
      ["34", "Final Answer: The largest $n$ is 34.", true],
      ["220", "Réponse: Janeth aura encore 220 $ à payer d'ici 12 mois.", true],
      ["9", "Answer \\( 9 \\)", true],
      ["9", "Answer \\[ 9 \\]", true],
      ["(7, 6)", "So the ordered pair is $(7, 6)$. <|im_start|>user", true],
      ["2/3", "the probability that Alice wins the game is 2/3.", true],
      ["858", "所以一共有**858颗**糖果。", true],
      ["2", "AZYUK2A", false],
      ["5", "no digits here at all", false],
    ]);
  });

  it("reads a gold that is a worked solution", () => {
    check([
      ["We find $x=2$, hence the area is $\\boxed{12}$ square units.", "\\boxed{12}", true],
      ["Final Answer: The final answer is $28\\%$. I hope it is correct.", "\\boxed{28\\%}", true],
    ]);
  });

  it("reports no-answer and unparsable", () => {
    expect(verify("3", "I don't know.").reason).toBe("no-answer");
    expect(verify("3", "\\boxed{\\int x dx}").reason).toBe("unparsable");
  });
});

describe("normalization", () => {
  it("handles fraction commands, delimiters, spacing, text and units", () => {
    check([
      ["\\frac{1}{3}", "\\boxed{\\dfrac13}", true],
      ["\\frac{1}{3}", "\\boxed{\\tfrac{1}{3}}", true],
      ["\\frac{1}{3}", "\\boxed{\\left( \\frac{1}{3} \\right)}", true],
      ["\\sqrt{3}", "\\boxed{\\sqrt3}", true],
      ["15", "\\boxed{15\\mbox{ cm}^2}", true],
      ["125", "\\boxed{125\\textnormal{ miles}}", true],
      ["0.06", "\\boxed{0.06 \\text{ yuan}}", true],
      ["35, 4", "\\boxed{35 cm, 4}", true],
      ["\\text{Evelyn}", "\\boxed{\\text{Evelyn}}", true],
      ["\\text{odd}", "$odd$", true],
      ["\\text{C}", "\\boxed{\\text{(C)}}", true],
      ["d", "$\\text{E}$", false],
    ]);
  });

  it("reads thousands separators, decimal commas, leading dots, percent and degrees", () => {
    check([
      ["7425000", "7,425,000", true],
      ["1000", "1 000", true],
      ["14916", "\\boxed{14{,}916}", true],
      ["11111111100", "\\boxed{11,\\! 111,\\! 111,\\! 100}", true],
      ["32349", "\\boxed{32, 349}", false],
      ["1000.99", "1000,99", true],
      ["0.111", "0,111", true],
      ["1,22", "\\boxed{1.22}", true],
      ["1,22", "\\boxed{1, 22}", true],
      ["(-2,1)", "\\boxed{(-2, 1)}", true],
      ["(-2,1)", "\\boxed{-2.1}", false],
      ["1\\frac{4}{5}", "\\boxed{9/5}", true],
      ["137 \\frac{1}{2}", "\\boxed{137.5}", true],
      ["0.4", ".4", true],
      ["28\\%", "28 percent", true],
      ["28\\%", "\\boxed{0.28}", true],
      ["10\\%", "\\boxed{10}", true],
      ["90^\\circ", "\\boxed{90}", true],
      ["90", "\\boxed{90^{\\circ}}", true],
      ["12000023", "The final answer is 12,000,023. I hope it is correct.", true],
    ]);
  });

  it("repairs escaping damage: control characters and doubled backslashes", () => {
    check([
      ["$\text{13}$", "$13$", true],
      ["$\\begin{pmatrix}-\\\frac{7}{4}&-2\\\\4&\\frac{1}{4}\\\\\\end{pmatrix}$", "\\boxed{\\begin{pmatrix}-\\frac{7}{4}&-2\\\\4&\\frac{1}{4}\\end{pmatrix}}", true],
      ["\\\\left(\\\\frac{1}{5},\\\\frac{1}{6}\\\\right)", "\\boxed{(1/5, 1/6)}", true],
    ]);
  });
});

describe("equivalence", () => {
  it("is exact on rationals, however large", () => {
    check([
      ["\\frac{1}{2004!}", "\\boxed{\\frac{1}{2006!}}", false],
      ["\\frac{1}{2004!}", "\\boxed{\\frac{2005\\cdot 2006}{2006!}}", true],
      ["0.5", "\\boxed{\\frac{1}{2}}", true],
      ["2^{100}", "\\boxed{1267650600228229401496703205376}", true],
      ["2^{100}", "\\boxed{1267650600228229401496703205377}", false],
      ["\\binom{10}{3}", "\\boxed{120}", true],
      ["204_5", "\\boxed{54}", true],
    ]);
  });

  it("compares irrational constants in high precision", () => {
    check([
      ["3\\sqrt{13}", "\\boxed{\\sqrt{117}}", true],
      ["\\frac{\\sqrt{\\sqrt{11}+\\sqrt{194}}}{15+2\\sqrt{33}}", "\\boxed{\\frac{\\sqrt{\\sqrt{11}+\\sqrt{194}}}{2\\sqrt{33}+15}}", true],
      ["\\frac{5\\sqrt{42}}{27}", "\\boxed{\\frac{10\\sqrt{10.5}}{27}}", true],
      ["\\frac{9}{4}\\pi", "\\boxed{2.25\\pi}", true],
      ["1 - \\frac{1}{e}", "\\boxed{1 + \\frac{1}{e}}", false],
      ["\\ln 8", "\\boxed{3\\ln 2}", true],
      ["\\log_2 8", "\\boxed{3}", true],
      ["\\sin^2 x + \\cos^2 x", "\\boxed{1}", true],
      ["0", "\\boxed{\\sin(\\pi)}", true],
      ["\\sqrt{2}", "\\boxed{1.41421356237}", true],
      ["\\sqrt{2}", "\\boxed{1.4142}", false],
      ["\\sqrt[3]{-8}", "\\boxed{-2}", true],
      ["e^{i\\pi}", "\\boxed{-1}", true],
    ]);
  });

  it("compares expressions with variables at random points", () => {
    check([
      ["\\frac{x+2}{7}", "$\\frac{x}{7}+\\frac{2}{7}$", true],
      ["\\tan^2(y)+1", "$\\sec^2(y)$", true],
      ["2 \\sin b \\cos a", "\\boxed{\\sin(a+b) - \\sin(a-b)}", true],
      ["(x-2)(x+2)", "\\boxed{x^2-4}", true],
      ["(x-2)(x+2)", "\\boxed{x^2+4}", false],
      ["\\frac{n(n+1)}{2}", "\\boxed{\\frac{n^2+n}{2}}", true],
      ["x+2n+1", "\\boxed{x+1}", false],
      ["f(x)", "$f(y)$", false],
      ["f(x)", "$f(y)$", true, { strict: false }],
      ["|x|", "\\boxed{x}", false],
      ["\\frac{1}{3\\sqrt[3]{x}^2}", "\\boxed{\\frac{1}{3x^{2/3}}}", true],
    ]);
  });

  it("compares tuples, sets, intervals, unions and matrices", () => {
    check([
      ["(1, \\frac{9}{2})", "\\boxed{(1, 4.5)}", true],
      ["(1, 2)", "\\boxed{(2, 1)}", false],
      ["\\{1, 2, 3\\}", "\\boxed{\\{3, 1, 2\\}}", true],
      ["1, 2, 3", "\\boxed{3, 2, 1}", true],
      ["[0, 1)", "\\boxed{[0, 1)}", true],
      ["[0, 1)", "\\boxed{(0, 1)}", false],
      ["(-\\infty, 3]", "\\boxed{(-\\infty, 3]}", true],
      ["[-1, -\\frac{1}{2}) \\cup (-\\frac{1}{2}, 0)", "\\boxed{[-1, -\\tfrac12) \\cup (-\\tfrac12, 0)}", true],
      ["[1, 3]", "\\boxed{[1, 2] \\cup [2, 3]}", true],
      ["\\begin{pmatrix}1 & 2 \\\\ 3 & 4\\end{pmatrix}", "\\boxed{\\begin{bmatrix}1 & 2 \\\\ 3 & 4\\end{bmatrix}}", true],
      ["\\begin{pmatrix}1 & 2 \\\\ 3 & 4\\end{pmatrix}", "\\boxed{\\begin{pmatrix}1 & 2 \\\\ 3 & 5\\end{pmatrix}}", false],
      ["\\begin{pmatrix}6 & 8 \\\\ 10 & 12\\end{pmatrix}", "$\\begin{pmatrix}1 & 2 \\\\ 3 & 4\\end{pmatrix} + \\begin{pmatrix}5 & 6 \\\\ 7 & 8\\end{pmatrix}$", true],
    ]);
  });

  it("compares equations and inequalities as relations", () => {
    check([
      ["2x+4y-3=0", "$y=-\\frac{1}{2}x+\\frac{3}{4}$", true],
      ["x^2/4 + y^2/3 = 1", "$x^2/16 + y^2/12 = 1/4$", true],
      ["x < 1", "$-x > -1$", true],
      ["x < 1", "$x > -1$", false],
      ["x \\leq 5", "$5 \\geq x$", true],
      ["x \\geq 5", "$x \\leq 5$", false],
      ["x \\ne 3", "$x != 3$", true],
      ["-2 \\le x \\le 7", "$x \\in [-2,7]$", true],
      ["x \\in [-2,7]", "$-2 \\le x \\le 7$", false],
      ["x \\in [-2,7]", "$-2 \\le x \\le 7$", true, { allowSetRelationComp: true }],
      ["1\\leq|z|\\leq \\frac{3}{2}", "$z \\in \\left[-\\frac{3}{2}, -1\\right] \\cup \\left[1, \\frac{3}{2}\\right]$", true],
    ]);
  });

  it("reads assignments, chains and approximations the gold's way", () => {
    check([
      ["k=3", "\\boxed{3}", true],
      ["3", "\\boxed{k=3}", true],
      ["a + 3z = 0", "\\boxed{0}", false],
      ["x = 11", "$x = 5+5+1 = 7 =11$", true],
      ["1/3", "$x=1/3\\approx1.3$", true],
      ["11", "$x\\approx11$", true],
      ["x = 1, y = 2", "\\boxed{y = 2, x = 1}", true],
      ["(p,q)=(3,2)", "\\boxed{(3, 2)}", true],
      ["p=5,q=2;p=7,q=2", "$(5,2),(7,2)$", true],
      ["a=4,\\,-8,\\,-10", "\\boxed{-10,-8,4}", true],
    ]);
  });

  it("expands \\pm, keeps complex numbers, infinity and multiple answers", () => {
    check([
      ["1 \\pm \\sqrt{19}", "\\boxed{1 + \\sqrt{19}, 1 - \\sqrt{19}}", true],
      ["\\pm 2021", "\\boxed{2021}", false],
      ["\\{1\\pm\\sqrt{5},-2\\}", "\\boxed{-2, 1+\\sqrt{5}, 1-\\sqrt{5}}", true],
      ["6 - 5i", "\\boxed{-5i + 6}", true],
      ["\\frac34i", "\\boxed{0.75i}", true],
      ["-2+2\\sqrt{3}i", "\\boxed{2(-1+\\sqrt{-3})}", true],
      ["3 or 5", "\\boxed{5, 3}", true],
      ["3", "\\boxed{3, 5}", false],
      ["\\infty", "\\boxed{\\infty}", true],
      ["\\infty", "\\boxed{-\\infty}", false],
    ]);
  });

  it("compares floats with the stated tolerance", () => {
    check([
      ["\\frac{1}{12}", "$0.0833333333333333$", true],
      ["\\frac{1}{3}", "\\boxed{0.333}", true, { floatDigits: 3 }],
      ["\\frac{1}{3}", "\\boxed{0.333}", false, { floatDigits: 4 }],
      ["16386.17", "\\boxed{16386.16}", false],
      ["4.46e19", "\\boxed{4.46 \\times 10^{19}}", true],
      ["2.26e-10", "\\boxed{2.5e-10}", false],
      ["2.26e-10", "\\boxed{2.3e-10}", true],
      ["2.26e-10", "\\boxed{2.26 \\times 10^{-10}}", true],
      ["27.0", "\\boxed{27}", true],
    ]);
  });
});

describe("verdict and options", () => {
  it("says which rule decided", () => {
    expect(verify("\\frac{1}{2}", "\\boxed{2/4}").reason).toBe("exact");
    expect(verify("\\sqrt{8}", "\\boxed{2\\sqrt2}").reason).toBe("numeric");
    expect(verify("x^2-1", "\\boxed{(x-1)(x+1)}").reason).toBe("symbolic");
    expect(verify("\\frac{1}{3}", "\\boxed{0.3333333}").reason).toBe("float");
    expect(verify("7", "\\boxed{8}").reason).toBe("mismatch");
    const v = verify("\\frac{1}{2}", "so \\boxed{0.5}");
    expect(v).toMatchObject({ correct: true, extracted: "0.5", normalizedGold: "(1/2)", normalizedPred: "1/2", source: "boxed" });
  });

  it("turns an expired deadline into a timeout verdict", () => {
    const v = verify("1", "\\boxed{\\sum_{k=1}^{1000}\\sum_{j=1}^{1000} j^2}", { timeoutMs: 5 });
    expect(v).toMatchObject({ correct: false, reason: "timeout" });
  });

  it("gives 0/1 rewards for parallel arrays and rejects mismatched lengths", () => {
    const reward = makeRewardFunction();
    expect(reward(["\\boxed{4}", "\\boxed{5}", "no idea"], ["4", "4", "4"])).toEqual([1, 0, 0]);
    expect(() => reward(["\\boxed{4}"], [])).toThrow(VerifyInputError);
  });
});
