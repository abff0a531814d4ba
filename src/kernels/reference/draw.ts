/**
 * Reference kernel for plain sampling (temperature > 0, no top-k or top-p):
 * one token per listed row, each exponential computed once in double and
 * shared by the draw's normaliser, the draw, and the log-probability's
 * normaliser. The native twin (native/draw.cc) computes the same doubles in
 * the same order with the same exp as V8's Math.exp, so both draw the same ids.
 */

/**
 * Candidates further than this below the maximum logit (after temperature)
 * carry less than e^-40 relative probability each; the draw skips them (the
 * log-probability's normaliser still counts them), and top-k / top-p drop
 * them before sorting, which keeps those fast on 100k-token vocabularies.
 */
export const LOGIT_WINDOW = 40;

let expScratch = new Float64Array(0);

// logits: (B, V); rows, uniforms, ids, shifted, expSum: (n); row rows[i] of logits draws with uniforms[i] in [0, 1).
export function drawRows(
  n: number,
  V: number,
  logits: Float32Array,
  rows: Int32Array,
  temperature: number,
  uniforms: Float64Array,
  ids: Int32Array,
  shifted: Float64Array,
  expSum: Float64Array,
): void {
  if (expScratch.length < V) expScratch = new Float64Array(V);
  const e = expScratch;
  const inv = 1 / temperature;
  for (let i = 0; i < n; i++) {
    const o = (rows[i] as number) * V;
    let best = 0;
    let max = -Infinity;
    for (let j = 0; j < V; j++) {
      const x = logits[o + j] as number;
      if (x > max) {
        max = x;
        best = j;
      }
    }
    if (max === -Infinity) {
      ids[i] = best;
      shifted[i] = Number.NaN;
      expSum[i] = 1;
      continue;
    }
    const limit = max - LOGIT_WINDOW * temperature;
    let all = 0;
    let sum = 0;
    for (let j = 0; j < V; j++) {
      const x = logits[o + j] as number;
      const ej = Math.exp((x - max) * inv);
      e[j] = ej;
      all += ej;
      if (x >= limit) sum += ej;
    }
    let id = best;
    let u = (uniforms[i] as number) * sum;
    for (let j = 0; j < V; j++) {
      if ((logits[o + j] as number) < limit) continue;
      u -= e[j] as number;
      if (u <= 0) {
        id = j;
        break;
      }
    }
    ids[i] = id;
    shifted[i] = ((logits[o + id] as number) - max) * inv;
    expSum[i] = all;
  }
}
