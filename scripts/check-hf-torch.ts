/**
 * Dev-time check that checkpoints gvm saves are what transformers expects:
 * saves small random Qwen2 and Llama models with saveModelDir (f32 and
 * bf16), reads them back in Python the way transformers does and runs
 * transformers' Llama / Qwen2 forward written in plain PyTorch
 * (scripts/hf_torch_reference.py; needs python3 with torch and numpy,
 * nothing else), and compares the logits with our engine's.
 *
 *   npx tsx scripts/check-hf-torch.ts [--python /usr/bin/python3]
 *
 * Prints one JSON line per model and exits 1 on a mismatch.
 */
import { spawnSync } from "node:child_process";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { parseArgs } from "node:util";
import { LlamaModel, loadModel, parseModelConfig, saveModelDir, type StDtype } from "../src/model/index.js";
import * as T from "../src/tensor/index.js";
import { Rng } from "../src/util/rng.js";

const root = resolve(dirname(fileURLToPath(import.meta.url)), "..");
const { values } = parseArgs({ options: { python: { type: "string" } } });
const python = values.python ?? "/usr/bin/python3";
const work = mkdtempSync(join(tmpdir(), "gvm-hf-torch-"));

const base = { hidden_size: 64, intermediate_size: 96, num_hidden_layers: 2, num_attention_heads: 4, max_position_embeddings: 128, rms_norm_eps: 1e-6 };
const MODELS: Array<[string, Record<string, unknown>]> = [
  ["qwen2 GQA tied (q/k/v bias)", { model_type: "qwen2", vocab_size: 300, num_key_value_heads: 2, tie_word_embeddings: true, rope_theta: 1000000, ...base }],
  ["llama GQA untied", { model_type: "llama", vocab_size: 259, num_key_value_heads: 2, tie_word_embeddings: false, rope_theta: 500000, ...base }],
  ["llama attention_bias, MHA, head_dim 32", { model_type: "llama", vocab_size: 259, attention_bias: true, tie_word_embeddings: false, ...base, num_attention_heads: 2, num_key_value_heads: 2 }],
];
const SEQS = [
  [1, 5, 9, 200, 17, 3, 44, 250, 7, 7, 12],
  [257, 72, 101, 108, 108, 111],
];

let failures = 0;
try {
  for (const [label, cfg] of MODELS) {
    for (const dtype of ["F32", "BF16"] as StDtype[]) {
      const model = LlamaModel.init(parseModelConfig(cfg), new Rng(label.length), 0.3);
      const rng = new Rng(7);
      for (const [n, t] of model.params) {
        if (n.endsWith(".bias")) for (let i = 0; i < t.size; i++) t.data[i] = rng.normal() * 0.2;
        if (n.endsWith("norm.weight")) for (let i = 0; i < t.size; i++) t.data[i] = 1 + rng.normal() * 0.1;
      }
      const dir = join(work, `${label.replace(/\W+/g, "-")}-${dtype}`);
      saveModelDir(dir, model, { dtype });
      const ours = loadModel(dir);
      const r = spawnSync(python, [join(root, "scripts", "hf_torch_reference.py"), dir, JSON.stringify(SEQS)], { encoding: "utf8", maxBuffer: 1 << 28 });
      if (r.status !== 0) throw new Error(`${python} hf_torch_reference.py failed (exit ${r.status}): ${r.stderr}`);
      const theirs = (JSON.parse(r.stdout) as { logits: number[][][] }).logits;
      let gap = 0;
      let scale = 0;
      SEQS.forEach((seq, s) => {
        const mine = T.noGrad(() => T.tidy(() => ours.forward(Int32Array.from(seq), 1, seq.length).data.slice()));
        const V = ours.config.vocabSize;
        (theirs[s] ?? []).forEach((row, t) =>
          row.forEach((x, v) => {
            gap = Math.max(gap, Math.abs(x - (mine[t * V + v] as number)));
            scale = Math.max(scale, Math.abs(x));
          }),
        );
      });
      const ok = gap <= 1e-4 * Math.max(1, scale);
      if (!ok) failures++;
      process.stdout.write(`${JSON.stringify({ model: label, savedAs: dtype, maxAbsLogitGap: Number(gap.toExponential(2)), logitScale: Number(scale.toFixed(2)), ok })}\n`);
    }
  }
} finally {
  rmSync(work, { recursive: true, force: true });
}
process.stdout.write(`${JSON.stringify({ summary: failures === 0 ? "saved checkpoints match the transformers-style PyTorch reference" : `${failures} mismatch(es)` })}\n`);
process.exit(failures === 0 ? 0 : 1);
