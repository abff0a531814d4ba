/**
 * Every gold answer of the five benchmarks in ../shared/data/benchmarks
 * (gold rules as in SPEC section 5) must parse, must verify against itself
 * written into a typical response, and, where it holds a number, must fail
 * against a response with that number changed.
 */
import { existsSync, readFileSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { describe, expect, it } from "vitest";
import { goldCandidates } from "./syntax/extract.js";
import { normalizeAnswer } from "./syntax/normalize.js";
import { AnswerParseError, parseMath } from "./syntax/parse.js";
import { verify } from "./verify.js";

const DIR = join(dirname(fileURLToPath(import.meta.url)), "..", "..", "..", "shared", "data", "benchmarks");

const BENCHMARKS: ReadonlyArray<[string, (r: Record<string, unknown>) => string]> = [
  ["math500.jsonl", (r) => String(r.answer)],
  ["aime24.jsonl", (r) => String(r.answer)],
  ["amc23.jsonl", (r) => String(r.answer)],
  ["olympiad_bench.jsonl", (r) => String((r.answer as unknown[])[0])],
  // Minerva's answer is a worked solution; the verifier itself takes its last box
  ["minerva_math.jsonl", (r) => String(r.answer)],
];

function golds(file: string, get: (r: Record<string, unknown>) => string): string[] {
  return readFileSync(join(DIR, file), "utf8")
    .split("\n")
    .filter((l) => l.trim() !== "")
    .map((l) => get(JSON.parse(l) as Record<string, unknown>));
}

/** The gold with its first number changed by k. */
function perturbed(answer: string, k: number): string | undefined {
  const m = /\d+/.exec(answer);
  if (!m) return undefined;
  return answer.slice(0, m.index) + String(BigInt(m[0]) + BigInt(k)) + answer.slice(m.index + m[0].length);
}

describe.skipIf(!existsSync(DIR))("benchmark gold answers", () => {
  for (const [file, get] of BENCHMARKS) {
    describe(file, () => {
      const all = existsSync(DIR) ? golds(file, get) : [];

      it("all parse", () => {
        const failures: string[] = [];
        for (const g of all) {
          const c = goldCandidates(g)[0];
          if (!c) {
            failures.push(`${JSON.stringify(g).slice(0, 80)}: no answer found`);
            continue;
          }
          try {
            parseMath(normalizeAnswer(c.text), c.mode);
          } catch (err) {
            if (!(err instanceof AnswerParseError)) throw err;
            failures.push(`${JSON.stringify(c.text)}: ${err.message}`);
          }
        }
        expect(failures).toEqual([]);
      });

      it("each verifies against itself in a typical response, and a changed number does not", () => {
        const selfFailures: string[] = [];
        const perturbedPasses: string[] = [];
        for (const g of all) {
          const answer = goldCandidates(g)[0]?.text ?? g;
          const boxed = verify(g, `We compute step by step and check the cases.\n\nTherefore, the answer is $\\boxed{${answer}}$.`);
          if (!boxed.correct) selfFailures.push(`${JSON.stringify(answer)}: ${boxed.reason}`);
          const stated = verify(g, `Final Answer: The final answer is $${answer}$. I hope it is correct.`);
          if (!stated.correct) selfFailures.push(`${JSON.stringify(answer)} (final answer): ${stated.reason}`);
          const wrong = perturbed(answer, 1);
          if (wrong !== undefined && verify(g, `So we get $\\boxed{${wrong}}$.`).correct) perturbedPasses.push(`${JSON.stringify(answer)} vs ${JSON.stringify(wrong)}`);
        }
        expect(selfFailures).toEqual([]);
        expect(perturbedPasses).toEqual([]);
      });
    });
  }
});
