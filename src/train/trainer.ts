/**
 * The training run: prompts (suite or dataset), policy (warm-started
 * builtin model or a Hugging Face directory), sampler (in-process or a
 * server), the iteration loop, evaluations, checkpoints after every
 * iteration, and resume. Rerunning the same command
 * on the same run directory continues from the last intact checkpoint; every
 * random draw is derived from (seed, iteration, ...), so the continued run
 * logs the same metrics an uninterrupted one would (timings aside).
 */
import { hostname } from "node:os";
import { join } from "node:path";
import { renderPrompt } from "../eval/index.js";
import type { ChatTemplate } from "../model/index.js";
import { buildSuite, type TaskSuite } from "../tasks/index.js";
import * as T from "../tensor/index.js";
import { atomicWrite } from "../util/atomic.js";
import { GvmError } from "../util/errors.js";
import { defaultLogger, type Logger } from "../util/log.js";
import { ProgressBar } from "../util/progress.js";
import { Rng } from "../util/rng.js";
import type { SuiteConfig, TrainConfig } from "./config.js";
import { type IterationPlan, planIterations, runIteration } from "./iteration.js";
import { openPolicy, openSampler, type PolicyFiles, policyFiles, responseCacheFiles, runReloadCommand } from "./policy.js";
import { checkPromptLengths, datasetPromptSource, type PromptSource, suitePromptSource, type TrainPrompt } from "./prompts.js";
import type { EvalRecord, IterationRecord, RunRecord, StepRecord } from "./records.js";
import { chooseResumePoint, type TrainerState } from "./resume.js";
import { type CheckpointRef, RunDir } from "./rundir.js";
import { evaluateTestSet } from "./testeval.js";

export class TrainError extends GvmError {}

/** Config fields that hold paths: stored resolved in config.json, so `relrun` and `./relrun` are one run. */
export const TRAIN_PATH_FIELDS = ["runDir", "policy.path", "warmStart.cacheDir", "prompts.train.file", "prompts.test.file"] as const;

export interface TrainOptions {
  log?: Logger;
  /** Stop after this many iterations in this process (tests of resume); the run is not finished. */
  stopAfter?: number;
  /** Draw progress bars. */
  progress?: boolean;
  /**
   * Called with each checkpoint as soon as it is committed (and, when
   * resuming, with the checkpoint the run continues from), before any more
   * sampling: where a server samples the rollouts, reload it from `dir`
   * here, so it serves the current policy.
   */
  onCheckpoint?: (dir: string, iter: number) => void | Promise<void>;
}

export interface TrainResult {
  runDir: string;
  finished: boolean;
  iterations: number;
  samples: number;
  /** Generated response tokens. */
  tokens: number;
  wallclock: number;
  evals: EvalRecord[];
}

export function buildTaskSuite(s: SuiteConfig): TaskSuite {
  return buildSuite({ seed: s.seed, trainSize: s.trainSize, testSize: s.testSize, trainMix: s.regime, testMix: "levels", maxValue: s.maxValue });
}

/**
 * `count` prompts from position `start` of the run's prompt stream:
 * consecutive slots of per-epoch shuffles of the pool. Iteration i takes the
 * next m, and a strategy's extra rounds (dapo) the ones after, so the
 * stream is one sequence however many an iteration took.
 */
export function promptsAt<P>(seed: number, pool: readonly P[], start: number, count: number): P[] {
  const out: P[] = [];
  let order: number[] = [];
  let orderEpoch = -1;
  for (let j = 0; j < count; j++) {
    const pos = start + j;
    const epoch = Math.floor(pos / pool.length);
    if (epoch !== orderEpoch) {
      order = Rng.derive(seed, 0xda7a, epoch).shuffle(Array.from({ length: pool.length }, (_, i) => i));
      orderEpoch = epoch;
    }
    out.push(pool[order[pos % pool.length] as number] as P);
  }
  return out;
}

/** The run's prompts: the suite's, or a dataset's read and rendered with the policy's chat template. */
async function openPromptSource(c: Pick<TrainConfig, "prompts" | "suite" | "policy" | "rl">, suite: TaskSuite | null, chatTemplate: ChatTemplate | null, log: Logger): Promise<PromptSource> {
  if (c.prompts.source === "suite") return suitePromptSource(c.suite.regime, suite as TaskSuite);
  return datasetPromptSource(c.prompts, { chatTemplate, modelDir: c.policy.path, promptsPerIter: c.rl.promptsPerIter }, log);
}

/**
 * What a run is made of, resolved from its config before anything is
 * written: what each iteration reads (the strategy with its parsed options,
 * the learner, sizes), the task suite, the policy's files and the prompt
 * source.
 */
interface TrainPlan {
  config: TrainConfig;
  iteration: IterationPlan;
  suite: TaskSuite | null;
  files: PolicyFiles;
  source: PromptSource;
}

