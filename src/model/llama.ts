/**
 * Decoder-only Llama / Qwen2 transformer: RMSNorm, rotary embeddings,
 * grouped-query attention (optional q/k/v bias), SwiGLU MLP, tied or untied
 * output head. Parameters carry Hugging Face names, so checkpoints map 1:1.
 *
 * One forward serves training (padded batches, full graph) and generation
 * (no grad, a KV cache, only the last position's logits).
 */
import * as T from "../tensor/index.js";
import { Tensor } from "../tensor/index.js";
import type { Rng } from "../util/rng.js";
import type { SharedBatch } from "./batch.js";
import type { ModelConfig } from "./config.js";
import { ModelError } from "./errors.js";
import type { KVCache } from "./kvcache.js";

export interface ForwardOptions {
  /** (B * T) absolute positions; default 0..T-1 in every row. */
  positions?: Int32Array;
  /** (B, T) 1 = real token, 0 = padding (keys only); default all real. */
  keyMask?: Uint8Array | null;
  /** Generation: new keys/values are appended here and attention runs over the whole cache. */
  cache?: KVCache;
  /** Compute logits only for each row's last position -> (B, 1, V). */
  lastOnly?: boolean;
}

/** Expected parameter names and shapes for a config, in checkpoint order. */
export function parameterShapes(c: ModelConfig): Map<string, number[]> {
  const C = c.hiddenSize;
  const qDim = c.numHeads * c.headDim;
  const kvDim = c.numKvHeads * c.headDim;
  const F = c.intermediateSize;
  const shapes = new Map<string, number[]>();
  shapes.set("model.embed_tokens.weight", [c.vocabSize, C]);
  for (let i = 0; i < c.numLayers; i++) {
    const p = `model.layers.${i}`;
    shapes.set(`${p}.input_layernorm.weight`, [C]);
    shapes.set(`${p}.self_attn.q_proj.weight`, [qDim, C]);
    shapes.set(`${p}.self_attn.k_proj.weight`, [kvDim, C]);
    shapes.set(`${p}.self_attn.v_proj.weight`, [kvDim, C]);
    if (c.qkvBias) {
      shapes.set(`${p}.self_attn.q_proj.bias`, [qDim]);
      shapes.set(`${p}.self_attn.k_proj.bias`, [kvDim]);
      shapes.set(`${p}.self_attn.v_proj.bias`, [kvDim]);
    }
    shapes.set(`${p}.self_attn.o_proj.weight`, [C, qDim]);
    if (c.oBias) shapes.set(`${p}.self_attn.o_proj.bias`, [C]);
    shapes.set(`${p}.post_attention_layernorm.weight`, [C]);
    shapes.set(`${p}.mlp.gate_proj.weight`, [F, C]);
    shapes.set(`${p}.mlp.up_proj.weight`, [F, C]);
    shapes.set(`${p}.mlp.down_proj.weight`, [C, F]);
  }
  shapes.set("model.norm.weight", [C]);
  if (!c.tieEmbeddings) shapes.set("lm_head.weight", [c.vocabSize, C]);
  return shapes;
}

interface Layer {
  ln1: Tensor;
  q: Tensor;
  k: Tensor;
  v: Tensor;
  qb?: Tensor;
  kb?: Tensor;
  vb?: Tensor;
  o: Tensor;
  ob?: Tensor;
  ln2: Tensor;
  gate: Tensor;
  up: Tensor;
  down: Tensor;
}

export class LlamaModel {
  readonly config: ModelConfig;
  /** Every parameter by Hugging Face name; leaves that require grad. */
  readonly params: ReadonlyMap<string, Tensor>;
  private readonly layers: Layer[];
  private readonly embed: Tensor;
  private readonly norm: Tensor;
  private readonly head: Tensor;
  private readonly ropeTable: T.RopeTable;

