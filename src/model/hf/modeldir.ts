/**
 * A model directory in Hugging Face layout, whole: config.json, the
 * safetensors weights (single or sharded; f32/f16/bf16), the tokenizer and
 * the chat template. gvm's own byte-level checkpoints (no tokenizer.json;
 * config.json naming the byte tokenizer's special ids) load through the same
 * call with the ByteTokenizer.
 *
 * Saving writes the same layout and copies the tokenizer files of the
 * directory the model came from, so a trained checkpoint stays loadable
 * here, in transformers, vLLM and verl.
 */
import { existsSync } from "node:fs";
import { join } from "node:path";
import type { AdamWState } from "../../tensor/index.js";
import { CheckpointError, loadConfig, loadModel, saveCheckpoint } from "../checkpoint.js";
import { configJson, type ModelConfig } from "../config.js";
import type { LlamaModel } from "../llama.js";
import type { StDtype } from "../safetensors.js";
import { ByteTokenizer, type Tokenizer } from "../tokenizer.js";
import { type ChatTemplate, loadChatTemplate } from "./chat-template.js";
import { COMPANION_FILES, readTextFile } from "./files.js";
import { loadHfTokenizer } from "./tokenizer.js";

export type TokenizerKind = "hf" | "byte";

export interface TokenizerDir {
  dir: string;
  config: ModelConfig;
  tokenizer: Tokenizer;
  /** "hf" for tokenizer.json models, "byte" for gvm's byte-level models. */
  kind: TokenizerKind;
  /** The model's chat template, or null when it ships none (byte-level models never do). */
  chatTemplate: ChatTemplate | null;
}

export interface ModelDir extends TokenizerDir {
  model: LlamaModel;
}

/**
 * True for gvm's byte-level models: special ids, where given, are the byte
 * tokenizer's, and either the vocabulary is exactly its 259 ids or the
 * config names its bos and eos ids (a padded embedding).
 */
export function isByteLevelConfig(c: ModelConfig): boolean {
  const pad = c.raw.pad_token_id;
  const idsFit =
    (c.bosTokenId === null || c.bosTokenId === ByteTokenizer.BOS) &&
    (c.eosTokenIds.length === 0 || (c.eosTokenIds.length === 1 && c.eosTokenIds[0] === ByteTokenizer.EOS)) &&
    (pad === undefined || pad === null || pad === ByteTokenizer.PAD);
  const named = c.bosTokenId === ByteTokenizer.BOS && c.eosTokenIds[0] === ByteTokenizer.EOS;
  return idsFit && (c.vocabSize === new ByteTokenizer().vocabSize || (named && c.vocabSize >= new ByteTokenizer().vocabSize));
}

/** config.json, tokenizer and chat template of a directory, without the weights. */
export function loadTokenizerDir(dir: string): TokenizerDir {
  const config = loadConfig(dir);
  if (existsSync(join(dir, "tokenizer.json"))) {
    const tokenizer = loadHfTokenizer(dir);
    if (tokenizer.vocabSize > config.vocabSize) {
      throw new CheckpointError(`${dir}: tokenizer.json has ${tokenizer.vocabSize} token ids but config.json vocab_size is ${config.vocabSize}; the embedding needs at least as many rows as the tokenizer has ids (wrong tokenizer for this model?)`);
    }
    return { dir, config, tokenizer, kind: "hf", chatTemplate: loadChatTemplate(dir, tokenizer) };
  }
  if (isByteLevelConfig(config)) return { dir, config, tokenizer: new ByteTokenizer(), kind: "byte", chatTemplate: null };
  throw new CheckpointError(
    `${dir}: no tokenizer.json (expected tokenizer.json + tokenizer_config.json of a Hugging Face model, or a gvm byte-level model: vocab_size 259, or bos/eos_token_id ${ByteTokenizer.BOS}/${ByteTokenizer.EOS}; config.json has vocab_size ${config.vocabSize}, bos_token_id ${config.bosTokenId}, eos_token_id ${JSON.stringify(config.eosTokenIds)})`,
  );
}

/**
 * Loads a model directory: weights into the engine, the tokenizer and the
 * chat template. The tokenizer is checked before the weights are read, so a
 * mismatched directory fails fast.
 */
export function loadModelDir(dir: string): ModelDir {
  const t = loadTokenizerDir(dir);
  return { ...t, model: loadModel(dir) };
}

export interface SaveModelDirOptions {
  /** Directory whose tokenizer, chat template and generation files are copied (the one the model was loaded from). */
  from?: string;
  /** On-disk dtype of the weights (default F32). */
  dtype?: StDtype;
  optimizer?: AdamWState;
  /** More files (name -> text), e.g. trainer state. */
  extraFiles?: Record<string, string>;
}

const TORCH_DTYPE: Record<StDtype, string> = { F32: "float32", F16: "float16", BF16: "bfloat16" };

/** The companion files of a directory, name -> text. */
export function companionFiles(dir: string): Record<string, string> {
  const out: Record<string, string> = {};
  for (const name of COMPANION_FILES) {
    const text = readTextFile(dir, name);
    if (text !== undefined) out[name] = text;
  }
  return out;
}

/**
 * Writes a checkpoint in Hugging Face layout (atomically, as saveCheckpoint
 * does), with the companion files of `from` copied beside the weights.
 */
export function saveModelDir(dir: string, model: LlamaModel, o: SaveModelDirOptions = {}): void {
  const dtype = o.dtype ?? "F32";
  const files: Record<string, string> = o.from === undefined ? {} : companionFiles(o.from);
  // config.json again, so torch_dtype names the dtype on disk (transformers' "auto" loads it so).
  files["config.json"] = `${JSON.stringify({ ...configJson(model.config), torch_dtype: TORCH_DTYPE[dtype] }, null, 2)}\n`;
  Object.assign(files, o.extraFiles);
  saveCheckpoint(dir, model, { dtype, ...(o.optimizer ? { optimizer: o.optimizer } : {}), extraFiles: files });
}
