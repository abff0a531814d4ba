/**
 * Reliability (issue #14 s5): a catalogue of malformed inputs, run through
 * the gvm CLI. Each case builds good inputs, damages one thing (a config, a
 * JSONL or Parquet file, safetensors, a tokenizer, a checkpoint, a run or
 * evaluation directory), runs a command on it and checks that
 *  - it fails with exit 2 for usage and config errors and 1 for data that
 *    cannot be read, never 0 and never an unhandled exception,
 *  - the message names the damaged file (its full path) and the field,
 *    line, tensor or key that is wrong,
 *  - nothing that existed before the command changed: every file under the
 *    case's directory and the shared fixtures has the same bytes after, and
 *    no file was added or removed.
 */
import { createHash } from "node:crypto";
import { cpSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync, truncateSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, relative } from "node:path";
import { parquetWriteFile } from "hyparquet-writer";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { ByteTokenizer, LlamaModel, parseModelConfig, saveCheckpoint } from "../src/model/index.js";
import { writeManifest } from "../src/util/checksums.js";
import { Rng } from "../src/util/rng.js";
import { gvm } from "./cli-helpers.js";
import { llamaConfig, randomModel, writeHfDir } from "./interop-helpers.js";

const tmp = mkdtempSync(join(tmpdir(), "gvm-rel-inputs-"));
const fx = join(tmp, "fixtures");
const F = {
  bytes: join(fx, "bytes"),
  hf: join(fx, "hf"),
  sharded: join(fx, "sharded"),
  words: join(fx, "words"),
  jsonl: join(fx, "good.jsonl"),
  parquet: join(fx, "good.parquet"),
  cfg: join(fx, "train.yaml"),
  run: join(fx, "run"),
  evalOut: join(fx, "evalout"),
};

afterAll(() => rmSync(tmp, { recursive: true, force: true }));

/** `gvm eval` of the byte model on a data file, as the fixture evaluation ran it. */
const evalArgs = (data: string, out: string, ...more: string[]) => ["eval", "--model", F.bytes, "--data", data, "--k", "1", "--max-tokens", "4", "--out", out, "--quiet", ...more];
const trainArgs = (runDir: string, ...more: string[]) => ["train", "--config", F.cfg, "--run-dir", runDir, "--quiet", ...more];

beforeAll(async () => {
  mkdirSync(fx, { recursive: true });
  const tok = new ByteTokenizer();
  saveCheckpoint(F.bytes, LlamaModel.init(parseModelConfig({ model_type: "llama", vocab_size: tok.vocabSize, hidden_size: 16, intermediate_size: 32, num_hidden_layers: 1, num_attention_heads: 2, max_position_embeddings: 256, tie_word_embeddings: true }), new Rng(3)));
  const small = llamaConfig({ vocab_size: 259, hidden_size: 16, intermediate_size: 32, num_hidden_layers: 1, num_attention_heads: 2, num_key_value_heads: 2, max_position_embeddings: 128, bos_token_id: 257, eos_token_id: 258, pad_token_id: 256 });
  writeHfDir(F.hf, randomModel(small, 1), { dtype: "F32", shards: 1, tokenizer: false });
  writeHfDir(F.sharded, randomModel(small, 2), { dtype: "F16", shards: 2, tokenizer: false });
  // A Hugging Face tokenizer small enough to load in milliseconds: word-level, with an EOS and a chat template.
  writeHfDir(F.words, randomModel(llamaConfig({ vocab_size: 32, hidden_size: 8, intermediate_size: 16, num_hidden_layers: 1, num_attention_heads: 2, num_key_value_heads: 2, max_position_embeddings: 64, eos_token_id: 1 }), 4), { dtype: "F32", shards: 1, tokenizer: false });
  const vocab: Record<string, number> = { "[UNK]": 0, "<eos>": 1 };
  for (const w of "0 1 2 3 4 5 6 7 8 9 + - * = Q : what is the answer".split(" ")) vocab[w] = Object.keys(vocab).length;
  writeFileSync(join(F.words, "tokenizer.json"), JSON.stringify({ version: "1.0", added_tokens: [{ id: 1, content: "<eos>", special: true, single_word: false, lstrip: false, rstrip: false, normalized: false }], normalizer: null, pre_tokenizer: { type: "Whitespace" }, post_processor: null, decoder: null, model: { type: "WordLevel", vocab, unk_token: "[UNK]" } }));
  writeFileSync(join(F.words, "tokenizer_config.json"), JSON.stringify({ eos_token: "<eos>", chat_template: "{% for m in messages %}{{ m.content }}{% endfor %}" }));
  writeFileSync(F.jsonl, Array.from({ length: 4 }, (_, i) => `${JSON.stringify({ problem: `What is ${i}+${i}?`, answer: String(2 * i), uid: `p${i}` })}\n`).join(""));
  parquetWriteFile({ filename: F.parquet, columnData: [{ name: "problem", data: ["What is 1+1?", "What is 2+2?"], type: "STRING" }, { name: "answer", data: ["2", "4"], type: "STRING" }] });
  writeFileSync(F.cfg, `seed: 1\nmodel: { hiddenSize: 8, layers: 1, heads: 2, kvHeads: 2, ffn: 16, maxPositions: 64 }\nsuite: { trainSize: 4, testSize: 2 }\nwarmStart: { steps: 2, cleanSteps: 1, batchSize: 2, cacheDir: ${join(fx, ".cache")} }\nrl: { promptsPerIter: 2, budget: 4, stage1: 1, iterations: 2, maxNewTokens: 8, epochs: 1 }\neval: { every: 1, k: 1 }\n`);
  const run = await gvm(...trainArgs(F.run));
  expect(run.code, run.err).toBe(0);
  const ev = await gvm(...evalArgs(F.jsonl, F.evalOut));
  expect(ev.code, ev.err).toBe(0);
}, 120_000);

