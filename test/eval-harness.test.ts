import { mkdtempSync, readFileSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { beforeAll, describe, expect, it } from "vitest";
import {
  type EvalConfig,
  EvalDir,
  type EvalProblem,
  evaluateProblems,
  exactMatchGrader,
  mathGrader,
  type ProblemRecord,
  passAtK,
  type PromptTemplate,
  runEval,
  suiteSet,
} from "../src/eval/index.js";
import { ByteTokenizer } from "../src/model/index.js";
import { LocalSampler, type Sampler } from "../src/rollout/index.js";
import { ConfigError, DataError } from "../src/util/errors.js";
import { Logger } from "../src/util/log.js";
import { trainTinyModel } from "./eval-helpers.js";

const RAW: PromptTemplate = { system: null, instruction: "", chat: "raw" };
const problems: EvalProblem[] = [
  { id: "a", question: "Q: one\n", gold: "7", level: "1" },
  { id: "b", question: "Q: two plus\n", gold: "7.0", level: "1" },
  { id: "c", question: "Q: three\n", gold: "\\frac{14}{2}", level: "2" },
  { id: "d", question: "Q: what is four\n", gold: "8", level: "2" },
];
const settings = { k: 3, temperature: 0, topP: 1, topK: 0, maxTokens: 16, seed: 5, stop: [] };
const quiet = new Logger({ level: "silent" });

let sampler: LocalSampler;
beforeAll(() => {
  sampler = new LocalSampler(trainTinyModel(problems.map((p) => p.question)), new ByteTokenizer());
});

/** Delegates to a real sampler and counts the problems it was asked for. */
class CountingSampler implements Sampler {
  readonly name = "counting";
  prompts: string[] = [];
  constructor(private readonly inner: Sampler) {}
  promptTokens(prompt: string): number[] {
    return this.inner.promptTokens(prompt);
  }
  sample(...args: Parameters<Sampler["sample"]>) {
    this.prompts.push(...args[0].map((r) => r.prompt));
    return this.inner.sample(...args);
  }
}

const strip = (r: ProblemRecord) => ({ ...r, seconds: 0 });

describe("evaluation harness on a real tiny model", () => {
  it("grades with the verifier: equivalent golds count, others do not", async () => {
    const records = await evaluateProblems({ sampler, set: "toy", problems, settings, template: RAW, grader: mathGrader() });
    const byId = Object.fromEntries(records.map((r) => [r.id, r]));
    expect(records.map((r) => r.id).sort()).toEqual(["a", "b", "c", "d"]);
    for (const id of ["a", "b", "c"]) {
      expect(byId[id]?.correct).toBe(3);
      expect(byId[id]?.maj).toBe(true);
      expect(byId[id]?.responses.map((x) => x.extracted)).toEqual(["7", "7", "7"]);
    }
    expect(byId.d?.correct).toBe(0);
    expect(byId.d?.maj).toBe(false);
    expect(byId.d?.responses[0]?.reason).toBe("mismatch");
    expect(byId.a?.pass).toEqual({ "1": 1, "2": 1, "3": 1 });
  });

  it("scores each problem consistently from its k sampled responses", async () => {
    const hot = { ...settings, k: 6, temperature: 1 };
    const records = await evaluateProblems({ sampler, set: "toy", problems, settings: hot, template: RAW, grader: mathGrader() });
    let mixed = 0;
    for (const r of records) {
      expect(r.responses).toHaveLength(6);
      const c = r.responses.filter((x) => x.correct).length;
      if (c > 0 && c < 6) mixed++;
      expect(r.correct).toBe(c);
      expect(r.avg).toBeCloseTo(c / 6, 12);
      expect(r.pass["1"]).toBeCloseTo(c / 6, 12);
      expect(r.pass["4"]).toBeCloseTo(passAtK(6, c, 4), 12);
      expect(r.pass["6"]).toBe(c > 0 ? 1 : 0);
      const counts = new Map<string, number>();
      for (const x of r.responses) if (x.key !== null) counts.set(x.key, (counts.get(x.key) ?? 0) + 1);
      const top = Math.max(0, ...counts.values());
      if (top > 0 && [...counts.values()].filter((v) => v === top).length === 1) {
        const winner = r.responses.find((x) => x.key !== null && counts.get(x.key) === top);
        expect(r.maj).toBe(winner?.correct);
      }
    }
    expect(mixed).toBeGreaterThan(0);
  });

  it("gives each problem the same samples whatever the batching and order", async () => {
    const hot = { ...settings, k: 4, temperature: 1 };
    const a = await evaluateProblems({ sampler, set: "toy", problems, settings: hot, template: RAW, grader: mathGrader(), chunk: 4 });
    const b = await evaluateProblems({ sampler, set: "toy", problems: [...problems].reverse(), settings: hot, template: RAW, grader: mathGrader(), chunk: 1 });
    const sort = (rs: ProblemRecord[]) => rs.map(strip).sort((x, y) => (x.id < y.id ? -1 : 1));
    expect(sort(b)).toEqual(sort(a));
  });

  it("resumes an interrupted evaluation without redoing or losing problems", async () => {
    const root = mkdtempSync(join(tmpdir(), "gvm-eval-resume-"));
    const config: EvalConfig = { label: "tiny", model: "in-memory", sampling: { ...settings, k: 2, temperature: 1 }, template: RAW };
    const sets = [{ name: "toy", problems, grader: mathGrader() }];
    const full = await runEval({ dir: EvalDir.open(join(root, "full"), config), sampler, sets, chunk: 1, progress: false, logger: quiet });
    const fullLines = readFileSync(join(root, "full", "toy.jsonl"), "utf8").trim().split("\n");
    expect(fullLines).toHaveLength(4);

    // An interruption: two problems written whole, the third torn mid-line.
    const cut = join(root, "cut");
    EvalDir.open(cut, config);
    writeFileSync(join(cut, "toy.jsonl"), `${fullLines[0]}\n${fullLines[1]}\n${(fullLines[2] as string).slice(0, 40)}`);
    const counting = new CountingSampler(sampler);
    const resumed = await runEval({ dir: EvalDir.open(cut, config), sampler: counting, sets, chunk: 1, progress: false, logger: quiet });
    expect(counting.prompts).toHaveLength(2);
    const lines = readFileSync(join(cut, "toy.jsonl"), "utf8").trim().split("\n");
    expect(lines.slice(0, 2)).toEqual(fullLines.slice(0, 2));
    const parse = (ls: string[]) => ls.map((l) => strip(JSON.parse(l) as ProblemRecord)).sort((x, y) => (x.id < y.id ? -1 : 1));
    expect(parse(lines)).toEqual(parse(fullLines));
    expect(resumed.sets.toy?.avg).toBeCloseTo(full.sets.toy?.avg ?? Number.NaN, 12);
    expect(resumed.sets.toy?.problems).toBe(4);

    // Nothing left: a third run samples nothing.
    const idle = new CountingSampler(sampler);
    await runEval({ dir: EvalDir.open(cut, config), sampler: idle, sets, progress: false, logger: quiet });
    expect(idle.prompts).toHaveLength(0);
  });

  it("refuses to mix results: other settings, a changed set, a damaged file", async () => {
    const root = mkdtempSync(join(tmpdir(), "gvm-eval-guard-"));
    const config: EvalConfig = { label: "tiny", model: "m", sampling: settings, template: RAW };
    const dir = EvalDir.open(root, config);
    await runEval({ dir, sampler, sets: [{ name: "toy", problems, grader: mathGrader() }], progress: false, logger: quiet });
    expect(() => EvalDir.open(root, { ...config, sampling: { ...settings, k: 8 } })).toThrow(ConfigError);
    expect(() => EvalDir.open(root, { ...config, sampling: { ...settings, k: 8 } })).toThrow(/sampling\.k: 3 -> 8/);
    const changed = problems.map((p) => (p.id === "d" ? { ...p, gold: "9" } : p));
    expect(() => dir.loadRecords("toy", changed)).toThrow(DataError);
    expect(() => dir.loadRecords("toy", problems.slice(0, 2))).toThrow(/not in the toy set now/);
    const path = join(root, "toy.jsonl");
    const lines = readFileSync(path, "utf8").split("\n");
    writeFileSync(path, [lines[0], "{broken", ...lines.slice(1)].join("\n"));
    expect(() => dir.loadRecords("toy", problems)).toThrow(/toy\.jsonl:2: not valid JSON, and not the last line/);
  });

  it("reports the built-in suite per difficulty level", async () => {
    const root = mkdtempSync(join(tmpdir(), "gvm-eval-suite-"));
    const suite = suiteSet({ seed: 0, testSize: 12 });
    expect(suite.grader).toBe(exactMatchGrader);
    const summary = await runEval({
      dir: EvalDir.open(root, { label: "tiny", model: "m", sampling: { ...settings, k: 1, maxTokens: 12 }, template: RAW }),
      sampler,
      sets: [suite],
      progress: false,
      logger: quiet,
    });
    const s = summary.sets.suite;
    expect(s?.problems).toBe(12);
    expect(Object.keys(s?.byLevel ?? {})).toEqual(["1", "2", "3", "4", "5", "6"]);
    expect(Object.values(s?.byLevel ?? {}).reduce((a, l) => a + l.problems, 0)).toBe(12);
    // The model answers 7 to everything: right exactly where the gold is 7.
    const records = readFileSync(join(root, "suite.jsonl"), "utf8").trim().split("\n").map((l) => JSON.parse(l) as ProblemRecord);
    for (const r of records) expect(r.correct === 1).toBe(r.gold === "7" && r.responses[0]?.text.includes("\\boxed{7}"));
    expect(readFileSync(join(root, "table.md"), "utf8")).toContain("## suite by level");
  });
});
