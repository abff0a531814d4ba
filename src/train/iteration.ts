/**
 * One GVM iteration (SPEC §1): stage 1 (N' responses per prompt, acceptance
 * rates p_i and gradient norms G_i), allocation of the budget N by a
 * strategy from the registry, then k update steps over prompt mini-batches,
 * each sampling its prompts' remaining responses from the current policy.
 * Strategies that generate in rounds (dapo, reinforce-ada) are driven
 * through their RoundPlanner instead: round after round it says which
 * prompts get how many more samples (drawing new prompts from the run's
 * stream when it asks), every round from the current policy, and at the end
 * which samples the k update steps train on. Every generated response and
 * token is counted, stage 1, every round and every discarded group
 * included, and the time of each part is measured.
 */
import { type AllocationResult, type AllocationStrategy, checkRoundRequest, getStrategy, inclusiveOptions, type OnlinePromptState, type RoundContext, type RoundPlanner, type RoundSelection, type RoundState, updateOnlineState } from "../gvm/index.js";
import { type GradSubset, type LlamaModel, perSampleGradNorms } from "../model/index.js";
import { type SampledResponse, type Sampler, type SamplerOptions, type SamplingRequest } from "../rollout/index.js";
import { computeAdvantages } from "../rl/advantages.js";
import { type Learner, LEARNERS } from "../rl/learners.js";
import type * as T from "../tensor/index.js";
import { ConfigError, GvmError } from "../util/errors.js";
import { Rng } from "../util/rng.js";
import type { RlConfig } from "./config.js";
import type { TrainPrompt } from "./prompts.js";
import type { AllocationSummary, GenerationSummary, StepRecord } from "./records.js";
import { responseLogprobs } from "./scoring.js";
import { type StepStats, type TrainItem, type UpdateSettings, updateStep } from "./update.js";

export interface Scored {
  response: SampledResponse;
  reward: 0 | 1;
}

/**
 * What an iteration reads of the run's config, resolved once when the run
 * starts (planIterations): each part of an iteration takes its own slice.
 */
export interface IterationPlan {
  /** The run's seed: every draw derives from (seed, iteration, stream, ...). */
  seed: number;
  strategy: ResolvedStrategy;
  learner: Learner;
  /** Responses per iteration (N), stage-1 responses per prompt (N'), whether those train, and the k mini-batches. */
  sizes: Pick<RlConfig, "budget" | "stage1" | "reuseStage1" | "stepsPerIter">;
  /** How rollouts are drawn. */
  sampling: Pick<SamplerOptions, "temperature" | "maxNewTokens">;
  /** Optimizer steps per mini-batch (PPO epochs) and what each step does, less what the iteration knows (padding, micro-batch size). */
  update: { epochs: number; settings: Omit<UpdateSettings, "padId" | "microBatchTokens"> };
  /** Parameters whose per-sample gradient norm defines G_i. */
  gradSubset: GradSubset;
}

/** The run's rl section resolved into an iteration plan: strategy and options parsed, learner looked up. */
export function planIterations(seed: number, rl: RlConfig): IterationPlan {
  const learner = LEARNERS[rl.method];
  return {
    seed,
    strategy: resolveStrategy(rl),
    learner,
    sizes: { budget: rl.budget, stage1: rl.stage1, reuseStage1: rl.reuseStage1, stepsPerIter: rl.stepsPerIter },
    sampling: { temperature: rl.temperature, maxNewTokens: rl.maxNewTokens },
    update: {
      epochs: rl.epochs,
      settings: {
        loss: learner.loss,
        clip: { epsLow: rl.epsLow, epsHigh: rl.epsHigh, dualClipC: rl.dualClipC },
        lossAgg: rl.lossAgg,
        klCoef: rl.klCoef,
        klEstimator: rl.klEstimator,
        maxGradNorm: rl.maxGradNorm,
        temperature: rl.temperature,
      },
    },
    gradSubset: rl.gradSubset,
  };
}

