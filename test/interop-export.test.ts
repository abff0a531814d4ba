/**
 * Exports through the CLI: verl parquet + sample sizes (read back with
 * hyparquet, every field checked; allocations from `gvm allocate`, by id,
 * uniform, or a run's iteration), GGUF files (parsed back: header,
 * metadata, tensor table, data), and `gvm eval` on a Hugging Face directory
 * with its chat template.
 */
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { asyncBufferFromFile, parquetMetadataAsync } from "hyparquet";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { gvm } from "./cli-helpers.js";
import { VERL_INSTRUCTION } from "../src/cli/export.js";
import { readVerlParquet } from "../src/data/index.js";
import { PAPER_SYSTEM_PROMPT } from "../src/eval/index.js";
import { byteToUnicode, loadModelDir } from "../src/model/index.js";
import { llamaConfig, qwen2Config, randomModel, writeHfDir } from "./interop-helpers.js";

const tmp = mkdtempSync(join(tmpdir(), "gvm-export-"));
afterAll(() => rmSync(tmp, { recursive: true, force: true }));



const PROMPTS = [
  { uid: "a", problem: "What is 2+3?", answer: "5" },
  { uid: "b", problem: "Compute $\\frac{1}{2}+\\frac{1}{3}$.", answer: "\\frac{5}{6}" },
  { uid: "c", problem: "How many primes are below 10?", answer: 4 },
  { uid: "d", problem: "Solve $x^2=9$ for $x>0$.", answer: "3" },
];
const dataFile = join(tmp, "prompts.jsonl");

beforeAll(() => {
  writeFileSync(dataFile, `${PROMPTS.map((p) => JSON.stringify(p)).join("\n")}\n`);
});

