import { describe, expect, it } from "vitest";
import { ConfigError } from "../util/errors.js";
import { Rng } from "../util/rng.js";
import { MAX_VALUE, generateProblem } from "./arith.js";
import { checkAnswer, exactMatchReward, extractLastBoxed } from "./check.js";
import { LEVELS, buildSuite, lengthStats, levelCounts, maxBytesBound, problemBytes } from "./suite.js";

/** Evaluates + - * with ordinary precedence and parentheses: an oracle independent of the generator. */
function evaluate(text: string): number {
  let pos = 0;
  const peek = () => text[pos];
  const atom = (): number => {
    if (peek() === "(") {
      pos++;
      const v = sum();
      if (text[pos++] !== ")") throw new Error(`expected ) in ${text}`);
      return v;
    }
    const m = /^\d+/.exec(text.slice(pos));
    if (!m) throw new Error(`expected a number at ${pos} in ${text}`);
    pos += m[0].length;
    return Number(m[0]);
  };
  const product = (): number => {
    let v = atom();
    while (peek() === "*") {
      pos++;
      v *= atom();
    }
    return v;
  };
  const sum = (): number => {
    let v = product();
    while (peek() === "+" || peek() === "-") {
      const op = text[pos++];
      const r = product();
      v = op === "+" ? v + r : v - r;
    }
    return v;
  };
  const v = sum();
  if (pos !== text.length) throw new Error(`trailing text in ${text}`);
  return v;
}

const suite = buildSuite({ seed: 7 });
const all = [...suite.demo, ...suite.train, ...suite.test];

describe("arithmetic problems", () => {
  it("mean under ordinary precedence what their chain computes, and their responses show every step", () => {
    for (const p of all) {
      expect(String(evaluate(p.expression))).toBe(p.answer);
      expect(p.steps.length).toBe(p.ops);
      expect(p.level).toBe(p.ops);
      const lines = p.response.split("\n");
      expect(lines.length).toBe(p.ops + 1);
      p.steps.forEach((s, i) => {
        expect(lines[i]).toBe(`${s.left}${s.op}${s.right}=${s.result}`);
        expect(evaluate(`${s.left}${s.op}${s.right}`)).toBe(s.result);
        expect(s.result).toBeGreaterThanOrEqual(0);
        expect(s.right).toBeGreaterThanOrEqual(s.op === "*" ? 2 : 1);
        expect(s.right).toBeLessThanOrEqual(9);
        expect(s.result).toBeLessThanOrEqual(MAX_VALUE);
        if (i > 0) expect(s.left).toBe(p.steps[i - 1]?.result);
      });
      expect(lines[p.ops]).toBe(`\\boxed{${p.answer}}`);
      expect(checkAnswer(p.response, p.answer)).toBe(true);
      expect(p.prompt).toBe(`Q: ${p.expression}\n`);
    }
  });

  it("have as many operations as their level, starting from one digit, and reject other levels", () => {
    const rng = new Rng(3);
    for (const level of [1, 4, 6]) {
      for (let i = 0; i < 100; i++) {
        const p = generateProblem(rng, level, 15);
        expect(p.steps.length).toBe(level);
        expect(p.steps[0]?.left).toBeGreaterThanOrEqual(1);
        expect(p.steps[0]?.left).toBeLessThanOrEqual(9);
        for (const s of p.steps) expect(s.result).toBeLessThanOrEqual(15);
      }
    }
    expect(() => generateProblem(rng, 7)).toThrow(/level 7/);
    expect(() => generateProblem(rng, 0)).toThrow(/level 0/);
  });

  it("fit a small context: every problem within its level's byte bound, and all within 128 bytes", () => {
    const stats = lengthStats(all);
    for (const s of stats) {
      expect(s.maxBytes).toBeGreaterThan(0);
      expect(s.maxBytes).toBeLessThanOrEqual(s.boundBytes);
    }
    for (const p of all) expect(problemBytes(p)).toBeLessThanOrEqual(maxBytesBound(p.level));
    expect(Math.max(...LEVELS.map(maxBytesBound))).toBeLessThanOrEqual(128);
  });
});