export interface IterationContext {
  plan: IterationPlan;
  policy: LlamaModel;
  reference: LlamaModel | null;
  opt: T.AdamW;
  sampler: Sampler;
  padId: number;
  /** 1 when a response to the prompt is accepted (exact match for the suite, the verifier for datasets). */
  reward: (prompt: TrainPrompt, response: string) => 0 | 1;
  /** Per-prompt history by prompt id (strategies that read "online": gvm-online, knapsack, greso); updated in place. */
  online: Map<string, OnlinePromptState>;
  /**
   * The next `count` prompts of the run's prompt stream, after the
   * iteration's own and any drawn before: for strategies whose rounds ask
   * for new prompts (dapo). Absent: such a strategy fails when it asks.
   */
  drawPrompts?: (count: number) => TrainPrompt[];
  /** Called whenever responses are generated (stage 1, each step's fresh ones, each round), with their count and their tokens. */
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
  generation: GenerationSummary;
  /** A few responses for the samples log. */
  examples: Array<{ prompt: string; response: string; reward: number }>;
}

/** A strategy's rounds asked for something the iteration cannot give (new prompts without a prompt stream). */
export class IterationError extends GvmError {}

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
    { temperature: ctx.plan.sampling.temperature, padId: ctx.padId },
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
  const norms = perSampleGradNorms(ctx.policy, items, { subset: ctx.plan.gradSubset, padId: ctx.padId, maxBatch });
  const sums = new Array<number>(prompts.length).fill(0);
  const counts = new Array<number>(prompts.length).fill(0);
  owner.forEach((i, k) => {
    sums[i] = (sums[i] as number) + (norms[k] as number);
    counts[i] = (counts[i] as number) + 1;
  });
  return { G: sums.map((s, i) => ((counts[i] as number) > 0 ? s / (counts[i] as number) : 0)), sums, counts };
}

/** What an iteration accumulates while it samples and trains. */
interface Tally {
  generated: number;
  accepted: number;
  /** One entry per sampling pass. */
  passes: Array<{ responses: number; tokens: number }>;
  rewardSum: number;
  trained: number;
  /** Of those, the responses the loss uses with a non-zero advantage. */
  informative: number;
  examples: IterationResult["examples"];
  time: IterationResult["time"];
}

/** One sampling pass from the current policy: log-probs filled in, scored, and every response and token counted. */
async function samplePass(ctx: IterationContext, tally: Tally, prompts: readonly TrainPrompt[], requests: readonly SamplingRequest[]): Promise<Scored[][]> {
  const t0 = performance.now();
  let out = await ctx.sampler.sample(requests, { ...ctx.plan.sampling, topP: 1, topK: 0 });
  tally.time.sampling += (performance.now() - t0) / 1000;
  out = withLogprobs(ctx, prompts, out, tally.time);
  const scored = out.map((rs, i) => score(ctx, prompts[i] as TrainPrompt, rs));
  const responses = out.reduce((a, rs) => a + rs.length, 0);
  const tokens = tokenCount(out);
  tally.generated += responses;
  tally.accepted += scored.reduce((a, list) => list.reduce((b, s) => b + s.reward, a), 0);
  tally.passes.push({ responses, tokens });
  ctx.onGenerated(responses, tokens);
  return scored;
}

