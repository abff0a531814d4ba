/** Reference AdamW step (decoupled weight decay, bias corrections passed in). */

// param, grad, m, v: (n)
export function adamw(
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
): void {
  for (let i = 0; i < n; i++) {
    const g = grad[i] as number;
    const mi = beta1 * (m[i] as number) + (1 - beta1) * g;
    const vi = beta2 * (v[i] as number) + (1 - beta2) * g * g;
    m[i] = mi;
    v[i] = vi;
    const p = param[i] as number;
    param[i] = p - lr * (weightDecay * p + mi / c1 / (Math.sqrt(vi / c2) + eps));
  }
}