  /** Wraps existing parameter tensors; names and shapes must match the config exactly. */
  constructor(config: ModelConfig, params: ReadonlyMap<string, Tensor>) {
    const expected = parameterShapes(config);
    const problems: string[] = [];
    for (const [name, shape] of expected) {
      const t = params.get(name);
      if (!t) problems.push(`missing ${name} [${shape.join(", ")}]`);
      else if (t.shape.length !== shape.length || t.shape.some((d, i) => d !== shape[i])) problems.push(`${name} has shape [${t.shape.join(", ")}], expected [${shape.join(", ")}]`);
    }
    for (const name of params.keys()) if (!expected.has(name)) problems.push(`unexpected ${name}`);
    if (problems.length > 0) throw new ModelError(`parameters do not match the ${config.modelType} config:\n  ${problems.join("\n  ")}`);
    this.config = config;
    this.params = params;
    const get = (name: string): Tensor => params.get(name) as Tensor;
    const opt = (name: string): Tensor | undefined => params.get(name);
    this.embed = get("model.embed_tokens.weight");
    this.norm = get("model.norm.weight");
    this.head = config.tieEmbeddings ? this.embed : get("lm_head.weight");
    this.layers = Array.from({ length: config.numLayers }, (_, i) => {
      const p = `model.layers.${i}`;
      const layer: Layer = {
        ln1: get(`${p}.input_layernorm.weight`),
        q: get(`${p}.self_attn.q_proj.weight`),
        k: get(`${p}.self_attn.k_proj.weight`),
        v: get(`${p}.self_attn.v_proj.weight`),
        o: get(`${p}.self_attn.o_proj.weight`),
        ln2: get(`${p}.post_attention_layernorm.weight`),
        gate: get(`${p}.mlp.gate_proj.weight`),
        up: get(`${p}.mlp.up_proj.weight`),
        down: get(`${p}.mlp.down_proj.weight`),
      };
      const qb = opt(`${p}.self_attn.q_proj.bias`);
      const kb = opt(`${p}.self_attn.k_proj.bias`);
      const vb = opt(`${p}.self_attn.v_proj.bias`);
      const ob = opt(`${p}.self_attn.o_proj.bias`);
      if (qb) layer.qb = qb;
      if (kb) layer.kb = kb;
      if (vb) layer.vb = vb;
      if (ob) layer.ob = ob;
      return layer;
    });
    this.ropeTable = T.ropeTable(config.headDim, config.maxPositions, config.ropeTheta);
  }

  /**
   * Fresh weights: N(0, std^2) matrices (residual projections scaled by
   * 1/sqrt(2 * layers), as in GPT-2, so deep stacks start stable), unit norms,
   * zero biases.
   */
  static init(config: ModelConfig, rng: Rng, std = 0.02): LlamaModel {
    const params = new Map<string, Tensor>();
    const residualStd = std / Math.sqrt(2 * config.numLayers);
    for (const [name, shape] of parameterShapes(config)) {
      let t: Tensor;
      if (name.endsWith("layernorm.weight") || name === "model.norm.weight") t = T.ones(shape, { requiresGrad: true });
      else if (name.endsWith(".bias")) t = T.zeros(shape, { requiresGrad: true });
      else t = T.randn(shape, rng, name.endsWith("o_proj.weight") || name.endsWith("down_proj.weight") ? residualStd : std, { requiresGrad: true });
      params.set(name, t.keep());
    }
    return new LlamaModel(config, params);
  }

  /** Number of scalar parameters (a tied head counted once). */
  get numParams(): number {
    let n = 0;
    for (const t of this.params.values()) n += t.size;
    return n;
  }

