/**
 * The kernel contract. Two backends implement it: `reference` (plain
 * TypeScript, the oracle and the fallback) and `native` (the C++ addon with
 * SIMD and threads). Kernels know nothing of tensors or autograd: they take
 * flat Float32Arrays in row-major order plus sizes, and write into outputs
 * the caller allocated.
 *
 * Conventions, for every kernel:
 * - Arrays start at element 0 of the view passed (use subarray for offsets).
 * - Forward kernels overwrite their outputs.
 * - Backward kernels ACCUMULATE (+=) into the input gradients, so autograd
 *   can sum contributions from several consumers without a temporary.
 * - Shapes are given in the comment of each method: (B, T, H, D) means a
 *   contiguous array indexed [b][t][h][d].
 * - Sizes are trusted here; the tensor layer validates shapes and names the op.
 */
export type BackendName = "native" | "reference";

export interface KernelInfo {
  /** Which backend this is. */
  readonly backend: BackendName;
  /** SIMD level the fast paths use ("avx512", "avx2", "scalar" or "js"). */
  readonly simd: string;
  /** Worker threads used by threaded kernels (1 = single-threaded). */
  readonly threads: number;
}

export interface Kernels {
  readonly info: KernelInfo;

  /**
   * Batched GEMM: for b in [0, batch):
   *   C_b = alpha * op(A_b) @ op(B_b) + beta * C_b
   * op(A_b): (M, K), stored as (M, K) with row stride lda, or as (K, M) when transA.
   * op(B_b): (K, N), stored as (K, N) with row stride ldb, or as (N, K) when transB.
   * C_b: (M, N) with row stride ldc. A_b starts at A[b * strideA], likewise B, C.
   * beta = 0 means C is not read (NaNs in it do not propagate).
   */
  gemm(
    transA: boolean,
    transB: boolean,
    M: number,
    N: number,
    K: number,
    alpha: number,
    A: Float32Array,
    lda: number,
    B: Float32Array,
    ldb: number,
    beta: number,
    C: Float32Array,
    ldc: number,
    batch: number,
    strideA: number,
    strideB: number,
    strideC: number,
  ): void;

  /** y += alpha * x; x, y: (n) */
  axpy(n: number, alpha: number, x: Float32Array, y: Float32Array): void;

  /** x *= alpha; x: (n) */
  scale(n: number, alpha: number, x: Float32Array): void;

  /** out[r, c] = x[r, c] + bias[c]; x, out: (rows, cols), bias: (cols). out may alias x. */
  addBias(rows: number, cols: number, x: Float32Array, bias: Float32Array, out: Float32Array): void;

  /** out[c] += sum_r x[r, c]; x: (rows, cols), out: (cols). Bias gradient. */
  sumRows(rows: number, cols: number, x: Float32Array, out: Float32Array): void;

  /**
   * dst[r * dstStride + c] = src[r * srcStride + c] for r < rows, c < cols:
   * a block of rows into a strided layout (KV-cache appends). Regions must not overlap.
   */
  copyRows(rows: number, cols: number, src: Float32Array, srcStride: number, dst: Float32Array, dstStride: number): void;

  /** Returns sum_i x[i]^2 in double precision; x: (n). Gradient norms. */
  sumSquares(n: number, x: Float32Array): number;

  /**
   * RMSNorm forward: out[r] = x[r] / sqrt(mean(x[r]^2) + eps) * w.
   * x, out: (rows, dim); w: (dim); rstd: (rows) receives 1/sqrt(mean + eps).
   */
  rmsnormForward(rows: number, dim: number, eps: number, x: Float32Array, w: Float32Array, out: Float32Array, rstd: Float32Array): void;

  /**
   * RMSNorm backward. dy, x, dx: (rows, dim); w, dw: (dim); rstd: (rows) from forward.
   * dx += d/dx, dw += d/dw.
   */
  rmsnormBackward(
    rows: number,
    dim: number,
    dy: Float32Array,
    x: Float32Array,
    w: Float32Array,
    rstd: Float32Array,
    dx: Float32Array,
    dw: Float32Array,
  ): void;

  /**
   * Rotary embedding, Hugging Face "rotate_half" layout: within each head, the
   * pair (i, i + D/2) is rotated by angle pos * invFreq[i].
   * x, out: (tokens, heads, D); positions: (tokens); cos, sin: (maxPos, D/2).
   * sign = +1 rotates forward; sign = -1 applies the inverse rotation, which is
   * the backward pass. accumulate: out += instead of out =.
   */
  rope(
    tokens: number,
    heads: number,
    headDim: number,
    x: Float32Array,
    positions: Int32Array,
    cos: Float32Array,
    sin: Float32Array,
    out: Float32Array,
    sign: 1 | -1,
    accumulate: boolean,
  ): void;

