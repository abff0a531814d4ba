/**
 * Checkpoints in Hugging Face layout: `config.json` + `model.safetensors`
 * (or shards listed in `model.safetensors.index.json`), tensor names as in
 * `transformers`, so a checkpoint we write loads there and theirs load here.
 * Optimizer moments go beside it in `optimizer.safetensors`.
 *
 * A checkpoint directory is written whole into a temporary sibling and
 * renamed into place, so a crash leaves the previous checkpoint or the new
 * one, never a mix. Beside the files goes a SHA-256 manifest
 * (checksums.sha256), checked on load, and weights or moments that are not
 * finite are refused: a damaged checkpoint fails by name instead of
 * training on NaN.
 */
import { existsSync, readFileSync, renameSync, rmSync } from "node:fs";
import { basename, dirname, join } from "node:path";
import { type AdamWState, Tensor } from "../../tensor/index.js";
import { atomicWrite } from "../../util/atomic.js";
import { ChecksumError, verifyFiles, writeManifest } from "../../util/checksums.js";
import { fileError } from "../../util/errors.js";
import { configJson, type ModelConfig, parseModelConfig } from "../config.js";
import { ModelError } from "../errors.js";
import { LlamaModel, parameterShapes } from "../llama.js";
import { readHeader, readSafetensors, type StDtype, type StTensor, writeSafetensors } from "./safetensors.js";

export class CheckpointError extends ModelError {}

/** Non-parameter buffers some exporters include; skipped on load. */
const IGNORED = /\.rotary_emb\.inv_freq$/;

export interface SaveOptions {
  /** On-disk dtype of the weights. */
  dtype?: StDtype;
  /** Optimizer state written to optimizer.safetensors. */
  optimizer?: AdamWState;
  /** Extra files (name -> contents) written into the directory, e.g. trainer state. */
  extraFiles?: Record<string, string>;
}

/**
 * Writes a complete checkpoint directory atomically (replacing an existing
 * one), with its checksum manifest; on failure no temporary is left behind.
 */
export function saveCheckpoint(dir: string, model: LlamaModel, options: SaveOptions = {}): void {
  const tmp = join(dirname(dir), `.${basename(dir)}.tmp-${process.pid}`);
  rmSync(tmp, { recursive: true, force: true });
  try {
    atomicWrite(join(tmp, "config.json"), `${JSON.stringify(configJson(model.config), null, 2)}\n`);
    const weights = new Map<string, StTensor>();
    for (const name of parameterShapes(model.config).keys()) {
      const t = model.params.get(name) as Tensor;
      weights.set(name, { shape: [...t.shape], data: t.data });
    }
    writeSafetensors(join(tmp, "model.safetensors"), weights, { dtype: options.dtype ?? "F32", metadata: { format: "pt" } });
    if (options.optimizer) {
      const st = new Map<string, StTensor>();
      for (const [name, m] of options.optimizer.m) st.set(`m.${name}`, { shape: [m.length], data: m });
      for (const [name, v] of options.optimizer.v) st.set(`v.${name}`, { shape: [v.length], data: v });
      writeSafetensors(join(tmp, "optimizer.safetensors"), st, { metadata: { step: String(options.optimizer.step) } });
    }
    for (const [name, text] of Object.entries(options.extraFiles ?? {})) atomicWrite(join(tmp, name), text);
    writeManifest(tmp);
  } catch (err) {
    rmSync(tmp, { recursive: true, force: true });
    throw err;
  }
  try {
    if (existsSync(dir)) {
      const old = join(dirname(dir), `.${basename(dir)}.old-${process.pid}`);
      rmSync(old, { recursive: true, force: true });
      renameSync(dir, old);
      renameSync(tmp, dir);
      rmSync(old, { recursive: true, force: true });
    } else {
      renameSync(tmp, dir);
    }
  } catch (err) {
    rmSync(tmp, { recursive: true, force: true });
    throw fileError("write checkpoint", dir, err);
  }
}

/**
 * Checks files of a checkpoint against its manifest (none: written before
 * manifests, not checked); a mismatch is a CheckpointError naming the file.
 */
export function verifyCheckpointFiles(dir: string, names: readonly string[]): void {
  try {
    verifyFiles(dir, names);
  } catch (err) {
    if (err instanceof ChecksumError) throw new CheckpointError(err.message, { cause: err });
    throw err;
  }
}

/** Refuses NaN and infinities: a checkpoint holding them would train (and evaluate) on garbage without a word. */
function checkFinite(file: string, name: string, data: Float32Array): void {
  let count = 0;
  let first = -1;
  for (let i = 0; i < data.length; i++) {
    if (!Number.isFinite(data[i] as number)) {
      if (count === 0) first = i;
      count++;
    }
  }
  if (count > 0) throw new CheckpointError(`${file}: tensor ${name} has ${count} non-finite values (first: ${data[first]} at index ${first})`);
}