export async function train(c: TrainConfig, o: TrainOptions = {}): Promise<TrainResult> {
  const log = o.log ?? defaultLogger();
  const iteration = planIterations(c.seed, c.rl);
  // Everything that can be wrong with the inputs fails before the run directory is made.
  const suite = c.prompts.source === "suite" || c.policy.kind === "builtin" ? buildTaskSuite(c.suite) : null;
  const files = policyFiles(c);
  const source = await openPromptSource(c, suite, files.chatTemplate, log);
  checkPromptLengths(source, files.tokenizer, files.maxPositions, c.rl.maxNewTokens, c.policy.kind === "hf" ? `max_position_embeddings of ${c.policy.path}/config.json` : "model.maxPositions");
  // Locked, but nothing written yet: where the run directory itself is does not make it another run.
  const run = RunDir.open(c.runDir, c, { log, pathFields: TRAIN_PATH_FIELDS, ignoreFields: ["runDir"] });
  try {
    return await trainIn(run, { config: c, iteration, suite, files, source }, o, log);
  } finally {
    run.close();
  }
}

/**
 * heartbeat.json: which process writes the run and how far it got, replaced
 * once per iteration, so a watcher (gvm dashboard) can tell a live run from
 * one that went quiet without reading the metrics.
 */
function writeHeartbeat(run: RunDir, state: TrainerState): void {
  atomicWrite(join(run.path, "heartbeat.json"), `${JSON.stringify({ pid: process.pid, host: hostname(), time: new Date().toISOString(), iter: state.iter, samples: state.samples })}\n`);
}

