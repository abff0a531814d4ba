/**
 * Generation for the server: the in-process engine's decoding, step by
 * step, yielding to the event loop between steps so responses stream and
 * other connections are served while a long generation runs.
 *
 * It runs generate's own SamplingLoop, so it makes exactly the choices
 * LocalSampler makes: response j of a request with seed s draws from
 * Rng.derive(s, j), log-probs are those of softmax(logits / temperature)
 * (temperature 1 when greedy), stop ids end a row with the id kept, and a
 * stop string is matched on the decoded tail of the last 64 tokens. A
 * request served here and the same request sampled in-process give the
 * same tokens and log-probs.
 */
import { setImmediate as tick } from "node:timers/promises";
import { type FinishReason, type LlamaModel, logSoftmaxNorm, SamplingLoop, type Tokenizer } from "../model/index.js";
import { Rng } from "../util/rng.js";

export interface GenerationJob {
  /** Prompt token ids (BOS included when the tokenizer uses one). */
  prompt: number[];
  /** Rows (choices) sampled together. */
  n: number;
  seed: number;
  temperature: number;
  topP: number;
  topK: number;
  maxTokens: number;
  stop: readonly string[];
  /** Alternatives per token to report (0 = the sampled token only). */
  topLogprobs: number;
}

export interface TokenEvent {
  row: number;
  id: number;
  logprob: number;
  /** The k most likely ids and their log-probs, when topLogprobs > 0. */
  top: Array<[number, number]>;
}

export interface JobResult {
  tokens: number[][];
  logprobs: number[][];
  top: Array<Array<Array<[number, number]>>>;
  finish: FinishReason[];
  /** Index into job.stop of the string that ended each row, or -1. */
  stopIndex: number[];
}

/** Runs one job; onStep receives each step's new tokens. `cancelled` is polled between steps. */
export async function runJob(model: LlamaModel, tokenizer: Tokenizer, job: GenerationJob, onStep: (events: TokenEvent[]) => void, cancelled: () => boolean): Promise<JobResult> {
  const B = job.n;
  const res: JobResult = {
    tokens: Array.from({ length: B }, () => []),
    logprobs: Array.from({ length: B }, () => []),
    top: Array.from({ length: B }, () => []),
    finish: new Array<FinishReason>(B).fill("length"),
    stopIndex: new Array<number>(B).fill(-1),
  };
  if (job.maxTokens === 0) return res;
  const loop = new SamplingLoop(
    model,
    Array.from({ length: B }, () => job.prompt),
    {
      temperature: job.temperature,
      topP: job.topP,
      topK: job.topK,
      maxNewTokens: job.maxTokens,
      stopIds: tokenizer.eosIds,
      padId: tokenizer.padId,
      rngs: Array.from({ length: B }, (_, j) => Rng.derive(job.seed, j)),
      shouldStop:
        job.stop.length === 0
          ? undefined
          : (row, toks) => {
              const tail = tokenizer.decode(toks.slice(-64));
              const k = job.stop.findIndex((str) => str.length > 0 && tail.endsWith(str));
              if (k >= 0) res.stopIndex[row] = k;
              return k >= 0;
            },
    },
  );
  const temperature = job.temperature === 0 ? 1 : job.temperature;
  try {
    for (;;) {
      const events: TokenEvent[] = [];
      loop.draw((d, logits) => {
        const top = job.topLogprobs > 0 ? topLogprobs(logits, temperature, job.topLogprobs) : [];
        (res.top[d.row] as Array<Array<[number, number]>>).push(top);
        events.push({ row: d.row, id: d.id, logprob: d.logprob, top });
      });
      onStep(events);
      if (loop.finished) break;
      await tick();
      if (cancelled()) break;
      loop.advance();
    }
  } finally {
    loop.dispose();
  }
  return { ...res, tokens: loop.tokens, logprobs: loop.logprobs, finish: loop.finish };
}

/** The k most likely entries of log softmax(row / temperature), best first, ties to the lower id. */
function topLogprobs(row: Float32Array, temperature: number, k: number): Array<[number, number]> {
  const { max, lse } = logSoftmaxNorm(row, temperature);
  const best: number[] = [];
  for (let j = 0; j < row.length; j++) {
    if (best.length < k || (row[j] as number) > (row[best[best.length - 1] as number] as number)) {
      best.push(j);
      best.sort((x, y) => (row[y] as number) - (row[x] as number) || x - y);
      if (best.length > k) best.pop();
    }
  }
  return best.map((j) => [j, ((row[j] as number) - max) / temperature - lse]);
}

/**
 * Incremental detokenization (vLLM's prefix/read offsets): text grows only
 * by complete characters, so a multi-byte character split over tokens is
 * never sent half-done.
 */
export class IncrementalText {
  text = "";
  private prefix = 0;
  private read = 0;

  constructor(private readonly tokenizer: Tokenizer) {}

  /** Feeds the row's whole token list (grown by one); returns the new text. */
  push(tokens: readonly number[]): string {
    const before = this.tokenizer.decode(tokens.slice(this.prefix, this.read));
    const after = this.tokenizer.decode(tokens.slice(this.prefix));
    if (after.length > before.length && !after.endsWith("\uFFFD")) {
      const delta = after.slice(before.length);
      this.prefix = this.read;
      this.read = tokens.length;
      this.text += delta;
      return delta;
    }
    return "";
  }
}
