/**
 * Sampling through any OpenAI-compatible server (vLLM, SGLang, llama.cpp
 * server, `gvm serve`): the Sampler interface over HTTP, so the GVM loop
 * and the evaluation harness run unchanged against an inference cluster.
 *
 * Each request's n responses (the allocation n_i) go out as one or more
 * server calls of at most `maxNPerRequest` choices. Call c covering
 * responses [a, b) carries n = b - a and the seed `chunkSeed(seed, a)`, so
 * the same plan asks the same questions again. Every answer is recorded in
 * the response cache as it arrives (a JSONL file when a path is given):
 * a failing call never loses the answers already received, and a rerun
 * asks only for what is missing.
 *
 * Tokens: vLLM returns token ids when asked (return_tokens_as_token_ids),
 * and so does `gvm serve`; otherwise the response text is tokenized with
 * the model's tokenizer (EOS appended when the server stopped without a
 * stop string), and the server's log-probs are kept only if they line up
 * with those tokens. Log-probs are null when the server gives none.
 */
import { defaultLogger, type Logger } from "../util/log.js";
import { Rng } from "../util/rng.js";
import { type FinishReason, ModelError, type Tokenizer, validateSampling } from "../model/index.js";
import { type CacheSettings, cacheKey, ResponseCache } from "./remote-cache.js";
import type { SampledResponse, Sampler, SamplerOptions, SamplingRequest } from "./sampler.js";

export class RemoteSamplerError extends ModelError {}

/**
 * A 200 whose body is not the completion promised (an HTML error page from
 * a proxy, JSON cut short, the wrong number of choices): retried like a 5xx,
 * since a flaky server or proxy sends it once and then answers properly.
 */
class MalformedAnswer extends RemoteSamplerError {}

export type RemoteApi = "completions" | "chat";

export interface RemoteSamplerOptions {
  /** Base URL of the API, up to and including /v1 (e.g. http://127.0.0.1:8000/v1). */
  baseUrl: string;
  /** Model name the server serves (the "model" field of every request). */
  model: string;
  /** /v1/completions with the prompt text (default; exact prompt tokens), or /v1/chat/completions with the prompt as one user message. */
  api?: RemoteApi;
  /** Sent as "Authorization: Bearer KEY". */
  apiKey?: string;
  /** The model's tokenizer: prompt tokens, and response tokens when the server returns no ids. */
  tokenizer?: Tokenizer;
  /** Chat mode: the template the server applies (the model's own), so promptTokens matches it. */
  chatFormat?: (messages: ReadonlyArray<{ role: "system" | "user" | "assistant"; content: string }>) => string;
  /** Server calls in flight at once (default 8). */
  concurrency?: number;
  /** Responses per server call at most (default 64). */
  maxNPerRequest?: number;
  /** Retries of a call after 429, 5xx, a timeout, a dropped connection or a malformed answer (default 6). */
  maxRetries?: number;
  /** First retry delay; doubles each time, with jitter, up to maxRetryDelayMs (default 500). */
  retryDelayMs?: number;
  maxRetryDelayMs?: number;
  /** Per-call time limit (default 10 minutes). */
  timeoutMs?: number;
  /** Ask for the sampled tokens' log-probs (default true). */
  logprobs?: boolean;
  /** Responses already received (a ResponseCache, or a JSONL path for one). */
  cache?: ResponseCache | string;
  /** More request fields (e.g. {"repetition_penalty": 1.0}); they also key the cache. */
  extraBody?: Record<string, unknown>;
  /** Accept responses without token ids and without a tokenizer (tokens [], for evaluation only). */
  textOnly?: boolean;
  logger?: Logger;
}

/** The seed of the call covering responses [a, ...) of a request with this seed. */
export function chunkSeed(seed: number, a: number): number {
  return a === 0 ? seed : Rng.derive(seed, a).u32() & 0x7fffffff;
}

interface Call {
  req: number;
  /** First response index covered. */
  a: number;
  n: number;
}

const RETRY_STATUS = new Set([408, 409, 425, 429, 500, 502, 503, 504]);

export class RemoteSampler implements Sampler {
  readonly name: string;
  readonly cache: ResponseCache;
  private readonly o: Required<Pick<RemoteSamplerOptions, "api" | "concurrency" | "maxNPerRequest" | "maxRetries" | "retryDelayMs" | "maxRetryDelayMs" | "timeoutMs" | "logprobs" | "textOnly">>;
  private readonly url: string;
  private readonly logger: Logger;

