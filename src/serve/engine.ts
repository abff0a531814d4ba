/**
 * Generation for the server: the in-process engine's decoding, step by
 * step, yielding to the event loop between steps so responses stream and
 * other connections are served while a long generation runs.
 *
 * It makes exactly the choices LocalSampler (generate) makes: response j
 * of a request with seed s draws from Rng.derive(s, j), tokens come from
 * sampleToken under the same settings, log-probs are those of
 * softmax(logits / temperature) (temperature 1 when greedy), stop ids end a
 * row with the id kept, and a stop string is matched on the decoded tail of
 * the last 64 tokens. A request served here and the same request sampled
 * in-process give the same tokens.
 */
import { setImmediate as tick } from "node:timers/promises";
import { Decoder, type FinishReason, type LlamaModel, sampleToken, type Tokenizer } from "../model/index.js";
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
  const P = job.prompt.length;
  const V = model.config.vocabSize;
  const params = { temperature: job.temperature, topP: job.topP, topK: job.topK };
  const rngs = Array.from({ length: B }, (_, j) => Rng.derive(job.seed, j));
  const stopIds = new Set(tokenizer.eosIds);
  const res: JobResult = {
    tokens: Array.from({ length: B }, () => []),
    logprobs: Array.from({ length: B }, () => []),
    top: Array.from({ length: B }, () => []),
    finish: new Array<FinishReason>(B).fill("length"),
    stopIndex: new Array<number>(B).fill(-1),
  };
  if (job.maxTokens === 0) return res;
  const decoder = new Decoder(model, B, P + job.maxTokens);
  const ids = new Int32Array(B * P);
  const positions = new Int32Array(B * P);
  const mask = new Uint8Array(B * P).fill(1);
  for (let b = 0; b < B; b++) {
    for (let t = 0; t < P; t++) {
      ids[b * P + t] = job.prompt[t] as number;
      positions[b * P + t] = t;
    }
  }
  try {
    const done = new Uint8Array(B);
    const step = new Int32Array(B);
    const stepPos = new Int32Array(B);
    let running = B;
    let logits = decoder.prefill(ids, P, positions, mask);
    for (let s = 0; s < job.maxTokens && running > 0; s++) {
      const events: TokenEvent[] = [];
      for (let b = 0; b < B; b++) {
        if (done[b]) {
          step[b] = tokenizer.padId;
          continue;
        }
        const row = logits.subarray(b * V, (b + 1) * V);
        const id = sampleToken(row, params, rngs[b] as Rng);
        const lp = logSoftmaxAt(row, job.temperature === 0 ? 1 : job.temperature, id, job.topLogprobs);
        const toks = res.tokens[b] as number[];
        toks.push(id);
        (res.logprobs[b] as number[]).push(lp.logprob);
        (res.top[b] as Array<Array<[number, number]>>).push(lp.top);
        events.push({ row: b, id, logprob: lp.logprob, top: lp.top });
        step[b] = id;
        let stopped = stopIds.has(id);
        if (!stopped && job.stop.length > 0) {
          const tail = tokenizer.decode(toks.slice(-64));
          const k = job.stop.findIndex((str) => str.length > 0 && tail.endsWith(str));
          if (k >= 0) {
            stopped = true;
            res.stopIndex[b] = k;
          }
        }
        if (stopped) {
          done[b] = 1;
          res.finish[b] = "stop";
          running--;
        }
        stepPos[b] = P + s;
      }
      onStep(events);
      if (running === 0 || s + 1 === job.maxTokens) break;
      await tick();
      if (cancelled()) break;
      logits = decoder.step(step, stepPos);
    }
  } finally {
    decoder.dispose();
  }
  return res;
}

/** log softmax(row / temperature) at id, and the k best entries (in double, as generate computes it). */
function logSoftmaxAt(row: Float32Array, temperature: number, id: number, k: number): { logprob: number; top: Array<[number, number]> } {
  let max = -Infinity;
  for (let j = 0; j < row.length; j++) if ((row[j] as number) > max) max = row[j] as number;
  let sum = 0;
  for (let j = 0; j < row.length; j++) sum += Math.exp(((row[j] as number) - max) / temperature);
  const lse = Math.log(sum);
  const at = (j: number) => ((row[j] as number) - max) / temperature - lse;
  const top: Array<[number, number]> = [];
  if (k > 0) {
    const best: number[] = [];
    for (let j = 0; j < row.length; j++) {
      if (best.length < k || (row[j] as number) > (row[best[best.length - 1] as number] as number)) {
        best.push(j);
        best.sort((x, y) => (row[y] as number) - (row[x] as number) || x - y);
        if (best.length > k) best.pop();
      }
    }
    for (const j of best) top.push([j, at(j)]);
  }
  return { logprob: at(id), top };
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
