/**
 * The supervised warm start: a freshly initialised byte-level Llama trained
 * on demonstrations drawn fresh for every batch outside the suite's splits
 * (prompt + worked response + EOS, loss on the response only): first from a
 * careful teacher, so it learns the facts and to copy the operands, then
 * from one that slips now and then, so RL starts from a policy that knows
 * every step but samples slips it can learn to avoid (docs/training.md,
 * "The warm start"). The result is cached by a hash of everything that
 * determines it, so runs that differ only in learner or strategy share it.
 */
import { createHash } from "node:crypto";
import { existsSync } from "node:fs";
import { dirname, join, resolve } from "node:path";
import { ByteTokenizer, LlamaModel, loadModel, type ModelConfig, packSequences, parseModelConfig, saveCheckpoint } from "../model/index.js";
import { DemoSource, type TaskSuite } from "../tasks/index.js";
import * as T from "../tensor/index.js";
import type { Logger } from "../util/log.js";
import { ProgressBar } from "../util/progress.js";
import { Rng } from "../util/rng.js";
import type { ModelSection, TrainConfig } from "./config.js";

/** What the warm start reads of a run's config; all of it keys the cache. */
export type WarmStartSlice = Pick<TrainConfig, "seed" | "runDir" | "model" | "suite" | "warmStart">;

export function modelConfigFor(m: ModelSection, tok: ByteTokenizer): ModelConfig {
  return parseModelConfig({
    model_type: "llama",
    vocab_size: tok.vocabSize,
    hidden_size: m.hiddenSize,
    intermediate_size: m.ffn,
    num_hidden_layers: m.layers,
    num_attention_heads: m.heads,
    num_key_value_heads: m.kvHeads,
    max_position_embeddings: m.maxPositions,
    tie_word_embeddings: true,
    bos_token_id: ByteTokenizer.BOS,
    eos_token_id: ByteTokenizer.EOS,
    pad_token_id: ByteTokenizer.PAD,
  });
}

/** Where the warm start for this config is cached. */
export function warmStartDir(c: WarmStartSlice): string {
  const key = createHash("sha256")
    .update(JSON.stringify({ model: c.model, suite: c.suite, warm: { ...c.warmStart, cacheDir: null }, seed: c.seed, v: 4 }))
    .digest("hex")
    .slice(0, 16);
  const root = c.warmStart.cacheDir ?? join(dirname(resolve(c.runDir)), ".cache");
  return join(root, `warmstart-${key}`);
}

/** Loads the cached warm start or trains and caches it. */
export function warmStart(c: WarmStartSlice, suite: TaskSuite, tok: ByteTokenizer, log: Logger): { model: LlamaModel; cached: boolean; dir: string } {
  const dir = warmStartDir(c);
  if (existsSync(join(dir, "model.safetensors"))) {
    log.info(`warm start: using cached ${dir}`);
    return { model: loadModel(dir), cached: true, dir };
  }
  const model = LlamaModel.init(modelConfigFor(c.model, tok), Rng.derive(c.seed, 0x77a1));
  const w = c.warmStart;
  const opt = new T.AdamW(model.params, { lr: w.lr, weightDecay: 0.01 }, T.warmupCosine(Math.min(20, w.steps), w.steps));
  const clean = new DemoSource(suite, { mix: w.demoMix, slipRate: 0 });
  const slipping = new DemoSource(suite, { mix: w.demoMix, slipRate: w.slipRate });
  const bar = new ProgressBar("warm start", w.steps, { unit: "step" });
  for (let step = 0; step < w.steps; step++) {
    const batch = (step < w.cleanSteps ? clean : slipping).draw(Rng.derive(c.seed, 0x77a2, step), w.batchSize).map((d) => ({ prompt: [tok.bosId, ...tok.encode(d.prompt)], response: [...tok.encode(d.response), ByteTokenizer.EOS] }));
    const packed = packSequences(batch, tok.padId);
    opt.zeroGrad();
    const loss = T.tidy(() => {
      const l = T.crossEntropy(model.forward(packed.ids, packed.B, packed.T), packed.targets);
      l.backward();
      return l.item();
    });
    T.clipGradNorm(model.params.values(), 1);
    opt.step();
    bar.tick(1, `loss ${loss.toFixed(3)}`);
  }
  bar.finish();
  saveCheckpoint(dir, model);
  log.info(`warm start: cached in ${dir}`);
  return { model, cached: false, dir };
}
