/**
 * Reference kernels over a softmax: token log-probabilities (the fused
 * log-softmax + gather behind cross-entropy and importance ratios), entropy,
 * and a plain softmax with its backward.
 */

function rowLogSumExp(logits: Float32Array, o: number, V: number): number {
  let max = -Infinity;
  for (let j = 0; j < V; j++) if ((logits[o + j] as number) > max) max = logits[o + j] as number;
  if (max === -Infinity) return -Infinity;
  let sum = 0;
  for (let j = 0; j < V; j++) sum += Math.exp((logits[o + j] as number) - max);
  return max + Math.log(sum);
}

// logits: (rows, V); targets, logp, lse: (rows)
export function logprobForward(rows: number, V: number, logits: Float32Array, targets: Int32Array, logp: Float32Array, lse: Float32Array): void {
  for (let r = 0; r < rows; r++) {
    const o = r * V;
    const l = rowLogSumExp(logits, o, V);
    lse[r] = l;
    const t = targets[r] as number;
    logp[r] = t < 0 ? 0 : (logits[o + t] as number) - l;
  }
}

// dlogits[r, j] += dlogp[r] * (1[j = t] - p_j)
export function logprobBackward(
  rows: number,
  V: number,
  logits: Float32Array,
  targets: Int32Array,
  lse: Float32Array,
  dlogp: Float32Array,
  dlogits: Float32Array,
): void {
  for (let r = 0; r < rows; r++) {
    const t = targets[r] as number;
    if (t < 0) continue;
    const g = dlogp[r] as number;
    if (g === 0) continue;
    const o = r * V;
    const l = lse[r] as number;
    for (let j = 0; j < V; j++) dlogits[o + j] = (dlogits[o + j] as number) - g * Math.exp((logits[o + j] as number) - l);
    dlogits[o + t] = (dlogits[o + t] as number) + g;
  }
}

// H = lse - sum_j p_j logit_j; logits: (rows, V); out: (rows)
export function entropy(rows: number, V: number, logits: Float32Array, out: Float32Array): void {
  for (let r = 0; r < rows; r++) {
    const o = r * V;
    const l = rowLogSumExp(logits, o, V);
    let e = 0;
    for (let j = 0; j < V; j++) {
      const x = logits[o + j] as number;
      const p = Math.exp(x - l);
      if (p > 0) e += p * x;
    }
    out[r] = l - e;
  }
}

// x, out: (rows, cols)
export function softmaxForward(rows: number, cols: number, x: Float32Array, out: Float32Array): void {
  for (let r = 0; r < rows; r++) {
    const o = r * cols;
    const l = rowLogSumExp(x, o, cols);
    for (let j = 0; j < cols; j++) out[o + j] = l === -Infinity ? 0 : Math.exp((x[o + j] as number) - l);
  }
}

// dx += y * (dy - sum(dy * y)); all (rows, cols)
export function softmaxBackward(rows: number, cols: number, y: Float32Array, dy: Float32Array, dx: Float32Array): void {
  for (let r = 0; r < rows; r++) {
    const o = r * cols;
    let dot = 0;
    for (let j = 0; j < cols; j++) dot += (dy[o + j] as number) * (y[o + j] as number);
    for (let j = 0; j < cols; j++) dx[o + j] = (dx[o + j] as number) + (y[o + j] as number) * ((dy[o + j] as number) - dot);
  }
}
