/**
 * Packing (prompt, response) pairs into the padded batches the model reads:
 * right-padded ids (B, T) and next-token targets that are -1 everywhere but
 * on response tokens, so log-probabilities and losses cover responses only.
 */
import { ModelError } from "./errors.js";

export interface PromptResponse {
  prompt: readonly number[];
  response: readonly number[];
}

export interface PackedBatch {
  B: number;
  T: number;
  /** (B * T) token ids, right-padded. */
  ids: Int32Array;
  /** (B * T) target id of position t = token t + 1 when it is a response token, else -1. */
  targets: Int32Array;
  /** (B * T) 1 where targets >= 0. */
  mask: Float32Array;
}

export function packSequences(items: readonly PromptResponse[], padId: number): PackedBatch {
  const B = items.length;
  let T = 1;
  items.forEach((it, i) => {
    if (it.prompt.length === 0) throw new ModelError(`packSequences: item ${i} has an empty prompt (start prompts with BOS)`);
    T = Math.max(T, it.prompt.length + it.response.length);
  });
  const ids = new Int32Array(B * T).fill(padId);
  const targets = new Int32Array(B * T).fill(-1);
  const mask = new Float32Array(B * T);
  items.forEach((it, b) => {
    const seq = [...it.prompt, ...it.response];
    const o = b * T;
    for (let t = 0; t < seq.length; t++) ids[o + t] = seq[t] as number;
    for (let t = it.prompt.length - 1; t < seq.length - 1; t++) {
      targets[o + t] = seq[t + 1] as number;
      mask[o + t] = 1;
    }
  });
  return { B, T, ids, targets, mask };
}
