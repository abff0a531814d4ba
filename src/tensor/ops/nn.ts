/**
 * Transformer layers as single fused ops, each one kernel call forward and
 * one backward: RMSNorm, rotary embeddings, SwiGLU, embedding lookup and
 * causal grouped-query attention (plus its form over continuations that
 * share prompts, and its decode-only form against a shared prompt).
 */
import { check, opResult, outBuffer } from "../create.js";
import { perSampleRows } from "./linalg.js";
import { runtime, TensorError } from "../runtime.js";
import { type GradSink, shapeStr, Tensor } from "../tensor.js";

/** A tensor of saved values for backward (no grad), owned by the current scope. */
function saved(n: number, shape: readonly number[]): Tensor {
  return new Tensor(outBuffer(n), shape);
}

/**
 * Runs a backward kernel that adds into q's, k's and v's gradients: the
 * sink's where an input needs one, a zeroed throwaway buffer where not.
 */
function intoQkvGrads(sink: GradSink, q: Tensor, k: Tensor, v: Tensor, run: (dq: Float32Array, dk: Float32Array, dv: Float32Array) => void): void {
  const pool = runtime().pool;
  const gq = sink.grad(q);
  const gk = sink.grad(k);
  const gv = sink.grad(v);
  const dq = gq ?? pool.zeros(q.size);
  const dk = gk ?? pool.zeros(k.size);
  const dv = gv ?? pool.zeros(v.size);
  run(dq, dk, dv);
  if (!gq) pool.release(dq);
  if (!gk) pool.release(dk);
  if (!gv) pool.release(dv);
}

/** y = x / sqrt(mean(x^2) + eps) * w. x: (..., dim); w: (dim) */
export function rmsnorm(x: Tensor, w: Tensor, eps: number): Tensor {
  check(w.rank === 1 && x.rank >= 1 && x.dim(-1) === w.dim(0), "rmsnorm", () => `input ${shapeStr(x.shape)} and weight ${shapeStr(w.shape)} disagree`);
  const dim = w.dim(0);
  const rows = x.size / dim;
  const out = outBuffer(x.size);
  const rstd = saved(rows, [rows]);
  runtime().kernels.rmsnormForward(rows, dim, eps, x.data, w.data, out, rstd.data);
  return opResult(out, x.shape, "rmsnorm", [x, w], (g, sink) => {
    const rt = runtime();
    const k = rt.kernels;
    const gx = sink.grad(x);
    // The kernel accumulates into both; a missing one gets a throwaway buffer.
    const dx = gx ?? rt.pool.zeros(x.size);
    const ps = rt.perSample;
    if (ps?.grads.has(w)) {
      const R = perSampleRows(ps, rows, "rmsnorm");
      for (let s = 0; s < ps.samples; s++) {
        const a = s * R * dim;
        const e = a + R * dim;
        k.rmsnormBackward(R, dim, g.subarray(a, e), x.data.subarray(a, e), w.data, rstd.data.subarray(s * R, (s + 1) * R), dx.subarray(a, e), ps.slice(w, s) as Float32Array);
      }
    } else {
      const gw = sink.grad(w);
      const dw = gw ?? rt.pool.zeros(dim);
      k.rmsnormBackward(rows, dim, g, x.data, w.data, rstd.data, dx, dw);
      if (!gw) rt.pool.release(dw);
    }
    if (!gx) rt.pool.release(dx);
  });
}

/** Precomputed rotary tables: cos, sin of pos * theta^(-2i/D), each (maxPos, D/2). */
export interface RopeTable {
  readonly headDim: number;
  readonly maxPos: number;
  readonly cos: Float32Array;
  readonly sin: Float32Array;
}

export function ropeTable(headDim: number, maxPos: number, theta: number): RopeTable {
  if (headDim % 2 !== 0) throw new TensorError(`rope: head dimension must be even, got ${headDim}`);
  const half = headDim / 2;
  const cos = new Float32Array(maxPos * half);
  const sin = new Float32Array(maxPos * half);
  for (let i = 0; i < half; i++) {
    const inv = 1 / theta ** ((2 * i) / headDim);
    for (let p = 0; p < maxPos; p++) {
      cos[p * half + i] = Math.cos(p * inv);
      sin[p * half + i] = Math.sin(p * inv);
    }
  }
  return { headDim, maxPos, cos, sin };
}

