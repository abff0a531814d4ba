/**
 * Model configuration in Hugging Face `config.json` field names, so a config
 * we write is one `transformers` reads and vice versa. Fields we do not use
 * (architectures, torch_dtype, ...) pass through untouched; fields we use are
 * validated with messages naming the field and the allowed values.
 */
import { z } from "zod";
import { GvmError } from "../util/errors.js";

export class ModelConfigError extends GvmError {}

export type ModelType = "llama" | "qwen2";

const positiveInt = z.number().int().positive();

const schema = z
  .object({
    /** Architecture family: Llama (optional attention bias) or Qwen2 (q/k/v bias). */
    model_type: z.enum(["llama", "qwen2"]),
    /** Vocabulary size (rows of the embedding). */
    vocab_size: positiveInt,
    /** Model width. */
    hidden_size: positiveInt,
    /** SwiGLU inner width. */
    intermediate_size: positiveInt,
    /** Transformer blocks. */
    num_hidden_layers: positiveInt,
    /** Query heads. */
    num_attention_heads: positiveInt,
    /** Key/value heads (grouped-query attention); defaults to num_attention_heads. */
    num_key_value_heads: positiveInt.optional(),
    /** Per-head width; defaults to hidden_size / num_attention_heads. */
    head_dim: positiveInt.optional(),
    /** RMSNorm epsilon. */
    rms_norm_eps: z.number().positive().default(1e-6),
    /** RoPE base. */
    rope_theta: z.number().positive().default(10000),
    /** Longest position the rotary tables cover. */
    max_position_embeddings: positiveInt.default(2048),
    /** lm_head shares the embedding matrix. */
    tie_word_embeddings: z.boolean().default(false),
    /** Llama only: bias on q/k/v/o projections. Qwen2 always has q/k/v bias. */
    attention_bias: z.boolean().default(false),
    /** MLP activation; only SwiGLU's "silu" is implemented. */
    hidden_act: z.literal("silu").default("silu"),
    bos_token_id: z.number().int().nonnegative().nullable().optional(),
    eos_token_id: z.union([z.number().int().nonnegative(), z.array(z.number().int().nonnegative())]).nullable().optional(),
    pad_token_id: z.number().int().nonnegative().nullable().optional(),
    /** RoPE scaling variants are not implemented; only null/absent is accepted. */
    rope_scaling: z.null().optional(),
  })
  .passthrough();

export type ModelConfigInput = z.input<typeof schema>;

/** A validated config with derived sizes filled in. */
export interface ModelConfig {
  readonly raw: Readonly<Record<string, unknown>>;
  readonly modelType: ModelType;
  readonly vocabSize: number;
  readonly hiddenSize: number;
  readonly intermediateSize: number;
  readonly numLayers: number;
  readonly numHeads: number;
  readonly numKvHeads: number;
  readonly headDim: number;
  readonly rmsNormEps: number;
  readonly ropeTheta: number;
  readonly maxPositions: number;
  readonly tieEmbeddings: boolean;
  /** q/k/v projections carry a bias. */
  readonly qkvBias: boolean;
  /** o projection carries a bias (Llama attention_bias). */
  readonly oBias: boolean;
  readonly bosTokenId: number | null;
  readonly eosTokenIds: readonly number[];
}

/** Validates a parsed config.json; `source` (a path) is named in errors. */
export function parseModelConfig(json: unknown, source = "config.json"): ModelConfig {
  if (json !== null && typeof json === "object" && "model_type" in json) {
    const mt = (json as { model_type: unknown }).model_type;
    if (mt !== "llama" && mt !== "qwen2") {
      throw new ModelConfigError(`${source}: model_type ${JSON.stringify(mt)} is not supported; supported: "llama", "qwen2"`);
    }
  }
  const r = schema.safeParse(json);
  if (!r.success) {
    const issues = r.error.issues.map((i) => `${i.path.join(".") || "(root)"}: ${i.message}`);
    throw new ModelConfigError(`${source}: invalid model config:\n  ${issues.join("\n  ")}`);
  }
  const c = r.data;
  const numKvHeads = c.num_key_value_heads ?? c.num_attention_heads;
  const headDim = c.head_dim ?? c.hidden_size / c.num_attention_heads;
  const fail = (m: string) => new ModelConfigError(`${source}: ${m}`);
  if (!Number.isInteger(headDim)) throw fail(`hidden_size ${c.hidden_size} is not divisible by num_attention_heads ${c.num_attention_heads}`);
  if (headDim % 2 !== 0) throw fail(`head dimension ${headDim} must be even for rotary embeddings`);
  if (c.num_attention_heads % numKvHeads !== 0) throw fail(`num_attention_heads ${c.num_attention_heads} is not a multiple of num_key_value_heads ${numKvHeads}`);
  const eos = c.eos_token_id;
  return {
    raw: { ...c, num_key_value_heads: numKvHeads },
    modelType: c.model_type,
    vocabSize: c.vocab_size,
    hiddenSize: c.hidden_size,
    intermediateSize: c.intermediate_size,
    numLayers: c.num_hidden_layers,
    numHeads: c.num_attention_heads,
    numKvHeads,
    headDim,
    rmsNormEps: c.rms_norm_eps,
    ropeTheta: c.rope_theta,
    maxPositions: c.max_position_embeddings,
    tieEmbeddings: c.tie_word_embeddings,
    qkvBias: c.model_type === "qwen2" || c.attention_bias,
    oBias: c.model_type === "llama" && c.attention_bias,
    bosTokenId: c.bos_token_id ?? null,
    eosTokenIds: eos === null || eos === undefined ? [] : Array.isArray(eos) ? eos : [eos],
  };
}

/** The config.json object to write for a config (Hugging Face names). */
export function configJson(c: ModelConfig): Record<string, unknown> {
  const arch = c.modelType === "qwen2" ? "Qwen2ForCausalLM" : "LlamaForCausalLM";
  return {
    architectures: [arch],
    ...c.raw,
    torch_dtype: "float32",
  };
}
