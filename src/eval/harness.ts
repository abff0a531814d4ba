/**
 * The evaluation loop over any Sampler: k responses per problem with the
 * prompt template, graded, scored per problem (avg@k, pass@k, maj@k).
 *
 * Each problem samples from its own seed, derived from (seed, set, id), so
 * its responses do not depend on which other problems share a batch, on the
 * order of evaluation or on where an interrupted run resumed: a resumed
 * evaluation produces exactly the records an uninterrupted one would.
 * Problems are taken in order of prompt length so batches pad little.
 */
import type { FinishReason } from "../model/index.js";
import type { Sampler, SamplerOptions } from "../rollout/index.js";
import { errorMessage, GvmError } from "../util/errors.js";
import type { ProgressBar } from "../util/progress.js";
import { Rng } from "../util/rng.js";
import type { EvalProblem } from "./benchmarks.js";
import type { Grader } from "./grade.js";
import { avgAtK, majAtK, passAtK } from "./metrics.js";
import { type ChatFormat, type PromptTemplate, renderPrompt } from "./prompt.js";

export class EvalError extends GvmError {}

export interface SamplingSettings {
  /** Responses per problem. */
  k: number;
  temperature: number;
  topP: number;
  topK: number;
  /** New tokens per response at most. */
  maxTokens: number;
  /** Base seed; each problem's stream derives from it, the set name and the problem id. */
  seed: number;
  /** Strings that end a response. */
  stop: string[];
}

export const DEFAULT_SAMPLING: SamplingSettings = { k: 1, temperature: 1, topP: 1, topK: 0, maxTokens: 3072, seed: 0, stop: [] };

export interface ResponseRecord {
  text: string;
  extracted: string | null;
  /** Majority-vote key (normalised answer), null when none was found. */
  key: string | null;
  correct: boolean;
  reason: string;
  finish: FinishReason;
  /** Response length in tokens. */
  tokens: number;
}

/** One line of a set's results file. */
export interface ProblemRecord {
  set: string;
  id: string;
  level: string | null;
  question: string;
  gold: string;
  /** The seed the problem's responses were drawn from. */
  seed: number;
  k: number;
  /** Correct responses among the k. */
  correct: number;
  /** avg@k of this problem (correct / k). */
  avg: number;
  /** pass@j for j = 1, 2, 4, ... up to k (and k itself), unbiased from the k samples. */
  pass: Record<string, number>;
  /** Whether the majority answer is correct. */
  maj: boolean;
  /** Seconds of sampling and grading attributed to this problem (its batch's time, shared evenly). */
  seconds: number;
  responses: ResponseRecord[];
}

/** 1, 2, 4, ... below k, then k. */
export function passKs(k: number): number[] {
  const ks: number[] = [];
  for (let j = 1; j < k; j *= 2) ks.push(j);
  ks.push(k);
  return ks;
}

function fnv1a(s: string): number {
  let h = 0x811c9dc5;
  for (let i = 0; i < s.length; i++) {
    h ^= s.charCodeAt(i);
    h = Math.imul(h, 0x01000193) >>> 0;
  }
  return h >>> 0;
}

/** The sampling seed of a problem: a function of (base seed, set, id) only. */
export function problemSeed(seed: number, set: string, id: string): number {
  return Rng.derive(seed, fnv1a(set), fnv1a(id)).u32();
}

/** Scores one problem's graded responses. */
export function scoreProblem(responses: readonly ResponseRecord[]): Pick<ProblemRecord, "k" | "correct" | "avg" | "pass" | "maj"> {
  const k = responses.length;
  const flags = responses.map((r) => r.correct);
  const correct = flags.filter(Boolean).length;
  const pass: Record<string, number> = {};
  for (const j of passKs(k)) pass[String(j)] = passAtK(k, correct, j);
  return { k, correct, avg: avgAtK(flags), pass, maj: majAtK(responses.map((r) => r.key), flags) };
}