/** One mini-batch of groups: advantages by the learner, then the plan's epochs of optimizer steps on its responses. */
function trainGroups(ctx: IterationContext, tally: Tally, prompts: readonly TrainPrompt[], groups: readonly Scored[][]): void {
  const { learner, update } = ctx.plan;
  const rewards = groups.flatMap((list) => list.map((s) => s.reward));
  const adv = computeAdvantages(learner.advantage, { rewards, groupSizes: groups.map((g) => g.length) });
  const items: TrainItem[] = [];
  let r = 0;
  groups.forEach((list, q) => {
    const prompt = prompts[q] as TrainPrompt;
    const promptTokens = ctx.sampler.promptTokens(prompt.prompt);
    for (const s of list) {
      const a = adv[r++] as number;
      tally.rewardSum += s.reward;
      tally.trained++;
      if (learner.acceptedOnly && s.reward !== 1) continue;
      if (s.response.tokens.length === 0) continue;
      if (a !== 0) tally.informative++;
      items.push({ prompt: promptTokens, response: s.response.tokens, oldLogp: s.response.logprobs ?? [], advantage: a });
    }
    const first = list[0];
    if (tally.examples.length < 4 && first) tally.examples.push({ prompt: prompt.prompt, response: first.response.text, reward: first.reward });
  });
  const stepAccepted = rewards.reduce((a: number, b) => a + b, 0);
  const responseLen = groups.flat().reduce((a, s) => a + s.response.tokens.length, 0) / Math.max(1, rewards.length);
  const settings: UpdateSettings = { ...update.settings, padId: ctx.padId, microBatchTokens: logitBudget(ctx, 8192) };
  // Several passes over the same responses (PPO epochs): the first at ratio 1, later ones clipped against the sampling policy.
  for (let epoch = 0; epoch < update.epochs; epoch++) {
    const t0 = performance.now();
    const stats: StepStats = items.length > 0 ? updateStep(ctx.policy, ctx.reference, ctx.opt, items, settings) : { loss: 0, kl: 0, entropy: 0, clipFrac: 0, gradNorm: 0, tokens: 0 };
    const dt = (performance.now() - t0) / 1000;
    tally.time.update += dt;
    ctx.onStep(stats, { acceptedFrac: stepAccepted / Math.max(1, rewards.length), responseLen, tokensPerSec: stats.tokens / Math.max(dt, 1e-9) });
  }
}

/** The q-th of k consecutive slices of 0..count-1 (sizes differing by at most one). */
function slice(count: number, k: number, q: number): number[] {
  const lo = Math.floor((q * count) / k);
  const hi = Math.floor(((q + 1) * count) / k);
  return Array.from({ length: hi - lo }, (_, i) => lo + i);
}

function summary(tally: Tally, prompts: number): GenerationSummary {
  return { rounds: tally.passes.length, responses: tally.passes.map((p) => p.responses), tokens: tally.passes.map((p) => p.tokens), trained: tally.trained, informative: tally.informative, prompts };
}

/** The run's allocation strategy and its options, parsed once when the run starts (resolveStrategy). */
export interface ResolvedStrategy {
  strategy: AllocationStrategy<unknown>;
  /** As the strategy parsed them; for a one-shot strategy whose stage 1 counts inside the budget, nMin is at least rl.stage1. */
  options: unknown;
}

/**
 * Looks up rl.strategy and parses its options, failing with the config's
 * words when either is wrong, or when a stage 1 that counts inside the
 * budget (inclusive mode, strategies that run one) would not fit in it.
 */
function resolveStrategy(rl: Pick<RlConfig, "strategy" | "strategyOptions" | "budgetMode" | "stage1" | "budget" | "promptsPerIter">): ResolvedStrategy {
  const strategy = getStrategy(rl.strategy);
  const inclusive = !strategy.rounds && strategy.needsStage1 && rl.budgetMode === "inclusive";
  if (inclusive && rl.stage1 * rl.promptsPerIter > rl.budget) {
    throw new ConfigError(`rl.budget (${rl.budget}) is smaller than stage 1 (rl.stage1 x rl.promptsPerIter = ${rl.stage1 * rl.promptsPerIter}) of strategy '${rl.strategy}' in inclusive budget mode`);
  }
  return { strategy, options: strategy.parseOptions(inclusive ? inclusiveOptions(rl.strategyOptions, rl.stage1) : { ...rl.strategyOptions }) };
}

export async function runIteration(ctx: IterationContext, iter: number, prompts: readonly TrainPrompt[]): Promise<IterationResult> {
  const { strategy, options } = ctx.plan.strategy;
  const tally: Tally = { generated: 0, accepted: 0, passes: [], rewardSum: 0, trained: 0, informative: 0, examples: [], time: { sampling: 0, scoring: 0, gradNorms: 0, update: 0 } };
  if (strategy.rounds) return runRounds(ctx, tally, iter, prompts, strategy.rounds, options);
  return runOneShot(ctx, tally, iter, prompts);
}

