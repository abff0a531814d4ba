import { describe, expect, it } from "vitest";
import { ByteTokenizer, LlamaModel, parseModelConfig } from "../model/index.js";
import { LocalSampler, type Sampler } from "../rollout/index.js";
import * as T from "../tensor/index.js";
import { Rng } from "../util/rng.js";
import { parseTrainConfig } from "./config.js";
import { type IterationContext, IterationError, planIterations, runIteration } from "./iteration.js";
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
    plan: planIterations(config.seed, config.rl),
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

describe("planIterations", () => {
  it("resolves the learner, sizes and update settings from the rl section", () => {
    const plan = planIterations(7, parseTrainConfig({ rl: { method: "grpo", strategy: "gvm-ponly", epochs: 2, epsHigh: 0.3, temperature: 0.8 } }).rl);
    expect(plan).toMatchObject({ seed: 7, learner: { advantage: "grpo", acceptedOnly: false }, sizes: { budget: 512, stage1: 4, stepsPerIter: 1 }, sampling: { temperature: 0.8, maxNewTokens: 96 } });
    expect(plan.update).toMatchObject({ epochs: 2, settings: { loss: "plusplus", clip: { epsLow: 0.2, epsHigh: 0.3 }, temperature: 0.8 } });
    // Stage 1 counts inside the budget: each prompt keeps at least its N' responses.
    expect(plan.strategy.options).toMatchObject({ nMin: 4 });
  });

  it("refuses a stage 1 larger than an inclusive budget, only for strategies that run one", () => {
    const rl = (strategy: string) => parseTrainConfig({ rl: { strategy, promptsPerIter: 64, budget: 128, stage1: 4 } }).rl;
    expect(() => planIterations(0, rl("gvm-ponly"))).toThrow(/rl\.budget \(128\) is smaller than stage 1 \(rl\.stage1 x rl\.promptsPerIter = 256\) of strategy 'gvm-ponly'/);
    expect(planIterations(0, rl("uniform")).sizes.budget).toBe(128);
    expect(planIterations(0, { ...rl("gvm-ponly"), budgetMode: "paper" }).sizes.budget).toBe(128);
  });
});

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

/** Wraps a sampler and counts what it really returned, to check the iteration's accounting against. */
function counting(inner: Sampler): { sampler: Sampler; seen: { calls: number; responses: number; tokens: number } } {
  const seen = { calls: 0, responses: 0, tokens: 0 };
  const sampler: Sampler = {
    name: inner.name,
    promptTokens: (prompt) => inner.promptTokens(prompt),
    sample: async (requests, options, onProgress) => {
      const out = await inner.sample(requests, options, onProgress);
      seen.calls++;
      for (const r of out.flat()) {
        seen.responses++;
        seen.tokens += r.tokens.length;
      }
      return out;
    },
  };
  return { sampler, seen };
}