  constructor(private readonly options: RemoteSamplerOptions) {
    let base: URL;
    try {
      base = new URL(options.baseUrl);
    } catch {
      throw new RemoteSamplerError(`remote sampler: base URL ${JSON.stringify(options.baseUrl)} is not a URL (expected e.g. http://127.0.0.1:8000/v1)`);
    }
    if (base.protocol !== "http:" && base.protocol !== "https:") throw new RemoteSamplerError(`remote sampler: base URL ${options.baseUrl} must be http or https`);
    this.o = {
      api: options.api ?? "completions",
      concurrency: options.concurrency ?? 8,
      maxNPerRequest: options.maxNPerRequest ?? 64,
      maxRetries: options.maxRetries ?? 6,
      retryDelayMs: options.retryDelayMs ?? 500,
      maxRetryDelayMs: options.maxRetryDelayMs ?? 30_000,
      timeoutMs: options.timeoutMs ?? 600_000,
      logprobs: options.logprobs ?? true,
      textOnly: options.textOnly ?? false,
    };
    for (const k of ["concurrency", "maxNPerRequest"] as const) {
      if (!Number.isInteger(this.o[k]) || this.o[k] < 1) throw new RemoteSamplerError(`remote sampler: ${k} must be an integer >= 1, got ${this.o[k]}`);
    }
    if (!Number.isInteger(this.o.maxRetries) || this.o.maxRetries < 0) throw new RemoteSamplerError(`remote sampler: maxRetries must be an integer >= 0, got ${this.o.maxRetries}`);
    this.url = `${options.baseUrl.replace(/\/+$/, "")}/${this.o.api === "chat" ? "chat/completions" : "completions"}`;
    this.name = `remote:${options.model}@${options.baseUrl}`;
    this.logger = options.logger ?? defaultLogger();
    this.cache = options.cache instanceof ResponseCache ? options.cache : new ResponseCache(options.cache ?? null, this.logger);
  }

  promptTokens(prompt: string): number[] {
    const tok = this.options.tokenizer;
    if (!tok) throw new RemoteSamplerError(`${this.name}: promptTokens needs the model's tokenizer (pass tokenizer: loadTokenizerDir(DIR).tokenizer) to score or train on responses`);
    let text = prompt;
    if (this.o.api === "chat") {
      if (!this.options.chatFormat) throw new RemoteSamplerError(`${this.name}: in chat mode promptTokens needs the chat template the server applies (pass chatFormat: loadTokenizerDir(DIR).chatTemplate.format)`);
      text = this.options.chatFormat([{ role: "user", content: prompt }]);
    }
    const ids = tok.encode(text);
    return tok.bosId === null ? ids : [tok.bosId, ...ids];
  }

  async sample(requests: readonly SamplingRequest[], options: SamplerOptions, onProgress?: (done: number, total: number) => void): Promise<SampledResponse[][]> {
    validateSampling(options);
    if (!Number.isInteger(options.maxNewTokens) || options.maxNewTokens < 1) throw new RemoteSamplerError(`${this.name}: maxNewTokens must be an integer >= 1, got ${options.maxNewTokens}`);
    const settings = this.settingsOf(options);
    const out: (SampledResponse | undefined)[][] = requests.map((r, i) => {
      if (!Number.isInteger(r.n) || r.n < 0) throw new RemoteSamplerError(`sample: request ${i} asks for n = ${r.n} responses`);
      return new Array<SampledResponse | undefined>(r.n);
    });
    const total = requests.reduce((s, r) => s + r.n, 0);
    let done = 0;
    const calls: Call[] = [];
    const M = this.o.maxNPerRequest;
    requests.forEach((r, req) => {
      const row = out[req] as (SampledResponse | undefined)[];
      // Chunks sit at fixed multiples of M; inside one, each run of missing responses is one call.
      for (let c = 0; c < r.n; c += M) {
        const end = Math.min(c + M, r.n);
        let a = -1;
        for (let j = c; j <= end; j++) {
          const hit = j < end ? this.cache.get(cacheKey(r.prompt, r.seed, j, settings)) : undefined;
          if (hit) {
            row[j] = hit;
            done++;
          }
          if (j < end && !hit) {
            if (a < 0) a = j;
          } else if (a >= 0) {
            calls.push({ req, a, n: j - a });
            a = -1;
          }
        }
      }
    });
    if (done > 0) onProgress?.(done, total);
    const failures: Error[] = [];
    let next = 0;
    const worker = async (): Promise<void> => {
      while (next < calls.length && failures.length === 0) {
        const call = calls[next++] as Call;
        const r = requests[call.req] as SamplingRequest;
        try {
          const got = await this.call(r, call, options);
          const row = out[call.req] as (SampledResponse | undefined)[];
          got.forEach((resp, i) => (row[call.a + i] = resp));
          this.cache.putAll(got.map((resp, i) => [cacheKey(r.prompt, r.seed, call.a + i, settings), resp] as const));
          done += got.length;
          onProgress?.(done, total);
        } catch (err) {
          failures.push(err as Error);
        }
      }
    };
    await Promise.all(Array.from({ length: Math.min(this.o.concurrency, calls.length) }, worker));
    if (failures.length > 0) {
      const first = failures[0] as Error;
      const kept = this.cache.path === null ? "kept in memory by this sampler" : `saved in ${this.cache.path}`;
      throw new RemoteSamplerError(`${first.message}\n(${done} of ${total} responses received and ${kept}; calling sample again asks only for the rest)`, { cause: first });
    }
    return out as SampledResponse[][];
  }

