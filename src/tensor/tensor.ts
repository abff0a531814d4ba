/**
 * Tensor: a contiguous row-major float32 array with a shape, and the
 * reverse-mode autograd that runs over the graph of ops that made it.
 *
 * Tensors never have strides: every op writes a fresh contiguous output, and
 * kernels take layouts directly (attention reads (B, T, H, D) as produced by
 * a linear layer), so no transposes or copies hide in views. `reshape` shares
 * storage.
 */
import { runtime, Storage, TensorError } from "./runtime.js";

/** How an op propagates its output gradient to its inputs. */
export interface GradNode {
  /** Op name, for error messages and debugging. */
  readonly op: string;
  /** Tensors the op read; gradients flow to those that require them. */
  readonly inputs: readonly Tensor[];
  /**
   * Adds this op's contribution to each input gradient. g: gradient of the
   * loss w.r.t. the op's output (same size as the output).
   */
  backward(g: Float32Array, sink: GradSink): void;
}

export interface GradSink {
  /** The accumulation buffer for t's gradient (zeroed on first use), or null when t needs none. */
  grad(t: Tensor): Float32Array | null;
  /**
   * t's gradient buffer for an op that writes every element of it (a GEMM,
   * say): `overwrite` is true on first use, when the contents are
   * unspecified and must be written, not added to; false when earlier
   * contributions are there to add to. Null when t needs none.
   */
  target(t: Tensor): GradTarget | null;
  /**
   * Adds g to t's gradient. When t has none yet, t takes g itself without a
   * copy (an add or reshape passes its output gradient through), so the op
   * must not write g afterwards.
   */
  pass(t: Tensor, g: Float32Array): void;
}

export interface GradTarget {
  readonly data: Float32Array;
  readonly overwrite: boolean;
}

export function sizeOf(shape: readonly number[]): number {
  let n = 1;
  for (const d of shape) n *= d;
  return n;
}

export function shapeStr(shape: readonly number[]): string {
  return `(${shape.join(", ")})`;
}

export class Tensor {
  readonly isTensor = true;
  readonly shape: readonly number[];
  readonly size: number;
  /** Accumulated gradient of a leaf tensor (parameters), same length as data. */
  grad: Float32Array | null = null;
  requiresGrad: boolean;
  node: GradNode | null;
  /** Survives the tidy scope it was created in (parameters, optimizer state). */
  kept = false;
  private storage: Storage;

  /**
   * Takes ownership of `data` (it returns to the buffer pool on dispose); use
   * the factories in create.ts to build tensors from caller-owned arrays.
   */
  constructor(data: Float32Array, shape: readonly number[], options: { requiresGrad?: boolean; node?: GradNode | null; storage?: Storage } = {}) {
    const size = sizeOf(shape);
    for (const d of shape) {
      if (!Number.isInteger(d) || d < 0) throw new TensorError(`tensor: invalid shape ${shapeStr(shape)}: dimensions must be non-negative integers`);
    }
    if (data.length !== size) throw new TensorError(`tensor: data has ${data.length} elements but shape ${shapeStr(shape)} needs ${size}`);
    this.shape = Object.freeze([...shape]);
    this.size = size;
    this.storage = options.storage ?? new Storage(data);
    this.node = options.node ?? null;
    this.requiresGrad = options.requiresGrad ?? this.node !== null;
    runtime().track(this);
  }

  /**
   * A tensor over memory someone else owns (a KV cache, a mapped file): it is
   * never returned to the pool, and the owner must outlive the tensor's use.
   */
  static borrow(data: Float32Array, shape: readonly number[]): Tensor {
    return new Tensor(data, shape, { storage: new Storage(data, false) });
  }

  /** The elements; throws if the tensor was disposed. */
  get data(): Float32Array {
    const d = this.storage.data;
    if (d === null) throw new TensorError(`tensor ${shapeStr(this.shape)} was used after it was disposed (created inside a tidy scope that has ended?)`);
    return d;
  }

