/**
 * The runtime behind every tensor: which kernels run, the buffer pool, the
 * grad mode and the stack of memory scopes. One default runtime serves the
 * process (like torch's global state); tests swap kernels with `withKernels`.
 *
 * Memory: Float32Arrays are recycled through a pool keyed by length, and
 * `tidy` scopes return every buffer created inside them to the pool when they
 * end, so a training loop that runs each step in a scope reaches a steady
 * state after the first step instead of growing until the GC catches up.
 */
import { loadKernels } from "../kernels/index.js";
import type { Kernels } from "../kernels/types.js";
import { GvmError } from "../util/errors.js";
import type { Tensor } from "./tensor.js";

/** A tensor's storage: shared by views (reshape), freed when the last view is disposed. */
export class Storage {
  refs = 1;
  /** owned: the data returns to the pool when the last view goes; borrowed data never does. */
  constructor(
    public data: Float32Array | null,
    readonly owned = true,
  ) {}
}

/**
 * Lengths above this are rounded up to a size class, four per doubling (at
 * most 25% more memory): a training loop's activations change shape with
 * every micro-batch's sequence length and a rollout's KV cache with its
 * longest prompt, and exact lengths would then rarely meet again, leaving
 * every step to fresh memory (page faults) and the garbage collector.
 */
const EXACT_LENGTHS_UP_TO = 1 << 12;

/** The length a pool buffer for n floats has. */
export function sizeClass(n: number): number {
  if (n <= EXACT_LENGTHS_UP_TO) return n;
  const step = 2 ** (31 - Math.clz32(n - 1) - 2);
  return Math.ceil(n / step) * step;
}

/**
 * A Float32Array recycler. A request for n floats gets a buffer of its size
 * class (a view of exactly n when the class is longer); a released view goes
 * back as the whole buffer it was cut from, and only if the pool cut it.
 * When the pool is full, buffers of the lengths used least recently make
 * room: a run's shapes change between phases (warm start, rollouts,
 * updates, evaluation), and the current phase's must be the ones kept.
 */
export class BufferPool {
  /** Free buffers by length, the least recently used length first. */
  private readonly free = new Map<number, Float32Array[]>();
  /** Buffers this pool created, so a view of one can be taken back whole. */
  private readonly own = new WeakSet<ArrayBufferLike>();
  private pooledFloats = 0;

  /** maxPooledFloats: floats kept for reuse before freed buffers go to the GC instead. */
  constructor(private readonly maxPooledFloats = 1 << 28) {}

  /** A buffer of length n with unspecified contents. */
  alloc(n: number): Float32Array {
    return this.take(n) ?? this.fresh(n);
  }

  /**
   * A buffer of length n with unspecified contents whose memory is already
   * mapped: a recycled one, or a fresh one written once through. Fresh
   * memory otherwise faults in page by page at its first writes, which for a
   * KV cache means inside every decode step until it is full.
   */
  allocMapped(n: number): Float32Array {
    return this.take(n) ?? this.fresh(n).fill(0);
  }

  /** A buffer of length n filled with zeros. */
  zeros(n: number): Float32Array {
    const buf = this.alloc(n);
    buf.fill(0);
    return buf;
  }

  /** A pooled buffer of length n, if one is free: one of exactly n, else one of n's class. */
  private take(n: number): Float32Array | undefined {
    const exact = this.pop(n);
    if (exact) return exact;
    const c = sizeClass(n);
    return c === n ? undefined : this.pop(c)?.subarray(0, n);
  }

  /** A free buffer of exactly this length, marking the length as just used. */
  private pop(length: number): Float32Array | undefined {
    const list = this.free.get(length);
    const buf = list?.pop();
    if (!list || !buf) return undefined;
    this.free.delete(length);
    if (list.length > 0) this.free.set(length, list);
    this.pooledFloats -= length;
    return buf;
  }

  private fresh(n: number): Float32Array {
    const c = sizeClass(n);
    const buf = new Float32Array(c);
    this.own.add(buf.buffer);
    return c === n ? buf : buf.subarray(0, n);
  }

  /** Returns a buffer for reuse; the caller must not touch it afterwards. */
  release(buf: Float32Array): void {
    if (buf.length === 0 || buf.byteOffset !== 0) return;
    const whole = buf.length === buf.buffer.byteLength / 4 ? buf : this.own.has(buf.buffer) ? new Float32Array(buf.buffer) : null;
    if (whole === null || whole.length > this.maxPooledFloats) return;
    this.makeRoom(whole.length);
    const list = this.free.get(whole.length) ?? [];
    this.free.delete(whole.length);
    list.push(whole);
    this.free.set(whole.length, list);
    this.pooledFloats += whole.length;
  }

  /** Drops buffers of the least recently used lengths until `floats` more fit. */
  private makeRoom(floats: number): void {
    for (const [length, list] of this.free) {
      while (list.length > 0 && this.pooledFloats + floats > this.maxPooledFloats) {
        list.pop();
        this.pooledFloats -= length;
      }
      if (list.length === 0) this.free.delete(length);
      if (this.pooledFloats + floats <= this.maxPooledFloats) return;
    }
  }

