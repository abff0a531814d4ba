/**
 * Per-sample gradient norms G = ||d/dtheta sum_t log pi(y_t | x, y_<t)||_2
 * (the summed, not length-normalised, response log-likelihood) for a
 * parameter subset, from batched passes: one forward and one backward per
 * chunk of samples, with the parameter-owning ops writing each sample's
 * gradient into its own slice (PerSampleGrads). A parameter used twice (a
 * tied embedding, read by the lookup and by the output head) sums both uses
 * per sample before the norm, exactly as a one-sample backward would.
 */
import * as T from "../tensor/index.js";
import { PerSampleGrads, type Tensor } from "../tensor/index.js";
import { type PromptResponse, packSequences } from "./batch.js";
import { ModelError } from "./errors.js";
import type { LlamaModel } from "./llama.js";

export type GradSubset = "embedding" | "lm_head" | "all";
export const GRAD_SUBSETS: readonly GradSubset[] = ["embedding", "lm_head", "all"];

export interface GradNormOptions {
  /** Which parameters theta covers. */
  subset: GradSubset;
  /** Id for padding. */
  padId: number;
  /** Most samples in one pass (bounds activation memory). */
  maxBatch?: number;
  /** Most floats of per-sample gradient buffers in one pass (bounds memory for large subsets). */
  maxGradFloats?: number;
}

/** The parameter tensors a subset covers (a tied head is the embedding). */
export function subsetParams(model: LlamaModel, subset: GradSubset): Tensor[] {
  const p = model.params;
  switch (subset) {
    case "embedding":
      return [p.get("model.embed_tokens.weight") as Tensor];
    case "lm_head":
      return [(p.get("lm_head.weight") ?? p.get("model.embed_tokens.weight")) as Tensor];
    case "all":
      return [...new Set(p.values())];
  }
}

/** G_i for every (prompt, response) pair, in order. */
export function perSampleGradNorms(model: LlamaModel, items: readonly PromptResponse[], o: GradNormOptions): Float64Array {
  const out = new Float64Array(items.length);
  if (items.length === 0) return out;
  const tracked = subsetParams(model, o.subset);
  const floatsPerSample = tracked.reduce((n, t) => n + t.size, 0);
  const byMemory = Math.max(1, Math.floor((o.maxGradFloats ?? 1 << 26) / floatsPerSample));
  const chunk = Math.max(1, Math.min(o.maxBatch ?? 32, byMemory));
  const rt = T.runtime();
  if (rt.perSample) throw new ModelError("perSampleGradNorms: another per-sample pass is already running");
  const trackedSet = new Set(tracked);
  const saved = new Map<Tensor, boolean>();
  for (const t of model.params.values()) {
    saved.set(t, t.requiresGrad);
    t.requiresGrad = trackedSet.has(t);
  }
  try {
    for (let start = 0; start < items.length; start += chunk) {
      const part = items.slice(start, start + chunk);
      const batch = packSequences(part, o.padId);
      const ps = new PerSampleGrads(batch.B, batch.T, tracked);
      rt.perSample = ps;
      T.tidy(() => {
        const logp = T.tokenLogprobs(model.forward(batch.ids, batch.B, batch.T), batch.targets);
        T.sum(logp).backward();
      });
      rt.perSample = null;
      const sq = ps.squaredNorms(rt.kernels.sumSquares);
      for (let b = 0; b < batch.B; b++) out[start + b] = Math.sqrt(sq[b] as number);
    }
  } finally {
    rt.perSample = null;
    for (const [t, r] of saved) t.requiresGrad = r;
  }
  return out;
}
