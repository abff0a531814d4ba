import { describe, expect, it } from "vitest";
import { Rng } from "../util/rng.js";
import { ByteTokenizer, LlamaModel, parseModelConfig } from "../model/index.js";
import { LocalSampler } from "./sampler.js";

describe("LocalSampler", () => {
  const tok = new ByteTokenizer();
  const model = LlamaModel.init(
    parseModelConfig({ model_type: "llama", vocab_size: tok.vocabSize, hidden_size: 16, intermediate_size: 32, num_hidden_layers: 1, num_attention_heads: 2, max_position_embeddings: 64 }),
    new Rng(1),
    0.5,
  );
  const requests = [
    { prompt: "Q: 1+2", n: 3, seed: 10 },
    { prompt: "Q: 33*4", n: 2, seed: 11 },
    { prompt: "x", n: 0, seed: 12 },
  ];
  const opts = { temperature: 1, topP: 1, topK: 0, maxNewTokens: 12 };

  it("returns n responses per request whatever the batch size (per-response streams)", async () => {
    const a = await new LocalSampler(model, tok, { batchSize: 2 }).sample(requests, opts);
    const b = await new LocalSampler(model, tok, { batchSize: 64 }).sample(requests, opts);
    expect(a.map((r) => r.length)).toEqual([3, 2, 0]);
    expect(b.map((r) => r.map((x) => x.tokens))).toEqual(a.map((r) => r.map((x) => x.tokens)));
    expect(a[0]?.[0]?.text).toBe(tok.decode(a[0]?.[0]?.tokens ?? []));
    expect(a[0]?.[0]?.logprobs?.length).toBe(a[0]?.[0]?.tokens.length);
  });

  it("ends a response at a stop string", async () => {
    const free = await new LocalSampler(model, tok).sample([{ prompt: "Q", n: 4, seed: 3 }], { ...opts, maxNewTokens: 30 });
    // Stop at whatever the first sample's 3rd character is: the response must end there.
    const first = free[0]?.[0]?.text ?? "";
    const stop = first.slice(2, 3);
    const cut = await new LocalSampler(model, tok).sample([{ prompt: "Q", n: 1, seed: 3 }], { ...opts, maxNewTokens: 30, stop: [stop] });
    const text = cut[0]?.[0]?.text ?? "";
    expect(text.endsWith(stop)).toBe(true);
    expect(text.length).toBeLessThanOrEqual(3);
    expect(first.startsWith(text)).toBe(true);
  });

  it("rejects a tokenizer larger than the model's vocabulary", () => {
    const small = LlamaModel.init(parseModelConfig({ model_type: "llama", vocab_size: 100, hidden_size: 8, intermediate_size: 8, num_hidden_layers: 1, num_attention_heads: 2 }), new Rng(1));
    expect(() => new LocalSampler(small, tok)).toThrow(/259 ids but the model's vocab_size is 100/);
  });
});