/** SHA-256 of every file under the given roots, by path. */
function snapshot(...roots: string[]): Map<string, string> {
  const out = new Map<string, string>();
  const walk = (dir: string): void => {
    for (const name of readdirSync(dir)) {
      const p = join(dir, name);
      if (statSync(p).isDirectory()) walk(p);
      else out.set(relative(tmp, p), createHash("sha256").update(readFileSync(p)).digest("hex"));
    }
  };
  for (const r of roots) walk(r);
  return out;
}

/** Copies a fixture into the case directory. */
function copy(from: string, dir: string, name: string): string {
  const to = join(dir, name);
  cpSync(from, to, { recursive: true });
  return to;
}

function write(dir: string, name: string, content: string | Buffer): string {
  const p = join(dir, name);
  writeFileSync(p, content);
  return p;
}

/** Edits a JSON file in place. */
function editJson(path: string, edit: (j: Record<string, unknown>) => void): void {
  const j = JSON.parse(readFileSync(path, "utf8")) as Record<string, unknown>;
  edit(j);
  writeFileSync(path, JSON.stringify(j));
}

/** Rewrites the JSON header of a safetensors file (padded to its old length, so offsets stay put). */
function editHeader(path: string, edit: (h: string) => string): void {
  const b = readFileSync(path);
  const len = Number(b.readBigUInt64LE(0));
  const h = edit(b.subarray(8, 8 + len).toString("utf8"));
  if (Buffer.byteLength(h) > len) throw new Error("edited header is longer than the original");
  b.write(h.padEnd(len, " "), 8, "utf8");
  writeFileSync(path, b);
}

/** Replaces line `n` (1-based) of a text file. */
function editLine(path: string, n: number, line: string): void {
  const lines = readFileSync(path, "utf8").split("\n");
  lines[n - 1] = line;
  writeFileSync(path, lines.join("\n"));
}

interface Case {
  name: string;
  /** Builds the damaged inputs under `dir`; returns the gvm argv and the damaged file. */
  setup: (dir: string) => { argv: string[]; file: string };
  code: 1 | 2;
  /** What the message must also say: the field, line, tensor or key. */
  field: RegExp;
}

const exportGguf = (model: string, dir: string) => ["export", "gguf", "--model", model, "--out", write(dir, "existing.gguf", "an earlier export")];