  get disposed(): boolean {
    return this.storage.data === null;
  }

  get rank(): number {
    return this.shape.length;
  }

  /** Size of dimension i (negative counts from the end). */
  dim(i: number): number {
    const d = this.shape[i < 0 ? this.shape.length + i : i];
    if (d === undefined) throw new TensorError(`tensor ${shapeStr(this.shape)} has no dimension ${i}`);
    return d;
  }

  /** Marks the tensor to survive tidy scopes; returns it. */
  keep(): this {
    this.kept = true;
    return this;
  }

  /** Returns the storage to the pool once no view uses it. Idempotent. */
  dispose(): void {
    const s = this.storage;
    if (s.data === null) return;
    s.refs--;
    if (s.refs <= 0) {
      if (s.owned) runtime().pool.release(s.data);
      s.data = null;
    }
    this.storage = DISPOSED;
    this.node = null;
  }

  /** The single value of a one-element tensor. */
  item(): number {
    if (this.size !== 1) throw new TensorError(`item(): tensor ${shapeStr(this.shape)} has ${this.size} elements, expected 1`);
    return this.data[0] as number;
  }

  toArray(): number[] {
    return Array.from(this.data);
  }

  /** Same storage, new shape (one dimension may be -1). */
  reshape(shape: readonly number[]): Tensor {
    const resolved = resolveShape(this.shape, shape);
    if (this.requiresGrad && runtime().gradEnabled) {
      const input = this;
      this.storage.refs++;
      return new Tensor(this.data, resolved, {
        storage: this.storage,
        node: {
          op: "reshape",
          inputs: [input],
          backward(g, sink) {
            sink.pass(input, g);
          },
        },
      });
    }
    this.storage.refs++;
    return new Tensor(this.data, resolved, { storage: this.storage });
  }

  /** A tensor with the same values and no graph. Shares storage. */
  detach(): Tensor {
    this.storage.refs++;
    return new Tensor(this.data, this.shape, { storage: this.storage });
  }

  /**
   * Backpropagates from this tensor. Without a seed the tensor must hold one
   * element (a loss) and the seed is 1. Leaf tensors that require grad get
   * their gradient ADDED to `.grad`; intermediate gradients are pooled and
   * the graph is released afterwards.
   */
  backward(seed?: Float32Array): void {
    if (!this.requiresGrad) throw new TensorError(`backward(): tensor ${shapeStr(this.shape)} does not require grad (no parameter upstream, or built under noGrad)`);
    if (seed === undefined && this.size !== 1) throw new TensorError(`backward(): tensor ${shapeStr(this.shape)} is not a scalar; pass a seed gradient`);
    if (seed !== undefined && seed.length !== this.size) throw new TensorError(`backward(): seed has ${seed.length} elements, tensor ${shapeStr(this.shape)} has ${this.size}`);
    const order = topoOrder(this);
    const sink = new Backprop();
    const root = sink.grad(this);
    if (root) {
      if (seed) runtime().kernels.axpy(seed.length, 1, seed, root);
      else root[0] = (root[0] as number) + 1;
    }
    for (let i = order.length - 1; i >= 0; i--) {
      const t = order[i] as Tensor;
      const node = t.node;
      if (node === null) continue;
      const g = sink.take(t);
      if (g) {
        node.backward(g, sink);
        sink.done(g);
      }
      t.node = null;
    }
  }
}

/**
 * Gradient buffers of one backward pass. Intermediate gradients are pooled;
 * a buffer passed through (add, reshape) is shared by reference count and
 * copied only if someone adds to it while another tensor still holds it.
 */
class Backprop implements GradSink {
  private readonly grads = new Map<Tensor, Float32Array>();
  private readonly refs = new Map<Float32Array, number>();
  private readonly rt = runtime();

