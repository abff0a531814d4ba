import { describe, expect, it } from "vitest";
import { ConfigError } from "../util/errors.js";
import { Rng } from "../util/rng.js";
import { MAX_VALUE, generateProblem, renderDemonstration } from "./arith.js";
import { checkAnswer, exactMatchReward, extractLastBoxed } from "./check.js";
import { DemoSource } from "./demos.js";
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
const all = [...suite.train, ...suite.test];

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

  it("keeps the test split fixed when the train size changes", () => {
    const other = buildSuite({ seed: 7, trainSize: 400 });
    expect(new Set(other.test.map((p) => p.expression))).toEqual(new Set(suite.test.map((p) => p.expression)));
  });

  it("follows the level mixes: natural 1:3:3:3:3:3, levels equal, paper-like 1:11:2:2:2:12", () => {
    const perLevel = (ps: readonly { level: number }[]) => LEVELS.map((l) => ps.filter((p) => p.level === l).length);
    expect(perLevel(suite.train)).toEqual([63, 188, 188, 187, 187, 187]);
    expect(perLevel(suite.test)).toEqual([50, 50, 50, 50, 50, 50]);
    const paper = buildSuite({ seed: 7, trainMix: "paper-like", trainSize: 900 });
    expect(perLevel(paper.train)).toEqual([30, 330, 60, 60, 60, 360]);
    expect(levelCounts(7, "levels")).toEqual([2, 1, 1, 1, 1, 1]);
    expect(levelCounts(10, [0, 0, 1, 0, 0, 1])).toEqual([0, 0, 5, 0, 0, 5]);
  });

  it("says when a level runs out of distinct problems", () => {
    expect(() => buildSuite({ trainSize: 0, testSize: 200, testMix: [1, 0, 0, 0, 0, 0] })).toThrow(
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

/** The result of one written step "a op b", evaluated independently of the generator. */
function stepValue(line: string): { left: number; value: number; result: number } {
  const m = /^(\d+)([-+*])(\d+)=(-?\d+)$/.exec(line);
  if (!m) throw new Error(`not a step: ${line}`);
  return { left: Number(m[1]), value: evaluate(`${m[1]}${m[2]}${m[3]}`), result: Number(m[4]) };
}

describe("demonstrations", () => {
  it("slip at about slipRate per step, by a near miss the chain goes on from, and box the chain's own end", () => {
    const rng = new Rng(11);
    let steps = 0;
    let slips = 0;
    let wrongAnswers = 0;
    for (let i = 0; i < 2000; i++) {
      const p = generateProblem(rng, 1 + (i % 5));
      const d = renderDemonstration(p, rng, 0.2);
      const lines = d.response.split("\n");
      expect(lines.length).toBe(p.ops + 1);
      let prev = p.steps[0]?.left;
      let counted = 0;
      lines.slice(0, -1).forEach((line, k) => {
        const s = stepValue(line);
        expect(line.slice(String(s.left).length, String(s.left).length + 1)).toBe(p.steps[k]?.op);
        expect(s.left).toBe(prev);
        if (s.result !== s.value) {
          counted++;
          expect(Math.abs(s.result - s.value)).toBeGreaterThanOrEqual(1);
          expect(Math.abs(s.result - s.value)).toBeLessThanOrEqual(2);
        }
        expect(s.result).toBeGreaterThanOrEqual(0);
        expect(s.result).toBeLessThanOrEqual(MAX_VALUE);
        prev = s.result;
      });
      expect(d.slips).toBe(counted);
      expect(lines[p.ops]).toBe(`\\boxed{${prev}}`);
      expect(checkAnswer(d.response, p.answer)).toBe(String(prev) === p.answer);
      if (d.slips === 0) expect(d.response).toBe(p.response);
      steps += p.ops;
      slips += d.slips;
      if (d.slips > 0) wrongAnswers++;
    }
    // A slip is skipped where no near miss keeps the chain in range, so the rate is a little under 0.2.
    expect(slips / steps).toBeGreaterThan(0.15);
    expect(slips / steps).toBeLessThan(0.21);
    expect(wrongAnswers).toBeGreaterThan(0);
  });

  it("from a perfect teacher are the canonical responses", () => {
    const rng = new Rng(5);
    for (let i = 0; i < 200; i++) {
      const p = generateProblem(rng, 1 + (i % 6));
      expect(renderDemonstration(p, rng, 0).response).toBe(p.response);
    }
    expect(() => renderDemonstration(generateProblem(rng, 2), rng, 1)).toThrow(/slipRate 1/);
  });

  it("are drawn outside the test split and the RL pool, at the levels of their mix, reproducibly", () => {
    const source = new DemoSource(suite, { mix: [1, 1, 0, 0, 2, 0], slipRate: 0.2 });
    const reserved = new Set(all.map((p) => p.expression));
    const demos = source.draw(new Rng(3), 3000);
    for (const d of demos) expect(reserved.has(d.expression)).toBe(false);
    const perLevel = LEVELS.map((l) => demos.filter((d) => d.level === l).length / demos.length);
    expect(perLevel[0]).toBeCloseTo(0.25, 1);
    expect(perLevel[1]).toBeCloseTo(0.25, 1);
    expect(perLevel[2]).toBe(0);
    expect(perLevel[4]).toBeCloseTo(0.5, 1);
    expect(perLevel[5]).toBe(0);
    expect(source.draw(new Rng(3), 50)).toEqual(demos.slice(0, 50));
  });

  it("say when a level has no problem left outside the splits", () => {
    // Level 1 has 159 distinct problems at the default maxValue: a test split of all of them leaves none.
    const full = buildSuite({ trainSize: 0, testSize: 159, testMix: [1, 0, 0, 0, 0, 0] });
    const source = new DemoSource(full, { mix: [1, 0, 0, 0, 0, 0], slipRate: 0 });
    expect(() => source.draw(new Rng(1), 200)).toThrow(/no level-1 problem is left outside the test split and the RL pool/);
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