/**
 * Rotary position embedding (Hugging Face rotate_half layout).
 * x: (..., tokens, heads * D) flattened to (tokens, heads, D); positions: (tokens)
 */
export function rope(x: Tensor, positions: Int32Array, table: RopeTable): Tensor {
  const D = table.headDim;
  const tokens = positions.length;
  check(x.size % (tokens * D) === 0 && x.size > 0, "rope", () => `input ${shapeStr(x.shape)} is not ${tokens} positions x heads x ${D}`);
  const heads = x.size / (tokens * D);
  for (let i = 0; i < tokens; i++) {
    const p = positions[i] as number;
    if (p < 0 || p >= table.maxPos) throw new TensorError(`rope: position ${p} at index ${i} is outside [0, ${table.maxPos})`);
  }
  const out = outBuffer(x.size);
  runtime().kernels.rope(tokens, heads, D, x.data, positions, table.cos, table.sin, out, 1, false);
  return opResult(out, x.shape, "rope", [x], (g, sink) => {
    const gx = sink.target(x);
    if (gx) runtime().kernels.rope(tokens, heads, D, g, positions, table.cos, table.sin, gx.data, -1, !gx.overwrite);
  });
}

/** silu(gate) * up; gate, up: same shape. */
export function swiglu(gate: Tensor, up: Tensor): Tensor {
  check(gate.size === up.size && gate.rank === up.rank && gate.shape.every((d, i) => d === up.shape[i]), "swiglu", () => `gate ${shapeStr(gate.shape)} and up ${shapeStr(up.shape)} differ`);
  const n = gate.size;
  const out = outBuffer(n);
  runtime().kernels.swigluForward(n, gate.data, up.data, out);
  return opResult(out, gate.shape, "swiglu", [gate, up], (g, sink) => {
    const pool = runtime().pool;
    const k = runtime().kernels;
    const tg = sink.target(gate);
    const tu = gate === up ? null : sink.target(up);
    // one flag covers both outputs: a fresh buffer is zeroed when the other must be added to
    const accumulate = !(tg?.overwrite ?? true) || !(tu?.overwrite ?? true);
    if (accumulate) {
      if (tg?.overwrite) tg.data.fill(0);
      if (tu?.overwrite) tu.data.fill(0);
    }
    // a gradient nobody needs goes to a throwaway buffer
    const dg = tg?.data ?? pool.alloc(n);
    const du = tu?.data ?? pool.zeros(n);
    k.swigluBackward(n, gate.data, up.data, g, dg, du, accumulate);
    if (gate === up && tg) k.axpy(n, 1, du, dg);
    if (!tg) pool.release(dg);
    if (!tu) pool.release(du);
  });
}

/** Rows of W picked by ids. W: (V, dim); ids: idsShape -> (...idsShape, dim) */
export function embedding(W: Tensor, ids: Int32Array, idsShape: readonly number[] = [ids.length]): Tensor {
  check(W.rank === 2, "embedding", () => `weight must be (vocab, dim), got ${shapeStr(W.shape)}`);
  const [V, dim] = W.shape as [number, number];
  for (let i = 0; i < ids.length; i++) {
    const id = ids[i] as number;
    if (!(id >= 0 && id < V)) throw new TensorError(`embedding: token id ${id} at index ${i} is outside the vocabulary [0, ${V})`);
  }
  const n = ids.length;
  const out = outBuffer(n * dim);
  runtime().kernels.embeddingForward(n, dim, W.data, ids, out);
  return opResult(out, [...idsShape, dim], "embedding", [W], (g, sink) => {
    const rt = runtime();
    const ps = rt.perSample;
    if (ps?.grads.has(W)) {
      const R = perSampleRows(ps, n, "embedding");
      for (let s = 0; s < ps.samples; s++) {
        rt.kernels.embeddingBackward(R, dim, g.subarray(s * R * dim, (s + 1) * R * dim), ids.subarray(s * R, (s + 1) * R), ps.slice(W, s) as Float32Array);
      }
      return;
    }
    const gW = sink.grad(W);
    if (gW) rt.kernels.embeddingBackward(n, dim, g, ids, gW);
  });
}