/** Stage 1 (if the strategy needs it), one allocation, then k mini-batches each sampling its prompts' responses and training on them. */
async function runOneShot(ctx: IterationContext, tally: Tally, iter: number, prompts: readonly TrainPrompt[]): Promise<IterationResult> {
  const { seed, sizes } = ctx.plan;
  const m = prompts.length;
  const { strategy, options } = ctx.plan.strategy;
  const needsStage1 = strategy.needsStage1;
  const usesOnline = strategy.reads.includes("online");
  const time = tally.time;
  const clock = (key: keyof typeof time, t0: number) => (time[key] += (performance.now() - t0) / 1000);

  // Stage 1: N' responses per prompt, p_i and G_i.
  let stage1: Scored[][] = prompts.map(() => []);
  let acceptRate: number[] | undefined;
  let gradNorm: number[] | undefined;
  if (needsStage1) {
    stage1 = await samplePass(ctx, tally, prompts, prompts.map((p, i) => ({ prompt: p.prompt, n: sizes.stage1, seed: Rng.derive(seed, iter, 1, i).u32() })));
    acceptRate = stage1.map((list) => list.filter((s) => s.reward === 1).length / sizes.stage1);
    if (strategy.needsGradNorms(options)) {
      const t0 = performance.now();
      gradNorm = meanGradNorms(ctx, prompts, stage1).G;
      clock("gradNorms", t0);
    }
  }
  const stage1Generated = tally.generated;

  // Allocation.
  const states = prompts.map((p) => ctx.online.get(p.id) ?? null);
  const alloc: AllocationResult = strategy.allocate(
    {
      prompts: m,
      ...(acceptRate ? { acceptRate, sampleCount: new Array<number>(m).fill(sizes.stage1) } : {}),
      ...(gradNorm ? { gradNorm } : {}),
      ...(usesOnline ? { online: { now: iter, states }, seed } : {}),
    },
    sizes.budget,
    options,
  );
  const n = alloc.n;

  // Update: k steps over prompt mini-batches; each samples its prompts' remaining responses now.
  const trained = new Array<number>(m).fill(0);
  for (let j = 0; j < sizes.stepsPerIter; j++) {
    const idx = slice(m, sizes.stepsPerIter, j);
    const batch = idx.map((i) => prompts[i] as TrainPrompt);
    const reused = idx.map((i) => (sizes.reuseStage1 ? (stage1[i] as Scored[]).slice(0, n[i] as number) : []));
    const fresh = idx.map((i, q) => (n[i] as number) - (reused[q] as Scored[]).length);
    const freshScored = await samplePass(ctx, tally, batch, idx.map((i, q) => ({ prompt: (prompts[i] as TrainPrompt).prompt, n: fresh[q] as number, seed: Rng.derive(seed, iter, 2, i).u32() })));
    const groups = idx.map((_, q) => [...(reused[q] as Scored[]), ...(freshScored[q] as Scored[])]);
    idx.forEach((i, q) => (trained[i] = (groups[q] as Scored[]).length));

    if (usesOnline) {
      // Each prompt's fresh evidence feeds its online estimate (gradient norms only if the options use them).
      const decay = { halfLife: strategy.historyHalfLife?.(options) ?? null };
      const t0 = performance.now();
      const g = strategy.needsGradNorms(options) ? meanGradNorms(ctx, batch, groups) : null;
      if (g) clock("gradNorms", t0);
      idx.forEach((i, q) => {
        const list = groups[q] as Scored[];
        const acc = list.filter((s) => s.reward === 1).length;
        const obs = { total: list.length, accepted: acc, ...(g ? { gradNormSum: g.sums[q] as number, gradNormCount: g.counts[q] as number } : {}) };
        const p = prompts[i] as TrainPrompt;
        ctx.online.set(p.id, updateOnlineState(ctx.online.get(p.id) ?? null, obs, iter, decay));
      });
    }
    trainGroups(ctx, tally, batch, groups);
  }

  return {
    generated: tally.generated,
    stage1: stage1Generated,
    stage2: tally.generated - stage1Generated,
    trainReward: tally.rewardSum / Math.max(1, tally.trained),
    acceptedFrac: tally.accepted / Math.max(1, tally.generated),
    time,
    allocation: {
      ids: prompts.map((p) => p.id),
      level: prompts.map((p) => p.level ?? Number.NaN),
      p: alloc.acceptRate ?? new Array<number>(m).fill(Number.NaN),
      G: alloc.gradNorm ?? new Array<number>(m).fill(Number.NaN),
      n,
      trained,
      status: [alloc.fallback !== "none" ? `fallback: ${alloc.fallback}` : "", ...alloc.notes].filter(Boolean).join("; ") || "ok",
    },
    generation: summary(tally, m),
    examples: tally.examples,
  };
}

