import { describe, expect, it } from "vitest";
import * as T from "../tensor/index.js";
import { gradcheck } from "../tensor/gradcheck.js";
import { Rng } from "../util/rng.js";
import { type ModelConfig, parseModelConfig } from "./config.js";
import { generate, SamplingLoop } from "./generate.js";
import { KVCache } from "./kvcache.js";
import { packSequences, packShared } from "./batch.js";
import { LlamaModel } from "./llama.js";

function cfg(over: Record<string, unknown> = {}): ModelConfig {
  return parseModelConfig({
    model_type: "llama",
    vocab_size: 23,
    hidden_size: 16,
    intermediate_size: 24,
    num_hidden_layers: 2,
    num_attention_heads: 4,
    num_key_value_heads: 2,
    max_position_embeddings: 64,
    tie_word_embeddings: false,
    ...over,
  });
}

const VARIANTS: Array<[string, Record<string, unknown>]> = [
  ["llama GQA untied", {}],
  ["llama full heads tied", { num_key_value_heads: 4, tie_word_embeddings: true }],
  ["qwen2 (q/k/v bias) GQA tied", { model_type: "qwen2", tie_word_embeddings: true }],
  ["llama attention_bias", { attention_bias: true }],
];

function randomizeBiases(model: LlamaModel, rng: Rng): void {
  for (const [name, t] of model.params) if (name.endsWith(".bias")) for (let i = 0; i < t.size; i++) t.data[i] = rng.normal() * 0.1;
}