  /** What, besides (prompt, seed, j), decides a response: part of its cache key. */
  private settingsOf(o: SamplerOptions): CacheSettings {
    return {
      model: this.options.model,
      api: this.o.api,
      temperature: o.temperature,
      topP: o.topP,
      topK: o.topK,
      maxNewTokens: o.maxNewTokens,
      stop: o.stop ?? [],
      logprobs: this.o.logprobs,
      chunk: this.o.maxNPerRequest,
      extra: this.options.extraBody ?? {},
    };
  }

  private body(r: SamplingRequest, call: Call, o: SamplerOptions): Record<string, unknown> {
    const body: Record<string, unknown> = {
      model: this.options.model,
      n: call.n,
      temperature: o.temperature,
      top_p: o.topP,
      max_tokens: o.maxNewTokens,
      seed: chunkSeed(r.seed, call.a),
      // vLLM / SGLang / gvm serve extensions; servers without them ignore them.
      return_tokens_as_token_ids: true,
      include_stop_str_in_output: true,
    };
    if (o.topK > 0) body.top_k = o.topK;
    if (o.stop && o.stop.length > 0) body.stop = [...o.stop];
    if (this.o.api === "chat") {
      body.messages = [{ role: "user", content: r.prompt }];
      if (this.o.logprobs) body.logprobs = true;
    } else {
      body.prompt = r.prompt;
      if (this.o.logprobs) body.logprobs = 1;
    }
    return { ...body, ...this.options.extraBody };
  }

  /** One server call with retries; its n responses in order. */
  private async call(r: SamplingRequest, call: Call, o: SamplerOptions): Promise<SampledResponse[]> {
    const payload = JSON.stringify(this.body(r, call, o));
    const headers: Record<string, string> = { "content-type": "application/json" };
    if (this.options.apiKey) headers.authorization = `Bearer ${this.options.apiKey}`;
    for (let attempt = 0; ; attempt++) {
      let retryAfterMs: number | null = null;
      let why: string;
      try {
        const res = await fetch(this.url, { method: "POST", headers, body: payload, signal: AbortSignal.timeout(this.o.timeoutMs) });
        const text = await res.text();
        if (res.ok) return this.parse(text, call.n, o);
        why = `HTTP ${res.status}${serverMessage(text)}`;
        if (!RETRY_STATUS.has(res.status)) throw new RemoteSamplerError(`${this.url}: ${why} (not retried: the request itself was refused)`);
        const ra = Number(res.headers.get("retry-after"));
        if (Number.isFinite(ra) && ra > 0) retryAfterMs = ra * 1000;
      } catch (err) {
        if (err instanceof MalformedAnswer) why = err.message;
        else if (err instanceof RemoteSamplerError) throw err;
        else {
          const e = err as Error & { cause?: { code?: string; message?: string } };
          if (e.name === "TimeoutError" || e.name === "AbortError") why = `no answer within ${this.o.timeoutMs} ms`;
          else why = `connection failed (${e.cause?.code ?? e.cause?.message ?? e.message})`;
        }
      }
      if (attempt >= this.o.maxRetries) throw new RemoteSamplerError(`${this.url}: ${why}; gave up after ${attempt + 1} attempt(s)`);
      const backoff = Math.min(this.o.maxRetryDelayMs, this.o.retryDelayMs * 2 ** attempt) * (0.5 + Math.random() * 0.5);
      const delay = Math.min(this.o.maxRetryDelayMs, Math.max(backoff, retryAfterMs ?? 0));
      this.logger.warn(`${this.url}: ${why}; retry ${attempt + 1}/${this.o.maxRetries} in ${(delay / 1000).toFixed(1)} s`);
      await new Promise((resolve) => setTimeout(resolve, delay));
    }
  }

