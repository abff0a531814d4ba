/**
 * Building tensors: from caller-owned values (copied into a pooled buffer),
 * constants, random initialisers, and `opResult`, the one way an op attaches
 * its backward to its output.
 */
import type { Rng } from "../util/rng.js";
import { runtime, TensorError } from "./runtime.js";
import { type GradNode, shapeStr, sizeOf, Tensor } from "./tensor.js";

export interface TensorOptions {
  /** Record gradients for this leaf (parameters). */
  requiresGrad?: boolean;
}

/** A tensor holding a copy of `values`. */
export function tensor(values: ArrayLike<number>, shape: readonly number[] = [values.length], options: TensorOptions = {}): Tensor {
  const n = sizeOf(shape);
  if (values.length !== n) throw new TensorError(`tensor: ${values.length} values do not fill shape ${shapeStr(shape)} (${n} elements)`);
  const data = runtime().pool.alloc(n);
  data.set(values);
  return new Tensor(data, shape, options);
}

export function scalar(value: number, options: TensorOptions = {}): Tensor {
  return tensor([value], [], options);
}

export function full(shape: readonly number[], value: number, options: TensorOptions = {}): Tensor {
  const data = runtime().pool.alloc(sizeOf(shape));
  data.fill(value);
  return new Tensor(data, shape, options);
}

export function zeros(shape: readonly number[], options: TensorOptions = {}): Tensor {
  return full(shape, 0, options);
}

export function ones(shape: readonly number[], options: TensorOptions = {}): Tensor {
  return full(shape, 1, options);
}

/** Normal(0, std^2) entries from a seeded generator. */
export function randn(shape: readonly number[], rng: Rng, std = 1, options: TensorOptions = {}): Tensor {
  const data = runtime().pool.alloc(sizeOf(shape));
  for (let i = 0; i < data.length; i++) data[i] = rng.normal() * std;
  return new Tensor(data, shape, options);
}

/** Uniform(lo, hi) entries from a seeded generator. */
export function uniform(shape: readonly number[], rng: Rng, lo: number, hi: number, options: TensorOptions = {}): Tensor {
  const data = runtime().pool.alloc(sizeOf(shape));
  for (let i = 0; i < data.length; i++) data[i] = lo + (hi - lo) * rng.float();
  return new Tensor(data, shape, options);
}

/**
 * Wraps an op's freshly allocated output. The backward closure is attached
 * only when grad mode is on and some input requires grad, so no-grad passes
 * (sampling, evaluation) build no graph at all.
 */
export function opResult(data: Float32Array, shape: readonly number[], op: string, inputs: readonly Tensor[], backward: GradNode["backward"]): Tensor {
  const rt = runtime();
  if (rt.gradEnabled && inputs.some((t) => t.requiresGrad)) {
    return new Tensor(data, shape, { node: { op, inputs, backward } });
  }
  return new Tensor(data, shape);
}

/** An uninitialised pooled buffer for an op's output. */
export function outBuffer(n: number): Float32Array {
  return runtime().pool.alloc(n);
}

/** Throws a TensorError naming the op unless cond holds. */
export function check(cond: boolean, op: string, message: () => string): asserts cond {
  if (!cond) throw new TensorError(`${op}: ${message()}`);
}