/** Reads and validates config.json of a model directory. */
export function loadModelConfig(dir: string): ModelConfig {
  const path = join(dir, "config.json");
  let text: string;
  try {
    text = readFileSync(path, "utf8");
  } catch (err) {
    throw new CheckpointError(`${path}: cannot read (${(err as Error).message})`, { cause: err });
  }
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch (err) {
    throw new CheckpointError(`${path}: not valid JSON (${(err as Error).message})`, { cause: err });
  }
  return parseModelConfig(json, path);
}

/** Weight files of a directory: the shards of an index, or model.safetensors. */
function weightFiles(dir: string): string[] {
  const index = join(dir, "model.safetensors.index.json");
  if (existsSync(index)) {
    let map: unknown;
    try {
      map = (JSON.parse(readFileSync(index, "utf8")) as { weight_map?: unknown }).weight_map;
    } catch (err) {
      throw new CheckpointError(`${index}: not valid JSON (${(err as Error).message})`, { cause: err });
    }
    if (map === null || typeof map !== "object" || Array.isArray(map)) throw new CheckpointError(`${index}: no "weight_map" object`);
    // Shards are files of this directory: a name with a path in it would read (and report on) files elsewhere.
    for (const [name, file] of Object.entries(map)) {
      if (typeof file !== "string" || file === "" || file !== basename(file) || file === "." || file === "..") {
        throw new CheckpointError(`${index}: weight_map["${name}"] must be the name of a shard file in ${dir}, found ${JSON.stringify(file)}`);
      }
    }
    return [...new Set(Object.values(map as Record<string, string>))].map((f) => join(dir, f));
  }
  const single = join(dir, "model.safetensors");
  if (!existsSync(single)) throw new CheckpointError(`${dir}: no model.safetensors or model.safetensors.index.json`);
  return [single];
}

/**
 * Loads a model directory. Missing, unexpected and mis-shaped tensors are
 * reported together in one error that lists every one of them; files that
 * fail the manifest and non-finite weights are refused by file and tensor.
 */
export function loadModel(dir: string): LlamaModel {
  verifyCheckpointFiles(dir, ["config.json"]);
  const config = loadModelConfig(dir);
  const expected = parameterShapes(config);
  const files = weightFiles(dir);
  const index = join(dir, "model.safetensors.index.json");
  verifyCheckpointFiles(dir, [...files.map((f) => basename(f)), ...(existsSync(index) ? [basename(index)] : [])]);
  const found = new Map<string, StTensor>();
  const where = new Map<string, string>();
  for (const file of files) {
    for (const [name, t] of readSafetensors(file)) {
      if (IGNORED.test(name)) continue;
      checkFinite(file, name, t.data);
      found.set(name, t);
      where.set(name, file);
    }
  }
  const problems: string[] = [];
  for (const [name, shape] of expected) {
    const t = found.get(name);
    if (!t) problems.push(`missing ${name} (expected shape [${shape.join(", ")}])`);
    else if (t.shape.length !== shape.length || t.shape.some((d, i) => d !== shape[i])) {
      problems.push(`${name} in ${where.get(name)} has shape [${t.shape.join(", ")}], expected [${shape.join(", ")}]`);
    }
  }
  for (const name of found.keys()) if (!expected.has(name)) problems.push(`unexpected ${name} in ${where.get(name)}`);
  if (problems.length > 0) throw new CheckpointError(`${dir}: checkpoint does not match its config.json (${config.modelType}):\n  ${problems.join("\n  ")}`);
  const params = new Map<string, Tensor>();
  for (const [name, shape] of expected) {
    const t = found.get(name) as StTensor;
    params.set(name, new Tensor(t.data, shape, { requiresGrad: true }).keep());
  }
  return new LlamaModel(config, params);
}

/** Loads optimizer.safetensors of a checkpoint, or null when it has none. */
export function loadOptimizerState(dir: string): AdamWState | null {
  const path = join(dir, "optimizer.safetensors");
  if (!existsSync(path)) return null;
  verifyCheckpointFiles(dir, ["optimizer.safetensors"]);
  const st = readSafetensors(path);
  const m = new Map<string, Float32Array>();
  const v = new Map<string, Float32Array>();
  for (const [name, t] of st) {
    checkFinite(path, name, t.data);
    if (name.startsWith("m.")) m.set(name.slice(2), t.data);
    else if (name.startsWith("v.")) v.set(name.slice(2), t.data);
    else throw new CheckpointError(`${path}: unexpected tensor ${name} (expected m.<param> or v.<param>)`);
  }
  const step = Number(readHeader(path).metadata.step);
  if (!Number.isInteger(step) || step < 0) throw new CheckpointError(`${path}: metadata has no valid "step"`);
  return { step, m, v };
}
