/**
 * Dev-time parity check, part 1 (our side): random-weight checkpoints for
 * several architectures, a batch, and our logits, loss and gradients, all
 * written as safetensors for torch_parity.py to compare against PyTorch.
 *   npx tsx scripts/parity/dump.ts OUT_DIR && python3 scripts/parity/torch_parity.py OUT_DIR
 */
import { mkdirSync } from "node:fs";
import { join } from "node:path";
import { LlamaModel, parseModelConfig, saveCheckpoint, writeSafetensors, type StTensor } from "../../src/model/index.js";
import * as T from "../../src/tensor/index.js";
import { Rng } from "../../src/util/rng.js";

const out = process.argv[2] ?? "/tmp/gvm-parity";
const VARIANTS: Record<string, Record<string, unknown>> = {
  "llama-tied-full": { model_type: "llama", num_key_value_heads: 4, tie_word_embeddings: true },
  "llama-untied-gqa": { model_type: "llama", num_key_value_heads: 2, tie_word_embeddings: false },
  "qwen2-bias-gqa-tied": { model_type: "qwen2", num_key_value_heads: 2, tie_word_embeddings: true },
  "llama-attnbias-untied": { model_type: "llama", num_key_value_heads: 4, attention_bias: true, tie_word_embeddings: false },
};

for (const [name, over] of Object.entries(VARIANTS)) {
  const config = parseModelConfig({ vocab_size: 97, hidden_size: 64, intermediate_size: 160, num_hidden_layers: 3, num_attention_heads: 4, max_position_embeddings: 64, rms_norm_eps: 1e-6, rope_theta: 10000, ...over });
  const rng = new Rng(42);
  const model = LlamaModel.init(config, rng, 0.1);
  for (const [n, t] of model.params) if (n.endsWith(".bias") || n.endsWith("norm.weight")) for (let i = 0; i < t.size; i++) t.data[i] = (n.endsWith(".bias") ? 0 : 1) + 0.1 * rng.normal();
  const dir = join(out, name);
  mkdirSync(dir, { recursive: true });
  saveCheckpoint(join(dir, "model"), model);
  const B = 3;
  const Tn = 17;
  const ids = Int32Array.from({ length: B * Tn }, () => rng.int(97));
  const targets = Int32Array.from({ length: B * Tn }, (_, i) => (i % Tn === Tn - 1 ? -1 : rng.int(97)));
  const dump = new Map<string, StTensor>();
  T.tidy(() => {
    const logits = model.forward(ids, B, Tn);
    const loss = T.crossEntropy(logits, targets);
    loss.backward();
    dump.set("logits", { shape: [B, Tn, 97], data: logits.data.slice() });
    dump.set("loss", { shape: [1], data: Float32Array.from([loss.item()]) });
  });
  dump.set("ids", { shape: [B, Tn], data: Float32Array.from(ids) });
  dump.set("targets", { shape: [B, Tn], data: Float32Array.from(targets) });
  for (const [n, t] of model.params) dump.set(`grad.${n}`, { shape: [...t.shape], data: (t.grad ?? new Float32Array(t.size)).slice() });
  writeSafetensors(join(dir, "ours.safetensors"), dump);
  process.stdout.write(`${name}: wrote ${dir}\n`);
}