describe("LlamaModel", () => {
  for (const [label, over] of VARIANTS) {
    it(`${label}: KV-cache decode matches a full forward token by token, with left padding`, () => {
      const rng = new Rng(1);
      const model = LlamaModel.init(cfg(over), rng, 0.2);
      randomizeBiases(model, rng);
      const V = model.config.vocabSize;
      const seqs = [
        [1, 5, 7, 9, 2, 11, 3],
        [4, 8, 6, 10, 12],
      ];
      const prompt = 3;
      T.noGrad(() => {
        // Reference: each sequence alone, full forward, no padding.
        const full = seqs.map((s) => T.tidy(() => model.forward(Int32Array.from(s), 1, s.length).data.slice()));
        // Cached: batch of both; prompts of length 3 (no padding needed), then one token at a time,
        // with the second row left-padded by shifting it one slot: pad + 2 prompt tokens.
        const B = 2;
        const cache = new KVCache(model.config, B, 16);
        const P = prompt;
        const ids = Int32Array.from([...(seqs[0] as number[]).slice(0, P), 0, ...(seqs[1] as number[]).slice(0, P - 1)]);
        const mask = Uint8Array.from([1, 1, 1, 0, 1, 1]);
        const pos = Int32Array.from([0, 1, 2, 0, 0, 1]);
        const first = T.tidy(() => model.forward(ids, B, P, { positions: pos, keyMask: mask, cache }).data.slice());
        const expectRow = (got: Float32Array, want: Float32Array, label2: string) => {
          let err = 0;
          for (let j = 0; j < V; j++) err = Math.max(err, Math.abs((got[j] as number) - (want[j] as number)));
          expect(err, label2).toBeLessThan(1e-4);
        };
        expectRow(first.subarray(2 * V, 3 * V), (full[0] as Float32Array).subarray(2 * V, 3 * V), "row 0 prefill");
        expectRow(first.subarray(5 * V, 6 * V), (full[1] as Float32Array).subarray(1 * V, 2 * V), "row 1 prefill");
        for (let s = 0; s < 3; s++) {
          const step = Int32Array.from([(seqs[0] as number[])[P + s] as number, (seqs[1] as number[])[P - 1 + s] as number]);
          const stepPos = Int32Array.from([P + s, P - 1 + s]);
          const out = T.tidy(() => model.forward(step, B, 1, { positions: stepPos, cache }).data.slice());
          expectRow(out.subarray(0, V), (full[0] as Float32Array).subarray((P + s) * V, (P + s + 1) * V), `row 0 step ${s}`);
          expectRow(out.subarray(V, 2 * V), (full[1] as Float32Array).subarray((P - 1 + s) * V, (P + s) * V), `row 1 step ${s}`);
        }
      });
    });
  }

  it("right padding does not change the logits of real tokens", () => {
    const model = LlamaModel.init(cfg(), new Rng(2), 0.2);
    T.noGrad(() => {
      const a = T.tidy(() => model.forward(Int32Array.from([3, 4, 5]), 1, 3).data.slice());
      const b = T.tidy(() => model.forward(Int32Array.from([3, 4, 5, 0, 0]), 1, 5).data.slice(0, 3 * 23));
      for (let i = 0; i < a.length; i++) expect(Math.abs((a[i] as number) - (b[i] as number))).toBeLessThan(1e-5);
    });
  });

  for (const [label, over] of VARIANTS) {
    it(`${label}: forwardShared gives each response's logits and gradients as forward does on the whole sequences`, () => {
      const rng = new Rng(12);
      const model = LlamaModel.init(cfg(over), rng, 0.3);
      randomizeBiases(model, rng);
      const [a, b, c] = [[1, 5, 7, 2], [1, 9], [1]];
      // three readers of one prompt (one with an empty response), prompts of three lengths (one with no shared rows)
      const items = [
        { prompt: a, response: [3, 4, 5] },
        { prompt: b, response: [2, 2] },
        { prompt: a, response: [6] },
        { prompt: c, response: [4, 5, 6] },
        { prompt: a, response: [] },
        { prompt: a, response: [8, 9, 10, 11] },
      ] as const;
      const weights = items.map((it) => it.response.map(() => rng.normal()));
      const V = model.config.vocabSize;
      const run = (shared: boolean) => {
        for (const p of model.params.values()) p.grad = null;
        const logits: number[][][] = [];
        T.tidy(() => {
          let logp: T.Tensor;
          let w: Float32Array;
          if (shared) {
            const batch = packShared(items, 0);
            const out = model.forwardShared(batch);
            const S = batch.layout.S;
            items.forEach((it, i) => logits.push(it.response.map((_, t) => [...out.data.subarray((i * S + t) * V, (i * S + t + 1) * V)])));
            logp = T.tokenLogprobs(out, batch.targets);
            w = new Float32Array(items.length * S);
            weights.forEach((ws, i) => ws.forEach((x, t) => (w[i * S + t] = x)));
          } else {
            const batch = packSequences(items, 0);
            const out = model.forward(batch.ids, batch.B, batch.T);
            const Tn = batch.T;
            items.forEach((it, i) => logits.push(it.response.map((_, t) => [...out.data.subarray((i * Tn + it.prompt.length - 1 + t) * V, (i * Tn + it.prompt.length + t) * V)])));
            logp = T.tokenLogprobs(out, batch.targets);
            w = new Float32Array(items.length * Tn);
            weights.forEach((ws, i) => ws.forEach((x, t) => (w[i * Tn + (items[i] as (typeof items)[number]).prompt.length - 1 + t] = x)));
          }
          T.sum(T.mul(logp, T.tensor(w, logp.shape))).backward();
        });
        return { logits, grads: new Map([...model.params].map(([n, p]) => [n, (p.grad as Float32Array).slice()])) };
      };
      const want = run(false);
      const got = run(true);
      const close = (what: string, x: number, y: number) => {
        if (!(Math.abs(x - y) <= 1e-4 + 1e-3 * Math.abs(y))) expect.fail(`${what}: shared ${x}, whole sequences ${y}`);
      };
      want.logits.forEach((rows, i) => rows.forEach((row, t) => row.forEach((y, j) => close(`logits item ${i} token ${t} [${j}]`, got.logits[i]?.[t]?.[j] as number, y))));
      for (const [name, g] of want.grads) g.forEach((y, j) => close(`${name} grad [${j}]`, got.grads.get(name)?.[j] as number, y));
    });
  }

  it("gradients of the whole model match finite differences", () => {
    const model = LlamaModel.init(cfg({ model_type: "qwen2", num_hidden_layers: 1 }), new Rng(3), 0.3);
    const ids = Int32Array.from([1, 2, 3, 4, 5, 6]);
    const targets = Int32Array.from([2, 3, 4, 5, 6, -1]);
    const names = ["model.embed_tokens.weight", "model.layers.0.self_attn.q_proj.weight", "model.layers.0.self_attn.k_proj.bias", "model.layers.0.mlp.down_proj.weight", "model.norm.weight"];
    const params = names.map((n) => model.params.get(n) as T.Tensor);
    const r = gradcheck(() => T.crossEntropy(model.forward(ids, 2, 3), targets), params, { eps: 1e-2 });
    expect(r.maxError, JSON.stringify(r.worst)).toBeLessThan(2e-2);
  });

  it("learns a toy corpus: loss falls with AdamW", () => {
    const model = LlamaModel.init(cfg(), new Rng(4));
    const opt = new T.AdamW(model.params, { lr: 1e-2, weightDecay: 0 });
    const seq = [1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12];
    const ids = Int32Array.from([...seq.slice(0, -1), ...seq.slice(0, -1)]);
    const tg = Int32Array.from([...seq.slice(1), ...seq.slice(1)]);
    const losses: number[] = [];
    for (let i = 0; i < 60; i++) {
      opt.zeroGrad();
      losses.push(
        T.tidy(() => {
          const loss = T.crossEntropy(model.forward(ids, 2, seq.length - 1), tg);
          loss.backward();
          return loss.item();
        }),
      );
      opt.step();
    }
    expect(losses[0]).toBeGreaterThan(2.5);
    expect(losses[losses.length - 1]).toBeLessThan(0.2);
  });

  it("rejects parameters that do not match the config, listing each", () => {
    const a = LlamaModel.init(cfg(), new Rng(5));
    const params = new Map(a.params);
    params.delete("model.norm.weight");
    params.set("model.layers.0.mlp.up_proj.weight", T.zeros([5, 5], { requiresGrad: true }));
    params.set("model.extra.weight", T.zeros([1]));
    let message = "";
    try {
      new LlamaModel(a.config, params);
    } catch (err) {
      message = (err as Error).message;
    }
    expect(message).toContain("missing model.norm.weight");
    expect(message).toContain("model.layers.0.mlp.up_proj.weight has shape [5, 5], expected [24, 16]");
    expect(message).toContain("unexpected model.extra.weight");
  });
});