describe("runIteration: strategies that generate in rounds", () => {
  // p0 and p1 are always right (all-equal groups); every other prompt alternates, so its groups are mixed.
  const rewardFor = (): IterationContext["reward"] => {
    let calls = 0;
    return (p) => (p.id === "p0" || p.id === "p1" ? 1 : calls++ % 2 === 0 ? 1 : 0);
  };
  const extra = (count: number, from: number): TrainPrompt[] =>
    Array.from({ length: count }, (_, q) => ({ id: `x${from + q}`, prompt: `Q: ${from + q}+1\n`, question: "", answer: "x", level: 2 }));

  it("dapo: drops all-equal groups, draws new prompts for a second batch, and counts every response and token the sampler made", async () => {
    const { ctx, prompts, steps, generated } = setup(1, 2, { strategy: "dapo", budget: 32 }, rewardFor());
    const { sampler, seen } = counting(ctx.sampler);
    ctx.sampler = sampler;
    let drawnSoFar = 0;
    ctx.drawPrompts = (count) => {
      const next = extra(count, drawnSoFar);
      drawnSoFar += count;
      return next;
    };
    const res = await runIteration(ctx, 1, prompts);
    // Default groups of max(2, floor(32 / (2 x 4))) = 4: batch 1 is the iteration's 4 prompts, batch 2 four new ones; the budget is spent.
    expect(drawnSoFar).toBe(4);
    expect(seen.calls).toBe(2);
    expect(res.generation).toMatchObject({ rounds: 2, responses: [16, 16], prompts: 8, trained: 16 });
    // Every kept group is mixed, so every trained response has a non-zero GRPO advantage.
    expect(res.generation.informative).toBe(16);
    expect(res.allocation.ids).toEqual(["p0", "p1", "p2", "p3", "x0", "x1", "x2", "x3"]);
    expect(res.allocation.n).toEqual([4, 4, 4, 4, 4, 4, 4, 4]);
    // p0, p1 all right: dropped; p2, p3, x0, x1 kept; x2, x3 surplus (verl trims to m groups).
    expect(res.allocation.trained).toEqual([0, 0, 4, 4, 4, 4, 0, 0]);
    expect(res.allocation.status).toMatch(/dapo: 2 generation batch\(es\) of groups of 4; 4 of 4 groups kept, 2 all-equal dropped, 2 surplus dropped/);
    // Accounting: what the sampler returned, what the trainer was told, what the record says.
    expect(res.generated).toBe(seen.responses);
    expect(generated).toEqual({ responses: seen.responses, tokens: seen.tokens });
    expect(res.generation.tokens.reduce((a, b) => a + b, 0)).toBe(seen.tokens);
    expect(res.generated).toBeLessThanOrEqual(32);
    expect(res.stage1 + res.stage2).toBe(res.generated);
    expect(steps).toHaveLength(2);
  });

  it("counts the trained responses that move the policy: not all-equal GRPO groups, not RAFT++'s rejected ones", async () => {
    // p0, p1 always right; p2, p3 alternate right and wrong within their group of 4.
    const grpo = setup(1, 1, { strategy: "uniform" }, rewardFor());
    const g = await runIteration(grpo.ctx, 1, grpo.prompts);
    expect(g.generation).toMatchObject({ trained: 16, informative: 8 });
    const raftpp = setup(1, 1, { strategy: "uniform", method: "raftpp" }, rewardFor());
    const r = await runIteration(raftpp.ctx, 1, raftpp.prompts);
    expect(r.generation).toMatchObject({ trained: 16, informative: 12 });
  });

  it("reinforce-ada: samples the unresolved prompts again until the budget, down-samples every group, and counts it all", async () => {
    const { ctx, prompts, generated } = setup(1, 1, { strategy: "reinforce-ada", budget: 30, strategyOptions: { roundSize: 4, groupSize: 2 } }, rewardFor());
    const { sampler, seen } = counting(ctx.sampler);
    ctx.sampler = sampler;
    const res = await runIteration(ctx, 1, prompts);
    // Round 1: 4 x 4; p2, p3 resolve (one right, one wrong). Round 2: p0, p1 x 4. Round 3: the 6 left, 3 each. Then the budget is spent.
    expect(res.generation).toMatchObject({ rounds: 3, responses: [16, 8, 6], prompts: 4, trained: 8 });
    expect(res.allocation.n).toEqual([11, 11, 4, 4]);
    expect(res.allocation.trained).toEqual([2, 2, 2, 2]);
    expect(res.allocation.status).toMatch(/reinforce-ada \(balanced\): 3 round\(s\); 2 resolved, 2 still active/);
    expect(res.generated).toBe(30);
    expect(res.generated).toBe(seen.responses);
    expect(generated).toEqual({ responses: seen.responses, tokens: seen.tokens });
    expect(res.generation.tokens.reduce((a, b) => a + b, 0)).toBe(seen.tokens);
  });

  it("fails clearly when a strategy asks for new prompts and the iteration has no stream", async () => {
    const { ctx, prompts } = setup(1, 1, { strategy: "dapo", budget: 32 }, rewardFor());
    await expect(runIteration(ctx, 1, prompts)).rejects.toThrow(IterationError);
  });
});