  /** SwiGLU forward: out = silu(gate) * up; all (n). */
  swigluForward(n: number, gate: Float32Array, up: Float32Array, out: Float32Array): void;

  /**
   * SwiGLU backward: dgate += dout * up * silu'(gate), dup += dout * silu(gate); all (n).
   * accumulate = false writes (=) instead, for gradient buffers nothing was added to yet.
   */
  swigluBackward(n: number, gate: Float32Array, up: Float32Array, dout: Float32Array, dgate: Float32Array, dup: Float32Array, accumulate: boolean): void;

  /**
   * Causal scaled-dot-product attention with grouped-query heads, a key
   * padding mask and a KV capacity larger than the valid length.
   * q: (B, Tq, H, D); k, v: (B, Tk, Hkv, D) where Tk is the allocated length;
   * out: (B, Tq, H, D); lse: (B, H, Tq) receives the log-sum-exp of each
   * query's scaled scores (or null when no backward follows).
   * Query t sits at position kvLen - Tq + t and sees keys s <= that position
   * with s < kvLen and keyMask[b, s] != 0 (keyMask: (B, Tk), null = all valid).
   * Head h reads kv head floor(h / (H / Hkv)). A query that sees no key gets
   * out = 0 and lse = -Infinity. Rows of k and v at s >= kvLen are never read;
   * masked rows below kvLen must hold finite numbers (the native prefill path
   * multiplies them by a probability of exactly 0).
   */
  attentionForward(
    B: number,
    Tq: number,
    Tk: number,
    kvLen: number,
    H: number,
    Hkv: number,
    D: number,
    scale: number,
    q: Float32Array,
    k: Float32Array,
    v: Float32Array,
    keyMask: Uint8Array | null,
    out: Float32Array,
    lse: Float32Array | null,
  ): void;

  /**
   * Attention backward, recomputing probabilities from lse. Same shapes as
   * forward; dout: (B, Tq, H, D). dq += , dk += , dv += .
   */
  attentionBackward(
    B: number,
    Tq: number,
    Tk: number,
    kvLen: number,
    H: number,
    Hkv: number,
    D: number,
    scale: number,
    q: Float32Array,
    k: Float32Array,
    v: Float32Array,
    keyMask: Uint8Array | null,
    out: Float32Array,
    lse: Float32Array,
    dout: Float32Array,
    dq: Float32Array,
    dk: Float32Array,
    dv: Float32Array,
  ): void;

  /**
   * Training attention over sequences that share their first P positions:
   * the rows of G prompts (P each, left-padded) once, then the S rows of
   * each of B continuations, row-major in that order: R = G * P + B * S rows,
   * q, out: (R, H, D); k, v: (R, Hkv, D); keyMask: (R) 1 = real, 0 =
   * padding, null = all real. Continuation b reads prompt group[b] (every
   * prompt is read by at least one). Its sequence is the prompt's rows then
   * its own, causal over those P + S positions, so the output is the one
   * attentionForward gives on the sequences copied out; a prompt's rows are
   * computed once. lse: (B, H, P + S), each continuation's whole sequence,
   * prompt rows included (or null when no backward follows).
   */
  attentionPrefixedForward(
    G: number,
    P: number,
    B: number,
    S: number,
    H: number,
    Hkv: number,
    D: number,
    scale: number,
    group: Int32Array,
    q: Float32Array,
    k: Float32Array,
    v: Float32Array,
    keyMask: Uint8Array | null,
    out: Float32Array,
    lse: Float32Array | null,
  ): void;

  /**
   * Backward of attentionPrefixedForward, recomputing probabilities from
   * lse; dout: (R, H, D). dq += , dk += , dv += : a prompt row collects what
   * every continuation reading it sends back.
   */
  attentionPrefixedBackward(
    G: number,
    P: number,
    B: number,
    S: number,
    H: number,
    Hkv: number,
    D: number,
    scale: number,
    group: Int32Array,
    q: Float32Array,
    k: Float32Array,
    v: Float32Array,
    keyMask: Uint8Array | null,
    out: Float32Array,
    lse: Float32Array,
    dout: Float32Array,
    dq: Float32Array,
    dk: Float32Array,
    dv: Float32Array,
  ): void;

