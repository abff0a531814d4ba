/**
 * One GVM iteration (SPEC §1): stage 1 (N' responses per prompt, acceptance
 * rates p_i and gradient norms G_i), allocation of the budget N by a
 * strategy from the registry, then k update steps over prompt mini-batches,
 * each sampling its prompts' remaining responses from the current policy.
 * Every generated response is counted, stage 1 included, and the time of
 * each part is measured.
 */
import { type AllocationResult, getStrategy, type OnlinePromptState, updateOnlineState } from "../gvm/index.js";
import { type LlamaModel, perSampleGradNorms, type SampledResponse, type Sampler, type SamplerOptions } from "../model/index.js";
import { computeAdvantages } from "../rl/advantages.js";
import type { ClipConfig } from "../rl/losses.js";
import type * as T from "../tensor/index.js";
import { Rng } from "../util/rng.js";
import type { Method, TrainConfig } from "./config.js";
import type { TrainPrompt } from "./prompts.js";
import type { AllocationSummary, StepRecord } from "./records.js";
import { responseLogprobs } from "./scoring.js";
import { type StepStats, type TrainItem, updateStep } from "./update.js";

export interface Scored {
  response: SampledResponse;
  reward: 0 | 1;
}

export interface IterationContext {
  config: TrainConfig;
  policy: LlamaModel;
  reference: LlamaModel | null;
  opt: T.AdamW;
  sampler: Sampler;
  padId: number;
  /** 1 when a response to the prompt is accepted (exact match for the suite, the verifier for datasets). */
  reward: (prompt: TrainPrompt, response: string) => 0 | 1;
  /** Per-prompt history by prompt id (strategies that read "online": gvm-online, knapsack, greso); updated in place. */
  online: Map<string, OnlinePromptState>;
  /** Called whenever responses are generated (stage 1 and each step's fresh ones), with their count and their tokens. */
  onGenerated: (responses: number, tokens: number) => void;
  /** Called after each optimizer step with its statistics. */
  onStep: (stats: StepStats, extra: Pick<StepRecord, "acceptedFrac" | "responseLen" | "tokensPerSec">) => void;
}

export interface IterationResult {
  generated: number;
  stage1: number;
  stage2: number;
  trainReward: number;
  acceptedFrac: number;
  /** Seconds; scoring = log-probs computed in-process for responses a server returned without them. */
  time: { sampling: number; scoring: number; gradNorms: number; update: number };
  allocation: AllocationSummary;
  /** A few responses for the samples log. */
  examples: Array<{ prompt: string; response: string; reward: number }>;
}

const LEARNER: Record<Method, { advantage: string; loss: "vanilla" | "plusplus"; acceptedOnly: boolean }> = {
  raft: { advantage: "raft", loss: "vanilla", acceptedOnly: true },
  raftpp: { advantage: "raft", loss: "plusplus", acceptedOnly: true },
  grpo: { advantage: "grpo", loss: "plusplus", acceptedOnly: false },
};

/**
 * Tokens per forward pass, at most `tokens`, such that the logits (tokens x
 * vocabulary floats) stay near 256 MB: a 150k-token vocabulary would
 * otherwise need gigabytes per pass; small vocabularies keep `tokens`.
 */
function logitBudget(ctx: IterationContext, tokens: number): number {
  return Math.max(1, Math.min(tokens, Math.floor((1 << 26) / ctx.policy.config.vocabSize)));
}

/** Generated tokens of a batch of responses (stop tokens included: they were sampled too). */
function tokenCount(out: readonly (readonly SampledResponse[])[]): number {
  return out.reduce((n, rs) => rs.reduce((a, r) => a + r.tokens.length, n), 0);
}

function score(ctx: IterationContext, problem: TrainPrompt, responses: readonly SampledResponse[]): Scored[] {
  return responses.map((response) => ({ response, reward: ctx.reward(problem, response.text) }));
}

