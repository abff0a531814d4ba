/**
 * The anchor's two workloads on our engine: the model, data and optimizer
 * exactly as ../shared/anchors/torch_llama_bench.py builds them.
 */
import { Decoder, generate, LlamaModel, parseModelConfig, sampleRowsWithLogprob } from "../src/model/index.js";
import { type TrainItem, updateStep } from "../src/train/update.js";
import * as T from "../src/tensor/index.js";
import { Rng } from "../src/util/rng.js";

export interface Preset {
  vocab: number;
  dim: number;
  layers: number;
  heads: number;
  kvHeads: number;
  ffn: number;
  ctx: number;
  batch: number;
}

export const PRESETS: Record<string, Preset> = {
  tiny: { vocab: 64, dim: 256, layers: 4, heads: 4, kvHeads: 4, ffn: 688, ctx: 128, batch: 16 },
  small: { vocab: 512, dim: 512, layers: 8, heads: 8, kvHeads: 4, ffn: 1376, ctx: 256, batch: 8 },
  // the shape of the built-in policy (byte-level vocabulary + 3 specials)
  demo: { vocab: 259, dim: 128, layers: 4, heads: 4, kvHeads: 4, ffn: 344, ctx: 160, batch: 32 },
};

/** The anchor's `rl` workload settings (its --rl-* defaults). */
export interface RlShape {
  prompts: number;
  n: number;
  promptLen: number;
  newTokens: number;
  decodeBatch: number;
  trainBatch: number;
}

export const RL_SHAPE: RlShape = { prompts: 64, n: 8, promptLen: 16, newTokens: 48, decodeBatch: 128, trainBatch: 128 };

export function presetModel(p: Preset, seed: number): LlamaModel {
  const config = parseModelConfig({
    model_type: "llama",
    vocab_size: p.vocab,
    hidden_size: p.dim,
    intermediate_size: p.ffn,
    num_hidden_layers: p.layers,
    num_attention_heads: p.heads,
    num_key_value_heads: p.kvHeads,
    max_position_embeddings: 4 * p.ctx,
    rms_norm_eps: 1e-6,
    tie_word_embeddings: true,
  });
  return LlamaModel.init(config, new Rng(seed));
}

/** One AdamW step on a random (batch, ctx) batch per call, as the anchor times it. */
export function trainStepper(p: Preset, seed: number): () => void {
  const model = presetModel(p, seed);
  const opt = new T.AdamW(model.params, { lr: 3e-4, weightDecay: 0.1 });
  const rng = new Rng(seed + 1);
  const n = p.batch * p.ctx;
  const idx = Int32Array.from({ length: n }, () => rng.int(p.vocab));
  const tgt = Int32Array.from({ length: n }, () => rng.int(p.vocab));
  return () => {
    T.tidy(() => {
      const loss = T.crossEntropy(model.forward(idx, p.batch, p.ctx), tgt);
      opt.zeroGrad();
      loss.backward();
    });
    opt.step();
  };
}

/** A decode stepper: prefill `prefill` random tokens for `batch` rows, then one sampled token per call. */
export function generateStep(p: Preset, batch: number, prefill: number, seed: number): { step: () => void } {
  const model = presetModel(p, seed);
  const rng = new Rng(seed + 2);
  const decoder = new Decoder(model, batch, Math.min(model.config.maxPositions, prefill + 256));
  const ids = Int32Array.from({ length: batch * prefill }, () => rng.int(p.vocab));
  const positions = Int32Array.from({ length: batch * prefill }, (_, i) => i % prefill);
  decoder.prefill(ids, prefill, positions, null);
  const next = new Int32Array(batch);
  const pos = new Int32Array(batch);
  const params = { temperature: 1, topK: 0, topP: 1 };
  // every row draws from its own stream, as in generate
  const rows = Array.from({ length: batch }, (_, b) => b);
  const rngs = rows.map((b) => new Rng(seed * 1_000_003 + b));
  return {
    step: () => {
      for (let b = 0; b < batch; b++) next[b] = rng.int(p.vocab);
      pos.fill(decoder.length);
      const logits = decoder.step(next, pos);
      sampleRowsWithLogprob(logits, p.vocab, rows, params, rngs);
    },
  };
}

/**
 * One RL iteration per call, as the anchor's `rl` workload runs it: prompts
 * of random tokens, each repeated n times, sampled at temperature 1 with a
 * KV cache in decode batches (every response runs its full length: no stop
 * ids), then one policy-gradient step over all responses (token-mean loss
 * -A log pi, micro-batches of trainBatch sequences, AdamW) through the
 * trainer's own generate and updateStep, so the work the library does
 * beyond the anchor's (behaviour log-probs, entropy, grad clipping) is timed
 * too.
 */
export type RlPhase = "sampling" | "update";

export function rlIteration(p: Preset, shape: RlShape, seed: number, onPhase?: (phase: RlPhase) => void): () => void {
  const model = presetModel(p, seed);
  const opt = new T.AdamW(model.params, { lr: 1e-5 });
  const rng = new Rng(seed + 3);
  const { prompts, n, promptLen, newTokens, decodeBatch, trainBatch } = shape;
  const settings = {
    loss: "vanilla",
    clip: { epsLow: 0.2, epsHigh: 0.2, dualClipC: 3 },
    lossAgg: "token-mean",
    klCoef: 0,
    klEstimator: "k1",
    maxGradNorm: Number.POSITIVE_INFINITY,
    temperature: 1,
    padId: 0,
    microBatchTokens: trainBatch * (promptLen + newTokens),
  } as const;
  let iter = 0;
  return () => {
    const rows: number[][] = [];
    for (let i = 0; i < prompts; i++) {
      const prompt = Array.from({ length: promptLen }, () => rng.int(p.vocab));
      for (let j = 0; j < n; j++) rows.push(prompt);
    }
    const items: TrainItem[] = [];
    onPhase?.("sampling");
    for (let start = 0; start < rows.length; start += decodeBatch) {
      const chunk = rows.slice(start, start + decodeBatch);
      const g = generate(model, chunk, { temperature: 1, topK: 0, topP: 1, maxNewTokens: newTokens, stopIds: [], padId: 0, rngs: seed * 1_000_003 + iter * rows.length + start });
      chunk.forEach((prompt, b) => items.push({ prompt, response: g.tokens[b] as number[], oldLogp: g.logprobs[b] as number[], advantage: rng.normal() }));
    }
    iter++;
    onPhase?.("update");
    updateStep(model, null, opt, items, settings);
  };
}
