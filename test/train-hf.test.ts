/**
 * The GVM loop on a Hugging Face checkpoint with the real Qwen tokenizer
 * and chat template, end to end on CPU: MATH500 problems as the training
 * pool and test set, the paper's prompt template through the model's chat
 * template, verifier rewards, GVM-RAFT++ iterations, evaluation, checkpoints
 * in Hugging Face layout, resume, and sampling through `gvm serve` with
 * log-probs computed in-process.
 *
 * The Qwen2 checkpoint is small (hidden 16) but has Qwen's 151,936-row
 * vocabulary. A random model never writes a correct answer, which would
 * leave rewards, G_i and RAFT++ updates with nothing to do, so its weights
 * are set by hand to answer "\boxed{2}" with probability about one half:
 * the token after the prompt's last token and each token of the answer
 * have their own embedding axis, and the output head maps each axis to the
 * next token of the answer. Problems whose gold is 2 then have acceptance
 * rates spread around 0.5; the others have 0.
 */
import { mkdtempSync, readFileSync, rmSync, writeFileSync, existsSync, readdirSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { PAPER_INSTRUCTION, PAPER_SYSTEM_PROMPT, PAPER_TEMPLATE, renderPrompt } from "../src/eval/index.js";
import { type HfTokenizer, LlamaModel, loadChatTemplate, loadHfTokenizer, loadModelDir } from "../src/model/index.js";
import { GvmServer } from "../src/serve/index.js";
import { parseTrainConfig, type TrainConfig } from "../src/train/config.js";
import { type EvalRecord, type IterationRecord, type StepRecord, withoutTiming as untimed } from "../src/train/records.js";
import { train } from "../src/train/trainer.js";
import { Logger } from "../src/util/log.js";
import { Rng } from "../src/util/rng.js";
import { QWEN_TOKENIZER_DIR, qwen2Config, writeHfDir } from "./interop-helpers.js";

const HERE = dirname(fileURLToPath(import.meta.url));
const MATH500 = join(HERE, "..", "..", "shared", "data", "benchmarks", "math500.jsonl");
const tmp = mkdtempSync(join(tmpdir(), "gvm-train-hf-"));
const modelDir = join(tmp, "qwen-tiny");
const trainFile = join(tmp, "math500-subset.jsonl");
const quiet = new Logger({ level: "silent" });
const ANSWER = "2";
let problems: Array<{ problem: string; answer: string; unique_id: string; level: number }>;

afterAll(() => rmSync(tmp, { recursive: true, force: true }));

/** A Qwen2 model that answers \boxed{ANSWER} to any chat prompt about half the time (see the file comment). */
function answeringModel(tok: HfTokenizer, promptEnd: number): LlamaModel {
  const config = qwen2Config({ tie_word_embeddings: false, max_position_embeddings: 384 });
  const model = LlamaModel.init(config, new Rng(5), 0.02);
  const H = config.hiddenSize;
  const chain = [promptEnd, ...tok.encode(`\\boxed{${ANSWER}}`), tok.eosIds[0] as number];
  expect(new Set(chain).size).toBe(chain.length);
  expect(chain.length).toBeLessThanOrEqual(H);
  const embed = model.params.get("model.embed_tokens.weight")?.data as Float32Array;
  const head = model.params.get("lm_head.weight")?.data as Float32Array;
  chain.forEach((id, axis) => {
    for (let h = 0; h < H; h++) embed[id * H + h] = h === axis ? 8 : 0;
  });
  // After the final RMSNorm the hidden state is about 4 on the current token's axis: logit 4 * 3.6 = 14.4 for
  // the next token, against about 0 for the other 151,935 (probability about 0.9 per step).
  chain.slice(1).forEach((id, k) => {
    for (let h = 0; h < H; h++) head[id * H + h] = h === k ? 3.6 : 0;
  });
  return model;
}

beforeAll(() => {
  if (!existsSync(MATH500)) return;
  const rows = readFileSync(MATH500, "utf8")
    .trim()
    .split("\n")
    .map((l) => JSON.parse(l) as { problem: string; answer: string; unique_id: string; level: number });
  const shortest = (keep: (r: (typeof rows)[0]) => boolean, n: number) => rows.filter(keep).sort((a, b) => a.problem.length - b.problem.length).slice(0, n);
  problems = [...shortest((r) => r.answer === ANSWER, 3), ...shortest((r) => r.answer !== ANSWER && /^\d+$/.test(r.answer), 3)];
  writeFileSync(trainFile, problems.map((r) => JSON.stringify(r)).join("\n") + "\n");
  const tok = loadHfTokenizer(QWEN_TOKENIZER_DIR);
  const template = loadChatTemplate(QWEN_TOKENIZER_DIR, tok);
  if (!template) throw new Error("the Qwen tokenizer files carry a chat template");
  const promptEnd = tok.encode(renderPrompt(PAPER_TEMPLATE, "x", template.format)).at(-1) as number;
  writeHfDir(modelDir, answeringModel(tok, promptEnd), { dtype: "F32", shards: 1, tokenizer: true });
});

function configFor(runDir: string, over: Record<string, unknown> = {}): TrainConfig {
  return parseTrainConfig({
    seed: 1,
    runDir,
    policy: { kind: "hf", path: modelDir },
    prompts: {
      source: "dataset",
      train: { file: trainFile, question: "problem", answer: "answer", id: "unique_id", level: "level" },
      test: { file: trainFile, question: "problem", answer: "answer", id: "unique_id", level: "level" },
    },
    rl: { method: "raftpp", strategy: "gvm", promptsPerIter: 4, budget: 12, stage1: 2, stepsPerIter: 2, epochs: 1, iterations: 2, maxNewTokens: 10, lr: 1e-3 },
    eval: { every: 1, k: 2 },
    ...over,
  });
}

function records(runDir: string): Array<Record<string, unknown>> {
  return readFileSync(join(runDir, "metrics.jsonl"), "utf8")
    .trim()
    .split("\n")
    .map((l) => JSON.parse(l) as Record<string, unknown>);
}


// MATH500 lives beside the repository (../shared/data), not in it.
describe.skipIf(!existsSync(MATH500))("gvm train on a Hugging Face checkpoint with a math dataset", () => {
  it("runs GVM-RAFT++ iterations with verifier rewards, evaluates through the paper's template, saves loadable checkpoints and resumes", async () => {
    const runDir = join(tmp, "run-local");
    const c = configFor(runDir);
    const first = await train(c, { log: quiet, progress: false, stopAfter: 1 });
    expect(first).toMatchObject({ finished: false, iterations: 1 });
    const second = await train(c, { log: quiet, progress: false });
    expect(second).toMatchObject({ finished: true, iterations: 2 });
    // Resumed from the iteration-1 checkpoint (Hugging Face layout + optimizer + trainer state): the same metrics as a straight run.
    const straight = join(tmp, "run-straight");
    await train(configFor(straight), { log: quiet, progress: false });
    expect(records(runDir).map(untimed)).toEqual(records(straight).map(untimed));

    const recs = records(runDir);
    expect(recs.map((r) => r.kind)).toEqual(["run", "eval", "step", "step", "eval", "iteration", "step", "step", "eval", "iteration"]);
    expect(recs[0]).toMatchObject({ kind: "run", method: "raftpp", strategy: "gvm", regime: "dataset:math500-subset", budget: 12 });

    // Verifier rewards: only problems whose gold is 2 can be accepted, and some are.
    const iters = recs.filter((r) => r.kind === "iteration") as unknown as IterationRecord[];
    for (const it of iters) {
      expect(it.stage1Samples).toBe(8);
      expect(it.allocation.n.reduce((a, b) => a + b, 0)).toBe(12);
      const golds = it.allocation.ids.map((id) => problems.find((p) => p.unique_id === id)?.answer);
      it.allocation.p.forEach((p, i) => {
        if (golds[i] !== ANSWER) expect(p).toBe(0);
      });
      expect(it.time.scoring).toBe(0);
    }
    const accepted = iters.flatMap((it) => it.allocation.p.filter((p, i) => p > 0 && (it.allocation.G[i] as number) > 0));
    expect(accepted.length).toBeGreaterThan(0);
    const steps = recs.filter((r) => r.kind === "step") as unknown as StepRecord[];
    expect(steps.some((s) => s.gradNorm > 0 && s.tokensPerSec > 0)).toBe(true);

    // Evaluation: the paper's template through the model's own chat template, graded by the verifier.
    const evals = recs.filter((r) => r.kind === "eval") as unknown as EvalRecord[];
    for (const e of evals) {
      expect(e).toMatchObject({ set: "math500-subset", problems: 6, k: 2, template: { system: PAPER_SYSTEM_PROMPT, instruction: PAPER_INSTRUCTION, chat: "model" } });
      expect(e.accuracy).toBeGreaterThan(0);
      expect(e.accuracy).toBeLessThanOrEqual(0.5);
    }
    const loaded = loadModelDir(join(runDir, "checkpoints", readFileSync(join(runDir, "checkpoints", "latest"), "utf8").trim()));
    expect(loaded.kind).toBe("hf");
    expect(loaded.model.config.modelType).toBe("qwen2");
    const format = loaded.chatTemplate?.format;
    expect(format).toBeDefined();
    const samples = readFileSync(join(runDir, "samples.jsonl"), "utf8").trim().split("\n").map((l) => JSON.parse(l) as Record<string, unknown>);
    const evalSamples = samples.filter((s) => s.kind === "eval");
    expect(evalSamples.length).toBeGreaterThan(0);
    for (const s of evalSamples) {
      const q = problems.find((p) => p.unique_id === s.id)?.problem as string;
      expect(s.prompt).toBe(renderPrompt(PAPER_TEMPLATE, q, format));
      expect(s.prompt).toMatch(/^<\|im_start\|>system\nPlease reason step by step, and put your final answer within \\boxed\{\}\.<\|im_end\|>\n<\|im_start\|>user\n/);
    }
    // Training prompts: the paper's training instruction (final period) through the same template.
    const trainSample = samples.find((s) => s.kind === undefined) as { prompt: string };
    expect(trainSample.prompt).toMatch(/Let's think step by step and output the final answer within \\boxed\{\}\.<\|im_end\|>\n<\|im_start\|>assistant\n$/);
    // The trained weights differ from the initial ones; prompts.jsonl holds the pool.
    const initial = loadModelDir(modelDir).model.params.get("lm_head.weight")?.data as Float32Array;
    const trained = loaded.model.params.get("lm_head.weight")?.data as Float32Array;
    expect(trained.some((x, i) => x !== initial[i])).toBe(true);
    expect(readFileSync(join(runDir, "prompts.jsonl"), "utf8").trim().split("\n")).toHaveLength(6);
  }, 180_000);

  it("samples through gvm serve (OpenAI-compatible) with a response cache in the run directory and log-probs computed in-process", async () => {
    const m = loadModelDir(modelDir);
    const server = new GvmServer({ model: m.model, tokenizer: m.tokenizer, modelName: "qwen-tiny", chat: m.chatTemplate?.format ?? null, logger: quiet });
    const { url } = await server.listen(0);
    try {
      const runDir = join(tmp, "run-remote");
      const c = configFor(runDir, {
        sampler: { kind: "remote", baseUrl: url, model: "qwen-tiny", maxNPerRequest: 8, logprobs: false, reloadCommand: `printf '%s %s\\n' "$GVM_ITER" "$GVM_CHECKPOINT" >> '${join(tmp, "reloads.log")}'` },
        prompts: {
          source: "dataset",
          train: { file: trainFile, question: "problem", answer: "answer", id: "unique_id" },
          test: { benchmark: "math500", file: dirname(MATH500), limit: 3 },
        },
        rl: { method: "raftpp", strategy: "gvm", promptsPerIter: 4, budget: 12, stage1: 2, stepsPerIter: 2, epochs: 1, iterations: 1, maxNewTokens: 10, klCoef: 0 },
      });
      // Where a server samples, onCheckpoint is where it would be reloaded: each checkpoint, complete, before its evaluation.
      const handed: Array<[number, boolean, number]> = [];
      const r = await train(c, {
        log: quiet,
        progress: false,
        onCheckpoint: (dir, iter) => void handed.push([iter, existsSync(join(dir, "model.safetensors")) && existsSync(join(dir, "tokenizer.json")), records(runDir).filter((x) => x.kind === "eval").length]),
      });
      expect(r.finished).toBe(true);
      expect(handed).toEqual([
        [0, true, 0],
        [1, true, 1],
      ]);
      expect(readFileSync(join(tmp, "reloads.log"), "utf8")).toBe(`0 ${join(runDir, "checkpoints", "iter-000000")}\n1 ${join(runDir, "checkpoints", "iter-000001")}\n`);
      const recs = records(runDir);
      const it = recs.find((x) => x.kind === "iteration") as unknown as IterationRecord;
      expect(it.time.scoring).toBeGreaterThan(0);
      expect(it.time.sampling).toBeGreaterThan(0);
      const evals = recs.filter((x) => x.kind === "eval") as unknown as EvalRecord[];
      expect(evals.map((e) => [e.set, e.problems])).toEqual([
        ["math500", 3],
        ["math500", 3],
      ]);
      // Every rollout the server answered is in the run directory's cache; each evaluation point has its own.
      const cached = readFileSync(join(runDir, "responses.jsonl"), "utf8").trim().split("\n");
      expect(cached.length).toBe(it.stage1Samples + it.stage2Samples);
      expect(readdirSync(join(runDir, "eval-responses")).sort()).toEqual(["iter-000000.jsonl", "iter-000001.jsonl"]);
      for (const line of cached) expect((JSON.parse(line) as { response: { logprobs: unknown } }).response.logprobs).toBeNull();
      expect(existsSync(join(runDir, "checkpoints", "iter-000001", "tokenizer.json"))).toBe(true);
    } finally {
      await server.close();
    }
  }, 120_000);

  it("names the field or file that is wrong", async () => {
    expect(() => parseTrainConfig({ policy: { kind: "hf" } })).toThrow(/policy\.path is required when policy\.kind is "hf"/);
    expect(() => parseTrainConfig({ prompts: { source: "dataset", test: { file: "x" } } })).toThrow(/prompts\.train\.file is required/);
    expect(() => parseTrainConfig({ prompts: { source: "dataset", train: { file: "x" }, test: { benchmark: "gsm8k", file: "y" } } })).toThrow(/prompts\.test\.benchmark "gsm8k" is not a benchmark; known: math500/);
    expect(() => parseTrainConfig({ sampler: { kind: "remote", model: "m" } })).toThrow(/sampler\.baseUrl is required/);
    expect(() => parseTrainConfig({ sampler: { reloadCommand: "true" } })).toThrow(/sampler\.reloadCommand is only run when sampler\.kind is "remote"/);
    const missing = join(tmp, "nope.jsonl");
    await expect(train(configFor(join(tmp, "bad1"), { prompts: { source: "dataset", train: { file: missing }, test: { file: trainFile } } }), { log: quiet, progress: false })).rejects.toThrow(missing);
    await expect(train(configFor(join(tmp, "bad2"), { prompts: { source: "dataset", train: { file: trainFile, question: "question" }, test: { file: trainFile } } }), { log: quiet, progress: false })).rejects.toThrow(/math500-subset\.jsonl.*missing question field 'question'/);
    await expect(train(configFor(join(tmp, "bad3"), { policy: { kind: "hf", path: join(tmp, "no-model") } }), { log: quiet, progress: false })).rejects.toThrow(/no-model/);
    await expect(train(configFor(join(tmp, "bad4"), { rl: { promptsPerIter: 4, budget: 12, stage1: 2, maxNewTokens: 380 } }), { log: quiet, progress: false })).rejects.toThrow(/prompt of \d+ tokens \+ rl\.maxNewTokens 380 exceeds the model's 384 positions/);
    await expect(train(configFor(join(tmp, "bad5"), { sampler: { kind: "remote", baseUrl: "http://127.0.0.1:9/v1", model: "m", reloadCommand: "echo no server here >&2; exit 3" } }), { log: quiet, progress: false })).rejects.toThrow(
      /sampler\.reloadCommand "echo no server here >&2; exit 3" failed for .*iter-000000 \(exit status 3\): no server here/,
    );
    // Input errors come before the run directory is made.
    expect(existsSync(join(tmp, "bad1"))).toBe(false);
  });
});
