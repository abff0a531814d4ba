/**
 * The policy a run trains and how its checkpoints are written and read:
 * the built-in byte-level model (supervised warm start on the suite's
 * demonstrations, gvm's own checkpoint layout) or a Hugging Face model
 * directory (no warm start; checkpoints in the same Hugging Face layout,
 * tokenizer and chat-template files copied, so each one loads in
 * transformers, vLLM or `gvm serve`). Samplers that talk to a server are
 * built here too, since they need the policy's tokenizer.
 */
import { execFile } from "node:child_process";
import { join, resolve } from "node:path";
import { ByteTokenizer, type ChatTemplate, type LlamaModel, loadModel, loadTokenizerDir, saveCheckpoint, saveModelDir, type Tokenizer, type TokenizerDir } from "../model/index.js";
import { LocalSampler, RemoteSampler, type Sampler } from "../rollout/index.js";
import type { TaskSuite } from "../tasks/index.js";
import type { AdamWState } from "../tensor/index.js";
import { ConfigError, GvmError } from "../util/errors.js";
import type { Logger } from "../util/log.js";
import type { PolicyConfig, SamplerConfig, TrainConfig } from "./config.js";
import { warmStart, type WarmStartSlice } from "./warmstart.js";

export interface Policy {
  kind: "builtin" | "hf";
  /** The trained model (the checkpoint's when resuming). */
  model: LlamaModel;
  /** The frozen reference for the KL term (null when rl.klCoef is 0). */
  reference: LlamaModel | null;
  tokenizer: Tokenizer;
  /** The model's own chat template (Hugging Face models that ship one), else null. */
  chatTemplate: ChatTemplate | null;
  /** Writes a checkpoint directory (atomically) in the policy's layout. */
  save(dir: string, optimizer: AdamWState, extraFiles: Record<string, string>): void;
}

function frozen(model: LlamaModel): LlamaModel {
  for (const p of model.params.values()) p.requiresGrad = false;
  return model;
}

/** What is known of the policy before its weights are read: enough to render and check prompts. */
export interface PolicyFiles {
  tokenizer: Tokenizer;
  chatTemplate: ChatTemplate | null;
  maxPositions: number;
  /** The Hugging Face directory's config and tokenizer (null for the builtin model). */
  dir: TokenizerDir | null;
}

/** Reads the policy's tokenizer and config (a broken model directory fails here, before a run directory is made). */
export function policyFiles(c: Pick<TrainConfig, "policy" | "model">): PolicyFiles {
  if (c.policy.kind === "builtin") return { tokenizer: new ByteTokenizer(), chatTemplate: null, maxPositions: c.model.maxPositions, dir: null };
  const dir = loadTokenizerDir(c.policy.path as string);
  return { tokenizer: dir.tokenizer, chatTemplate: dir.chatTemplate, maxPositions: dir.config.maxPositions, dir };
}

/** What opening a policy reads: its kind and save format, the warm start's settings, and whether the KL term needs a frozen reference. */
export interface PolicySlice extends WarmStartSlice {
  policy: PolicyConfig;
  withReference: boolean;
}

/**
 * Opens the run's policy: the resume checkpoint's model (already loaded and
 * checked) when there is one, else the warm start (builtin; needs the suite)
 * or the model directory (hf).
 */
