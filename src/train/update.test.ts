import { describe, expect, it } from "vitest";
import { LlamaModel, parseModelConfig } from "../model/index.js";
import * as T from "../tensor/index.js";
import { Rng } from "../util/rng.js";
import { type TrainItem, type UpdateSettings, updateStep } from "./update.js";

const config = parseModelConfig({
  model_type: "llama",
  vocab_size: 19,
  hidden_size: 16,
  intermediate_size: 24,
  num_hidden_layers: 2,
  num_attention_heads: 4,
  num_key_value_heads: 2,
  max_position_embeddings: 64,
});

// Prompts of three lengths, each answered several times with responses of several lengths (one empty).
function items(rng: Rng): TrainItem[] {
  const prompts = [
    [1, 4, 7, 2, 9],
    [1, 3],
    [1, 5, 5, 6],
  ];
  const out: TrainItem[] = [];
  prompts.forEach((prompt, p) => {
    for (let j = 0; j < 4 + p; j++) {
      const response = Array.from({ length: (j * 3 + p) % 7 }, () => 2 + rng.int(17));
      out.push({ prompt, response, oldLogp: response.map(() => -2 - rng.float()), advantage: rng.normal() });
    }
  });
  // interleaved, as responses arrive from a sampler
  return out.sort(() => rng.float() - 0.5);
}

function step(microBatchTokens: number, loss: UpdateSettings["loss"], lossAgg: UpdateSettings["lossAgg"]) {
  const policy = LlamaModel.init(config, new Rng(5), 0.3);
  const reference = LlamaModel.init(config, new Rng(5), 0.3);
  const opt = new T.AdamW(policy.params, { lr: 1e-2 });
  const settings: UpdateSettings = {
    loss,
    clip: { epsLow: 0.2, epsHigh: 0.28, dualClipC: 3 },
    lossAgg,
    klCoef: 0.1,
    klEstimator: "k3",
    maxGradNorm: 1,
    temperature: 0.7,
    padId: 0,
    microBatchTokens,
  };
  const stats = updateStep(policy, reference, opt, items(new Rng(9)), settings);
  return { stats, params: [...policy.params.values()].map((p) => p.data.slice()) };
}

describe("updateStep", () => {
  for (const [loss, lossAgg] of [
    ["vanilla", "token-mean"],
    ["vanilla", "seq-mean-token-mean"],
  ] as const) {
    it(`gives the same step however the responses are cut into micro-batches (${loss}, ${lossAgg})`, () => {
      const whole = step(1 << 20, loss, lossAgg);
      // 12 rows: prompts' responses split across micro-batches, a prompt's rows packed into each
      for (const budget of [12, 40]) {
        const cut = step(budget, loss, lossAgg);
        for (const key of ["loss", "kl", "entropy", "clipFrac", "gradNorm", "tokens"] as const) expect(cut.stats[key], `${key} at ${budget}`).toBeCloseTo(whole.stats[key], 5);
        cut.params.forEach((p, i) => p.forEach((x, j) => expect(Math.abs(x - (whole.params[i] as Float32Array)[j]!), `param ${i}[${j}] at ${budget}`).toBeLessThan(1e-5)));
      }
      expect(whole.stats.tokens).toBeGreaterThan(0);
    });
  }
});