describe("the suite", () => {
  it("is a function of its options", () => {
    expect(buildSuite({ seed: 7 })).toEqual(suite);
    expect(buildSuite({ seed: 8 }).test.map((p) => p.expression)).not.toEqual(suite.test.map((p) => p.expression));
  });

  it("has disjoint splits without repeats", () => {
    const seen = new Set<string>();
    for (const p of all) {
      expect(seen.has(p.expression)).toBe(false);
      seen.add(p.expression);
    }
    expect(new Set(all.map((p) => p.id)).size).toBe(all.length);
  });

  it("keeps the test split fixed when the train or demo sizes change", () => {
    const other = buildSuite({ seed: 7, trainSize: 400, demoSize: 50 });
    expect(new Set(other.test.map((p) => p.expression))).toEqual(new Set(suite.test.map((p) => p.expression)));
  });

  it("follows the level mixes: natural 1:3:3:3:3:3, levels equal, paper-like 1:11:2:2:2:12, demos on levels 2-5", () => {
    const perLevel = (ps: readonly { level: number }[]) => LEVELS.map((l) => ps.filter((p) => p.level === l).length);
    expect(perLevel(suite.train)).toEqual([63, 188, 188, 187, 187, 187]);
    expect(perLevel(suite.test)).toEqual([50, 50, 50, 50, 50, 50]);
    expect(perLevel(suite.demo)).toEqual([0, 50, 50, 50, 50, 0]);
    const paper = buildSuite({ seed: 7, trainMix: "paper-like", trainSize: 900 });
    expect(perLevel(paper.train)).toEqual([30, 330, 60, 60, 60, 360]);
    expect(levelCounts(7, "levels")).toEqual([2, 1, 1, 1, 1, 1]);
    expect(levelCounts(10, [0, 0, 1, 0, 0, 1])).toEqual([0, 0, 5, 0, 0, 5]);
  });

  it("says when a level runs out of distinct problems", () => {
    expect(() => buildSuite({ trainSize: 0, demoSize: 0, testSize: 200, testMix: [1, 0, 0, 0, 0, 0] })).toThrow(
      /level 1 ran out of distinct problems after 1[0-9]{2}/,
    );
  });

  it("validates its options", () => {
    expect(() => buildSuite({ trainSize: -1 })).toThrow(ConfigError);
    expect(() => buildSuite({ trainMix: [1, 2] })).toThrow(/trainMix/);
    expect(() => buildSuite({ trainMix: "hard" as "natural" })).toThrow(/trainMix/);
    expect(() => buildSuite({ sead: 1 } as object)).toThrow(/unknown option/);
  });
});

describe("exact-match checking", () => {
  it("extracts the last \\boxed{...} with balanced braces", () => {
    expect(extractLastBoxed("a \\boxed{1} b \\boxed{42}")).toBe("42");
    expect(extractLastBoxed("\\boxed{\\frac{1}{2}} done")).toBe("\\frac{1}{2}");
    expect(extractLastBoxed("no box here")).toBeNull();
    expect(extractLastBoxed("\\boxed{12")).toBeNull();
    expect(extractLastBoxed("\\boxed{}")).toBe("");
  });

  it("compares exactly after trimming whitespace", () => {
    expect(checkAnswer("3+4=7\n\\boxed{ 7 }", "7")).toBe(true);
    expect(checkAnswer("\\boxed{07}", "7")).toBe(false);
    expect(checkAnswer("\\boxed{7} wait, \\boxed{8}", "7")).toBe(false);
    expect(exactMatchReward("\\boxed{41}", "41")).toBe(1);
    expect(exactMatchReward("41", "41")).toBe(0);
  });
});