/**
 * A strategy that generates in rounds: its planner says, round after round
 * and from every reward so far, which prompts get how many more samples
 * (new ones drawn from the run's stream when it asks); each request is
 * checked against the budget left before anything is sampled. The samples
 * it selects then train in k mini-batches of whole groups, in drawing order.
 */
async function runRounds<O>(ctx: IterationContext, tally: Tally, iter: number, prompts: readonly TrainPrompt[], planner: RoundPlanner<O>, options: O): Promise<IterationResult> {
  const { seed, sizes } = ctx.plan;
  const name = ctx.plan.strategy.strategy.name;
  const drawn: TrainPrompt[] = [...prompts];
  const groups: Scored[][] = prompts.map(() => []);
  const context: RoundContext = { prompts: prompts.length, budget: sizes.budget };
  const stateNow = (rounds: number): RoundState => ({ rewards: groups.map((g) => g.map((s) => s.reward)), rounds });
  let rounds = 0;
  for (;;) {
    const state = stateNow(rounds);
    const request = planner.plan(context, state, options);
    if (request === null) break;
    checkRoundRequest(name, context, state, request);
    if (request.fresh.length > 0) {
      if (!ctx.drawPrompts) throw new IterationError(`iteration ${iter}: strategy '${name}' asks for ${request.fresh.length} new prompts in round ${rounds + 1}, but the iteration has no prompt stream to draw them from`);
      const more = ctx.drawPrompts(request.fresh.length);
      if (more.length !== request.fresh.length) throw new IterationError(`iteration ${iter}: asked the prompt stream for ${request.fresh.length} prompts, got ${more.length}`);
      drawn.push(...more);
      groups.push(...more.map(() => []));
    }
    const counts = [...request.more, ...request.fresh];
    const idx = counts.flatMap((c, i) => (c > 0 ? [i] : []));
    // Stream 3 (stage 1 is 1, stage 2 is 2): each round and prompt its own seed, so a resumed run draws the same responses.
    const scored = await samplePass(ctx, tally, idx.map((i) => drawn[i] as TrainPrompt), idx.map((i) => ({ prompt: (drawn[i] as TrainPrompt).prompt, n: counts[i] as number, seed: Rng.derive(seed, iter, 3, rounds, i).u32() })));
    idx.forEach((i, q) => (groups[i] as Scored[]).push(...(scored[q] as Scored[])));
    rounds++;
  }
  const selection: RoundSelection = planner.select(context, stateNow(rounds), options);

  const kept = selection.keep.flatMap((keep, i) => (keep.length > 0 ? [i] : []));
  for (let j = 0; j < sizes.stepsPerIter; j++) {
    const idx = slice(kept.length, sizes.stepsPerIter, j).map((q) => kept[q] as number);
    trainGroups(ctx, tally, idx.map((i) => drawn[i] as TrainPrompt), idx.map((i) => (selection.keep[i] as number[]).map((s) => (groups[i] as Scored[])[s] as Scored)));
  }

  return {
    generated: tally.generated,
    stage1: 0,
    stage2: tally.generated,
    trainReward: tally.rewardSum / Math.max(1, tally.trained),
    acceptedFrac: tally.accepted / Math.max(1, tally.generated),
    time: tally.time,
    allocation: {
      ids: drawn.map((p) => p.id),
      level: drawn.map((p) => p.level ?? Number.NaN),
      p: groups.map((g) => (g.length > 0 ? g.filter((s) => s.reward === 1).length / g.length : Number.NaN)),
      G: drawn.map(() => Number.NaN),
      n: groups.map((g) => g.length),
      trained: selection.keep.map((k) => k.length),
      status: selection.notes.join("; ") || "ok",
    },
    generation: summary(tally, drawn.length),
    examples: tally.examples,
  };
}
