/**
 * `gvm demo`: what `npm start` runs. Trains a small byte-level Llama on a toy
 * corpus in-process, printing the loss as it falls and a sampled
 * continuation, so a fresh install shows the engine working end to end.
 */
import { ByteTokenizer, generate, LlamaModel, parseModelConfig } from "../model/index.js";
import * as T from "../tensor/index.js";
import { ProgressBar } from "../util/progress.js";
import { Rng } from "../util/rng.js";
import { type Command, numberOption, parseOptions } from "./command.js";

const CORPUS = [
  "3 + 4 = 7. 7 * 2 = 14. 14 - 5 = 9. The answer is \\boxed{9}.",
  "8 - 3 = 5. 5 + 6 = 11. 11 * 3 = 33. The answer is \\boxed{33}.",
  "2 * 9 = 18. 18 + 1 = 19. 19 - 7 = 12. The answer is \\boxed{12}.",
  "6 + 6 = 12. 12 - 4 = 8. 8 * 5 = 40. The answer is \\boxed{40}.",
];

export const demoCommand: Command = {
  name: "demo",
  summary: "Train a small model in-process and sample from it (what `npm start` runs).",
  help: [
    "Usage: gvm demo [--steps N] [--seed S]",
    "",
    "Trains a 2-layer byte-level Llama on a toy corpus of arithmetic chains,",
    "printing the loss, then samples a continuation of a prompt.",
    "",
    "Options:",
    "  --steps N   optimizer steps (default 150)",
    "  --seed S    random seed (default 0)",
    "",
    "Example:",
    "  gvm demo --steps 100",
  ].join("\n"),
  async run(argv, io) {
    const { values } = parseOptions("demo", argv, { steps: { type: "string" }, seed: { type: "string" } });
    const steps = numberOption("demo", "steps", values.steps, 150) as number;
    const seed = numberOption("demo", "seed", values.seed, 0) as number;
    const tok = new ByteTokenizer();
    const config = parseModelConfig({
      model_type: "llama",
      vocab_size: tok.vocabSize,
      hidden_size: 128,
      intermediate_size: 344,
      num_hidden_layers: 2,
      num_attention_heads: 4,
      max_position_embeddings: 128,
      tie_word_embeddings: true,
    });
    const model = LlamaModel.init(config, new Rng(seed));
    const opt = new T.AdamW(model.params, { lr: 3e-3, weightDecay: 0.01 }, T.warmupCosine(10, steps));
    const seqs = CORPUS.map((s) => [tok.bosId, ...tok.encode(s), ByteTokenizer.EOS]);
    const Tn = Math.max(...seqs.map((s) => s.length)) - 1;
    const ids = new Int32Array(seqs.length * Tn).fill(tok.padId);
    const targets = new Int32Array(seqs.length * Tn).fill(-1);
    seqs.forEach((s, b) => {
      for (let t = 0; t < s.length - 1; t++) {
        ids[b * Tn + t] = s[t] as number;
        targets[b * Tn + t] = s[t + 1] as number;
      }
    });
    io.stdout.write(`model: ${model.numParams.toLocaleString()} parameters; kernels: ${T.runtime().kernels.info.backend}\n`);
    const bar = new ProgressBar("train", steps, { unit: "step" });
    let loss = Number.NaN;
    for (let i = 0; i < steps; i++) {
      opt.zeroGrad();
      loss = T.tidy(() => {
        const l = T.crossEntropy(model.forward(ids, seqs.length, Tn), targets);
        l.backward();
        return l.item();
      });
      T.clipGradNorm(model.params.values(), 1);
      opt.step();
      bar.tick(1, `loss ${loss.toFixed(3)}`);
      if ((i + 1) % 50 === 0 || i === 0) io.stdout.write(`step ${i + 1}: loss ${loss.toFixed(4)}\n`);
    }
    bar.finish();
    const prompt = "8 - 3 = 5.";
    const g = generate(model, [[tok.bosId, ...tok.encode(prompt)]], { maxNewTokens: 60, temperature: 0.7, topK: 0, topP: 1, stopIds: tok.eosIds, padId: tok.padId, rngs: seed });
    io.stdout.write(`sample: ${prompt}${tok.decode(g.tokens[0] ?? [])}\n`);
    return 0;
  },
};