export interface AttentionShape {
  /** Batch size. */
  B: number;
  /** Query heads. */
  H: number;
  /** Key/value heads (H must be a multiple). */
  Hkv: number;
  /** Head dimension. */
  D: number;
  /** Allocated key length (>= kvLen); defaults to the query length. */
  Tk?: number;
  /** Valid key length; queries are the last Tq positions of it. Defaults to Tk. */
  kvLen?: number;
  /** (B, Tk) 1 = real token, 0 = padding; null = all real. */
  keyMask?: Uint8Array | null;
}

/**
 * Causal grouped-query attention, softmax(q k^T / sqrt(D)) v.
 * q: (B, Tq, H * D); k, v: (B, Tk, Hkv * D) -> (B, Tq, H * D)
 */
export function attention(q: Tensor, k: Tensor, v: Tensor, s: AttentionShape): Tensor {
  const { B, H, Hkv, D } = s;
  check(Hkv > 0 && H % Hkv === 0, "attention", () => `query heads ${H} are not a multiple of kv heads ${Hkv}`);
  check(q.size % (B * H * D) === 0 && q.size > 0, "attention", () => `q ${shapeStr(q.shape)} is not (B=${B}, T, ${H}x${D})`);
  const Tq = q.size / (B * H * D);
  const Tk = s.Tk ?? Tq;
  const kvLen = s.kvLen ?? Tk;
  check(k.size === B * Tk * Hkv * D && v.size === k.size, "attention", () => `k ${shapeStr(k.shape)} / v ${shapeStr(v.shape)} are not (B=${B}, Tk=${Tk}, ${Hkv}x${D})`);
  check(kvLen >= Tq && kvLen <= Tk, "attention", () => `kvLen ${kvLen} must lie in [Tq=${Tq}, Tk=${Tk}]`);
  const mask = s.keyMask ?? null;
  check(mask === null || mask.length === B * Tk, "attention", () => `keyMask has ${mask?.length} entries, expected B*Tk = ${B * Tk}`);
  const scale = 1 / Math.sqrt(D);
  const out = outBuffer(q.size);
  const rt = runtime();
  const needGrad = rt.gradEnabled && (q.requiresGrad || k.requiresGrad || v.requiresGrad);
  const lse = needGrad ? saved(B * H * Tq, [B, H, Tq]) : null;
  rt.kernels.attentionForward(B, Tq, Tk, kvLen, H, Hkv, D, scale, q.data, k.data, v.data, mask, out, lse ? lse.data : null);
  const res: Tensor = opResult(out, q.shape, "attention", [q, k, v], (g, sink) =>
    intoQkvGrads(sink, q, k, v, (dq, dk, dv) =>
      runtime().kernels.attentionBackward(B, Tq, Tk, kvLen, H, Hkv, D, scale, q.data, k.data, v.data, mask, res.data, (lse as Tensor).data, g, dq, dk, dv),
    ),
  );
  return res;
}

/**
 * Where the rows of a batch of sequences that share prompts sit (see
 * Kernels.attentionPrefixedForward): G prompts of P rows (left-padded), then
 * B continuations of S rows each (right-padded), R = G * P + B * S rows.
 */
export interface PrefixLayout {
  G: number;
  P: number;
  B: number;
  S: number;
  /** (B) the prompt each continuation extends; every prompt has one at least. */
  group: Int32Array;
  /** (R) 1 = real token, 0 = padding; null = all real. */
  keyMask: Uint8Array | null;
}

/**
 * Causal attention over continuations that share prompts: continuation b
 * attends over prompt group[b]'s rows, then its own, as `attention` would on
 * that sequence copied out, while each prompt's rows run (and learn) once.
 * q: (1, R, H * D); k, v: (1, R, Hkv * D) -> (1, R, H * D)
 */