  grad(t: Tensor): Float32Array | null {
    if (!t.requiresGrad) return null;
    if (t.node === null) {
      t.grad ??= new Float32Array(t.size);
      return t.grad;
    }
    const g = this.grads.get(t);
    if (!g) {
      const z = this.rt.pool.zeros(t.size);
      this.own(t, z);
      return z;
    }
    return this.exclusive(t, g);
  }

  target(t: Tensor): GradTarget | null {
    if (!t.requiresGrad) return null;
    if (t.node === null) {
      if (t.grad) return { data: t.grad, overwrite: false };
      t.grad = new Float32Array(t.size);
      return { data: t.grad, overwrite: true };
    }
    const g = this.grads.get(t);
    if (!g) {
      const fresh = this.rt.pool.alloc(t.size);
      this.own(t, fresh);
      return { data: fresh, overwrite: true };
    }
    return { data: this.exclusive(t, g), overwrite: false };
  }

  pass(t: Tensor, g: Float32Array): void {
    if (!t.requiresGrad) return;
    if (t.node !== null && !this.grads.has(t)) {
      this.grads.set(t, g);
      this.refs.set(g, (this.refs.get(g) ?? 0) + 1);
      return;
    }
    const acc = this.grad(t) as Float32Array;
    this.rt.kernels.axpy(g.length, 1, g, acc);
  }

  /** Removes t's gradient for its node's backward; the caller hands it back with done(). */
  take(t: Tensor): Float32Array | undefined {
    const g = this.grads.get(t);
    this.grads.delete(t);
    return g;
  }

  done(g: Float32Array): void {
    const n = (this.refs.get(g) ?? 1) - 1;
    if (n > 0) {
      this.refs.set(g, n);
      return;
    }
    this.refs.delete(g);
    this.rt.pool.release(g);
  }

  private own(t: Tensor, g: Float32Array): void {
    this.grads.set(t, g);
    this.refs.set(g, 1);
  }

  // t's buffer, copied first if another tensor shares it (copy on write)
  private exclusive(t: Tensor, g: Float32Array): Float32Array {
    if ((this.refs.get(g) ?? 1) <= 1) return g;
    const copy = this.rt.pool.alloc(g.length);
    copy.set(g);
    this.done(g);
    this.own(t, copy);
    return copy;
  }
}

const DISPOSED = new Storage(null);

function topoOrder(root: Tensor): Tensor[] {
  const order: Tensor[] = [];
  const seen = new Set<Tensor>([root]);
  const stack: Array<[Tensor, number]> = [[root, 0]];
  while (stack.length > 0) {
    const top = stack[stack.length - 1] as [Tensor, number];
    const [t, i] = top;
    const inputs = t.node?.inputs ?? [];
    if (i < inputs.length) {
      top[1] = i + 1;
      const next = inputs[i] as Tensor;
      if (next.disposed) {
        throw new TensorError(`backward(): the graph reaches a disposed ${shapeStr(next.shape)} input of op ${t.node?.op}; run backward inside the tidy scope that built the graph`);
      }
      if (next.requiresGrad && !seen.has(next)) {
        seen.add(next);
        stack.push([next, 0]);
      }
    } else {
      stack.pop();
      order.push(t);
    }
  }
  return order;
}

function resolveShape(from: readonly number[], to: readonly number[]): number[] {
  const size = sizeOf(from);
  const out = [...to];
  const unknown = out.indexOf(-1);
  if (unknown >= 0) {
    const known = sizeOf(out.filter((_, i) => i !== unknown));
    if (known === 0 || size % known !== 0) throw new TensorError(`reshape: cannot reshape ${shapeStr(from)} to ${shapeStr(to)}`);
    out[unknown] = size / known;
  }
  if (sizeOf(out) !== size) throw new TensorError(`reshape: cannot reshape ${shapeStr(from)} (${size} elements) to ${shapeStr(to)}`);
  return out;
}
