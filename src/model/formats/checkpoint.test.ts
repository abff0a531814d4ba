import { closeSync, existsSync, mkdtempSync, openSync, readdirSync, readFileSync, rmSync, statSync, truncateSync, writeSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { AdamW } from "../../tensor/index.js";
import { MANIFEST } from "../../util/checksums.js";
import { Rng } from "../../util/rng.js";
import { CheckpointError, loadModel, loadOptimizerState, saveCheckpoint } from "./checkpoint.js";
import { parseModelConfig } from "../config.js";
import { LlamaModel } from "../llama.js";
import { writeSafetensors } from "./safetensors.js";

const config = parseModelConfig({ model_type: "llama", vocab_size: 259, hidden_size: 32, intermediate_size: 64, num_hidden_layers: 1, num_attention_heads: 2, max_position_embeddings: 64, tie_word_embeddings: true });

function written(): string {
  const dir = join(mkdtempSync(join(tmpdir(), "gvm-ckpt-")), "iter-000001");
  const model = LlamaModel.init(config, new Rng(1));
  const opt = new AdamW(model.params, { lr: 1e-3, weightDecay: 0, beta1: 0.9, beta2: 0.999 });
  saveCheckpoint(dir, model, { optimizer: opt.state(), extraFiles: { "trainer.json": "{}\n" } });
  return dir;
}

/** What the issue did to a checkpoint: 4 KB of 0xFF written into model.safetensors. */
function scribble(path: string): void {
  const fd = openSync(path, "r+");
  writeSync(fd, Buffer.alloc(4096, 0xff), 0, 4096, 8192);
  closeSync(fd);
}

describe("checkpoint integrity", () => {
  it("writes a SHA-256 manifest of every file and loads back", () => {
    const dir = written();
    const listed = readFileSync(join(dir, MANIFEST), "utf8").trim().split("\n").map((l) => l.split("  ")[1]);
    expect(listed.sort()).toEqual(["config.json", "model.safetensors", "optimizer.safetensors", "trainer.json"]);
    expect(loadModel(dir).params.size).toBeGreaterThan(0);
    expect(loadOptimizerState(dir)?.m.size).toBeGreaterThan(0);
  });

  it("refuses weights whose bytes changed, naming the file", () => {
    const dir = written();
    scribble(join(dir, "model.safetensors"));
    expect(() => loadModel(dir)).toThrow(CheckpointError);
    expect(() => loadModel(dir)).toThrow(/model\.safetensors: SHA-256 .* does not match/);
  });

  it("refuses a truncated file, naming it", () => {
    const dir = written();
    truncateSync(join(dir, "optimizer.safetensors"), statSync(join(dir, "optimizer.safetensors")).size - 100);
    expect(() => loadOptimizerState(dir)).toThrow(/optimizer\.safetensors: SHA-256 .* does not match/);
  });

  it("loads a checkpoint written before manifests, but refuses its non-finite weights", () => {
    const dir = written();
    rmSync(join(dir, MANIFEST));
    expect(loadModel(dir).params.size).toBeGreaterThan(0);
    scribble(join(dir, "model.safetensors"));
    expect(() => loadModel(dir)).toThrow(/model\.safetensors: tensor \S+ has \d+ non-finite values \(first: NaN at index \d+\)/);
  });

  it("refuses non-finite optimizer moments", () => {
    const dir = written();
    rmSync(join(dir, MANIFEST));
    const path = join(dir, "optimizer.safetensors");
    writeSafetensors(path, new Map([["m.w", { shape: [2], data: new Float32Array([0, Number.POSITIVE_INFINITY]) }], ["v.w", { shape: [2], data: new Float32Array(2) }]]), { metadata: { step: "1" } });
    expect(() => loadOptimizerState(dir)).toThrow(/optimizer\.safetensors: tensor m\.w has 1 non-finite values \(first: Infinity at index 1\)/);
  });

  it("leaves no temporary directory behind when writing fails", () => {
    const parent = mkdtempSync(join(tmpdir(), "gvm-ckpt-"));
    const model = LlamaModel.init(config, new Rng(1));
    // A NUL in a file name makes the last write fail after the weights are down.
    expect(() => saveCheckpoint(join(parent, "iter-000002"), model, { extraFiles: { "bad\0name": "x" } })).toThrow();
    expect(readdirSync(parent)).toEqual([]);
    expect(existsSync(join(parent, "iter-000002"))).toBe(false);
  });
});
