/**
 * Finite-difference gradient checking: the evidence that every backward is
 * right. The scalar probed is L = sum(f(inputs) * R) for a fixed random R, so
 * every output element contributes; L is accumulated in double from the
 * float32 outputs, and central differences use a step sized for float32.
 */
import { Rng } from "../util/rng.js";
import { runtime } from "./runtime.js";
import type { Tensor } from "./tensor.js";

export interface GradcheckOptions {
  /** Finite-difference step. */
  eps?: number;
  /** Elements probed per input (chosen at random when the input is larger). */
  maxProbes?: number;
  /** Seed for R and the probe choice. */
  seed?: number;
}

export interface GradcheckResult {
  /** Largest |analytic - numeric| / max(1, |analytic|, |numeric|) over all probes. */
  maxError: number;
  /** Where it occurred: input index and element. */
  worst: { input: number; index: number; analytic: number; numeric: number } | null;
}

export function gradcheck(f: (inputs: readonly Tensor[]) => Tensor, inputs: readonly Tensor[], options: GradcheckOptions = {}): GradcheckResult {
  const eps = options.eps ?? 1e-2;
  const maxProbes = options.maxProbes ?? 24;
  const rng = new Rng(options.seed ?? 1234);
  const rt = runtime();

  const probe = (): number =>
    rt.noGrad(() =>
      rt.tidy(() => {
        const out = f(inputs).data;
        let s = 0;
        for (let i = 0; i < out.length; i++) s += (out[i] as number) * (weights[i] as number);
        return s;
      }),
    );

  let weights = new Float64Array(0);
  rt.tidy(() => {
    for (const t of inputs) t.grad = null;
    const out = f(inputs);
    weights = Float64Array.from({ length: out.size }, () => rng.normal());
    out.backward(Float32Array.from(weights));
  });

  let maxError = 0;
  let worst: GradcheckResult["worst"] = null;
  inputs.forEach((t, input) => {
    if (!t.requiresGrad) return;
    const analyticAll = t.grad ?? new Float32Array(t.size);
    const indices = t.size <= maxProbes ? [...Array(t.size).keys()] : Array.from({ length: maxProbes }, () => rng.int(t.size));
    const data = t.data;
    for (const index of indices) {
      const x0 = data[index] as number;
      data[index] = x0 + eps;
      const up = probe();
      data[index] = x0 - eps;
      const down = probe();
      data[index] = x0;
      const numeric = (up - down) / (2 * eps);
      const analytic = analyticAll[index] as number;
      const err = Math.abs(analytic - numeric) / Math.max(1, Math.abs(analytic), Math.abs(numeric));
      if (err > maxError || Number.isNaN(err)) {
        maxError = Number.isNaN(err) ? Infinity : err;
        worst = { input, index, analytic, numeric };
      }
    }
  });
  return { maxError, worst };
}