/** A view of the model that records the batch size of every forward. */
function countingRows(model: LlamaModel): { spy: LlamaModel; rows: number[] } {
  const rows: number[] = [];
  const forward = model.forward.bind(model);
  const spy = Object.assign(Object.create(model) as LlamaModel, {
    forward: (ids: Int32Array, B: number, Tn: number, opts?: Parameters<LlamaModel["forward"]>[3]) => {
      rows.push(B);
      return forward(ids, B, Tn, opts);
    },
  });
  return { spy, rows };
}

describe("generate", () => {
  const model = LlamaModel.init(cfg(), new Rng(6), 0.5);
  const prompts = [[1, 2, 3], [4], [5, 6]];
  const base = { maxNewTokens: 8, stopIds: [22], padId: 0, temperature: 1, topK: 0, topP: 1 };

  it("is deterministic for a seed and varies across seeds", () => {
    const a = generate(model, prompts, { ...base, rngs: 7 });
    const b = generate(model, prompts, { ...base, rngs: 7 });
    const c = generate(model, prompts, { ...base, rngs: 8 });
    expect(b.tokens).toEqual(a.tokens);
    expect(c.tokens).not.toEqual(a.tokens);
  });

  it("reuses pooled KV-cache memory: stale contents change nothing, and a disposed cache refuses use", () => {
    const clean = generate(model, prompts, { ...base, rngs: 7 });
    // Fill the pool with NaN buffers of exactly the cache's size: a read of any unwritten slot would poison the logits.
    const c = model.config;
    const n = prompts.length * (3 + base.maxNewTokens) * c.numKvHeads * c.headDim;
    const pool = T.runtime().pool;
    for (let i = 0; i < 2 * c.numLayers; i++) pool.release(new Float32Array(n).fill(Number.NaN));
    const pooled = generate(model, prompts, { ...base, rngs: 7 });
    expect(pooled.tokens).toEqual(clean.tokens);
    expect(pooled.logprobs).toEqual(clean.logprobs);
    const cache = new KVCache(c, 1, 4);
    cache.dispose();
    expect(() => cache.write(0, new Float32Array(c.numKvHeads * c.headDim), new Float32Array(c.numKvHeads * c.headDim), 1)).toThrow(/used after dispose/);
  });

  it("SamplingLoop, stepped by hand, gives generate's result and refuses steps out of turn", () => {
    const whole = generate(model, prompts, { ...base, rngs: 7 });
    const loop = new SamplingLoop(model, prompts, { ...base, rngs: 7 });
    expect(() => loop.advance()).toThrow(/advance\(\) before draw\(\)/);
    let draws = 0;
    for (;;) {
      draws += loop.draw().length;
      if (loop.finished) break;
      loop.advance();
    }
    loop.dispose();
    expect(loop.tokens).toEqual(whole.tokens);
    expect(loop.logprobs).toEqual(whole.logprobs);
    expect(loop.finish).toEqual(whole.finish);
    expect(draws).toBe(whole.tokens.reduce((n, t) => n + t.length, 0));
    expect(loop.draw()).toEqual([]);
    expect(() => loop.advance()).toThrow(/after the last draw/);
  });

  it("gives a row the same sample whatever its batch-mates", () => {
    const together = generate(model, prompts, { ...base, rngs: [new Rng(11), new Rng(12), new Rng(13)] });
    const alone = generate(model, [prompts[1] as number[]], { ...base, rngs: [new Rng(12)] });
    expect(alone.tokens[0]).toEqual(together.tokens[1]);
  });

  it("takes finished rows out of the decode batch without changing any row's result", () => {
    const many = Array.from({ length: 16 }, (_, i) => [1 + (i % 5), 2 + (i % 7), 3].slice(0, 1 + (i % 3)));
    const rngs = () => many.map((_, i) => new Rng(40 + i));
    const o = { ...base, maxNewTokens: 20, stopIds: [10] };
    const { spy, rows } = countingRows(model);
    const together = generate(spy, many, { ...o, rngs: rngs() });
    expect(together.finish).toContain("stop");
    expect(together.finish).toContain("length");
    // the decode batch shrank as rows finished
    expect(rows[1]).toBe(16);
    expect(Math.min(...rows.slice(1))).toBeLessThan(16);
    expect(Math.min(...rows)).toBeGreaterThanOrEqual(together.finish.filter((f) => f === "length").length);
    many.forEach((p, i) => {
      const alone = generate(model, [p], { ...o, rngs: [rngs()[i] as Rng] });
      expect(together.tokens[i]).toEqual(alone.tokens[0]);
      expect(together.logprobs[i]).toEqual(alone.logprobs[0]);
    });
  });

  it("prefills a repeated prompt once, each repeat still sampling on its own stream", () => {
    const distinct = [[1, 2, 3], [4], [5, 6]];
    const repeated = distinct.flatMap((p) => [p, p, p, p]);
    const rngs = () => repeated.map((_, i) => new Rng(70 + i));
    const o = { ...base, maxNewTokens: 12, stopIds: [] };
    const { spy, rows } = countingRows(model);
    const together = generate(spy, repeated, { ...o, rngs: rngs() });
    expect(rows[0]).toBe(3);
    expect(rows[1]).toBe(12);
    expect(new Set(together.tokens.slice(0, 4).map((t) => t.join(","))).size).toBeGreaterThan(1);
    repeated.forEach((p, i) => {
      const alone = generate(model, [p], { ...o, rngs: [rngs()[i] as Rng] });
      expect(together.tokens[i]).toEqual(alone.tokens[0]);
      expect(together.logprobs[i]).toEqual(alone.logprobs[0]);
    });
  });

  it("KV cache sharePrompts keeps each prompt once and the rows only what they generate", () => {
    const c = cfg();
    const kv = c.numKvHeads * c.headDim;
    const cache = new KVCache(c, 4, 5);
    expect(() => cache.sharePrompts([0, 0])).toThrow(/needs the prompts' prefill first/);
    cache.keepRows([0, 1]);
    const k = Float32Array.from({ length: 2 * 2 * kv }, (_, i) => i + 1);
    cache.appendMask(Uint8Array.from([0, 1, 1, 1]), 2);
    cache.write(0, k, k, 2);
    cache.advance(2);
    expect(() => cache.sharePrompts([0, 1, 1, 0, 1])).toThrow(/asks for 5 rows; built for 4/);
    expect(() => cache.sharePrompts([0, 2])).toThrow(/row 1 continues prompt 2; there are 2/);
    cache.sharePrompts([0, 1, 1, 0]);
    expect(cache.batch).toBe(4);
    expect(() => cache.sharePrompts([0])).toThrow(/already shared/);
    expect(() => cache.checkAppend(4, 2)).toThrow(/one position per row, got 2/);
    const own = Float32Array.from({ length: 4 * kv }, (_, i) => -i);
    cache.appendMask(null, 1);
    const slot = cache.write(0, own, own, 1);
    expect(slot.kvLen).toBe(1);
    expect(slot.prompt?.P).toBe(2);
    expect([...(slot.prompt?.group ?? [])]).toEqual([0, 1, 1, 0]);
    expect(slot.prompt?.k).toEqual(k);
    expect([...(slot.prompt?.mask ?? [])]).toEqual([0, 1, 1, 1]);
    // own positions start at slot 0 of each row
    expect(slot.k.data.subarray(2 * 5 * kv, 2 * 5 * kv + kv)).toEqual(own.subarray(2 * kv, 3 * kv));
    cache.advance(1);
    cache.keepRows([1, 3]);
    const after = cache.write(0, new Float32Array(2 * kv), new Float32Array(2 * kv), 0);
    expect([...(after.prompt?.group ?? [])]).toEqual([1, 0]);
    expect(after.k.data.subarray(5 * kv, 5 * kv + kv)).toEqual(own.subarray(3 * kv, 4 * kv));
    cache.dispose();
  });

  it("KV cache keepRows moves the kept rows to the front and refuses bad row lists", () => {
    const c = cfg();
    const kv = c.numKvHeads * c.headDim;
    const cache = new KVCache(c, 3, 4);
    const k = Float32Array.from({ length: 3 * 2 * kv }, (_, i) => i);
    cache.appendMask(null, 2);
    const before = cache.write(0, k, k, 2).k.data.slice();
    cache.advance(2);
    cache.keepRows([0, 2]);
    expect(cache.batch).toBe(2);
    const after = cache.write(0, new Float32Array(2 * kv), new Float32Array(2 * kv), 0).k.data;
    expect(after.length).toBe(2 * 4 * kv);
    expect(after.slice(4 * kv, 4 * kv + 2 * kv)).toEqual(before.slice(2 * 4 * kv, 2 * 4 * kv + 2 * kv));
    expect(() => cache.keepRows([1, 0])).toThrow(/ascending row indices below 2/);
    expect(() => cache.keepRows([0, 2])).toThrow(/ascending row indices below 2/);
    expect(() => cache.checkAppend(3, 1)).toThrow(/holds a batch of 2, got 3/);
    cache.dispose();
  });

  it("greedy decoding equals the argmax of full forwards", () => {
    const g = generate(model, [[1, 2, 3]], { ...base, temperature: 0, stopIds: [], rngs: 1 });
    const seq = [1, 2, 3];
    T.noGrad(() => {
      for (let s = 0; s < 8; s++) {
        const logits = T.tidy(() => model.forward(Int32Array.from(seq), 1, seq.length).data.slice((seq.length - 1) * 23, seq.length * 23));
        let best = 0;
        for (let j = 1; j < 23; j++) if ((logits[j] as number) > (logits[best] as number)) best = j;
        seq.push(best);
      }
    });
    expect(g.tokens[0]).toEqual(seq.slice(3));
    expect(g.finish[0]).toBe("length");
  });

  it("returns each token's log-probability, equal to a scoring forward pass", () => {
    const g = generate(model, [[1, 2, 3], [4, 5]], { ...base, stopIds: [], rngs: 5 });
    T.noGrad(() => {
      g.tokens.forEach((toks, b) => {
        const prompt = b === 0 ? [1, 2, 3] : [4, 5];
        const seq = [...prompt, ...toks];
        const targets = Int32Array.from(seq.map((_, t) => (t >= prompt.length - 1 && t < seq.length - 1 ? (seq[t + 1] as number) : -1)));
        const lp = T.tidy(() => T.tokenLogprobs(model.forward(Int32Array.from(seq), 1, seq.length), targets).data.slice());
        toks.forEach((_, i) => expect(Math.abs((g.logprobs[b]?.[i] as number) - (lp[prompt.length - 1 + i] as number))).toBeLessThan(1e-4));
      });
    });
  });

  it("stops rows at a stop id and reports why", () => {
    const out = generate(model, prompts, { ...base, maxNewTokens: 40, rngs: 3, stopIds: Array.from({ length: 12 }, (_, i) => i + 10) });
    out.tokens.forEach((t, i) => {
      if (out.finish[i] === "stop") expect(t[t.length - 1]).toBeGreaterThanOrEqual(10);
      else expect(t.length).toBe(40);
    });
    expect(out.finish).toContain("stop");
  });

  it("rejects prompts that would overflow the positions", () => {
    expect(() => generate(model, [[1]], { ...base, maxNewTokens: 100, rngs: 1 })).toThrow(/exceeds max_position_embeddings 64/);
  });
});
