/**
 * The one sampling interface behind training rollouts and evaluation: text
 * prompts in, n responses each out. The in-process engine implements it
 * here; an OpenAI-compatible server can implement it too, so the GVM loop
 * and the evaluation harness do not care where samples come from.
 *
 * Response j of a request draws from its own stream derived from
 * (request.seed, j), so a sample never depends on how requests are batched:
 * the same seeds give the same samples (common random numbers across runs).
 */
import { Rng } from "../util/rng.js";
import { type FinishReason, generate, type LlamaModel, ModelError, type Tokenizer, validateSampling } from "../model/index.js";

export interface SamplingRequest {
  /** Prompt text, already in its final template. */
  prompt: string;
  /** Responses wanted. */
  n: number;
  /** Response j uses the stream derived from (seed, j). */
  seed: number;
}

export interface SamplerOptions {
  /** Softmax temperature; 0 = greedy. */
  temperature: number;
  /** Nucleus threshold in (0, 1]. */
  topP: number;
  /** Keep the k most likely tokens; 0 = all. */
  topK: number;
  /** New tokens per response at most. */
  maxNewTokens: number;
  /** Strings that end a response (kept in its text). */
  stop?: readonly string[];
}

export interface SampledResponse {
  text: string;
  /** Token ids of the response (the stop token included when one ended it). */
  tokens: number[];
  /** Behaviour-policy log-prob of each token, or null when the backend gives none. */
  logprobs: number[] | null;
  finish: FinishReason;
}

export interface Sampler {
  /** For logs and reports. */
  readonly name: string;
  /** Prompt token ids as the policy sees them (for scoring and training on responses). */
  promptTokens(prompt: string): number[];
  /** n responses per request, in request order. onProgress counts finished responses. */
  sample(requests: readonly SamplingRequest[], options: SamplerOptions, onProgress?: (done: number, total: number) => void): Promise<SampledResponse[][]>;
}

export interface LocalSamplerOptions {
  /** Sequences decoded together (bounds KV-cache memory). */
  batchSize?: number;
}

/** Sampling from the in-process engine. */
export class LocalSampler implements Sampler {
  readonly name = "local";
  private readonly batchSize: number;

  constructor(
    readonly model: LlamaModel,
    readonly tokenizer: Tokenizer,
    options: LocalSamplerOptions = {},
  ) {
    this.batchSize = options.batchSize ?? 256;
    if (tokenizer.vocabSize > model.config.vocabSize) {
      throw new ModelError(`LocalSampler: tokenizer has ${tokenizer.vocabSize} ids but the model's vocab_size is ${model.config.vocabSize}`);
    }
  }

  promptTokens(prompt: string): number[] {
    const ids = this.tokenizer.encode(prompt);
    return this.tokenizer.bosId === null ? ids : [this.tokenizer.bosId, ...ids];
  }

  async sample(requests: readonly SamplingRequest[], options: SamplerOptions, onProgress?: (done: number, total: number) => void): Promise<SampledResponse[][]> {
    validateSampling(options);
    const out: SampledResponse[][] = requests.map(() => []);
    const jobs: Array<{ req: number; j: number; prompt: number[] }> = [];
    requests.forEach((r, req) => {
      if (!Number.isInteger(r.n) || r.n < 0) throw new ModelError(`sample: request ${req} asks for n = ${r.n} responses`);
      const prompt = this.promptTokens(r.prompt);
      for (let j = 0; j < r.n; j++) jobs.push({ req, j, prompt });
    });
    // Similar lengths together: less padding per batch.
    const order = jobs.map((_, i) => i).sort((a, b) => (jobs[b] as (typeof jobs)[0]).prompt.length - (jobs[a] as (typeof jobs)[0]).prompt.length || a - b);
    const slots: (SampledResponse | undefined)[] = new Array(jobs.length);
    const stops = options.stop ?? [];
    let done = 0;
    for (let start = 0; start < order.length; start += this.batchSize) {
      const batch = order.slice(start, start + this.batchSize).map((i) => jobs[i] as (typeof jobs)[0]);
      const g = generate(this.model, batch.map((b) => b.prompt), {
        ...options,
        stopIds: this.tokenizer.eosIds,
        padId: this.tokenizer.padId,
        rngs: batch.map((b) => Rng.derive((requests[b.req] as SamplingRequest).seed, b.j)),
        shouldStop: stops.length === 0 ? undefined : (_row, toks) => endsWithStop(this.tokenizer.decode(toks.slice(-64)), stops),
      });
      batch.forEach((_b, i) => {
        slots[order[start + i] as number] = {
          text: this.tokenizer.decode(g.tokens[i] as number[]),
          tokens: g.tokens[i] as number[],
          logprobs: g.logprobs[i] as number[],
          finish: g.finish[i] as FinishReason,
        };
      });
      done += batch.length;
      onProgress?.(done, jobs.length);
      // Let timers and signals run between batches of a long sampling job.
      await new Promise((resolve) => setImmediate(resolve));
    }
    jobs.forEach((job, i) => (out[job.req] as SampledResponse[]).push(slots[i] as SampledResponse));
    return out;
  }
}

function endsWithStop(text: string, stops: readonly string[]): boolean {
  for (const s of stops) if (s.length > 0 && text.endsWith(s)) return true;
  return false;
}