/** The run once its directory is locked: resume point, policy, then (the run begun) the loop. */
async function trainIn(run: RunDir, plan: TrainPlan, o: TrainOptions, log: Logger): Promise<TrainResult> {
  const { config: c, suite, files, source } = plan;
  const point = chooseResumePoint(run, log);
  const resume = point?.ref ?? null;
  // The policy opens (warm start, model directory) before the run begins, so a start that fails here writes no config.json.
  const policy = openPolicy({ ...c, withReference: c.rl.klCoef > 0 }, files, suite, point ? { dir: point.ref.dir, model: point.model } : null, log);
  run.begin(resume);
  run.writePrompts(source.train.map((p) => ({ id: p.id, problem: p.question, answer: p.answer, level: p.level })));
  const state: TrainerState = point ? point.state : { iter: 0, step: 0, samples: 0, tokens: 0, wallclock: 0, online: [] };
  if (point) log.info(`resuming ${c.runDir} after iteration ${state.iter} (${state.samples} responses so far)`);
  writeHeartbeat(run, state);
  const opt = new T.AdamW(policy.model.params, { lr: c.rl.lr, weightDecay: c.rl.weightDecay, beta1: 0.9, beta2: 0.999 }, T.warmupConstant(c.rl.warmupSteps));
  if (point) opt.loadState(point.optimizer);
  const reload = c.sampler.reloadCommand;
  const onCheckpoint = async (dir: string, iter: number): Promise<void> => {
    if (c.sampler.kind === "remote" && reload !== null) await runReloadCommand(reload, dir, iter, log);
    await o.onCheckpoint?.(dir, iter);
  };
  const caches = responseCacheFiles(c.runDir);
  const sampler = openSampler(c.sampler, policy, caches.rollouts, log);
  const online = new Map(state.online);
  const label = c.label ?? `${c.rl.method}/${c.rl.strategy}`;
  const evals: EvalRecord[] = run.readMetrics().filter((r): r is EvalRecord & Record<string, unknown> => r.kind === "eval") as EvalRecord[];

  const evaluate = async (): Promise<number> => {
    const t0 = performance.now();
    const test = source.test;
    const bar = o.progress === false ? null : new ProgressBar("  eval", test.problems.length * c.eval.k, { unit: "resp" });
    // A server's answers for each evaluation point in their own cache: every point asks with the same seeds.
    const evalSampler = c.sampler.kind === "remote" ? openSampler(c.sampler, policy, caches.evalAt(state.iter), log) : sampler;
    const r = await evaluateTestSet(evalSampler, test, { k: c.eval.k, temperature: c.eval.temperature, maxNewTokens: c.rl.maxNewTokens, seed: c.eval.seed }, bar ?? undefined);
    bar?.finish();
    const template = { system: test.template.system, instruction: test.template.instruction, chat: test.chat };
    const rec: EvalRecord = { kind: "eval", iter: state.iter, step: state.step, samples: state.samples, tokens: state.tokens, wallclock: state.wallclock, accuracy: r.accuracy, ci: r.ci, byLevel: r.byLevel, k: c.eval.k, set: test.set, problems: test.problems.length, template };
    run.appendMetrics({ ...rec });
    for (const p of r.records.slice(0, 2)) {
      const first = p.responses[0];
      run.appendSample({ iter: state.iter, kind: "eval", set: test.set, id: p.id, prompt: renderPrompt(test.template, p.question, test.format), response: first?.text ?? "", correct: first?.correct ?? false });
    }
    evals.push(rec);
    log.info(`[${label}] iter ${state.iter}: test accuracy ${r.accuracy.toFixed(3)} (${state.samples} responses, ${state.wallclock.toFixed(0)} s)`);
    return (performance.now() - t0) / 1000;
  };

  if (!resume) {
    const rec: RunRecord = { kind: "run", iter: 0, method: c.rl.method, strategy: c.rl.strategy, label, seed: c.seed, regime: source.name, budget: c.rl.budget, budgetMode: c.rl.budgetMode };
    run.appendMetrics({ ...rec });
    const ckpt = await saveIteration();
    await evaluate();
    run.markLatest(ckpt);
  } else {
    await onCheckpoint(resume.dir, resume.iter);
  }

  /**
   * Writes the checkpoint of the iterations done so far and hands it to
   * onCheckpoint before the evaluation samples (a server reloaded there
   * evaluates the current policy); it becomes the resume point once the
   * iteration's records are logged.
   */
  async function saveIteration(): Promise<CheckpointRef> {
    state.online = [...online];
    const ref = run.writeCheckpoint(state.iter, (dir) => policy.save(dir, opt.state(), { "trainer.json": `${JSON.stringify(state)}\n` }));
    await onCheckpoint(ref.dir, ref.iter);
    return ref;
  }

  let ranHere = 0;
  const done = () => state.iter >= c.rl.iterations || (c.rl.maxSamples > 0 && state.samples >= c.rl.maxSamples);
  const bar = o.progress === false ? null : new ProgressBar(label, c.rl.iterations, { unit: "iter" });
  bar?.tick(state.iter);
  while (!done() && (o.stopAfter === undefined || ranHere < o.stopAfter)) {
    const iter = state.iter + 1;
    const t0 = performance.now();
    const cpu0 = process.cpuUsage();
    // Where the prompt stream stands is saved with each checkpoint: strategies that draw extra prompts (dapo) move it by more than m.
    let drawn = state.promptsDrawn ?? state.iter * c.rl.promptsPerIter;
    const draw = (count: number): TrainPrompt[] => {
      const next = promptsAt<TrainPrompt>(c.seed, source.train, drawn, count);
      drawn += count;
      return next;
    };
    const prompts = draw(c.rl.promptsPerIter);
    const res = await runIteration(
      { plan: plan.iteration, policy: policy.model, reference: policy.reference, opt, sampler, padId: policy.tokenizer.padId, reward: source.reward, online, drawPrompts: draw,
        onGenerated: (responses, tokens) => {
          state.samples += responses;
          state.tokens += tokens;
        },
        onStep: (stats, extra) => {
          state.step++;
          const rec: StepRecord = { kind: "step", iter, step: state.step, loss: stats.loss, kl: stats.kl, entropy: stats.entropy, clipFrac: stats.clipFrac, gradNorm: stats.gradNorm, lr: opt.currentLr(), ...extra, samples: state.samples, tokens: state.tokens, wallclock: state.wallclock + (performance.now() - t0) / 1000 };
          run.appendMetrics({ ...rec });
        } },
      iter,
      prompts,
    );
    state.iter = iter;
    state.promptsDrawn = drawn;
    state.wallclock += (performance.now() - t0) / 1000;
    const cpu = process.cpuUsage(cpu0);
    const rec: IterationRecord = { kind: "iteration", iter, step: state.step, samples: state.samples, tokens: state.tokens, wallclock: state.wallclock, stage1Samples: res.stage1, stage2Samples: res.stage2, trainReward: res.trainReward, acceptedFrac: res.acceptedFrac, time: { ...res.time, eval: 0 }, cpu: (cpu.user + cpu.system) / 1e6, allocation: res.allocation, generation: res.generation };
    for (const ex of res.examples) run.appendSample({ iter, ...ex });
    const ckpt = await saveIteration();
    let evalTime = 0;
    if (iter % c.eval.every === 0 || done()) evalTime = await evaluate();
    rec.time.eval = evalTime;
    run.appendMetrics({ ...rec });
    run.markLatest(ckpt);
    writeHeartbeat(run, state);
    ranHere++;
    bar?.tick(1, `reward ${res.trainReward.toFixed(2)} samples ${state.samples}`);
  }
  bar?.finish();
  return { runDir: c.runDir, finished: done(), iterations: state.iter, samples: state.samples, tokens: state.tokens, wallclock: state.wallclock, evals };
}
