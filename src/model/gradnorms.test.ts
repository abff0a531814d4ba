import { describe, expect, it } from "vitest";
import * as T from "../tensor/index.js";
import { Rng } from "../util/rng.js";
import { packSequences } from "./batch.js";
import { parseModelConfig } from "./config.js";
import { GRAD_SUBSETS, perSampleGradNorms, subsetParams } from "./gradnorms.js";
import { LlamaModel } from "./llama.js";

function model(over: Record<string, unknown>, seed: number): LlamaModel {
  const c = parseModelConfig({
    model_type: "llama",
    vocab_size: 19,
    hidden_size: 16,
    intermediate_size: 20,
    num_hidden_layers: 2,
    num_attention_heads: 4,
    num_key_value_heads: 2,
    max_position_embeddings: 32,
    ...over,
  });
  const m = LlamaModel.init(c, new Rng(seed), 0.3);
  for (const [name, t] of m.params) if (name.endsWith(".bias") || name.endsWith("norm.weight")) for (let i = 0; i < t.size; i++) t.data[i] = 1 + 0.2 * Math.sin(i + name.length);
  return m;
}

/** The definition: one backward per sample on its summed response log-likelihood. */
function oneAtATime(m: LlamaModel, items: { prompt: number[]; response: number[] }[], params: T.Tensor[]): number[] {
  return items.map((it) => {
    for (const p of m.params.values()) p.grad = null;
    const b = packSequences([it], 0);
    T.tidy(() => T.sum(T.tokenLogprobs(m.forward(b.ids, 1, b.T), b.targets)).backward());
    let ss = 0;
    for (const p of params) for (const g of p.grad ?? []) ss += g * g;
    return Math.sqrt(ss);
  });
}

describe("perSampleGradNorms", () => {
  const rng = new Rng(1);
  const items = Array.from({ length: 5 }, (_, i) => ({
    prompt: Array.from({ length: 2 + (i % 3) }, () => 1 + rng.int(18)),
    response: Array.from({ length: 1 + ((i * 2) % 5) }, () => 1 + rng.int(18)),
  }));

  for (const [label, over] of [
    ["untied llama", { tie_word_embeddings: false }],
    ["tied qwen2 with q/k/v bias", { model_type: "qwen2", tie_word_embeddings: true }],
  ] as const) {
    for (const subset of GRAD_SUBSETS) {
      it(`${label}, ${subset}: equals one backward per sample within 1e-4`, () => {
        const m = model(over, 2);
        const want = oneAtATime(m, items, subsetParams(m, subset));
        // maxBatch 2 forces several chunks, including a ragged last one.
        const got = perSampleGradNorms(m, items, { subset, padId: 0, maxBatch: 2 });
        want.forEach((w, i) => expect(Math.abs((got[i] as number) - w) / w).toBeLessThan(1e-4));
        expect(new Set(want.map((w) => w.toFixed(6))).size).toBe(items.length);
      });
    }
  }

  it("restores requiresGrad and leaves parameter gradients untouched", () => {
    const m = model({}, 3);
    for (const p of m.params.values()) p.grad = null;
    perSampleGradNorms(m, items, { subset: "embedding", padId: 0 });
    for (const p of m.params.values()) {
      expect(p.requiresGrad).toBe(true);
      expect(p.grad).toBeNull();
    }
  });
});