  /** Checks and converts a completion object; garbage gets an error naming the URL and what was expected. */
  private parse(text: string, n: number, o: SamplerOptions): SampledResponse[] {
    const bad = (what: string) => new MalformedAnswer(`${what} (expected an OpenAI ${this.o.api === "chat" ? "chat completion" : "completion"} object with ${n} choice(s)); the server answered: ${snippet(text)}`);
    let json: unknown;
    try {
      json = JSON.parse(text);
    } catch {
      throw bad("the answer is not JSON");
    }
    const choices = (json as { choices?: unknown } | null)?.choices;
    if (!Array.isArray(choices)) throw bad('no "choices" list');
    if (choices.length !== n) throw bad(`${choices.length} choice(s) for n = ${n}`);
    const byIndex = new Array<SampledResponse | undefined>(n);
    choices.forEach((c: unknown, pos: number) => {
      if (c === null || typeof c !== "object") throw bad(`choices[${pos}] is not an object`);
      const ch = c as Record<string, unknown>;
      const index = ch.index === undefined ? pos : ch.index;
      if (!Number.isInteger(index) || (index as number) < 0 || (index as number) >= n || byIndex[index as number]) throw bad(`choices[${pos}].index is ${JSON.stringify(ch.index)}`);
      byIndex[index as number] = this.choice(ch, pos, o, bad);
    });
    return byIndex as SampledResponse[];
  }

  private choice(ch: Record<string, unknown>, pos: number, o: SamplerOptions, bad: (what: string) => MalformedAnswer): SampledResponse {
    let text: unknown;
    let tokenStrings: unknown[] | null = null;
    let logprobs: unknown[] | null = null;
    if (this.o.api === "chat") {
      const message = (ch.message as { content?: unknown } | undefined)?.content;
      text = message === null ? "" : message;
      const content = (ch.logprobs as { content?: unknown } | null | undefined)?.content;
      if (Array.isArray(content)) {
        tokenStrings = content.map((e) => (e as { token?: unknown })?.token);
        logprobs = content.map((e) => (e as { logprob?: unknown })?.logprob);
      }
    } else {
      text = ch.text;
      const lp = ch.logprobs as { tokens?: unknown; token_logprobs?: unknown } | null | undefined;
      if (lp && Array.isArray(lp.tokens) && Array.isArray(lp.token_logprobs)) {
        tokenStrings = lp.tokens;
        logprobs = lp.token_logprobs;
      }
    }
    if (typeof text !== "string") throw bad(`choices[${pos}] has no ${this.o.api === "chat" ? "message.content" : "text"} string`);
    const fr = ch.finish_reason;
    if (typeof fr !== "string") throw bad(`choices[${pos}].finish_reason is ${JSON.stringify(fr)}`);
    const finish: FinishReason = fr === "length" ? "length" : "stop";
    const numeric = logprobs !== null && logprobs.every((x) => typeof x === "number" && Number.isFinite(x)) ? (logprobs as number[]) : null;
    const ids = tokenStrings?.every((t) => typeof t === "string" && /^token_id:\d+$/.test(t)) ? tokenStrings.map((t) => Number((t as string).slice(9))) : null;
    if (ids !== null) return { text, tokens: ids, logprobs: numeric !== null && numeric.length === ids.length ? numeric : null, finish };
    const tok = this.options.tokenizer;
    if (!tok) {
      if (this.o.textOnly) return { text, tokens: [], logprobs: null, finish };
      throw new RemoteSamplerError(`${this.url}: the server returned no token ids (vLLM and gvm serve do with return_tokens_as_token_ids) and no tokenizer was given to tokenize the text; pass tokenizer, or textOnly for evaluation`);
    }
    const tokens = tok.encode(text);
    const stops = o.stop ?? [];
    if (finish === "stop" && !stops.some((s) => s.length > 0 && text.endsWith(s)) && tok.eosIds.length > 0) tokens.push(tok.eosIds[0] as number);
    return { text, tokens, logprobs: numeric !== null && numeric.length === tokens.length ? numeric : null, finish };
  }
}

function snippet(text: string): string {
  const t = text.replace(/\s+/g, " ").trim();
  return t.length === 0 ? "(empty body)" : JSON.stringify(t.length > 200 ? `${t.slice(0, 197)}...` : t);
}

/** ": <message>" from an OpenAI-style error body, else a snippet of the body. */
function serverMessage(text: string): string {
  try {
    const e = (JSON.parse(text) as { error?: { message?: unknown } | string; message?: unknown }) ?? {};
    const m = typeof e.error === "string" ? e.error : (e.error?.message ?? e.message);
    if (typeof m === "string") return `: ${m}`;
  } catch {
    // not JSON: show the raw body
  }
  return `: ${snippet(text)}`;
}
