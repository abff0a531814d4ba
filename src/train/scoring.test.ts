import { describe, expect, it } from "vitest";
import { ByteTokenizer, LlamaModel, parseModelConfig } from "../model/index.js";
import { LocalSampler } from "../rollout/index.js";
import { Rng } from "../util/rng.js";
import { responseLogprobs } from "./scoring.js";

describe("responseLogprobs", () => {
  const tok = new ByteTokenizer();
  const model = LlamaModel.init(
    parseModelConfig({ model_type: "llama", vocab_size: tok.vocabSize, hidden_size: 16, intermediate_size: 32, num_hidden_layers: 2, num_attention_heads: 2, max_position_embeddings: 64 }),
    new Rng(4),
    0.5,
  );
  const sampler = new LocalSampler(model, tok);
  const requests = [
    { prompt: "Q: 1+2", n: 3, seed: 10 },
    { prompt: "Q: 33*4 =", n: 2, seed: 11 },
  ];

  for (const temperature of [1, 0.7]) {
    it(`equals the sampler's own log-probs at temperature ${temperature}, in one pass or many`, async () => {
      const out = await sampler.sample(requests, { temperature, topP: 1, topK: 0, maxNewTokens: 12 });
      const items = out.flatMap((rs, i) => rs.map((r) => ({ prompt: sampler.promptTokens((requests[i] as (typeof requests)[0]).prompt), response: r.tokens, want: r.logprobs as number[] })));
      for (const maxLogitFloats of [1 << 26, tok.vocabSize * 20]) {
        const got = responseLogprobs(model, items, { temperature, padId: tok.padId, maxLogitFloats });
        items.forEach((it, k) => {
          expect(got[k]).toHaveLength(it.response.length);
          (got[k] as number[]).forEach((lp, t) => expect(lp).toBeCloseTo(it.want[t] as number, 4));
        });
      }
    });
  }
});