  /**
   * One new query per row against a prompt shared by several rows and the
   * row's own keys: row b sees the P positions of prompt group[b] (prefixK,
   * prefixV: (G, P, Hkv, D); prefixMask: (G, P), null = all real), then its
   * own first kvLen positions (k, v: (B, Tk, Hkv, D); keyMask: (B, Tk)).
   * Keys in that order, so a row's output is the one attentionForward gives
   * with the prompt's rows copied in front of its own. q, out: (B, H, D).
   */
  attentionDecode(
    B: number,
    H: number,
    Hkv: number,
    D: number,
    scale: number,
    P: number,
    G: number,
    Tk: number,
    kvLen: number,
    q: Float32Array,
    prefixK: Float32Array,
    prefixV: Float32Array,
    prefixMask: Uint8Array | null,
    group: Int32Array,
    k: Float32Array,
    v: Float32Array,
    keyMask: Uint8Array | null,
    out: Float32Array,
  ): void;

  /** Embedding lookup: out[i] = weight[ids[i]]; weight: (V, dim); ids: (n); out: (n, dim). */
  embeddingForward(n: number, dim: number, weight: Float32Array, ids: Int32Array, out: Float32Array): void;

  /** Embedding backward by scatter-add: dweight[ids[i]] += dout[i]; dout: (n, dim). */
  embeddingBackward(n: number, dim: number, dout: Float32Array, ids: Int32Array, dweight: Float32Array): void;

  /**
   * Log-probability of one target per row: logp[r] = logits[r, t] - logsumexp(logits[r]),
   * t = targets[r]; rows whose target is negative get logp = 0 (ignored).
   * logits: (rows, V); targets, logp, lse: (rows); lse receives logsumexp(logits[r]).
   */
  logprobForward(rows: number, V: number, logits: Float32Array, targets: Int32Array, logp: Float32Array, lse: Float32Array): void;

  /**
   * Backward of logprobForward: dlogits[r, j] += dlogp[r] * (1[j = t] - softmax(logits[r])_j);
   * ignored rows add nothing.
   */
  logprobBackward(rows: number, V: number, logits: Float32Array, targets: Int32Array, lse: Float32Array, dlogp: Float32Array, dlogits: Float32Array): void;

  /** Entropy of softmax(logits[r]) per row, no gradient; logits: (rows, V); out: (rows). */
  entropy(rows: number, V: number, logits: Float32Array, out: Float32Array): void;

  /**
   * Plain sampling at a temperature > 0 (no top-k or top-p), one token for
   * each listed row of logits (B, V): row rows[i] draws with uniforms[i] in
   * [0, 1). Every exponential exp((x - max) / temperature) is computed once,
   * in double; candidates more than 40 below the max (after temperature) are
   * skipped by the draw. Out, per i: ids[i]; shifted[i] = (x_id - max) /
   * temperature and expSum[i] = sum_j exp((x_j - max) / temperature), so the
   * token's log-probability is shifted - log(expSum). A row whose logits are
   * all -Infinity or NaN gets its argmax (0), shifted NaN and expSum 1.
   * rows, uniforms, ids, shifted, expSum: (n).
   */
  drawRows(
    n: number,
    V: number,
    logits: Float32Array,
    rows: Int32Array,
    temperature: number,
    uniforms: Float64Array,
    ids: Int32Array,
    shifted: Float64Array,
    expSum: Float64Array,
  ): void;

  /** Softmax over the last axis; x, out: (rows, cols). out may alias x. */
  softmaxForward(rows: number, cols: number, x: Float32Array, out: Float32Array): void;

  /** Softmax backward: dx += y * (dy - sum(dy * y)); y = forward output; all (rows, cols). */
  softmaxBackward(rows: number, cols: number, y: Float32Array, dy: Float32Array, dx: Float32Array): void;

  /**
   * One AdamW step on a flat parameter (decoupled weight decay):
   *   m = b1 m + (1 - b1) g;  v = b2 v + (1 - b2) g^2
   *   p -= lr * (wd * p + (m / c1) / (sqrt(v / c2) + eps))
   * with c1 = 1 - b1^t, c2 = 1 - b2^t passed in. param, grad, m, v: (n).
   */
  adamw(
    n: number,
    param: Float32Array,
    grad: Float32Array,
    m: Float32Array,
    v: Float32Array,
    lr: number,
    beta1: number,
    beta2: number,
    eps: number,
    weightDecay: number,
    c1: number,
    c2: number,
  ): void;
}