describe("gvm export verl", () => {
  it("writes verl's parquet and the sample-size list from a gvm allocate output; every field reads back", async () => {
    const stats = join(tmp, "stats.jsonl");
    writeFileSync(stats, `${[0.2, 0.9, 0.5, 0.05].map((p, i) => JSON.stringify({ acceptRate: p, gradNorm: 1 + i })).join("\n")}\n`);
    const alloc = await gvm("allocate", "--jsonl", stats, "--budget", "32");
    expect(alloc.code).toBe(0);
    const allocFile = join(tmp, "alloc.jsonl");
    writeFileSync(allocFile, alloc.out);
    const sizes = alloc.out.trim().split("\n").map((l) => (JSON.parse(l) as { n: number }).n);
    const out = join(tmp, "verl1");
    const r = await gvm("export", "verl", "--data", dataFile, "--allocation", allocFile, "--out", out);
    expect(r.err).toMatch(/4 prompts, 32 responses in all/);
    expect(r.code).toBe(0);
    expect(r.out).toContain(`+actor_rollout_ref.rollout.sample_sizes_data="${join(out, "sample_sizes.json")}"`);
    expect(r.out).toContain("+actor_rollout_ref.rollout.use_em=True");
    expect(JSON.parse(readFileSync(join(out, "sample_sizes.json"), "utf8"))).toEqual(sizes);
    const rows = await readVerlParquet(join(out, "train.parquet"));
    expect(rows).toEqual(
      PROMPTS.map((p, i) => ({
        data_source: "numina_math",
        prompt: [
          { role: "system", content: PAPER_SYSTEM_PROMPT },
          { role: "user", content: `${p.problem} ${VERL_INSTRUCTION}` },
        ],
        ability: "math",
        reward_model: { style: "rule", ground_truth: String(p.answer) },
        extra_info: { split: "train", index: i },
      })),
    );
    // The layout datasets/pyarrow write: prompt a 3-level LIST of structs, index an int64.
    const meta = await parquetMetadataAsync(await asyncBufferFromFile(join(out, "train.parquet")));
    const schema = meta.schema.map((s) => [s.name, s.type ?? null, s.repetition_type ?? null, s.converted_type ?? null]);
    expect(schema).toContainEqual(["prompt", null, "OPTIONAL", "LIST"]);
    expect(schema).toContainEqual(["list", null, "REPEATED", null]);
    expect(schema).toContainEqual(["index", "INT64", "OPTIONAL", null]);
    expect(Number(meta.num_rows)).toBe(4);
  });

  it("takes sizes by id, uniformly, or from a run's iteration record; custom prompt, source and split", async () => {
    const allocFile = join(tmp, "alloc-ids.jsonl");
    writeFileSync(allocFile, `${["d", "c", "b", "a"].map((id, i) => JSON.stringify({ id, n: i })).join("\n")}\n`);
    const out = join(tmp, "verl2");
    const r = await gvm("export", "verl", "--data", dataFile, "--id-field", "uid", "--allocation", allocFile, "--out", out, "--no-system", "--instruction", "", "--data-source", "lighteval/MATH", "--split", "iter7");
    expect(r.code).toBe(0);
    expect(JSON.parse(readFileSync(join(out, "sample_sizes.json"), "utf8"))).toEqual([3, 2, 1, 0]);
    const rows = await readVerlParquet(join(out, "train.parquet"));
    expect(rows[1]).toEqual({ data_source: "lighteval/MATH", prompt: [{ role: "user", content: PROMPTS[1]?.problem }], ability: "math", reward_model: { style: "rule", ground_truth: "\\frac{5}{6}" }, extra_info: { split: "iter7", index: 1 } });

    const uniform = await gvm("export", "verl", "--data", dataFile, "--n", "8", "--out", join(tmp, "verl3"));
    expect(uniform.code).toBe(0);
    expect(JSON.parse(readFileSync(join(tmp, "verl3", "sample_sizes.json"), "utf8"))).toEqual([8, 8, 8, 8]);

    const run = join(tmp, "run");
    mkdirSync(run, { recursive: true });
    const iteration = (iter: number, ids?: string[]) => ({ kind: "iteration", iter, step: iter, samples: 0, wallclock: 0, stage1Samples: 0, stage2Samples: 0, trainReward: 0, acceptedFrac: 0, time: { sampling: 0, gradNorms: 0, update: 0, eval: 0 }, allocation: { level: [1, 1], p: [0.5, 0.5], G: [1, 1], n: [5, 11], status: "ok", ...(ids ? { ids } : {}) } });
    writeFileSync(join(run, "metrics.jsonl"), `${[{ kind: "run", iter: 0 }, iteration(1), iteration(2, ["c", "a"])].map((x) => JSON.stringify(x)).join("\n")}\n`);
    const byRun = await gvm("export", "verl", "--data", dataFile, "--id-field", "uid", "--run", run, "--iter", "2", "--out", join(tmp, "verl4"));
    expect(byRun.code).toBe(0);
    expect(JSON.parse(readFileSync(join(tmp, "verl4", "sample_sizes.json"), "utf8"))).toEqual([5, 11]);
    expect((await readVerlParquet(join(tmp, "verl4", "train.parquet"))).map((x) => [x.reward_model.ground_truth, x.extra_info.index])).toEqual([
      ["4", 0],
      ["5", 1],
    ]);
    writeFileSync(join(run, "prompts.jsonl"), `${PROMPTS.map((p) => JSON.stringify({ id: p.uid, problem: p.problem, answer: p.answer })).join("\n")}\n`);
    const fromRunDir = await gvm("export", "verl", "--run", run, "--iter", "2", "--out", join(tmp, "verl4b"));
    expect(fromRunDir.code).toBe(0);
    expect(await readVerlParquet(join(tmp, "verl4b", "train.parquet"))).toEqual(await readVerlParquet(join(tmp, "verl4", "train.parquet")));
    const noIds = await gvm("export", "verl", "--data", dataFile, "--id-field", "uid", "--run", run, "--iter", "1", "--out", join(tmp, "verl5"));
    expect(noIds.code).toBe(1);
    expect(noIds.err).toMatch(/metrics\.jsonl:2: iteration 1 logs allocation\.n but not which prompts it applies to \(allocation\.ids/);
  });

  it.each([
    [["export", "verl", "--data", "X", "--n", "2", "--allocation", "Y", "--out", "Z"], 2, /exactly one of --allocation FILE, --n N, or --run DIR --iter K/],
    [["export", "verl", "--n", "2", "--out", "Z"], 2, /verl needs --data FILE/],
    [["export", "parquet"], 2, /unknown export 'parquet' \(verl or gguf\)/],
    [["export", "gguf", "--model", "m", "--out", "x.gguf", "--dtype", "q4"], 2, /--dtype must be f16 or f32, got q4/],
  ] as const)("usage errors: %j", async (argv, code, message) => {
    const r = await gvm(...argv);
    expect(r.code).toBe(code);
    expect(r.err).toMatch(message);
  });

  it("an allocation that does not fit the prompts is an error naming the file", async () => {
    const allocFile = join(tmp, "alloc-short.jsonl");
    writeFileSync(allocFile, '{"n": 1}\n{"n": 2}\n');
    const r = await gvm("export", "verl", "--data", dataFile, "--allocation", allocFile, "--out", join(tmp, "verl6"));
    expect(r.code).toBe(1);
    expect(r.err).toMatch(/alloc-short\.jsonl: 2 allocation lines for 4 prompts/);
  });
});

/** A GGUF v3 file parsed back: metadata and tensor table. */
function readGguf(path: string): { kv: Map<string, unknown>; tensors: Array<{ name: string; dims: number[]; type: number; offset: number }>; dataStart: number; buf: Buffer } {
  const buf = readFileSync(path);
  let at = 0;
  const u32 = () => ((at += 4), buf.readUInt32LE(at - 4));
  const u64 = () => ((at += 8), Number(buf.readBigUInt64LE(at - 8)));
  const str = () => {
    const n = u64();
    at += n;
    return buf.toString("utf8", at - n, at);
  };
  const value = (t: number): unknown => {
    switch (t) {
      case 4:
        return u32();
      case 5:
        return (at += 4), buf.readInt32LE(at - 4);
      case 6:
        return (at += 4), buf.readFloatLE(at - 4);
      case 7:
        return (at += 1), buf.readUInt8(at - 1) === 1;
      case 8:
        return str();
      case 9: {
        const et = u32();
        const n = u64();
        return Array.from({ length: n }, () => value(et));
      }
      default:
        throw new Error(`unexpected GGUF value type ${t}`);
    }
  };
  expect(buf.toString("latin1", 0, 4)).toBe("GGUF");
  at = 4;
  expect(u32()).toBe(3);
  const nt = u64();
  const nkv = u64();
  const kv = new Map<string, unknown>();
  for (let i = 0; i < nkv; i++) {
    const k = str();
    kv.set(k, value(u32()));
  }
  const tensors = Array.from({ length: nt }, () => {
    const name = str();
    const nd = u32();
    const dims = Array.from({ length: nd }, u64);
    return { name, dims, type: u32(), offset: u64() };
  });
  const dataStart = Math.ceil(at / 32) * 32;
  return { kv, tensors, dataStart, buf };
}

describe("gvm export gguf", () => {
  it("a byte-level Llama checkpoint: llama keys, byte vocabulary at our ids, tensor table and data", async () => {
    const dir = join(tmp, "bytes");
    const model = randomModel(llamaConfig({ vocab_size: 259, attention_bias: false, bos_token_id: 257, eos_token_id: 258, pad_token_id: 256 }), 1);
    writeHfDir(dir, model, { dtype: "F32", shards: 1, tokenizer: false });
    const file = join(tmp, "bytes.gguf");
    const r = await gvm("export", "gguf", "--model", dir, "--out", file, "--dtype", "f32");
    expect(r.code).toBe(0);
    const g = readGguf(file);
    expect(g.kv.get("general.architecture")).toBe("llama");
    expect(g.kv.get("llama.block_count")).toBe(2);
    expect(g.kv.get("llama.attention.head_count_kv")).toBe(2);
    expect(g.kv.get("tokenizer.ggml.model")).toBe("gpt2");
    const tokens = g.kv.get("tokenizer.ggml.tokens") as string[];
    expect(tokens.slice(0, 256)).toEqual(byteToUnicode());
    expect(tokens.slice(256)).toEqual(["<|pad|>", "<|bos|>", "<|eos|>"]);
    expect(g.kv.get("tokenizer.ggml.merges")).toEqual([]);
    expect([g.kv.get("tokenizer.ggml.bos_token_id"), g.kv.get("tokenizer.ggml.eos_token_id"), g.kv.get("tokenizer.ggml.add_bos_token")]).toEqual([257, 258, true]);
    expect(g.tensors.map((t) => t.name)).toContain("output.weight");
    const embd = g.tensors.find((t) => t.name === "token_embd.weight");
    expect(embd?.dims).toEqual([16, 259]);
    for (const t of g.tensors) expect(t.offset % 32).toBe(0);
    const data = new Float32Array(g.buf.buffer.slice(g.buf.byteOffset + g.dataStart + (embd?.offset ?? 0), g.buf.byteOffset + g.dataStart + (embd?.offset ?? 0) + 259 * 16 * 4));
    expect(data).toEqual(model.params.get("model.embed_tokens.weight")?.data);
    const last = g.tensors.reduce((a, b) => (b.offset > a.offset ? b : a));
    expect(g.buf.length).toBeGreaterThanOrEqual(g.dataStart + last.offset + last.dims.reduce((a, b) => a * b, 1) * 4);
  });

  it("a Qwen2 checkpoint with the Qwen tokenizer: qwen2 keys, BPE merges, control tokens, chat template, f16 matrices and f32 norms", async () => {
    const dir = join(tmp, "qwen");
    writeHfDir(dir, randomModel(qwen2Config({ num_hidden_layers: 1 }), 2), { dtype: "BF16", shards: 1, tokenizer: true });
    const file = join(tmp, "qwen.gguf");
    const r = await gvm("export", "gguf", "--model", dir, "--out", file);
    expect(r.code).toBe(0);
    const g = readGguf(file);
    const m = loadModelDir(dir);
    expect(g.kv.get("general.architecture")).toBe("qwen2");
    expect(g.kv.get("tokenizer.ggml.pre")).toBe("qwen2");
    const tokens = g.kv.get("tokenizer.ggml.tokens") as string[];
    const types = g.kv.get("tokenizer.ggml.token_type") as number[];
    expect(tokens).toHaveLength(151936);
    expect(tokens[151644]).toBe("<|im_start|>");
    expect(types[151644]).toBe(3);
    expect(types[151700]).toBe(5);
    expect((g.kv.get("tokenizer.ggml.merges") as string[]).length).toBeGreaterThan(100000);
    expect((g.kv.get("tokenizer.ggml.merges") as string[])[0]).toMatch(/^\S+ \S+$/);
    expect(g.kv.get("tokenizer.ggml.eos_token_id")).toBe(tokens.indexOf("<|im_end|>"));
    expect(g.kv.get("tokenizer.chat_template")).toBe(m.chatTemplate?.source);
    expect(g.tensors.map((t) => t.name)).not.toContain("output.weight");
    expect(g.tensors.find((t) => t.name === "blk.0.attn_q.weight")?.type).toBe(1);
    expect(g.tensors.find((t) => t.name === "blk.0.attn_q.bias")?.type).toBe(0);
    expect(g.tensors.find((t) => t.name === "output_norm.weight")?.type).toBe(0);
  });
});

describe("gvm eval on a Hugging Face directory", () => {
  it("loads the real tokenizer and renders prompts with the model's chat template", async () => {
    const dir = join(tmp, "eval-qwen");
    writeHfDir(dir, randomModel(qwen2Config({ num_hidden_layers: 1 }), 3), { dtype: "BF16", shards: 1, tokenizer: true });
    const out = join(tmp, "eval-out");
    const r = await gvm("eval", "--model", dir, "--data", dataFile, "--k", "2", "--max-tokens", "4", "--out", out, "--quiet");
    expect(r.err).not.toMatch(/gvm eval: /);
    expect(r.code).toBe(0);
    const summary = JSON.parse(readFileSync(join(out, "eval-qwen", "summary.json"), "utf8")) as { template: { chat: string }; sets: Record<string, { problems: number }> };
    expect(summary.template.chat).toBe("model");
    const bytes = join(tmp, "bytes");
    const noTemplate = await gvm("eval", "--model", bytes, "--data", dataFile, "--chat", "model", "--out", out, "--quiet");
    expect(noTemplate.code).toBe(2);
    expect(noTemplate.err).toMatch(/--chat model, but .*bytes has no chat template/);
  });
});
