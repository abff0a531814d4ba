/**
 * One optimizer step on a set of scored responses: forward in micro-batches
 * (bounded memory, gradients accumulated), the policy loss chosen by name,
 * the KL term to a frozen reference, aggregation with batch-wide
 * denominators (so micro-batching does not change the loss), clipping, AdamW.
 * The algorithm math lives in rl/; this file only wires tensors to it.
 */
import { type LlamaModel, packShared } from "../model/index.js";
import { aggregate, type AggMode, type ClipConfig, type KlEstimator, klPenalty, POLICY_LOSSES, type PolicyLossName } from "../rl/losses.js";
import * as T from "../tensor/index.js";

export interface TrainItem {
  /** Prompt token ids (BOS included). */
  prompt: readonly number[];
  /** Response token ids (stop token included). */
  response: readonly number[];
  /** Behaviour-policy log-prob of each response token. */
  oldLogp: readonly number[];
  advantage: number;
}

export interface UpdateSettings {
  loss: PolicyLossName;
  clip: ClipConfig;
  lossAgg: AggMode;
  klCoef: number;
  klEstimator: KlEstimator;
  maxGradNorm: number;
  /** Logits are divided by it, matching how the samples were drawn. */
  temperature: number;
  padId: number;
  /** Most token rows in one forward: a prompt's rows once, plus each response's (model/batch.ts packShared). */
  microBatchTokens: number;
}

export interface StepStats {
  loss: number;
  kl: number;
  entropy: number;
  clipFrac: number;
  gradNorm: number;
  /** Response tokens trained on. */
  tokens: number;
}

/**
 * Splits items into micro-batches of at most maxTokens packed rows (packShared:
 * each prompt's rows once, plus one continuation per item). Responses to one
 * prompt stay together so they share its rows; prompts go in order of
 * length, and a prompt's responses in order of length, to limit padding.
 */
function microBatches(items: readonly TrainItem[], maxTokens: number): TrainItem[][] {
  const byPrompt = new Map<string, TrainItem[]>();
  for (const it of items) {
    const key = it.prompt.join(",");
    const same = byPrompt.get(key);
    if (same) same.push(it);
    else byPrompt.set(key, [it]);
  }
  const span = (g: readonly TrainItem[]) => (g[0] as TrainItem).prompt.length + Math.max(...g.map((it) => it.response.length));
  const groups = [...byPrompt.values()].sort((a, b) => span(a) - span(b));
  const out: TrainItem[][] = [];
  // The micro-batch being filled: its items, prompts, and packShared's P and S.
  let cur: TrainItem[] = [];
  let curGroup: TrainItem[] | null = null;
  let prompts = 0;
  let P = 0;
  let S = 1;
  const flush = () => {
    if (cur.length > 0) out.push(cur);
    cur = [];
    curGroup = null;
    prompts = 0;
    P = 0;
    S = 1;
  };
  for (const g of groups) {
    for (const it of [...g].sort((a, b) => a.response.length - b.response.length)) {
      const rows = (prompts + (curGroup === g ? 0 : 1)) * Math.max(P, it.prompt.length - 1) + (cur.length + 1) * Math.max(S, it.response.length);
      if (cur.length > 0 && rows > maxTokens) flush();
      if (curGroup !== g) {
        curGroup = g;
        prompts++;
      }
      cur.push(it);
      P = Math.max(P, it.prompt.length - 1);
      S = Math.max(S, it.response.length);
    }
  }
  flush();
  return out;
}

/**
 * Accumulates gradients of the loss over all items into the policy's
 * parameters and applies one AdamW step. Returns the step's statistics.
 */
export function updateStep(policy: LlamaModel, reference: LlamaModel | null, opt: T.AdamW, items: readonly TrainItem[], s: UpdateSettings): StepStats {
  const totalTokens = items.reduce((n, it) => n + it.response.length, 0);
  const totalSeqs = items.length;
  opt.zeroGrad();
  let loss = 0;
  let klSum = 0;
  let entSum = 0;
  let clipSum = 0;
  for (const mb of microBatches(items, s.microBatchTokens)) {
    const packed = packShared(mb, s.padId);
    const { B, S: Tn } = packed.layout;
    const mbTokens = mb.reduce((n, it) => n + it.response.length, 0);
    // Batch-wide denominators: this micro-batch's share of the whole step's loss.
    const share = s.lossAgg === "token-mean" ? mbTokens / Math.max(1, totalTokens) : B / totalSeqs;
    const old = new Float32Array(B * Tn);
    mb.forEach((it, b) => old.set(it.oldLogp, b * Tn));
    const refLogp = reference && s.klCoef > 0 ? T.noGrad(() => T.tidy(() => T.tokenLogprobs(scaled(reference.forwardShared(packed), s.temperature), packed.targets).data.slice())) : null;
    const r = T.tidy(() => {
      const logits = scaled(policy.forwardShared(packed), s.temperature);
      const ent = T.entropyOf(logits);
      let e = 0;
      for (let i = 0; i < ent.length; i++) e += (ent[i] as number) * (packed.mask[i] as number);
      const logp = T.tokenLogprobs(logits, packed.targets).reshape([B, Tn]);
      const mask = T.tensor(packed.mask, [B, Tn]);
      const pl = POLICY_LOSSES[s.loss]({ logp, oldLogp: T.tensor(old, [B, Tn]), advantages: Float32Array.from(mb, (it) => it.advantage), mask }, s.clip);
      let total = aggregate(pl.tokenLoss, mask, s.lossAgg);
      let kl = 0;
      if (refLogp) {
        const klTok = klPenalty(logp, T.tensor(refLogp, [B, Tn]), s.klEstimator);
        const klAgg = aggregate(klTok, mask, s.lossAgg);
        kl = aggregate(klTok, mask, "token-mean").item();
        total = T.add(total, T.mulScalar(klAgg, s.klCoef));
      }
      const scaledLoss = T.mulScalar(total, share);
      scaledLoss.backward();
      return { loss: scaledLoss.item(), kl, ent: e, clip: pl.clipFrac };
    });
    loss += r.loss;
    klSum += r.kl * mbTokens;
    entSum += r.ent;
    clipSum += r.clip * mbTokens;
  }
  const gradNorm = T.clipGradNorm(policy.params.values(), s.maxGradNorm);
  opt.step();
  const denom = Math.max(1, totalTokens);
  return { loss, kl: klSum / denom, entropy: entSum / denom, clipFrac: clipSum / denom, gradNorm, tokens: totalTokens };
}

// logits: (B, T, V) -> logits / temperature
function scaled(logits: T.Tensor, temperature: number): T.Tensor {
  return temperature === 1 ? logits : T.mulScalar(logits, 1 / temperature);
}