export function openPolicy(c: PolicySlice, files: PolicyFiles, suite: TaskSuite | null, resume: { dir: string; model: LlamaModel } | null, log: Logger): Policy {
  if (files.dir === null) {
    if (!suite) throw new ConfigError("policy.kind builtin: the warm start needs the built-in suite's demonstrations");
    const tokenizer = new ByteTokenizer();
    const warm = warmStart(c, suite, tokenizer, log);
    const model = resume ? resume.model : warm.cached ? loadModel(warm.dir) : warm.model;
    return {
      kind: "builtin",
      model,
      reference: c.withReference ? frozen(loadModel(warm.dir)) : null,
      tokenizer,
      chatTemplate: null,
      save: (dir, optimizer, extraFiles) => saveCheckpoint(dir, model, { optimizer, extraFiles }),
    };
  }
  const path = files.dir.dir;
  const model = resume ? resume.model : loadModel(path);
  if (model.config.vocabSize !== files.dir.config.vocabSize) {
    throw new ConfigError(`policy.path ${path}: the checkpoint ${resume?.dir} has vocab_size ${model.config.vocabSize}, the model directory ${files.dir.config.vocabSize}; was the run started from another model?`);
  }
  log.info(`policy: ${path} (${files.dir.config.modelType}, ${model.config.numLayers} layers, hidden ${model.config.hiddenSize}, vocab ${model.config.vocabSize}; ${files.chatTemplate ? "chat template" : "no chat template"})`);
  return {
    kind: "hf",
    model,
    reference: c.withReference ? frozen(loadModel(path)) : null,
    tokenizer: files.tokenizer,
    chatTemplate: files.chatTemplate,
    save: (dir, optimizer, extraFiles) => saveModelDir(dir, model, { from: path, dtype: c.policy.saveDtype, optimizer, extraFiles }),
  };
}

/**
 * The rollout sampler: the in-process engine on the policy, or an
 * OpenAI-compatible server (completions API, so the prompt tokens are
 * exactly the trainer's) whose answers are kept in `cacheFile`, so a resumed
 * run does not ask for them again.
 */
export function openSampler(s: SamplerConfig, policy: Policy, cacheFile: string, log: Logger): Sampler {
  if (s.kind === "local") return new LocalSampler(policy.model, policy.tokenizer, { batchSize: s.batchSize });
  let apiKey: string | undefined;
  if (s.apiKeyEnv !== null) {
    apiKey = process.env[s.apiKeyEnv];
    if (apiKey === undefined || apiKey === "") throw new ConfigError(`sampler.apiKeyEnv: environment variable ${s.apiKeyEnv} is not set (it should hold the server's API key)`);
  }
  return new RemoteSampler({
    baseUrl: s.baseUrl as string,
    model: s.model as string,
    api: "completions",
    tokenizer: policy.tokenizer,
    cache: resolve(cacheFile),
    concurrency: s.concurrency,
    maxNPerRequest: s.maxNPerRequest,
    maxRetries: s.maxRetries,
    timeoutMs: s.timeoutMs,
    logprobs: s.logprobs,
    logger: log,
    ...(apiKey !== undefined ? { apiKey } : {}),
  });
}

/** Where a remote run keeps the server's answers: rollouts in one file, each evaluation point in its own. */
export function responseCacheFiles(runDir: string): { rollouts: string; evalAt: (iter: number) => string } {
  return {
    rollouts: join(runDir, "responses.jsonl"),
    evalAt: (iter) => join(runDir, "eval-responses", `iter-${String(iter).padStart(6, "0")}.jsonl`),
  };
}

export class ReloadError extends GvmError {}

/**
 * Runs sampler.reloadCommand for a checkpoint (sh -c, GVM_CHECKPOINT and
 * GVM_ITER set) and waits for it; a failure stops the run with the
 * command, its exit status and the end of its stderr.
 */
export function runReloadCommand(command: string, dir: string, iter: number, log: Logger): Promise<void> {
  const t0 = performance.now();
  return new Promise((res, rej) => {
    execFile("sh", ["-c", command], { env: { ...process.env, GVM_CHECKPOINT: resolve(dir), GVM_ITER: String(iter) }, maxBuffer: 16 << 20 }, (err, _stdout, stderr) => {
      if (err) {
        const status = typeof err.code === "number" ? `exit status ${err.code}` : (err.signal ?? err.message);
        rej(new ReloadError(`sampler.reloadCommand ${JSON.stringify(command)} failed for ${dir} (${status})${stderr.trim() ? `: ${stderr.trim().slice(-500)}` : ""}`));
        return;
      }
      log.info(`sampler.reloadCommand: server reloaded with ${dir} in ${((performance.now() - t0) / 1000).toFixed(1)} s`);
      res();
    });
  });
}