  /**
   * Logits for a batch of token ids.
   * ids: (B * T) row-major -> logits (B, T, V), or (B, 1, V) with lastOnly.
   */
  forward(ids: Int32Array, B: number, Tn: number, options: ForwardOptions = {}): Tensor {
    const c = this.config;
    if (ids.length !== B * Tn) throw new ModelError(`forward: ${ids.length} token ids do not form a (${B}, ${Tn}) batch`);
    const positions = options.positions ?? defaultPositions(B, Tn);
    if (positions.length !== B * Tn) throw new ModelError(`forward: ${positions.length} positions for a (${B}, ${Tn}) batch`);
    const cache = options.cache;
    if (cache && T.runtime().gradEnabled) throw new ModelError("forward: a KV cache is for generation; run it under noGrad");
    if (options.lastOnly && T.runtime().gradEnabled) throw new ModelError("forward: lastOnly drops positions from the graph; use it under noGrad");
    if (cache) cache.checkAppend(B, Tn);
    const keyMask = cache ? cache.appendMask(options.keyMask ?? null, Tn) : (options.keyMask ?? null);
    const H = c.numHeads;
    const Hkv = c.numKvHeads;
    const D = c.headDim;
    const x = this.trunk(T.embedding(this.embed, ids, [B, Tn]), positions, (q, k, v, li) => {
      let shape: T.AttentionShape = { B, H, Hkv, D, keyMask };
      if (!cache) return T.attention(q, k, v, shape);
      const slot = cache.write(li, k.data, v.data, Tn);
      shape = { ...shape, Tk: slot.Tk, kvLen: slot.kvLen };
      return slot.prompt ? T.attentionDecode(q, slot.k, slot.v, { ...shape, prompt: slot.prompt }) : T.attention(q, slot.k, slot.v, shape);
    });
    if (cache) cache.advance(Tn);
    return this.logits(options.lastOnly && Tn > 1 ? lastPositions(x, B, Tn) : x);
  }

  /**
   * Logits of the continuation rows of a batch whose responses share their
   * prompts' rows (packShared): every layer runs each prompt once.
   * -> (B, S, V)
   */
  forwardShared(batch: SharedBatch): Tensor {
    const { layout: l, ids, positions } = batch;
    const R = l.G * l.P + l.B * l.S;
    if (ids.length !== R || positions.length !== R) throw new ModelError(`forwardShared: ${ids.length} ids and ${positions.length} positions for ${R} packed rows`);
    const c = this.config;
    const x = this.trunk(T.embedding(this.embed, ids, [1, R]), positions, (q, k, v) => T.attentionPrefixed(q, k, v, { H: c.numHeads, Hkv: c.numKvHeads, D: c.headDim, layout: l }));
    return this.logits(T.sliceRows(x.reshape([R, c.hiddenSize]), l.G * l.P, R).reshape([l.B, l.S, c.hiddenSize]));
  }

  // x: (B, T, C) through every layer; attend(q, k, v, layer) mixes positions.
  private trunk(x: Tensor, positions: Int32Array, attend: (q: Tensor, k: Tensor, v: Tensor, layer: number) => Tensor): Tensor {
    const eps = this.config.rmsNormEps;
    this.layers.forEach((L, li) => {
      const h = T.rmsnorm(x, L.ln1, eps);
      const q = T.rope(T.linear(h, L.q, L.qb), positions, this.ropeTable);
      const k = T.rope(T.linear(h, L.k, L.kb), positions, this.ropeTable);
      const a = attend(q, k, T.linear(h, L.v, L.vb), li);
      x = T.linear(a, L.o, L.ob, x);
      const h2 = T.rmsnorm(x, L.ln2, eps);
      x = T.linear(T.swiglu(T.linear(h2, L.gate), T.linear(h2, L.up)), L.down, undefined, x);
    });
    return x;
  }

  // x: (B, T, C) -> (B, T, V)
  private logits(x: Tensor): Tensor {
    return T.linear(T.rmsnorm(x, this.norm, this.config.rmsNormEps), this.head);
  }
}

function defaultPositions(B: number, Tn: number): Int32Array {
  const p = new Int32Array(B * Tn);
  for (let b = 0; b < B; b++) for (let t = 0; t < Tn; t++) p[b * Tn + t] = t;
  return p;
}

// x: (B, T, C) -> (B, 1, C), the last position of each row (generation only: no graph).
function lastPositions(x: Tensor, B: number, Tn: number): Tensor {
  const C = x.dim(-1);
  const out = T.zeros([B, 1, C]);
  for (let b = 0; b < B; b++) out.data.set(x.data.subarray(((b + 1) * Tn - 1) * C, (b + 1) * Tn * C), b * C);
  return out;
}
