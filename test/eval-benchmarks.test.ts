import { existsSync, readFileSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { describe, expect, it } from "vitest";
import { BENCHMARKS, goldAnswer, loadBenchmark, mathGrader } from "../src/eval/index.js";
import { DataError } from "../src/util/errors.js";

const BENCH_DIR = join(dirname(fileURLToPath(import.meta.url)), "..", "..", "shared", "data", "benchmarks");

function rawRows(file: string): Record<string, unknown>[] {
  return readFileSync(join(BENCH_DIR, file), "utf8")
    .split("\n")
    .filter((l) => l.trim() !== "")
    .map((l) => JSON.parse(l) as Record<string, unknown>);
}

// The benchmarks live beside the repository (../shared/data), not in it: without them there is nothing to read.
describe.skipIf(!existsSync(BENCH_DIR))("the paper's benchmarks, read with their gold rules", () => {
  it("loads all 1,517 problems with unique ids and non-empty golds", async () => {
    const sizes: Record<string, number> = {};
    for (const b of BENCHMARKS) {
      const set = await loadBenchmark(b.name, BENCH_DIR);
      sizes[b.name] = set.problems.length;
      expect(set.skipped).toEqual([]);
      expect(new Set(set.problems.map((p) => p.id)).size).toBe(set.problems.length);
      for (const p of set.problems) {
        expect(p.gold.trim()).not.toBe("");
        expect(p.question.trim()).not.toBe("");
      }
    }
    expect(sizes).toEqual({ math500: 500, minerva_math: 272, olympiad_bench: 675, aime24: 30, amc23: 40 });
  });

  it("MATH500: the answer field as written, with its level", async () => {
    const rows = rawRows("math500.jsonl");
    const set = await loadBenchmark("math500", BENCH_DIR);
    const first = set.problems[0];
    expect(first?.gold).toBe(rows[0]?.answer);
    expect(first?.gold).toBe("\\left( 3, \\frac{\\pi}{2} \\right)");
    expect(first?.id).toBe("test/precalculus/807.json");
    expect(first?.level).toBe("2");
    expect(new Set(set.problems.map((p) => p.level))).toEqual(new Set(["1", "2", "3", "4", "5"]));
  });

  it("Minerva Math: the last \\boxed{} of the worked solution", async () => {
    const rows = rawRows("minerva_math.jsonl");
    const set = await loadBenchmark("minerva_math", BENCH_DIR);
    expect(String(rows[0]?.answer)).toContain("\\boxed{1.6}");
    expect(set.problems[0]?.gold).toBe("1.6");
    // Nested braces survive: the gold is the box's whole content.
    const nested = set.problems.find((p) => p.gold.includes("{"));
    expect(nested).toBeDefined();
    const raw = rows.find((r) => String(r.idx) === nested?.id)?.answer as string;
    expect(raw).toContain(`\\boxed{${nested?.gold}}`);
    for (const p of set.problems) expect(p.gold).not.toMatch(/\\boxed/);
  });

  it("OlympiadBench: the first element of the answer list", async () => {
    const rows = rawRows("olympiad_bench.jsonl");
    const set = await loadBenchmark("olympiad_bench", BENCH_DIR);
    rows.forEach((r, i) => expect(set.problems[i]?.gold).toBe((r.answer as string[])[0]));
    expect(set.problems[0]?.gold).toBe("2");
  });

  it("AIME24 and AMC23: numeric answers written as integers", async () => {
    const aime = await loadBenchmark("aime24", BENCH_DIR);
    expect(aime.problems.find((p) => p.id === "60")?.gold).toBe("204");
    const raw = rawRows("aime24.jsonl");
    const padded = raw.find((r) => r.answer === "025");
    expect(padded).toBeDefined();
    expect(aime.problems.find((p) => p.id === String(padded?.id))?.gold).toBe("25");
    const amc = await loadBenchmark("amc23", BENCH_DIR);
    expect(rawRows("amc23.jsonl")[0]?.answer).toBe(27.0);
    expect(amc.problems[0]?.gold).toBe("27");
    for (const p of [...aime.problems, ...amc.problems]) expect(p.gold).toMatch(/^-?\d+$/);
  });

  it("every gold, boxed as a response, is graded correct (the grader reads the golds it is given)", async () => {
    const grader = mathGrader();
    for (const b of BENCHMARKS) {
      const set = await loadBenchmark(b.name, BENCH_DIR);
      const verdicts = await grader.grade(set.problems.map((p) => ({ gold: p.gold, response: `So the answer is $\\boxed{${p.gold}}$.` })));
      const wrong = set.problems.filter((_, i) => !verdicts[i]?.correct).map((p) => `${p.id}: ${p.gold}`);
      // A gold the verifier cannot read back would make that problem unwinnable.
      expect(wrong.length / set.problems.length, `${b.name} unreadable golds: ${wrong.slice(0, 5).join(" | ")}`).toBeLessThan(0.02);
    }
  });

  it("rejects values that do not fit a rule, saying which", () => {
    expect(() => goldAnswer([], "first")).toThrow(DataError);
    expect(() => goldAnswer("no box here", "last-boxed")).toThrow(/no closed, non-empty \\boxed\{\}/);
    expect(() => goldAnswer("abc", "number")).toThrow(/expected a number, got "abc"/);
    expect(() => goldAnswer({ a: 1 }, "string")).toThrow(/expected a non-empty string/);
    expect(goldAnswer(7, "string")).toBe("7");
    expect(goldAnswer(2.5, "number")).toBe("2.5");
  });
});
