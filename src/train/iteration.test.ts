import { describe, expect, it } from "vitest";
import { ByteTokenizer, LlamaModel, LocalSampler, parseModelConfig } from "../model/index.js";
import * as T from "../tensor/index.js";
import { Rng } from "../util/rng.js";
import { parseTrainConfig } from "./config.js";
import { type IterationContext, runIteration } from "./iteration.js";
import type { TrainPrompt } from "./prompts.js";
import type { StepStats } from "./update.js";

const tok = new ByteTokenizer();

function setup(epochs: number, stepsPerIter: number, rl: Record<string, unknown> = {}, reward?: IterationContext["reward"]) {
  const model = LlamaModel.init(
    parseModelConfig({ model_type: "llama", vocab_size: tok.vocabSize, hidden_size: 16, intermediate_size: 32, num_hidden_layers: 1, num_attention_heads: 2, max_position_embeddings: 64 }),
    new Rng(4),
    0.5,
  );
  const config = parseTrainConfig({ rl: { method: "grpo", strategy: "uniform", promptsPerIter: 4, budget: 16, stepsPerIter, epochs, maxNewTokens: 6, lr: 1e-2, klCoef: 0, ...rl } });
  const steps: StepStats[] = [];
  const generated = { responses: 0, tokens: 0 };
  const prompts: TrainPrompt[] = ["Q: 1+2\n", "Q: 3*4\n", "Q: 9-5\n", "Q: 2+2\n"].map((p, i) => ({ id: `p${i}`, prompt: p, question: p, answer: "x", level: 1 }));
  const ctx: IterationContext = {
    config,
    policy: model,
    reference: null,
    opt: new T.AdamW(model.params, { lr: config.rl.lr, weightDecay: 0, beta1: 0.9, beta2: 0.999 }),
    sampler: new LocalSampler(model, tok),
    padId: tok.padId,
    // Rewards that differ within every group, so GRPO's advantages are not all 0.
    reward: reward ?? ((_p, response) => (response.length % 2 === 0 ? 1 : 0)),
    online: new Map(),
    onGenerated: (responses, tokens) => {
      generated.responses += responses;
      generated.tokens += tokens;
    },
    onStep: (stats) => steps.push(stats),
  };
  return { ctx, prompts, steps, generated };
}

describe("runIteration", () => {
  it("takes rl.epochs optimizer steps per mini-batch on the same responses, the later ones against the sampling policy", async () => {
    const { ctx, prompts, steps, generated } = setup(3, 2);
    const res = await runIteration(ctx, 1, prompts);
    expect(steps).toHaveLength(6);
    expect(res.generated).toBe(16);
    // Each mini-batch's epochs train on the same tokens.
    expect(steps.map((s) => s.tokens)).toEqual([steps[0]?.tokens, steps[0]?.tokens, steps[0]?.tokens, steps[3]?.tokens, steps[3]?.tokens, steps[3]?.tokens]);
    // The first epoch is at ratio 1: nothing clipped; a learning rate of 1e-2 moves the policy enough for later epochs to clip.
    expect(steps[0]?.clipFrac).toBe(0);
    expect(Math.max(...steps.map((s) => s.clipFrac))).toBeGreaterThan(0);
    expect(generated.responses).toBe(16);
    expect(generated.tokens).toBeGreaterThanOrEqual(16);
    expect(generated.tokens).toBeLessThanOrEqual(16 * 6);
  });

  it("takes one step per mini-batch with one epoch", async () => {
    const { ctx, prompts, steps } = setup(1, 4);
    await runIteration(ctx, 1, prompts);
    expect(steps).toHaveLength(4);
  });

  it("feeds every history-reading strategy its prompts' history, and greso skips a prompt that was always right", async () => {
    // p0 is always right; the others alternate, so each of their groups of 4 is mixed.
    let calls = 0;
    const reward: IterationContext["reward"] = (p) => (p.id === "p0" ? 1 : calls++ % 2 === 0 ? 1 : 0);
    for (const strategy of ["knapsack", "greso"]) {
      const { ctx, prompts } = setup(1, 1, { strategy }, reward);
      await runIteration(ctx, 1, prompts);
      expect([...ctx.online.keys()]).toEqual(["p0", "p1", "p2", "p3"]);
      expect(ctx.online.get("p0")).toMatchObject({ samples: 4, accepted: 4, streak: 1, time: 1 });
    }
    // Keep probability ~1e-9 for p0 after its all-right group: skipped, its 4 samples go to the rest.
    const { ctx, prompts } = setup(1, 1, { strategy: "greso", strategyOptions: { pEasy: 1e-9, minKeep: 0 } }, reward);
    await runIteration(ctx, 1, prompts);
    const second = await runIteration(ctx, 2, prompts);
    expect(second.allocation.n[0]).toBe(0);
    expect(second.allocation.n.reduce((a, b) => a + b, 0)).toBe(16);
    // A skipped prompt keeps its streak and sample count; the clock moves on.
    expect(ctx.online.get("p0")).toMatchObject({ samples: 4, accepted: 4, streak: 1, time: 2 });
  });
});
