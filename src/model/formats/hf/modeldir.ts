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
import type { AdamWState } from "../../../tensor/index.js";
import { CheckpointError, loadModelConfig, loadModel, saveCheckpoint } from "../checkpoint.js";
import { configJson, type ModelConfig } from "../../config.js";
import type { LlamaModel } from "../../llama.js";
import type { StDtype } from "../safetensors.js";
import { ByteTokenizer, type Tokenizer } from "../../tokenizer.js";
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
 * What keeps a config from being a gvm byte-level model's, or nothing: the
 * special ids, where given, must be the byte tokenizer's (pad 256, bos 257,
 * eos 258), and either the vocabulary is exactly its 259 ids or the config
 * names its bos and eos ids (a padded embedding).
 */
function byteLevelMismatches(c: ModelConfig): string[] {
  const out: string[] = [];
  const size = new ByteTokenizer().vocabSize;
  const pad = c.raw.pad_token_id;
  if (c.bosTokenId !== null && c.bosTokenId !== ByteTokenizer.BOS) out.push(`bos_token_id ${c.bosTokenId} (the byte tokenizer's is ${ByteTokenizer.BOS})`);
  if (c.eosTokenIds.length > 0 && !(c.eosTokenIds.length === 1 && c.eosTokenIds[0] === ByteTokenizer.EOS)) out.push(`eos_token_id ${JSON.stringify(c.eosTokenIds.length === 1 ? c.eosTokenIds[0] : c.eosTokenIds)} (the byte tokenizer's is ${ByteTokenizer.EOS})`);
  if (pad !== undefined && pad !== null && pad !== ByteTokenizer.PAD) out.push(`pad_token_id ${JSON.stringify(pad)} (the byte tokenizer's is ${ByteTokenizer.PAD})`);
  const named = c.bosTokenId === ByteTokenizer.BOS && c.eosTokenIds[0] === ByteTokenizer.EOS;
  if (c.vocabSize < size) out.push(`vocab_size ${c.vocabSize} (the byte tokenizer has ${size} ids)`);
  else if (c.vocabSize > size && !named) out.push(`vocab_size ${c.vocabSize} (more than the byte tokenizer's ${size} ids needs bos_token_id ${ByteTokenizer.BOS} and eos_token_id ${ByteTokenizer.EOS} named)`);
  return out;
}

/** True for gvm's byte-level models (see byteLevelMismatches). */
export function isByteLevelConfig(c: ModelConfig): boolean {
  return byteLevelMismatches(c).length === 0;
}

/** config.json, tokenizer and chat template of a directory, without the weights. */
export function loadTokenizerDir(dir: string): TokenizerDir {
  const config = loadModelConfig(dir);
  if (existsSync(join(dir, "tokenizer.json"))) {
    const tokenizer = loadHfTokenizer(dir);
    if (tokenizer.vocabSize > config.vocabSize) {
      throw new CheckpointError(`${dir}: tokenizer.json has ${tokenizer.vocabSize} token ids but config.json vocab_size is ${config.vocabSize}; the embedding needs at least as many rows as the tokenizer has ids (wrong tokenizer for this model?)`);
    }
    return { dir, config, tokenizer, kind: "hf", chatTemplate: loadChatTemplate(dir, tokenizer) };
  }
  const mismatches = byteLevelMismatches(config);
  if (mismatches.length === 0) return { dir, config, tokenizer: new ByteTokenizer(), kind: "byte", chatTemplate: null };
  const bytes = new ByteTokenizer().vocabSize;
  // A vocabulary the byte tokenizer fits was meant to be byte-level: name
  // the ids that disagree rather than the rule the size already meets.
  if (config.vocabSize >= bytes && mismatches.every((m) => !m.startsWith("vocab_size"))) {
    throw new CheckpointError(
      `${dir}: no tokenizer.json, and config.json's vocab_size ${config.vocabSize} fits gvm's byte tokenizer, but its ${mismatches.join(", ")} ${mismatches.length === 1 ? "does" : "do"} not; set those ids to the byte tokenizer's (pad_token_id ${ByteTokenizer.PAD}, bos_token_id ${ByteTokenizer.BOS}, eos_token_id ${ByteTokenizer.EOS}) or remove them, or add the model's tokenizer.json + tokenizer_config.json`,
    );
  }
  throw new CheckpointError(
    `${dir}: no tokenizer.json (expected tokenizer.json + tokenizer_config.json of a Hugging Face model, or a gvm byte-level model: vocab_size ${bytes}, or more with bos_token_id ${ByteTokenizer.BOS} and eos_token_id ${ByteTokenizer.EOS}; config.json has vocab_size ${config.vocabSize}, bos_token_id ${config.bosTokenId}, eos_token_id ${JSON.stringify(config.eosTokenIds)})`,
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
