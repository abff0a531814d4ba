import { type ChildProcess, spawn } from "node:child_process";
import { existsSync, mkdirSync, mkdtempSync, readFileSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { beforeAll, describe, expect, it } from "vitest";
import { gvm } from "./cli-helpers.js";
import type { ProblemRecord } from "../src/eval/index.js";
import { ByteTokenizer, LlamaModel, parseModelConfig, saveCheckpoint } from "../src/model/index.js";
import { Rng } from "../src/util/rng.js";

const ROOT = join(dirname(fileURLToPath(import.meta.url)), "..");
const BENCH_DIR = join(ROOT, "..", "shared", "data", "benchmarks");
const tmp = mkdtempSync(join(tmpdir(), "gvm-eval-cli-"));
const modelDir = join(tmp, "runs", "tiny", "checkpoints", "iter-000003");
const dataFile = join(tmp, "toy.jsonl");



beforeAll(() => {
  const tok = new ByteTokenizer();
  const config = parseModelConfig({ model_type: "llama", vocab_size: tok.vocabSize, hidden_size: 64, intermediate_size: 128, num_hidden_layers: 2, num_attention_heads: 2, max_position_embeddings: 4096, tie_word_embeddings: true });
  mkdirSync(dirname(modelDir), { recursive: true });
  saveCheckpoint(modelDir, LlamaModel.init(config, new Rng(3)));
  const rows = Array.from({ length: 40 }, (_, i) => JSON.stringify({ q: `What is ${i} + ${i}?`, a: String(2 * i), uid: `p${i}` }));
  writeFileSync(dataFile, `${rows.join("\n")}\n`);
});

describe("gvm eval: usage errors exit 2, runtime failures exit 1", () => {
  it("prints help with examples", async () => {
    const r = await gvm("eval", "--help");
    expect(r.code).toBe(0);
    expect(r.out).toMatch(/Usage: gvm eval --model DIR/);
    expect(r.out).toMatch(/Examples:\n {2}gvm eval --model/);
  });

  it.each([
    [["eval", "--benchmarks", BENCH_DIR], /--model DIR is required/],
    [["eval", "--model", "m"], /nothing to evaluate/],
    [["eval", "--model", "m", "--suite", "--bogus"], /Unknown option '--bogus'/],
    [["eval", "--model", "m", "--suite", "--k", "0"], /field 'sampling\.k' is 0: .*>= 1/],
    [["eval", "--model", "m", "--suite", "--k", "two"], /--k must be a number, got "two"/],
    [["eval", "--model", "m", "--suite", "--chat", "alpaca"], /field 'prompt\.chat' is "alpaca"; allowed: "auto" \| "model" \| "plain" \| "chatml" \| "llama3" \| "raw"/],
    [["eval", "--model", "m", "--benchmarks", BENCH_DIR, "--only", "gsm8k"], /field 'only\.0' is "gsm8k"; allowed: "math500"/],
    [["eval", "--model", "m", "--only", "math500"], /--only needs --benchmarks DIR/],
    [["eval", "--model", "m", "--question-field", "q"], /--question-field needs --data FILE/],
    [["eval", "--model", "m", "--suite", "--set", "sampling.kk=3"], /unknown field 'sampling\.kk' in 'sampling'; allowed: k, temperature, topP, topK, maxTokens, seed, stop/],
    [["eval", "--model", "a", "--model", "b", "--suite", "--label", "x"], /--label names one model/],
    [["eval", "--model", "m", "--suite", "--system", "s", "--no-system"], /exclusive/],
  ])("%j -> exit 2", async (argv, message) => {
    const r = await gvm(...argv);
    expect(r.code).toBe(2);
    expect(r.err).toMatch(message);
  });

  it("takes settings from a config file, flags and --set overriding it", async () => {
    const cfg = join(tmp, "eval.yaml");
    writeFileSync(cfg, `models: [${modelDir}]\ndata:\n  file: ${dataFile}\n  question: q\n  answer: a\n  id: uid\nsampling:\n  k: 2\n  maxTokens: 8\nlimit: 3\nout: ${join(tmp, "cfg-out")}\n`);
    const r = await gvm("eval", "--config", cfg, "--set", "sampling.k=1", "--quiet");
    expect(r.err).toBe(r.err);
    expect(r.code).toBe(0);
    const summary = JSON.parse(readFileSync(join(tmp, "cfg-out", "tiny_iter-000003", "summary.json"), "utf8")) as { label: string; sampling: { k: number; maxTokens: number }; sets: Record<string, { problems: number }> };
    expect(summary.label).toBe("tiny/iter-000003");
    expect(summary.sampling.k).toBe(1);
    expect(summary.sampling.maxTokens).toBe(8);
    expect(summary.sets.toy?.problems).toBe(3);
    const bad = join(tmp, "bad.yaml");
    writeFileSync(bad, "sampling:\n  temperature: hot\n");
    const b = await gvm("eval", "--config", bad, "--model", modelDir, "--suite");
    expect(b.code).toBe(2);
    expect(b.err).toMatch(/bad\.yaml \+ command-line options: invalid config:\n {2}field 'sampling\.temperature' is "hot"; expected a number/);
  });

  it("fails with exit 1 naming the file and line of a malformed row; --skip-invalid counts it", async () => {
    const bad = join(tmp, "bad.jsonl");
    writeFileSync(bad, '{"q": "1+1?", "a": "2"}\n{"q": "2+2?"}\n{"q": "3+3?", "a": "6"}\n');
    const r = await gvm("eval", "--model", modelDir, "--data", bad, "--question-field", "q", "--answer-field", "a", "--out", join(tmp, "o1"), "--quiet");
    expect(r.code).toBe(1);
    expect(r.err).toMatch(/bad\.jsonl:2: missing answer field 'a'/);
    const s = await gvm("eval", "--model", modelDir, "--data", bad, "--question-field", "q", "--answer-field", "a", "--skip-invalid", "--max-tokens", "4", "--out", join(tmp, "o2"), "--quiet");
    expect(s.code).toBe(0);
    const summary = JSON.parse(readFileSync(join(tmp, "o2", "tiny_iter-000003", "summary.json"), "utf8")) as { sets: Record<string, { problems: number }> };
    expect(summary.sets.bad?.problems).toBe(2);
  });

  it("fails with exit 1 on a missing model directory", async () => {
    const r = await gvm("eval", "--model", join(tmp, "nope"), "--suite", "--out", join(tmp, "o3"), "--quiet");
    expect(r.code).toBe(1);
    expect(r.err).toMatch(/nope\/config\.json: cannot read/);
  });

  it.skipIf(!existsSync(BENCH_DIR))("runs the paper's benchmarks end to end and prints the paper's table", async () => {
    const r = await gvm("eval", "--model", modelDir, "--benchmarks", BENCH_DIR, "--limit", "2", "--max-tokens", "8", "--out", join(tmp, "bench"), "--quiet");
    expect(r.code).toBe(0);
    expect(r.out).toMatch(/\| Model \(avg@1, %\) \| MATH500 \| Minerva Math \| OlympiadBench \| AIME24 \| AMC23 \| Avg \(5\) \| Avg \(3\) \|/);
    expect(r.out).toMatch(/\| tiny\/iter-000003 +\| +\d+\.\d\d \|/);
    const dir = join(tmp, "bench", "tiny_iter-000003");
    for (const f of ["math500", "minerva_math", "olympiad_bench", "aime24", "amc23"]) expect(readFileSync(join(dir, `${f}.jsonl`), "utf8").trim().split("\n")).toHaveLength(2);
  });
});

describe("gvm eval killed mid-run resumes without redoing or losing problems", () => {
  const args = (out: string) => ["--import", "tsx", join(ROOT, "src/cli/bin.ts"), "eval", "--model", modelDir, "--data", dataFile, "--question-field", "q", "--answer-field", "a", "--id-field", "uid", "--k", "2", "--max-tokens", "48", "--chunk", "1", "--out", out, "--quiet"];
  const run = (out: string): ChildProcess => spawn(process.execPath, args(out), { cwd: ROOT, stdio: ["ignore", "pipe", "pipe"], env: { ...process.env, GVM_LOG_LEVEL: "error" } });
  const exit = (c: ChildProcess) => new Promise<number | null>((resolve) => c.on("exit", (code) => resolve(code)));
  const records = (file: string) =>
    readFileSync(file, "utf8")
      .split("\n")
      .filter((l) => l.trim() !== "")
      .map((l) => l);

  it("kill -9 after a few problems, rerun, and get exactly the uninterrupted records", async () => {
    const killed = join(tmp, "killed");
    const file = join(killed, "tiny_iter-000003", "toy.jsonl");
    const child = run(killed);
    const done = exit(child);
    let before: string[] = [];
    for (let i = 0; i < 3000; i++) {
      await new Promise((r) => setTimeout(r, 10));
      if (existsSync(file) && (before = records(file)).length >= 3) break;
    }
    child.kill("SIGKILL");
    await done;
    before = records(file).filter((l) => {
      try {
        JSON.parse(l);
        return true;
      } catch {
        return false;
      }
    });
    expect(before.length).toBeGreaterThanOrEqual(3);
    expect(before.length).toBeLessThan(40);

    expect(await exit(run(killed))).toBe(0);
    const after = records(file);
    expect(after.slice(0, before.length)).toEqual(before);
    const ids = after.map((l) => (JSON.parse(l) as ProblemRecord).id);
    expect(new Set(ids).size).toBe(40);
    expect(ids).toHaveLength(40);

    const clean = join(tmp, "clean");
    expect(await exit(run(clean))).toBe(0);
    const norm = (ls: string[]) => ls.map((l) => ({ ...(JSON.parse(l) as ProblemRecord), seconds: 0 })).sort((a, b) => (a.id < b.id ? -1 : 1));
    expect(norm(after)).toEqual(norm(records(join(clean, "tiny_iter-000003", "toy.jsonl"))));
  });
});
