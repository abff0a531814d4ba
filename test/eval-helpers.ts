/**
 * A tiny byte-level model trained in a second to answer every prompt with a
 * fixed boxed answer, so evaluation tests see correct and incorrect
 * responses come out of the real engine and the real grader.
 */
import { ByteTokenizer, LlamaModel, parseModelConfig } from "../src/model/index.js";
import * as T from "../src/tensor/index.js";
import { Rng } from "../src/util/rng.js";

export const TINY_ANSWER = "\\boxed{7}";

export function trainTinyModel(prompts: readonly string[], steps = 30, maxPositions = 512): LlamaModel {
  const tok = new ByteTokenizer();
  const config = parseModelConfig({
    model_type: "llama",
    vocab_size: tok.vocabSize,
    hidden_size: 32,
    intermediate_size: 64,
    num_hidden_layers: 1,
    num_attention_heads: 2,
    max_position_embeddings: maxPositions,
    tie_word_embeddings: true,
  });
  const model = LlamaModel.init(config, new Rng(7));
  const opt = new T.AdamW(model.params, { lr: 1e-2, weightDecay: 0 });
  const seqs = prompts.map((p) => [tok.bosId, ...tok.encode(p), ...tok.encode(TINY_ANSWER), ByteTokenizer.EOS]);
  const Tn = Math.max(...seqs.map((s) => s.length)) - 1;
  const ids = new Int32Array(seqs.length * Tn).fill(tok.padId);
  const targets = new Int32Array(seqs.length * Tn).fill(-1);
  seqs.forEach((s, b) => {
    const promptLen = s.length - tok.encode(TINY_ANSWER).length - 1;
    for (let t = 0; t < s.length - 1; t++) {
      ids[b * Tn + t] = s[t] as number;
      // Learn only the answer: the prompts stay arbitrary.
      if (t + 1 >= promptLen) targets[b * Tn + t] = s[t + 1] as number;
    }
  });
  for (let i = 0; i < steps; i++) {
    opt.zeroGrad();
    T.tidy(() => {
      const l = T.crossEntropy(model.forward(ids, seqs.length, Tn), targets);
      l.backward();
    });
    opt.step();
  }
  return model;
}