const CASES: Case[] = [
  // Configs: usage errors, exit 2.
  { name: "train config: YAML syntax error", code: 2, field: /line 2/, setup: (d) => ({ file: write(d, "c.yaml", "rl: { budget: 3\nseed: [\n"), argv: ["train", "--config", join(d, "c.yaml"), "--run-dir", join(d, "run")] }) },
  { name: "train config: unknown field", code: 2, field: /rl\.bugdet/, setup: (d) => ({ file: write(d, "c.yaml", "rl:\n  bugdet: 3\n"), argv: ["train", "--config", join(d, "c.yaml"), "--run-dir", join(d, "run")] }) },
  { name: "train config: wrong type", code: 2, field: /rl\.budget.*"many".*number/, setup: (d) => ({ file: write(d, "c.yaml", "rl:\n  budget: many\n"), argv: ["train", "--config", join(d, "c.yaml"), "--run-dir", join(d, "run")] }) },
  { name: "train config: a list at the top", code: 2, field: /top level/, setup: (d) => ({ file: write(d, "c.yaml", "- 1\n- 2\n"), argv: ["train", "--config", join(d, "c.yaml"), "--run-dir", join(d, "run")] }) },
  { name: "train config: JSON syntax error", code: 2, field: /not valid JSON/, setup: (d) => ({ file: write(d, "c.json", '{"seed": }'), argv: ["train", "--config", join(d, "c.json"), "--run-dir", join(d, "run")] }) },
  { name: "train config: fields that contradict", code: 2, field: /rl\.stepsPerIter/, setup: (d) => ({ file: write(d, "c.yaml", "rl:\n  promptsPerIter: 2\n  budget: 4\n  stage1: 1\n  stepsPerIter: 3\n"), argv: ["train", "--config", join(d, "c.yaml"), "--run-dir", join(d, "run")] }) },
  { name: "train config: missing file", code: 2, field: /cannot read/, setup: (d) => ({ file: join(d, "nope.yaml"), argv: ["train", "--config", join(d, "nope.yaml"), "--run-dir", join(d, "run")] }) },
  { name: "train --set: wrong type", code: 2, field: /rl\.budget.*"abc"/, setup: (d) => ({ file: "--set", argv: ["train", "--set", "rl.budget=abc", "--run-dir", join(d, "run")] }) },
  { name: "train: an existing run with another config", code: 2, field: /rl\.lr: 0\.0002 -> 0\.5/, setup: (d) => ({ file: join(copy(F.run, d, "run"), "config.json"), argv: trainArgs(join(d, "run"), "--set", "rl.lr=0.5") }) },
  { name: "eval config: YAML syntax error", code: 2, field: /not valid YAML/, setup: (d) => ({ file: write(d, "e.yaml", "sampling: [1\n"), argv: ["eval", "--config", join(d, "e.yaml"), "--model", F.bytes, "--suite"] }) },
  { name: "eval: an existing evaluation with other settings", code: 2, field: /sampling\.k/, setup: (d) => ({ file: join(copy(F.evalOut, d, "out"), "bytes", "config.json"), argv: evalArgs(F.jsonl, join(d, "out"), "--k", "2") }) },
  // JSONL: data errors, exit 1, naming file:line and the field.
  { name: "JSONL: a damaged middle line", code: 1, field: /:2: not valid JSON/, setup: (d) => ({ file: write(d, "q.jsonl", '{"problem":"a","answer":"1"}\n{"problem":"b","ans\n{"problem":"c","answer":"3"}\n'), argv: evalArgs(join(d, "q.jsonl"), join(d, "out")) }) },
  { name: "JSONL: a line that is not an object", code: 1, field: /:2: expected a JSON object/, setup: (d) => ({ file: write(d, "q.jsonl", '{"problem":"a","answer":"1"}\n[1,2]\n'), argv: evalArgs(join(d, "q.jsonl"), join(d, "out")) }) },
  { name: "JSONL: the question field missing", code: 1, field: /:2: missing question field 'problem'/, setup: (d) => ({ file: write(d, "q.jsonl", '{"problem":"a","answer":"1"}\n{"question":"b","answer":"2"}\n'), argv: evalArgs(join(d, "q.jsonl"), join(d, "out")) }) },
  { name: "JSONL: the question not a string", code: 1, field: /:1: question field 'problem' must be a string/, setup: (d) => ({ file: write(d, "q.jsonl", '{"problem":5,"answer":"1"}\n'), argv: evalArgs(join(d, "q.jsonl"), join(d, "out")) }) },
  { name: "JSONL: the answer an object", code: 1, field: /:1: answer field 'answer': gold rule 'string'/, setup: (d) => ({ file: write(d, "q.jsonl", '{"problem":"a","answer":{"x":1}}\n'), argv: evalArgs(join(d, "q.jsonl"), join(d, "out")) }) },
  { name: "JSONL: binary garbage", code: 1, field: /:1: not valid JSON/, setup: (d) => ({ file: write(d, "q.jsonl", Buffer.from([0xff, 0xfe, 0, 1, 2, 10, 0x80])), argv: evalArgs(join(d, "q.jsonl"), join(d, "out")) }) },
  { name: "JSONL: training prompts without the question field", code: 1, field: /:2: missing question field 'problem'/, setup: (d) => ({ file: write(d, "t.jsonl", '{"problem":"a","answer":"1"}\n{"q":"b","answer":"2"}\n'), argv: trainArgs(join(d, "run"), "--set", "prompts.source=dataset", "--set", `prompts.train.file=${join(d, "t.jsonl")}`, "--set", `prompts.test.file=${F.jsonl}`) }) },
  { name: "JSONL: verify input without the response field", code: 1, field: /:2: missing field "response"/, setup: (d) => ({ file: write(d, "v.jsonl", '{"gold":"1","response":"1"}\n{"gold":"1"}\n'), argv: ["verify", "--jsonl", join(d, "v.jsonl"), "--workers", "1", "--quiet"] }) },
  { name: "JSONL: allocate input with a non-numeric rate", code: 1, field: /:2: field 'acceptRate' must be a number/, setup: (d) => ({ file: write(d, "a.jsonl", '{"acceptRate":0.5,"gradNorm":1}\n{"acceptRate":"x","gradNorm":1}\n'), argv: ["allocate", "--jsonl", join(d, "a.jsonl"), "--budget", "10", "--strategy", "gvm"] }) },
  { name: "JSONL: an allocation with a negative n", code: 1, field: /:2: "n" is -1/, setup: (d) => ({ file: write(d, "n.jsonl", '{"n":2}\n{"n":-1}\n{"n":1}\n{"n":1}\n'), argv: ["export", "verl", "--data", F.jsonl, "--allocation", join(d, "n.jsonl"), "--out", join(d, "verl")] }) },
  // Parquet.
  { name: "Parquet: not a Parquet file", code: 1, field: /cannot read as Parquet/, setup: (d) => ({ file: write(d, "q.parquet", "just some text, no footer"), argv: evalArgs(join(d, "q.parquet"), join(d, "out")) }) },
  { name: "Parquet: cut short", code: 1, field: /cannot read as Parquet/, setup: (d) => ({ file: write(d, "q.parquet", readFileSync(F.parquet).subarray(0, 60)), argv: evalArgs(join(d, "q.parquet"), join(d, "out")) }) },
  { name: "Parquet: the question column missing", code: 1, field: /row 1: missing question field 'problem'/, setup: (d) => ({ file: join(d, "q.parquet"), argv: (parquetWriteFile({ filename: join(d, "q.parquet"), columnData: [{ name: "q", data: ["a"], type: "STRING" }, { name: "answer", data: ["1"], type: "STRING" }] }), evalArgs(join(d, "q.parquet"), join(d, "out"))) }) },
  { name: "Parquet: the question column of integers", code: 1, field: /row 1: question field 'problem' must be a string/, setup: (d) => ({ file: join(d, "q.parquet"), argv: (parquetWriteFile({ filename: join(d, "q.parquet"), columnData: [{ name: "problem", data: [1], type: "INT32" }, { name: "answer", data: ["1"], type: "STRING" }] }), evalArgs(join(d, "q.parquet"), join(d, "out"))) }) },
  // Safetensors and model config.json (model directories without a manifest: the parser itself is tested).
  { name: "safetensors: header length past the end", code: 1, field: /header length \d+ does not fit/, setup: (d) => { const m = copy(F.hf, d, "m"); const p = join(m, "model.safetensors"); const b = readFileSync(p); b.writeBigUInt64LE(10n ** 12n, 0); writeFileSync(p, b); return { file: p, argv: exportGguf(m, d) }; } },
  { name: "safetensors: header not JSON", code: 1, field: /header is not valid JSON/, setup: (d) => { const m = copy(F.hf, d, "m"); editHeader(join(m, "model.safetensors"), (h) => `{{${h.slice(2)}`); return { file: join(m, "model.safetensors"), argv: exportGguf(m, d) }; } },
  { name: "safetensors: unknown dtype", code: 1, field: /tensor \S+: dtype Q99 is not supported/, setup: (d) => { const m = copy(F.hf, d, "m"); editHeader(join(m, "model.safetensors"), (h) => h.replace('"F32"', '"Q99"')); return { file: join(m, "model.safetensors"), argv: exportGguf(m, d) }; } },
  { name: "safetensors: data offsets that do not fit the shape", code: 1, field: /tensor \S+: data_offsets span/, setup: (d) => { const m = copy(F.hf, d, "m"); editHeader(join(m, "model.safetensors"), (h) => h.replace(/"data_offsets":\[(\d+),(\d+)\]/, (_s, a: string, b: string) => `"data_offsets":[${a},${Number(b) + 4}]`)); return { file: join(m, "model.safetensors"), argv: exportGguf(m, d) }; } },
  { name: "safetensors: cut short", code: 1, field: /tensor \S+: data ends at byte \d+ but the file has only/, setup: (d) => { const m = copy(F.hf, d, "m"); const p = join(m, "model.safetensors"); truncateSync(p, statSync(p).size - 100); return { file: p, argv: exportGguf(m, d) }; } },
  { name: "safetensors: a tensor of the wrong shape", code: 1, field: /model\.embed_tokens\.weight .* has shape \[16, 259\], expected \[259, 16\]/, setup: (d) => { const m = copy(F.hf, d, "m"); editHeader(join(m, "model.safetensors"), (h) => h.replace('"model.embed_tokens.weight":{"dtype":"F32","shape":[259,16]', '"model.embed_tokens.weight":{"dtype":"F32","shape":[16,259]')); return { file: join(m, "model.safetensors"), argv: exportGguf(m, d) }; } },
  { name: "safetensors: a tensor missing", code: 1, field: /missing model\.norm\.weight/, setup: (d) => { const m = copy(F.hf, d, "m"); editHeader(join(m, "model.safetensors"), (h) => h.replace("model.norm.weight", "model.norm.wEight")); return { file: join(m, "model.safetensors"), argv: exportGguf(m, d) }; } },
  { name: "safetensors: NaN weights", code: 1, field: /tensor model\.norm\.weight has \d+ non-finite values/, setup: (d) => { const m = copy(F.hf, d, "m"); const p = join(m, "model.safetensors"); const b = readFileSync(p); const len = Number(b.readBigUInt64LE(0)); const off = (JSON.parse(b.subarray(8, 8 + len).toString("utf8")) as Record<string, { data_offsets: number[] }>)["model.norm.weight"]?.data_offsets[0] as number; b.writeFloatLE(Number.NaN, 8 + len + off); writeFileSync(p, b); return { file: p, argv: exportGguf(m, d) }; } },
  { name: "safetensors: a changed byte under a manifest", code: 1, field: /SHA-256 .* does not match .*checksums\.sha256/, setup: (d) => { const m = copy(F.bytes, d, "m"); const p = join(m, "model.safetensors"); const b = readFileSync(p); b[b.length - 3] = (b[b.length - 3] as number) ^ 0xff; writeFileSync(p, b); return { file: p, argv: exportGguf(m, d) }; } },
  { name: "shard index: not JSON", code: 1, field: /not valid JSON/, setup: (d) => { const m = copy(F.sharded, d, "m"); return { file: write(m, "model.safetensors.index.json", "{"), argv: exportGguf(m, d) }; } },
  { name: "shard index: weight_map entries that are not file names", code: 1, field: /weight_map\["model\.norm\.weight"\] must be the name of a shard file/, setup: (d) => { const m = copy(F.sharded, d, "m"); editJson(join(m, "model.safetensors.index.json"), (j) => ((j.weight_map as Record<string, unknown>)["model.norm.weight"] = 7)); return { file: join(m, "model.safetensors.index.json"), argv: exportGguf(m, d) }; } },
  { name: "shard index: a shard outside the directory", code: 1, field: /weight_map\["model\.norm\.weight"\] must be the name of a shard file .* found "\.\.\/\.\.\/elsewhere\.safetensors"/, setup: (d) => { const m = copy(F.sharded, d, "m"); editJson(join(m, "model.safetensors.index.json"), (j) => ((j.weight_map as Record<string, unknown>)["model.norm.weight"] = "../../elsewhere.safetensors")); return { file: join(m, "model.safetensors.index.json"), argv: exportGguf(m, d) }; } },
  { name: "config.json: not JSON", code: 1, field: /not valid JSON/, setup: (d) => { const m = copy(F.hf, d, "m"); return { file: write(m, "config.json", "{ not json"), argv: exportGguf(m, d) }; } },
  { name: "config.json: a field of the wrong type", code: 1, field: /hidden_size: .*expected number, received string/, setup: (d) => { const m = copy(F.hf, d, "m"); editJson(join(m, "config.json"), (j) => (j.hidden_size = "sixteen")); return { file: join(m, "config.json"), argv: exportGguf(m, d) }; } },
  { name: "config.json: heads that do not divide the width", code: 1, field: /hidden_size 16 is not divisible by num_attention_heads 3/, setup: (d) => { const m = copy(F.hf, d, "m"); editJson(join(m, "config.json"), (j) => (j.num_attention_heads = 3)); return { file: join(m, "config.json"), argv: exportGguf(m, d) }; } },
  // Tokenizers (a word-level tokenizer.json; the same checks run on Qwen's).
  ...tokenizerCases(),
  // Checkpoints and run directories (rerunning a finished run: it must refuse, and leave the run as it was).
  { name: "run: config.json not JSON", code: 1, field: /not valid JSON/, setup: (d) => { const r = copy(F.run, d, "run"); return { file: write(r, "config.json", "{"), argv: trainArgs(r) }; } },
  { name: "run: latest naming no checkpoint", code: 1, field: /expected a checkpoint name like "iter-000004", found "garbage"/, setup: (d) => { const r = copy(F.run, d, "run"); return { file: write(r, "checkpoints/latest", "garbage\n"), argv: trainArgs(r) }; } },
  { name: "run: a damaged middle line in metrics.jsonl", code: 1, field: /metrics\.jsonl:3: not valid JSON .* not a torn last line/, setup: (d) => { const r = copy(F.run, d, "run"); editLine(join(r, "metrics.jsonl"), 3, '{"kind":"step","iter'); return { file: join(r, "metrics.jsonl"), argv: trainArgs(r) }; } },
  { name: "run: a line of samples.jsonl that is not a record", code: 1, field: /samples\.jsonl:2: expected a JSON object/, setup: (d) => { const r = copy(F.run, d, "run"); editLine(join(r, "samples.jsonl"), 2, "[1, 2, 3]"); return { file: join(r, "samples.jsonl"), argv: trainArgs(r) }; } },
  { name: "run: a lock file that is not a lock", code: 1, field: /the lock file cannot be read/, setup: (d) => { const r = copy(F.run, d, "run"); return { file: write(r, "lock", "garbage"), argv: trainArgs(r) }; } },
  {
    name: "run: trainer.json with a bad field in every checkpoint (manifests rewritten to match)",
    code: 1,
    field: /no intact checkpoint[\s\S]*iter-000002\/trainer\.json: field "samples" must be an integer >= 0, found -1[\s\S]*iter-000001\/trainer\.json: field "samples"/,
    setup: (d) => {
      const r = copy(F.run, d, "run");
      for (const it of ["iter-000001", "iter-000002"]) {
        editJson(join(r, "checkpoints", it, "trainer.json"), (j) => (j.samples = -1));
        writeManifest(join(r, "checkpoints", it));
      }
      return { file: join(r, "checkpoints", "iter-000002", "trainer.json"), argv: trainArgs(r) };
    },
  },
  // Evaluation directories (rerunning a finished evaluation resumes from them).
  { name: "eval dir: config.json not JSON", code: 1, field: /not valid JSON/, setup: (d) => { const o = copy(F.evalOut, d, "out"); return { file: write(o, "bytes/config.json", "{"), argv: evalArgs(F.jsonl, o) }; } },
  { name: "eval dir: a damaged middle line", code: 1, field: /good\.jsonl:2: not valid JSON, and not the last line/, setup: (d) => { const o = copy(F.evalOut, d, "out"); editLine(join(o, "bytes", "good.jsonl"), 2, "{broken"); return { file: join(o, "bytes", "good.jsonl"), argv: evalArgs(F.jsonl, o) }; } },
  { name: "eval dir: a record without an id", code: 1, field: /good\.jsonl:2: field "id" must be a string, found undefined/, setup: (d) => { const o = copy(F.evalOut, d, "out"); editLine(join(o, "bytes", "good.jsonl"), 2, '{"x":1}'); return { file: join(o, "bytes", "good.jsonl"), argv: evalArgs(F.jsonl, o) }; } },
  {
    name: "eval dir: a record whose responses are not a list",
    code: 1,
    field: /good\.jsonl:2: field "responses" must be a list of 1 responses, found "x"/,
    setup: (d) => {
      const o = copy(F.evalOut, d, "out");
      const p = join(o, "bytes", "good.jsonl");
      const rec = JSON.parse(readFileSync(p, "utf8").split("\n")[1] as string) as Record<string, unknown>;
      editLine(p, 2, JSON.stringify({ ...rec, responses: "x" }));
      return { file: p, argv: evalArgs(F.jsonl, o) };
    },
  },
];