export function attentionPrefixed(q: Tensor, k: Tensor, v: Tensor, s: { H: number; Hkv: number; D: number; layout: PrefixLayout }): Tensor {
  const { H, Hkv, D, layout: l } = s;
  const R = l.G * l.P + l.B * l.S;
  check(Hkv > 0 && H % Hkv === 0, "attentionPrefixed", () => `query heads ${H} are not a multiple of kv heads ${Hkv}`);
  check(q.size === R * H * D, "attentionPrefixed", () => `q ${shapeStr(q.shape)} is not (R=${R}, ${H}x${D}) for G=${l.G} prompts of ${l.P} and B=${l.B} continuations of ${l.S}`);
  check(k.size === R * Hkv * D && v.size === k.size, "attentionPrefixed", () => `k ${shapeStr(k.shape)} / v ${shapeStr(v.shape)} are not (R=${R}, ${Hkv}x${D})`);
  check(l.group.length === l.B, "attentionPrefixed", () => `group has ${l.group.length} entries for B=${l.B} continuations`);
  check(l.keyMask === null || l.keyMask.length === R, "attentionPrefixed", () => `keyMask has ${l.keyMask?.length} entries, expected R = ${R}`);
  const scale = 1 / Math.sqrt(D);
  const T = l.P + l.S;
  const out = outBuffer(q.size);
  const rt = runtime();
  const needGrad = rt.gradEnabled && (q.requiresGrad || k.requiresGrad || v.requiresGrad);
  const lse = needGrad ? saved(l.B * H * T, [l.B, H, T]) : null;
  rt.kernels.attentionPrefixedForward(l.G, l.P, l.B, l.S, H, Hkv, D, scale, l.group, q.data, k.data, v.data, l.keyMask, out, lse ? lse.data : null);
  const res: Tensor = opResult(out, q.shape, "attentionPrefixed", [q, k, v], (g, sink) =>
    intoQkvGrads(sink, q, k, v, (dq, dk, dv) =>
      runtime().kernels.attentionPrefixedBackward(l.G, l.P, l.B, l.S, H, Hkv, D, scale, l.group, q.data, k.data, v.data, l.keyMask, res.data, (lse as Tensor).data, g, dq, dk, dv),
    ),
  );
  return res;
}

/** Keys and values of prompts that several decode rows share. */
export interface SharedPrompt {
  /** (G, P, Hkv * D) keys and values of G prompts of P positions each (left-padded). */
  k: Float32Array;
  v: Float32Array;
  /** (G, P) 1 = real token, 0 = padding; null = all real. */
  mask: Uint8Array | null;
  /** (B) the prompt each row continues. */
  group: Int32Array;
  P: number;
}

/**
 * Attention of one new query per row against its shared prompt's keys and
 * then its own (Kernels.attentionDecode): what `attention` gives with the
 * prompt's rows copied in front of each row's, without the copies.
 * Generation only: it records no graph.
 * q: (B, 1, H * D); k, v: (B, Tk, Hkv * D), own positions -> (B, 1, H * D)
 */
export function attentionDecode(q: Tensor, k: Tensor, v: Tensor, s: AttentionShape & { prompt: SharedPrompt }): Tensor {
  const { B, H, Hkv, D, prompt } = s;
  const rt = runtime();
  check(!(rt.gradEnabled && (q.requiresGrad || k.requiresGrad || v.requiresGrad)), "attentionDecode", () => "is for generation; run it under noGrad");
  check(Hkv > 0 && H % Hkv === 0, "attentionDecode", () => `query heads ${H} are not a multiple of kv heads ${Hkv}`);
  check(q.size === B * H * D, "attentionDecode", () => `q ${shapeStr(q.shape)} is not (B=${B}, 1, ${H}x${D})`);
  const Tk = s.Tk ?? 0;
  const kvLen = s.kvLen ?? Tk;
  check(k.size === B * Tk * Hkv * D && v.size === k.size, "attentionDecode", () => `k ${shapeStr(k.shape)} / v ${shapeStr(v.shape)} are not (B=${B}, Tk=${Tk}, ${Hkv}x${D})`);
  check(kvLen >= 0 && kvLen <= Tk, "attentionDecode", () => `kvLen ${kvLen} must lie in [0, Tk=${Tk}]`);
  const G = prompt.k.length / Math.max(1, prompt.P * Hkv * D);
  check(Number.isInteger(G) && prompt.v.length === prompt.k.length && prompt.group.length === B, "attentionDecode", () => `shared prompts of ${prompt.k.length} keys do not form (G, P=${prompt.P}, ${Hkv}x${D}) for ${B} rows`);
  const mask = s.keyMask ?? null;
  check(mask === null || mask.length === B * Tk, "attentionDecode", () => `keyMask has ${mask?.length} entries, expected B*Tk = ${B * Tk}`);
  const out = outBuffer(q.size);
  rt.kernels.attentionDecode(B, H, Hkv, D, 1 / Math.sqrt(D), prompt.P, G, Tk, kvLen, q.data, prompt.k, prompt.v, prompt.mask, prompt.group, k.data, v.data, mask, out);
  return new Tensor(out, q.shape);
}
