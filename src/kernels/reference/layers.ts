/**
 * Reference kernels for the transformer's pointwise layers: RMSNorm, rotary
 * embeddings, SwiGLU and the embedding table. Accumulation in double where a
 * row is reduced, so the oracle is at least as accurate as the fast path.
 */

// out = x * rstd * w; x, out: (rows, dim); w: (dim); rstd: (rows)
export function rmsnormForward(rows: number, dim: number, eps: number, x: Float32Array, w: Float32Array, out: Float32Array, rstd: Float32Array): void {
  for (let r = 0; r < rows; r++) {
    const o = r * dim;
    let ss = 0;
    for (let c = 0; c < dim; c++) {
      const v = x[o + c] as number;
      ss += v * v;
    }
    const s = 1 / Math.sqrt(ss / dim + eps);
    rstd[r] = s;
    for (let c = 0; c < dim; c++) out[o + c] = (x[o + c] as number) * s * (w[c] as number);
  }
}

// y = x * s * w with s = (mean(x^2) + eps)^-1/2:
//   dw += dy * x * s
//   dx += s * (dy * w) - x * s^3 / dim * sum(dy * w * x)
export function rmsnormBackward(
  rows: number,
  dim: number,
  dy: Float32Array,
  x: Float32Array,
  w: Float32Array,
  rstd: Float32Array,
  dx: Float32Array,
  dw: Float32Array,
): void {
  for (let r = 0; r < rows; r++) {
    const o = r * dim;
    const s = rstd[r] as number;
    let dot = 0;
    for (let c = 0; c < dim; c++) dot += (dy[o + c] as number) * (w[c] as number) * (x[o + c] as number);
    const k = (dot * s * s * s) / dim;
    for (let c = 0; c < dim; c++) {
      const g = dy[o + c] as number;
      const xv = x[o + c] as number;
      dx[o + c] = (dx[o + c] as number) + s * g * (w[c] as number) - xv * k;
      dw[c] = (dw[c] as number) + g * xv * s;
    }
  }
}

// x, out: (tokens, heads, D); positions: (tokens); cos, sin: (maxPos, D/2)
export function rope(
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
): void {
  const half = headDim >> 1;
  for (let t = 0; t < tokens; t++) {
    const p = (positions[t] as number) * half;
    for (let h = 0; h < heads; h++) {
      const o = (t * heads + h) * headDim;
      for (let i = 0; i < half; i++) {
        const c = cos[p + i] as number;
        const s = sign * (sin[p + i] as number);
        const a = x[o + i] as number;
        const b = x[o + i + half] as number;
        const ya = a * c - b * s;
        const yb = b * c + a * s;
        if (accumulate) {
          out[o + i] = (out[o + i] as number) + ya;
          out[o + i + half] = (out[o + i + half] as number) + yb;
        } else {
          out[o + i] = ya;
          out[o + i + half] = yb;
        }
      }
    }
  }
}

function sigmoid(x: number): number {
  return 1 / (1 + Math.exp(-x));
}

// out = silu(gate) * up; all (n)
export function swigluForward(n: number, gate: Float32Array, up: Float32Array, out: Float32Array): void {
  for (let i = 0; i < n; i++) {
    const g = gate[i] as number;
    out[i] = g * sigmoid(g) * (up[i] as number);
  }
}

// silu'(g) = sig(g) * (1 + g * (1 - sig(g)))
export function swigluBackward(n: number, gate: Float32Array, up: Float32Array, dout: Float32Array, dgate: Float32Array, dup: Float32Array, accumulate: boolean): void {
  for (let i = 0; i < n; i++) {
    const g = gate[i] as number;
    const s = sigmoid(g);
    const d = dout[i] as number;
    dgate[i] = (accumulate ? (dgate[i] as number) : 0) + d * (up[i] as number) * s * (1 + g * (1 - s));
    dup[i] = (accumulate ? (dup[i] as number) : 0) + d * g * s;
  }
}

// out[i] = weight[ids[i]]; weight: (V, dim); out: (n, dim)
export function embeddingForward(n: number, dim: number, weight: Float32Array, ids: Int32Array, out: Float32Array): void {
  for (let i = 0; i < n; i++) {
    const src = (ids[i] as number) * dim;
    out.set(weight.subarray(src, src + dim), i * dim);
  }
}

// dweight[ids[i]] += dout[i]; dout: (n, dim); dweight: (V, dim)
export function embeddingBackward(n: number, dim: number, dout: Float32Array, ids: Int32Array, dweight: Float32Array): void {
  for (let i = 0; i < n; i++) {
    const dst = (ids[i] as number) * dim;
    const src = i * dim;
    for (let c = 0; c < dim; c++) dweight[dst + c] = (dweight[dst + c] as number) + (dout[src + c] as number);
  }
}
