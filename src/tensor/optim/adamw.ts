/**
 * AdamW (decoupled weight decay, Loshchilov & Hutter) over named parameters,
 * gradient clipping by global norm, and learning-rate schedules. The update
 * itself is one fused kernel call per parameter.
 */
import { runtime, TensorError } from "../runtime.js";
import type { Tensor } from "../tensor.js";

export interface AdamWConfig {
  /** Peak learning rate; a schedule scales it per step. */
  lr: number;
  /** Exponential decay of the first moment. */
  beta1: number;
  /** Exponential decay of the second moment. */
  beta2: number;
  /** Added to the denominator for stability. */
  eps: number;
  /** Decoupled weight decay coefficient (applied as lr * wd * p). */
  weightDecay: number;
}

export const DEFAULT_ADAMW: AdamWConfig = { lr: 1e-3, beta1: 0.9, beta2: 0.999, eps: 1e-8, weightDecay: 0.01 };

/** Learning-rate multiplier for a 0-based step. */
export type LrSchedule = (step: number) => number;

/** Saved optimizer state: step count and both moments per parameter name. */
export interface AdamWState {
  step: number;
  m: Map<string, Float32Array>;
  v: Map<string, Float32Array>;
}

export class AdamW {
  readonly config: AdamWConfig;
  private readonly params: ReadonlyMap<string, Tensor>;
  private readonly m = new Map<string, Float32Array>();
  private readonly v = new Map<string, Float32Array>();
  /** Names exempt from weight decay (norm weights, biases by default). */
  private readonly noDecay: ReadonlySet<string>;
  private stepCount = 0;

  constructor(
    params: ReadonlyMap<string, Tensor>,
    config: Partial<AdamWConfig> = {},
    private readonly schedule: LrSchedule = () => 1,
    noDecay?: (name: string, p: Tensor) => boolean,
  ) {
    this.config = { ...DEFAULT_ADAMW, ...config };
    validate(this.config);
    this.params = params;
    const exempt = noDecay ?? ((_name: string, p: Tensor) => p.rank < 2);
    this.noDecay = new Set([...params].filter(([n, p]) => exempt(n, p)).map(([n]) => n));
    for (const [name, p] of params) {
      if (!p.requiresGrad) throw new TensorError(`AdamW: parameter ${name} does not require grad`);
      this.m.set(name, new Float32Array(p.size));
      this.v.set(name, new Float32Array(p.size));
    }
  }

  /** Steps taken so far. */
  get steps(): number {
    return this.stepCount;
  }

  /** Learning rate the next step will use. */
  currentLr(): number {
    return this.config.lr * this.schedule(this.stepCount);
  }

  /** Applies one update from the parameters' accumulated .grad (missing grads count as zero). */
  step(): void {
    const lr = this.currentLr();
    this.stepCount++;
    const { beta1, beta2, eps, weightDecay } = this.config;
    const c1 = 1 - beta1 ** this.stepCount;
    const c2 = 1 - beta2 ** this.stepCount;
    const k = runtime().kernels;
    for (const [name, p] of this.params) {
      const g = p.grad;
      if (!g) continue;
      const wd = this.noDecay.has(name) ? 0 : weightDecay;
      k.adamw(p.size, p.data, g, this.m.get(name) as Float32Array, this.v.get(name) as Float32Array, lr, beta1, beta2, eps, wd, c1, c2);
    }
  }

  /** Sets every parameter gradient to zero (buffers kept for reuse). */
  zeroGrad(): void {
    for (const p of this.params.values()) p.grad?.fill(0);
  }

  state(): AdamWState {
    return { step: this.stepCount, m: new Map([...this.m].map(([k, a]) => [k, a.slice()])), v: new Map([...this.v].map(([k, a]) => [k, a.slice()])) };
  }

  /** Restores a saved state; names and sizes must match the parameters. */
  loadState(state: AdamWState): void {
    for (const [name, p] of this.params) {
      const m = state.m.get(name);
      const v = state.v.get(name);
      if (!m || !v) throw new TensorError(`AdamW.loadState: no saved moments for parameter ${name}`);
      if (m.length !== p.size || v.length !== p.size) throw new TensorError(`AdamW.loadState: moments for ${name} have ${m.length}/${v.length} elements, parameter has ${p.size}`);
      (this.m.get(name) as Float32Array).set(m);
      (this.v.get(name) as Float32Array).set(v);
    }
    this.stepCount = state.step;
  }
}

function validate(c: AdamWConfig): void {
  const bad = (field: string, why: string) => new TensorError(`AdamW config: ${field} ${why}`);
  if (!(c.lr >= 0)) throw bad("lr", `must be >= 0, got ${c.lr}`);
  if (!(c.beta1 >= 0 && c.beta1 < 1)) throw bad("beta1", `must be in [0, 1), got ${c.beta1}`);
  if (!(c.beta2 >= 0 && c.beta2 < 1)) throw bad("beta2", `must be in [0, 1), got ${c.beta2}`);
  if (!(c.eps > 0)) throw bad("eps", `must be > 0, got ${c.eps}`);
  if (!(c.weightDecay >= 0)) throw bad("weightDecay", `must be >= 0, got ${c.weightDecay}`);
}

/**
 * Scales all gradients so their global L2 norm is at most maxNorm; returns
 * the norm before clipping (a metric even when maxNorm is Infinity).
 */
export function clipGradNorm(params: Iterable<Tensor>, maxNorm: number): number {
  const k = runtime().kernels;
  const list = [...params];
  let ss = 0;
  for (const p of list) if (p.grad) ss += k.sumSquares(p.size, p.grad);
  const norm = Math.sqrt(ss);
  if (Number.isFinite(maxNorm) && norm > maxNorm) {
    const s = maxNorm / (norm + 1e-6);
    for (const p of list) if (p.grad) k.scale(p.size, s, p.grad);
  }
  return norm;
}

/** Linear warmup to 1 over `warmup` steps, then cosine decay to `minRatio` at `total`. */
export function warmupCosine(warmup: number, total: number, minRatio = 0.1): LrSchedule {
  return (step) => {
    if (warmup > 0 && step < warmup) return (step + 1) / warmup;
    if (total <= warmup) return 1;
    const t = Math.min(1, (step - warmup) / (total - warmup));
    return minRatio + (1 - minRatio) * 0.5 * (1 + Math.cos(Math.PI * t));
  };
}

/** Constant multiplier 1 after an optional linear warmup. */
export function warmupConstant(warmup = 0): LrSchedule {
  return (step) => (warmup > 0 && step < warmup ? (step + 1) / warmup : 1);
}
