/**
 * Log-probs of responses under the policy, computed in-process: for
 * responses from a server that returned none, so the RAFT++/GRPO ratio
 * pi_theta / pi_old has its denominator. They are the sampling
 * distribution's (logits / temperature), as the engine's own samples carry.
 */
import { type LlamaModel, packSequences, type PromptResponse } from "../model/index.js";
import * as T from "../tensor/index.js";

export interface ScoreOptions {
  temperature: number;
  padId: number;
  /** Most logits (B x T x V floats) in one forward. */
  maxLogitFloats?: number;
}

/** Per-token log-probs of each response, in order (forward passes only; no gradients). */
export function responseLogprobs(model: LlamaModel, items: readonly PromptResponse[], o: ScoreOptions): number[][] {
  const out: number[][] = items.map(() => []);
  const order = items.map((_, i) => i).sort((a, b) => seqLen(items[a] as PromptResponse) - seqLen(items[b] as PromptResponse));
  const budget = Math.max(1, Math.floor((o.maxLogitFloats ?? 1 << 26) / model.config.vocabSize));
  let start = 0;
  while (start < order.length) {
    // Sorted by length: the chunk's last item is its longest.
    let end = start + 1;
    while (end < order.length && seqLen(items[order[end] as number] as PromptResponse) * (end - start + 1) <= budget) end++;
    const idx = order.slice(start, end);
    const chunk = idx.map((i) => items[i] as PromptResponse);
    const packed = packSequences(chunk, o.padId);
    const logp = T.noGrad(() =>
      T.tidy(() => {
        const logits = model.forward(packed.ids, packed.B, packed.T);
        return T.tokenLogprobs(o.temperature === 1 ? logits : T.mulScalar(logits, 1 / o.temperature), packed.targets).data.slice();
      }),
    );
    chunk.forEach((it, b) => {
      const first = b * packed.T + it.prompt.length - 1;
      out[idx[b] as number] = Array.from(logp.subarray(first, first + it.response.length));
    });
    start = end;
  }
  return out;
}

function seqLen(it: PromptResponse): number {
  return it.prompt.length + it.response.length;
}