function tokenizerCases(): Case[] {
  const tokenizerDir = (d: string, edit: (m: string) => string): { argv: string[]; file: string } => {
    const m = copy(F.words, d, "m");
    const file = edit(m);
    return { file, argv: ["eval", "--model", m, "--suite", "--suite-size", "2", "--k", "1", "--max-tokens", "2", "--out", join(d, "out"), "--quiet"] };
  };
  const tj = (m: string) => join(m, "tokenizer.json");
  const tc = (m: string) => join(m, "tokenizer_config.json");
  return [
    { name: "tokenizer.json: not JSON", code: 1, field: /not valid JSON/, setup: (d) => tokenizerDir(d, (m) => write(m, "tokenizer.json", "{ nope")) },
    { name: "tokenizer.json: no model", code: 1, field: /no "model" object/, setup: (d) => tokenizerDir(d, (m) => (editJson(tj(m), (j) => delete j.model), tj(m))) },
    { name: "tokenizer.json: a vocabulary that is a number", code: 1, field: /model\.vocab must be an object of token -> id .* found 5/, setup: (d) => tokenizerDir(d, (m) => (editJson(tj(m), (j) => ((j.model as Record<string, unknown>).vocab = 5)), tj(m))) },
    { name: "tokenizer.json: merges of numbers", code: 1, field: /model\.merges\[0\] must be "a b" or \["a", "b"\], found \[1, 2\]/, setup: (d) => tokenizerDir(d, (m) => (editJson(tj(m), (j) => ((j.model as Record<string, unknown>).merges = [[1, 2]])), tj(m))) },
    { name: "tokenizer.json: added_tokens not a list", code: 1, field: /added_tokens must be a list/, setup: (d) => tokenizerDir(d, (m) => (editJson(tj(m), (j) => (j.added_tokens = "x")), tj(m))) },
    { name: "tokenizer_config.json: not JSON", code: 1, field: /not valid JSON/, setup: (d) => tokenizerDir(d, (m) => write(m, "tokenizer_config.json", "[[[")) },
    { name: "tokenizer_config.json: missing", code: 1, field: /missing/, setup: (d) => tokenizerDir(d, (m) => (rmSync(tc(m)), tc(m))) },
    { name: "tokenizer_config.json: a chat template that does not parse", code: 1, field: /the chat template does not parse/, setup: (d) => tokenizerDir(d, (m) => (editJson(tc(m), (j) => (j.chat_template = "{% for m in messages %}{{ m.content ")), tc(m))) },
    { name: "tokenizer_config.json: an EOS token not in the vocabulary", code: 1, field: /eos_token "<nope>" is not in the vocabulary/, setup: (d) => tokenizerDir(d, (m) => (editJson(tc(m), (j) => (j.eos_token = "<nope>")), tc(m))) },
    { name: "tokenizer_config.json: an EOS token that is a number", code: 1, field: /eos_token must be the token's text or \{"content": text\}, found 42/, setup: (d) => tokenizerDir(d, (m) => (editJson(tc(m), (j) => (j.eos_token = 42)), tc(m))) },
  ];
}

describe("malformed inputs: exit code, the file and the field named, nothing written changed", () => {
  it.each(CASES.map((c) => [c.name, c] as const))("%s", async (_name, c) => {
    const dir = mkdtempSync(join(tmp, "case-"));
    const { argv, file } = c.setup(dir);
    const before = snapshot(dir, fx);
    const r = await gvm(...argv);
    expect(r.code, r.err).toBe(c.code);
    if (file !== "--set") expect(r.err).toContain(file);
    expect(r.err).toMatch(c.field);
    // No stack trace and no unhandled error class leaks out: one or a few lines a user can act on.
    expect(r.err).not.toMatch(/\n\s+at /);
    expect(snapshot(dir, fx)).toEqual(before);
  });
});