/**
 * Gives every response its behaviour log-probs: servers that return none
 * (or were not asked) get them computed in-process under the current
 * policy, before any update of this batch.
 */
function withLogprobs(ctx: IterationContext, prompts: readonly TrainPrompt[], out: SampledResponse[][], time: IterationResult["time"]): SampledResponse[][] {
  const missing: Array<{ i: number; j: number }> = [];
  out.forEach((rs, i) => rs.forEach((r, j) => r.logprobs === null && r.tokens.length > 0 && missing.push({ i, j })));
  if (missing.length === 0) return out;
  const t0 = performance.now();
  const promptTokens = prompts.map((p) => ctx.sampler.promptTokens(p.prompt));
  const lps = responseLogprobs(
    ctx.policy,
    missing.map(({ i, j }) => ({ prompt: promptTokens[i] as number[], response: ((out[i] as SampledResponse[])[j] as SampledResponse).tokens })),
    { temperature: ctx.config.rl.temperature, padId: ctx.padId },
  );
  const copy = out.map((rs) => [...rs]);
  missing.forEach(({ i, j }, q) => {
    const row = copy[i] as SampledResponse[];
    row[j] = { ...(row[j] as SampledResponse), logprobs: lps[q] as number[] };
  });
  time.scoring += (performance.now() - t0) / 1000;
  return copy;
}

/** Mean over accepted responses of the per-sample gradient norm; 0 with none accepted. */
function meanGradNorms(ctx: IterationContext, prompts: readonly TrainPrompt[], scored: readonly Scored[][]): { G: number[]; sums: number[]; counts: number[] } {
  const items: Array<{ prompt: number[]; response: number[] }> = [];
  const owner: number[] = [];
  scored.forEach((list, i) => {
    const promptTokens = ctx.sampler.promptTokens((prompts[i] as TrainPrompt).prompt);
    for (const s of list) {
      if (s.reward === 1) {
        items.push({ prompt: promptTokens, response: s.response.tokens });
        owner.push(i);
      }
    }
  });
  const longest = items.reduce((n, it) => Math.max(n, it.prompt.length + it.response.length), 1);
  const maxBatch = Math.max(1, Math.floor(logitBudget(ctx, 32 * longest) / longest));
  const norms = perSampleGradNorms(ctx.policy, items, { subset: ctx.config.rl.gradSubset, padId: ctx.padId, maxBatch });
  const sums = new Array<number>(prompts.length).fill(0);
  const counts = new Array<number>(prompts.length).fill(0);
  owner.forEach((i, k) => {
    sums[i] = (sums[i] as number) + (norms[k] as number);
    counts[i] = (counts[i] as number) + 1;
  });
  return { G: sums.map((s, i) => ((counts[i] as number) > 0 ? s / (counts[i] as number) : 0)), sums, counts };
}