  /** Floats currently held for reuse. */
  get pooled(): number {
    return this.pooledFloats;
  }

  /** Drops every pooled buffer. */
  clear(): void {
    this.free.clear();
    this.pooledFloats = 0;
  }
}

interface Scope {
  tensors: Tensor[];
}

export class TensorError extends GvmError {}

/**
 * Per-sample gradients during one backward pass. When set on the runtime,
 * ops that own parameters (linear, embedding, rmsnorm) write each sample's
 * gradient of a tracked parameter into its own slice instead of summing
 * over the batch. A batch of `samples` rows of `rowsPerSample` positions is
 * laid out as (samples * rowsPerSample, ...) in every activation, which is
 * how the model's (B, T, C) tensors are stored.
 */
export class PerSampleGrads {
  /** Per tracked parameter: (samples, param.size). */
  readonly grads = new Map<Tensor, Float32Array>();

  constructor(
    readonly samples: number,
    readonly rowsPerSample: number,
    params: Iterable<Tensor>,
  ) {
    for (const p of params) this.grads.set(p, new Float32Array(samples * p.size));
  }

  /** Sample b's gradient slice of parameter p, or undefined when p is not tracked. */
  slice(p: Tensor, b: number): Float32Array | undefined {
    const g = this.grads.get(p);
    return g?.subarray(b * p.size, (b + 1) * p.size);
  }

  /** Squared L2 norm of each sample's gradient over all tracked parameters. */
  squaredNorms(sumSquares: (n: number, x: Float32Array) => number): Float64Array {
    const out = new Float64Array(this.samples);
    for (const [p, g] of this.grads) {
      for (let b = 0; b < this.samples; b++) out[b] = (out[b] as number) + sumSquares(p.size, g.subarray(b * p.size, (b + 1) * p.size));
    }
    return out;
  }
}

export class Runtime {
  kernels: Kernels;
  readonly pool = new BufferPool();
  /** Set only while a per-sample gradient pass runs (see PerSampleGrads). */
  perSample: PerSampleGrads | null = null;
  private gradDepth = 0;
  private readonly scopes: Scope[] = [];

  constructor(kernels: Kernels) {
    this.kernels = kernels;
  }

  /** Whether new ops record a graph for backward. */
  get gradEnabled(): boolean {
    return this.gradDepth === 0;
  }

  /** Runs fn without recording a graph (sampling, evaluation, reference models). */
  noGrad<T>(fn: () => T): T {
    this.gradDepth++;
    try {
      return fn();
    } finally {
      this.gradDepth--;
    }
  }

  /** Registers a tensor with the innermost scope, if any. */
  track(t: Tensor): void {
    this.scopes[this.scopes.length - 1]?.tensors.push(t);
  }

  /**
   * Runs fn in a memory scope: every tensor created inside is disposed when it returns, except tensors reachable from the result
   * (a Tensor, or an array / plain object holding Tensors) and those kept with
   * `keep`. Intermediates of a kept tensor's graph are disposed too, so run
   * backward inside the scope (a backward through a disposed tensor throws).
   */
  tidy<T>(fn: () => T): T {
    const scope: Scope = { tensors: [] };
    this.scopes.push(scope);
    let result: T;
    try {
      result = fn();
    } finally {
      this.scopes.pop();
    }
    const keepers = new Set<Tensor>();
    collectTensors(result, keepers, 0);
    const parent = this.scopes[this.scopes.length - 1];
    for (const t of scope.tensors) {
      if (keepers.has(t) || t.kept) parent?.tensors.push(t);
      else t.dispose();
    }
    return result;
  }

  /** Runs fn with other kernels (tests compare backends this way). */
  withKernels<T>(kernels: Kernels, fn: () => T): T {
    const saved = this.kernels;
    this.kernels = kernels;
    try {
      return fn();
    } finally {
      this.kernels = saved;
    }
  }
}

function collectTensors(value: unknown, out: Set<Tensor>, depth: number): void {
  if (depth > 4 || value === null || typeof value !== "object") return;
  if (isTensor(value)) {
    out.add(value);
    return;
  }
  if (Array.isArray(value)) {
    for (const v of value) collectTensors(v, out, depth + 1);
    return;
  }
  if (value instanceof Map) {
    for (const v of value.values()) collectTensors(v, out, depth + 1);
    return;
  }
  if (Object.getPrototypeOf(value) === Object.prototype) {
    for (const v of Object.values(value)) collectTensors(v, out, depth + 1);
  }
}

function isTensor(value: object): value is Tensor {
  return (value as { isTensor?: unknown }).isTensor === true;
}

let current: Runtime | undefined;

/**
 * The process runtime, created on first use with the best available kernels
 * (the native addon, or the TypeScript reference with one warning).
 */
export function runtime(): Runtime {
  current ??= new Runtime(loadKernels());
  return current;
}

/** Shorthands on the process runtime. */
export function noGrad<T>(fn: () => T): T {
  return runtime().noGrad(fn);
}

export function tidy<T>(fn: () => T): T {
  return runtime().tidy(fn);
}