export interface EvaluateOptions {
  sampler: Sampler;
  /** Set name (benchmark key). */
  set: string;
  problems: readonly EvalProblem[];
  settings: SamplingSettings;
  template: PromptTemplate;
  /** Overrides the template's named chat format (e.g. a model's own chat template). */
  format?: ChatFormat;
  grader: Grader;
  /** Problems sampled together in one sampler call. */
  chunk?: number;
  /** Ids already done (resume): skipped. */
  skip?: ReadonlySet<string>;
  /** Receives each chunk's records as soon as they are graded (e.g. to append them to a file). */
  onRecords?: (records: ProblemRecord[]) => void;
  /** Advanced by generated responses; its info shows the running accuracy. */
  progress?: ProgressBar;
}

/** Evaluates the problems not in `skip`; returns their records (in evaluation order). */
export async function evaluateProblems(o: EvaluateOptions): Promise<ProblemRecord[]> {
  const { sampler, settings } = o;
  if (!Number.isInteger(settings.k) || settings.k < 1) throw new EvalError(`eval: k must be an integer >= 1, got ${settings.k}`);
  if (!Number.isInteger(settings.maxTokens) || settings.maxTokens < 1) throw new EvalError(`eval: max tokens must be an integer >= 1, got ${settings.maxTokens}`);
  const chunk = Math.max(1, Math.floor(o.chunk ?? 32));
  const pending = o.problems
    .filter((p) => !o.skip?.has(p.id))
    .map((p) => {
      const prompt = renderPrompt(o.template, p.question, o.format);
      // Characters, not tokens: a remote sampler need not tokenize to be batched well.
      return { p, prompt, length: prompt.length };
    })
    .sort((a, b) => a.length - b.length);
  const samplerOptions: SamplerOptions = {
    temperature: settings.temperature,
    topP: settings.topP,
    topK: settings.topK,
    maxNewTokens: settings.maxTokens,
    ...(settings.stop.length > 0 ? { stop: settings.stop } : {}),
  };
  const out: ProblemRecord[] = [];
  let correctSum = 0;
  let responsesDone = 0;
  for (let start = 0; start < pending.length; start += chunk) {
    const batch = pending.slice(start, start + chunk);
    const t0 = performance.now();
    const seeds = batch.map(({ p }) => problemSeed(settings.seed, o.set, p.id));
    let sampled;
    try {
      let last = 0;
      sampled = await sampler.sample(
        batch.map(({ prompt }, i) => ({ prompt, n: settings.k, seed: seeds[i] as number })),
        samplerOptions,
        (done) => {
          o.progress?.tick(done - last);
          last = done;
        },
      );
    } catch (err) {
      const ids = batch.map(({ p }) => p.id);
      throw new EvalError(`eval ${o.set}: sampling problems ${ids.slice(0, 5).join(", ")}${ids.length > 5 ? ", ..." : ""} failed: ${errorMessage(err)}`, { cause: err });
    }
    const items = batch.flatMap(({ p }, i) => (sampled[i] ?? []).map((r) => ({ gold: p.gold, response: r.text })));
    const verdicts = await o.grader.grade(items);
    const seconds = (performance.now() - t0) / 1000 / batch.length;
    let v = 0;
    const records = batch.map(({ p }, i): ProblemRecord => {
      const rs = sampled[i] ?? [];
      if (rs.length !== settings.k) throw new EvalError(`eval ${o.set}: sampler ${sampler.name} returned ${rs.length} responses for problem ${p.id}, expected ${settings.k}`);
      const responses = rs.map((r): ResponseRecord => {
        const g = verdicts[v++];
        if (!g) throw new EvalError(`eval ${o.set}: grader ${o.grader.name} returned ${verdicts.length} verdicts for ${items.length} responses`);
        return { text: r.text, extracted: g.extracted, key: g.key, correct: g.correct, reason: g.reason, finish: r.finish, tokens: r.tokens.length };
      });
      return { set: o.set, id: p.id, level: p.level, question: p.question, gold: p.gold, seed: seeds[i] as number, ...scoreProblem(responses), seconds, responses };
    });
    for (const r of records) correctSum += r.correct;
    responsesDone += records.length * settings.k;
    // The last batch's accuracy is shown by the caller's finish(); a tick at 100% would draw twice.
    if (start + chunk < pending.length) o.progress?.tick(0, `acc ${(correctSum / responsesDone).toFixed(3)}`);
    o.onRecords?.(records);
    out.push(...records);
  }
  return out;
}