export async function runIteration(ctx: IterationContext, iter: number, prompts: readonly TrainPrompt[]): Promise<IterationResult> {
  const rl = ctx.config.rl;
  const seed = ctx.config.seed;
  const m = prompts.length;
  const strategy = getStrategy(rl.strategy);
  const needsStage1 = strategy.needsStage1;
  const usesOnline = strategy.reads.includes("online");
  const learner = LEARNER[rl.method];
  const sampling: SamplerOptions = { temperature: rl.temperature, topP: 1, topK: 0, maxNewTokens: rl.maxNewTokens };
  const time = { sampling: 0, scoring: 0, gradNorms: 0, update: 0 };
  const clock = (key: keyof typeof time, t0: number) => (time[key] += (performance.now() - t0) / 1000);
  let generated = 0;
  let acceptedGenerated = 0;

  // Strategy options: in inclusive mode stage 1 is part of every prompt's n_i.
  const rawOptions: Record<string, unknown> = { ...rl.strategyOptions };
  if (needsStage1 && rl.budgetMode === "inclusive") rawOptions.nMin = Math.max(Number(rawOptions.nMin ?? 0), rl.stage1);
  const options = strategy.parseOptions(rawOptions);

  // Stage 1: N' responses per prompt, p_i and G_i.
  let stage1: Scored[][] = prompts.map(() => []);
  let acceptRate: number[] | undefined;
  let gradNorm: number[] | undefined;
  if (needsStage1) {
    let t0 = performance.now();
    let out = await ctx.sampler.sample(
      prompts.map((p, i) => ({ prompt: p.prompt, n: rl.stage1, seed: Rng.derive(seed, iter, 1, i).u32() })),
      sampling,
    );
    clock("sampling", t0);
    out = withLogprobs(ctx, prompts, out, time);
    stage1 = out.map((rs, i) => score(ctx, prompts[i] as TrainPrompt, rs));
    generated += m * rl.stage1;
    ctx.onGenerated(m * rl.stage1, tokenCount(out));
    acceptRate = stage1.map((list) => list.filter((s) => s.reward === 1).length / rl.stage1);
    acceptedGenerated += stage1.flat().reduce((a, s) => a + s.reward, 0);
    if (strategy.needsGradNorms(options)) {
      t0 = performance.now();
      gradNorm = meanGradNorms(ctx, prompts, stage1).G;
      clock("gradNorms", t0);
    }
  }

  // Allocation.
  const states = prompts.map((p) => ctx.online.get(p.id) ?? null);
  const alloc: AllocationResult = strategy.allocate(
    {
      prompts: m,
      ...(acceptRate ? { acceptRate, sampleCount: new Array<number>(m).fill(rl.stage1) } : {}),
      ...(gradNorm ? { gradNorm } : {}),
      ...(usesOnline ? { online: { now: iter, states }, seed } : {}),
    },
    rl.budget,
    options,
  );
  const n = alloc.n;

  // Update: k steps over prompt mini-batches; each samples its prompts' remaining responses now.
  const k = rl.stepsPerIter;
  let rewardSum = 0;
  let trainedResponses = 0;
  let stage2 = 0;
  const examples: IterationResult["examples"] = [];
  const clip: ClipConfig = { epsLow: rl.epsLow, epsHigh: rl.epsHigh, dualClipC: rl.dualClipC };
  for (let j = 0; j < k; j++) {
    const lo = Math.floor((j * m) / k);
    const hi = Math.floor(((j + 1) * m) / k);
    const idx = Array.from({ length: hi - lo }, (_, q) => lo + q);
    const reused = idx.map((i) => (rl.reuseStage1 ? (stage1[i] as Scored[]).slice(0, n[i] as number) : []));
    const fresh = idx.map((i, q) => (n[i] as number) - (reused[q] as Scored[]).length);
    let t0 = performance.now();
    let out = await ctx.sampler.sample(
      idx.map((i, q) => ({ prompt: (prompts[i] as TrainPrompt).prompt, n: fresh[q] as number, seed: Rng.derive(seed, iter, 2, i).u32() })),
      sampling,
    );
    clock("sampling", t0);
    out = withLogprobs(ctx, idx.map((i) => prompts[i] as TrainPrompt), out, time);
    const freshScored = idx.map((i, q) => score(ctx, prompts[i] as TrainPrompt, out[q] as SampledResponse[]));
    const groups = idx.map((_, q) => [...(reused[q] as Scored[]), ...(freshScored[q] as Scored[])]);
    const stepGenerated = fresh.reduce((a, b) => a + b, 0);
    acceptedGenerated += freshScored.flat().reduce((a, s) => a + s.reward, 0);
    stage2 += stepGenerated;
    generated += stepGenerated;
    ctx.onGenerated(stepGenerated, tokenCount(out));

    if (usesOnline) {
      // Each prompt's fresh evidence feeds its online estimate (gradient norms only if the options use them).
      // Strategies without a halfLife option (greso) keep undecayed counts.
      const decay = { halfLife: (options as { halfLife?: number | null }).halfLife ?? null };
      const useG = strategy.needsGradNorms(options);
      const g = useG ? ((t0 = performance.now()), meanGradNorms(ctx, idx.map((i) => prompts[i] as TrainPrompt), groups)) : null;
      if (g) clock("gradNorms", t0);
      idx.forEach((i, q) => {
        const list = groups[q] as Scored[];
        const acc = list.filter((s) => s.reward === 1).length;
        const obs = { total: list.length, accepted: acc, ...(g ? { gradNormSum: g.sums[q] as number, gradNormCount: g.counts[q] as number } : {}) };
        const p = prompts[i] as TrainPrompt;
        ctx.online.set(p.id, updateOnlineState(ctx.online.get(p.id) ?? null, obs, iter, decay));
      });
    }

    const rewards = groups.flatMap((list) => list.map((s) => s.reward));
    const adv = computeAdvantages(learner.advantage, { rewards, groupSizes: groups.map((g) => g.length) });
    const items: TrainItem[] = [];
    let r = 0;
    groups.forEach((list, q) => {
      const promptTokens = ctx.sampler.promptTokens((prompts[idx[q] as number] as TrainPrompt).prompt);
      for (const s of list) {
        const a = adv[r++] as number;
        rewardSum += s.reward;
        trainedResponses++;
        if (learner.acceptedOnly && s.reward !== 1) continue;
        if (s.response.tokens.length === 0) continue;
        items.push({ prompt: promptTokens, response: s.response.tokens, oldLogp: s.response.logprobs ?? [], advantage: a });
      }
      const first = list[0];
      if (examples.length < 4 && first) examples.push({ prompt: (prompts[idx[q] as number] as TrainPrompt).prompt, response: first.response.text, reward: first.reward });
    });
    const stepAccepted = rewards.reduce((a: number, b) => a + b, 0);
    const responseLen = groups.flat().reduce((a, s) => a + s.response.tokens.length, 0) / Math.max(1, rewards.length);
    // rl.epochs passes over the same responses (PPO epochs): the first at ratio 1, later ones clipped against the sampling policy.
    for (let epoch = 0; epoch < rl.epochs; epoch++) {
      t0 = performance.now();
      const stats: StepStats =
        items.length > 0
          ? updateStep(ctx.policy, ctx.reference, ctx.opt, items, {
              loss: learner.loss,
              clip,
              lossAgg: rl.lossAgg,
              klCoef: rl.klCoef,
              klEstimator: rl.klEstimator,
              maxGradNorm: rl.maxGradNorm,
              temperature: rl.temperature,
              padId: ctx.padId,
              microBatchTokens: logitBudget(ctx, 8192),
            })
          : { loss: 0, kl: 0, entropy: 0, clipFrac: 0, gradNorm: 0, tokens: 0 };
      const dt = (performance.now() - t0) / 1000;
      time.update += dt;
      ctx.onStep(stats, { acceptedFrac: stepAccepted / Math.max(1, rewards.length), responseLen, tokensPerSec: stats.tokens / Math.max(dt, 1e-9) });
    }
  }

  return {
    generated,
    stage1: needsStage1 ? m * rl.stage1 : 0,
    stage2,
    trainReward: rewardSum / Math.max(1, trainedResponses),
    acceptedFrac: acceptedGenerated / Math.max(1, generated),
    time,
    allocation: {
      ids: prompts.map((p) => p.id),
      level: prompts.map((p) => p.level ?? Number.NaN),
      p: alloc.acceptRate ?? new Array<number>(m).fill(Number.NaN),
      G: alloc.gradNorm ?? new Array<number>(m).fill(Number.NaN),
      n,
      status: [alloc.fallback !== "none" ? `fallback: ${alloc.fallback}` : "", ...alloc.notes].filter(Boolean).join("; ") || "ok",
    },
    examples,
  };
}
