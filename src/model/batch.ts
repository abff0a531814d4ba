/**
 * Packing (prompt, response) pairs into the padded batches the model reads:
 * right-padded ids (B, T) and next-token targets that are -1 everywhere but
 * on response tokens, so log-probabilities and losses cover responses only.
 */
import type { PrefixLayout } from "../tensor/index.js";
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

/**
 * Pairs packed so that responses to the same prompt share its rows (the
 * layout of T.attentionPrefixed): each distinct prompt's tokens but the last
 * once, left-padded to P, then per item its prompt's last token and its
 * response but the last token, right-padded to S. A continuation's row t
 * predicts response token t, so every target sits in the continuation rows
 * and logits are needed there only. Items keep their order as continuations.
 */
export interface SharedBatch {
  layout: PrefixLayout;
  /** (R) token ids, R = G * P + B * S. */
  ids: Int32Array;
  /** (R) absolute positions. */
  positions: Int32Array;
  /** (B * S) target of continuation row t = response token t, else -1. */
  targets: Int32Array;
  /** (B * S) 1 where targets >= 0. */
  mask: Float32Array;
}

export function packShared(items: readonly PromptResponse[], padId: number): SharedBatch {
  const B = items.length;
  const prompts = new Map<string, number>();
  const firstItem: number[] = [];
  const group = new Int32Array(B);
  let P = 0;
  let S = 1;
  items.forEach((it, i) => {
    if (it.prompt.length === 0) throw new ModelError(`packShared: item ${i} has an empty prompt (start prompts with BOS)`);
    const key = it.prompt.join(",");
    let g = prompts.get(key);
    if (g === undefined) {
      g = firstItem.length;
      prompts.set(key, g);
      firstItem.push(i);
    }
    group[i] = g;
    P = Math.max(P, it.prompt.length - 1);
    S = Math.max(S, it.response.length);
  });
  const G = firstItem.length;
  const R = G * P + B * S;
  const ids = new Int32Array(R).fill(padId);
  const positions = new Int32Array(R);
  const targets = new Int32Array(B * S).fill(-1);
  const mask = new Float32Array(B * S);
  // Only a padded prompt needs a key mask: a continuation's own padding comes after its real rows, where no real query looks.
  const keyMask = firstItem.some((i) => (items[i] as PromptResponse).prompt.length - 1 < P) ? new Uint8Array(R).fill(1) : null;
  firstItem.forEach((i, g) => {
    const prompt = (items[i] as PromptResponse).prompt;
    const pad = P - (prompt.length - 1);
    for (let j = 0; j < P; j++) {
      if (j < pad) {
        if (keyMask) keyMask[g * P + j] = 0;
        continue;
      }
      ids[g * P + j] = prompt[j - pad] as number;
      positions[g * P + j] = j - pad;
    }
  });
  items.forEach((it, b) => {
    const o = G * P + b * S;
    const n = it.prompt.length - 1;
    // Padding sits at position 0: past a short prompt, S rows could run beyond the model's positions.
    for (let t = 0; t < S; t++) {
      const real = t === 0 || t < it.response.length;
      if (real) {
        ids[o + t] = t === 0 ? (it.prompt[n] as number) : (it.response[t - 1] as number);
        positions[o + t] = n + t;
      } else if (keyMask) keyMask[o + t] = 0;
      if (t < it.response.length) {
        targets[b * S + t] = it.response[t] as number;
        mask[b * S + t] = 1;
      }
    }
  });
  return { layout: { G, P, B, S, group, keyMask }, ids, positions, targets, mask };
}
