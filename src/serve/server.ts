/**
 * `gvm serve`: an OpenAI-compatible HTTP server over the in-process engine
 * (GET /v1/models, POST /v1/completions, POST /v1/chat/completions, with
 * server-sent-event streaming), so a trained checkpoint can be queried by
 * any OpenAI client and the remote sampler can be tested against a real
 * server.
 *
 * Requests run one at a time through one queue (the engine uses every core
 * for one batch). Load is shed before it costs anything (limits.ts): a full
 * queue answers 429 before the body is read, connections past the limit
 * 503, bodies over the limit 413 while they stream in, prompts over the
 * limit 400 before the tokenizer sees them, clients too slow to send their
 * request 408. Bodies, n, max_tokens and the number of prompts are bounded;
 * a malformed request gets an OpenAI-style 4xx error, a failure inside the
 * engine a 500: the process never dies of a request. A server without an
 * API key refuses to listen beyond loopback unless told it may. Log-probs
 * are those of the sampling distribution (softmax(logits / temperature)),
 * the behaviour policy RL needs.
 */
import { randomBytes, randomInt, timingSafeEqual } from "node:crypto";
import { createServer, type IncomingMessage, type Server, type ServerResponse } from "node:http";
import type { AddressInfo, Socket } from "node:net";
import type { FinishReason, LlamaModel, Tokenizer } from "../model/index.js";
import { ConfigError, errorMessage } from "../util/errors.js";
import { defaultLogger, type Logger } from "../util/log.js";
import { Rng } from "../util/rng.js";
import { type GenerationJob, IncrementalText, type JobResult, runJob, type TokenEvent } from "./engine.js";
import { isLoopback, rawResponse, readJson, refuseConnection, RETRY_AFTER_S } from "./limits.js";
import { ApiError, chatSchema, completionSchema, DEFAULT_LIMITS, parseRequest, type ServeLimits } from "./protocol.js";

export type ChatRole = "system" | "user" | "assistant";
export type ChatRenderer = (messages: ReadonlyArray<{ role: ChatRole; content: string }>) => string;

export interface ServeOptions {
  model: LlamaModel;
  tokenizer: Tokenizer;
  /** Name clients put in "model" (and /v1/models lists). */
  modelName: string;
  /** Renders chat messages to the prompt; null: /v1/chat/completions answers 400. */
  chat: ChatRenderer | null;
  /** Required as "Authorization: Bearer KEY" when set. */
  apiKey?: string | null;
  /** Listen beyond loopback without an API key (warned about); refused otherwise. */
  insecure?: boolean;
  limits?: Partial<ServeLimits>;
  logger?: Logger;
}

interface Choice {
  index: number;
  job: GenerationJob;
  /** Where this prompt's rows start in the choice numbering. */
  base: number;
}

interface Plan {
  kind: "completion" | "chat";
  id: string;
  created: number;
  jobs: GenerationJob[];
  stream: boolean;
  includeUsage: boolean;
  /** Log-probs asked for (completions: logprobs set; chat: logprobs true). */
  logprobs: boolean;
  tokenIds: boolean;
  includeStop: boolean;
}

interface Row {
  tokens: number[];
  text: IncrementalText;
  sent: number;
}

export class GvmServer {
  readonly http: Server;
  private readonly limits: ServeLimits;
  private readonly logger: Logger;
  private queue: Promise<void> = Promise.resolve();
  /** Requests admitted and not yet running: reading their body, being checked, or queued. */
  private pending = 0;
  private running = 0;
  private connections = 0;
  /** Connections answered 503: requests arriving on them are not served. */
  private readonly refused = new WeakSet<Socket>();
  private readonly created = Math.floor(Date.now() / 1000);

  constructor(private readonly o: ServeOptions) {
    this.limits = { ...DEFAULT_LIMITS, ...o.limits };
    this.logger = o.logger ?? defaultLogger();
    const timeout = this.limits.requestTimeoutMs;
    // Node's own clock covers slow headers; the body's deadline is readJson's,
    // which answers in JSON and frees the queue slot.
    this.http = createServer({ headersTimeout: timeout, requestTimeout: 0, connectionsCheckingInterval: Math.max(100, Math.min(5000, Math.floor(timeout / 4))) }, (req, res) => {
      this.handle(req, res).catch((err: unknown) => this.fail(res, err));
    });
    this.http.prependListener("connection", (socket: Socket) => {
      if (this.connections >= this.limits.maxConnections) {
        this.refused.add(socket);
        return refuseConnection(socket, this.limits.maxConnections);
      }
      this.connections++;
      socket.once("close", () => this.connections--);
    });
    this.http.on("clientError", (err: NodeJS.ErrnoException, socket) => {
      if (!socket.writable || this.refused.has(socket as Socket)) return void socket.destroy();
      const timedOut = err.code === "ERR_HTTP_REQUEST_TIMEOUT";
      const e = timedOut ? new ApiError(408, `the request headers were not received within ${timeout} ms (this server's limit)`) : new ApiError(400, "malformed HTTP request");
      socket.end(rawResponse(e.status, timedOut ? "Request Timeout" : "Bad Request", e));
    });
  }

  /** Connections open, requests admitted but not yet running, requests running. */
  get load(): { connections: number; pending: number; running: number } {
    return { connections: this.connections, pending: this.pending, running: this.running };
  }

  /**
   * Starts listening (host defaults to 127.0.0.1; port 0 picks a free one).
   * Beyond loopback it needs an API key, or `insecure` (then it warns).
   */
  listen(port = 8000, host = "127.0.0.1"): Promise<{ url: string; host: string; port: number }> {
    if (!isLoopback(host) && !this.o.apiKey) {
      if (!this.o.insecure) {
        return Promise.reject(new ConfigError(`gvm serve: ${host} is not a loopback address and no API key is set: anyone who can reach it could use this model and this machine's cores. Set an API key (apiKey), or insecure: true to serve it open anyway`));
      }
      this.logger.warn(`WARNING: gvm serve listens on ${host} without an API key: anyone who can reach this address can use the model and this machine's cores`);
    }
    return new Promise((resolve, reject) => {
      this.http.once("error", reject);
      this.http.listen(port, host, () => {
        this.http.off("error", reject);
        const a = this.http.address() as AddressInfo;
        const h = a.family === "IPv6" ? `[${a.address}]` : a.address;
        resolve({ url: `http://${h}:${a.port}/v1`, host: a.address, port: a.port });
      });
    });
  }

  close(): Promise<void> {
    return new Promise((resolve) => {
      this.http.closeAllConnections();
      this.http.close(() => resolve());
    });
  }

  private async handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    if (this.refused.has(req.socket)) return void req.resume();
    const path = (req.url ?? "/").split("?")[0] as string;
    const route = ROUTES[path];
    if (path === "/health" && req.method === "GET") return void sendJson(res, 200, {});
    if (!route) throw new ApiError(404, `no route ${req.method} ${path}; this server has GET /v1/models, POST /v1/completions, POST /v1/chat/completions`, "not_found_error");
    if (req.method !== route.method) throw new ApiError(405, `${path} takes ${route.method}, not ${req.method}`);
    this.authorize(req);
    if (route.name === "models") {
      return void sendJson(res, 200, {
        object: "list",
        data: [{ id: this.o.modelName, object: "model", created: this.created, owned_by: "gvm", max_model_len: this.o.model.config.maxPositions }],
      });
    }
    // Admission comes before the body is read: shedding a request must cost
    // nothing, or a flood of large ones stalls the server while it refuses them.
    if (this.pending >= this.limits.maxQueue) {
      throw new ApiError(429, `the server is busy (${this.pending} requests waiting; this server's limit is ${this.limits.maxQueue}); retry after ${RETRY_AFTER_S} s`, "rate_limit_error", null, null, { "retry-after": String(RETRY_AFTER_S) });
    }
    this.pending++;
    let admitted = true;
    const leave = () => {
      if (admitted) this.pending--;
      admitted = false;
    };
    try {
      const body = await readJson(req, this.limits.maxBodyBytes, this.limits.requestTimeoutMs);
      const plan = route.name === "completions" ? this.planCompletion(body) : this.planChat(body);
      await this.enqueue(() => {
        leave();
        return this.execute(plan, res);
      });
    } finally {
      leave();
    }
  }

  private authorize(req: IncomingMessage): void {
    const key = this.o.apiKey;
    if (!key) return;
    const got = /^Bearer (.+)$/.exec(req.headers.authorization ?? "")?.[1] ?? "";
    const a = Buffer.from(got);
    const b = Buffer.from(key);
    if (a.length !== b.length || !timingSafeEqual(a, b)) throw new ApiError(401, "invalid or missing API key (send Authorization: Bearer KEY)", "authentication_error", null, "invalid_api_key");
  }

  private checkModel(name: string): void {
    if (name !== this.o.modelName) throw new ApiError(404, `the model \`${name}\` does not exist; this server serves \`${this.o.modelName}\``, "not_found_error", "model", "model_not_found");
  }

  private job(prompt: number[], r: { n?: number | null; temperature?: number | null; top_p?: number | null; top_k?: number | null; stop?: string | string[] | null }, seed: number, maxTokens: number | null, defaultMax: number, topLogprobs: number): GenerationJob {
    const maxPos = this.o.model.config.maxPositions;
    const room = maxPos - prompt.length;
    if (room < 1) throw new ApiError(400, `this model's maximum context length is ${maxPos} tokens; the prompt has ${prompt.length}`, "invalid_request_error", "prompt", "context_length_exceeded");
    const max = maxTokens ?? Math.min(defaultMax, room);
    if (prompt.length + max > maxPos) {
      throw new ApiError(400, `this model's maximum context length is ${maxPos} tokens, but ${prompt.length + max} were requested (${prompt.length} in the prompt, ${max} in the completion)`, "invalid_request_error", "max_tokens", "context_length_exceeded");
    }
    return {
      prompt,
      n: r.n ?? 1,
      seed,
      temperature: r.temperature ?? 1,
      topP: r.top_p ?? 1,
      topK: r.top_k === undefined || r.top_k === null || r.top_k < 0 ? 0 : r.top_k,
      maxTokens: max,
      stop: r.stop === undefined || r.stop === null ? [] : typeof r.stop === "string" ? [r.stop] : r.stop,
      topLogprobs,
    };
  }

  /** Refuses prompt text over the limit before any of it is tokenized or rendered. */
  private checkPromptSize(texts: readonly string[], what: string, param: string): void {
    const chars = texts.reduce((n, t) => n + t.length, 0);
    if (chars > this.limits.maxPromptChars) {
      throw new ApiError(400, `${what} ${chars} characters; this server takes at most ${this.limits.maxPromptChars} per request`, "invalid_request_error", param, "prompt_too_long");
    }
  }

  private promptIds(text: string): number[] {
    const ids = this.o.tokenizer.encode(text);
    const all = this.o.tokenizer.bosId === null ? ids : [this.o.tokenizer.bosId, ...ids];
    if (all.length === 0) throw new ApiError(400, "the prompt is empty (and the model has no BOS token to start from)", "invalid_request_error", "prompt");
    return all;
  }

  private planCompletion(body: unknown): Plan {
    const r = parseRequest(completionSchema(this.limits), body);
    this.checkModel(r.model);
    if (r.best_of !== undefined && r.best_of !== null && r.best_of !== (r.n ?? 1)) throw new ApiError(400, "best_of is not supported by gvm serve (only best_of = n)", "invalid_request_error", "best_of");
    const prompts = typeof r.prompt === "string" ? [r.prompt] : r.prompt;
    this.checkPromptSize(prompts, prompts.length === 1 ? "the prompt has" : `the ${prompts.length} prompts have`, "prompt");
    const seed = r.seed ?? randomInt(2 ** 31);
    const top = r.logprobs ?? 0;
    const jobs = prompts.map((p, i) => this.job(this.promptIds(p), r, i === 0 ? seed : Rng.derive(seed, i).u32(), r.max_tokens ?? null, 16, Math.max(0, top)));
    return { kind: "completion", id: `cmpl-${randomBytes(12).toString("hex")}`, created: now(), jobs, ...this.flags(r), logprobs: r.logprobs !== undefined && r.logprobs !== null };
  }

  private planChat(body: unknown): Plan {
    const r = parseRequest(chatSchema(this.limits), body);
    this.checkModel(r.model);
    if (this.o.chat === null) throw new ApiError(400, "this model has no chat template; use /v1/completions, or start gvm serve with --chat FORMAT", "invalid_request_error", "messages");
    const messages = r.messages.map((m) => ({ role: (m.role === "developer" ? "system" : m.role) as ChatRole, content: typeof m.content === "string" ? m.content : m.content.map((p) => p.text).join("") }));
    this.checkPromptSize(
      messages.map((m) => m.content),
      "the messages have",
      "messages",
    );
    let text: string;
    try {
      text = this.o.chat(messages);
    } catch (err) {
      throw new ApiError(400, `the chat template refused these messages: ${(err as Error).message}`, "invalid_request_error", "messages");
    }
    const job = this.job(this.promptIds(text), r, r.seed ?? randomInt(2 ** 31), r.max_completion_tokens ?? r.max_tokens ?? null, this.limits.maxTokens, r.logprobs ? (r.top_logprobs ?? 0) : 0);
    return { kind: "chat", id: `chatcmpl-${randomBytes(12).toString("hex")}`, created: now(), jobs: [job], ...this.flags(r), logprobs: r.logprobs === true };
  }

  private flags(r: { stream?: boolean | null; stream_options?: { include_usage?: boolean | null } | null; return_tokens_as_token_ids?: boolean | null; include_stop_str_in_output?: boolean | null }) {
    return { stream: r.stream === true, includeUsage: r.stream_options?.include_usage === true, tokenIds: r.return_tokens_as_token_ids === true, includeStop: r.include_stop_str_in_output === true };
  }

  /** Runs fn after every earlier request has finished. */
  private enqueue(fn: () => Promise<void>): Promise<void> {
    const run = this.queue.then(async () => {
      this.running++;
      try {
        await fn();
      } finally {
        this.running--;
      }
    });
    this.queue = run.catch(() => undefined);
    return run;
  }

  private tokenText(id: number, asId: boolean): string {
    return asId ? `token_id:${id}` : this.o.tokenizer.decode([id]);
  }

  private async execute(plan: Plan, res: ServerResponse): Promise<void> {
    let closed = false;
    res.on("close", () => (closed = true));
    if (closed || res.destroyed) return;
    if (plan.stream) {
      res.writeHead(200, { "content-type": "text/event-stream", "cache-control": "no-cache", connection: "keep-alive" });
    }
    const results: JobResult[] = [];
    const choices: Choice[] = [];
    let base = 0;
    for (const job of plan.jobs) {
      for (let j = 0; j < job.n; j++) choices.push({ index: base + j, job, base });
      const rows: Row[] = Array.from({ length: job.n }, () => ({ tokens: [], text: new IncrementalText(this.o.tokenizer), sent: 0 }));
      const holdBack = Math.max(0, ...job.stop.map((s) => s.length - 1));
      const onStep = (events: TokenEvent[]) => {
        if (!plan.stream || closed) return;
        for (const e of events) {
          const row = rows[e.row] as Row;
          row.tokens.push(e.id);
          row.text.push(row.tokens);
          // Hold back what may turn out to be the start of a stop string.
          const safe = Math.max(row.sent, row.text.text.length - holdBack);
          const delta = row.text.text.slice(row.sent, safe);
          row.sent = safe;
          const lp = plan.logprobs ? this.streamLogprobs(plan, e) : null;
          if (delta !== "" || lp !== null) this.sse(res, this.chunk(plan, base + e.row, delta, null, lp));
        }
      };
      const result = await runJob(this.o.model, this.o.tokenizer, job, onStep, () => closed);
      results.push(result);
      if (plan.stream && !closed) {
        for (let j = 0; j < job.n; j++) {
          const row = rows[j] as Row;
          const final = this.finalText(result, j, job, plan.includeStop);
          const rest = final.length > row.sent ? final.slice(row.sent) : "";
          this.sse(res, this.chunk(plan, base + j, rest, result.finish[j] as FinishReason, null));
        }
      }
      base += job.n;
    }
    if (closed) return;
    const usage = this.usage(plan, results);
    if (plan.stream) {
      if (plan.includeUsage) this.sse(res, { id: plan.id, object: plan.kind === "chat" ? "chat.completion.chunk" : "text_completion", created: plan.created, model: this.o.modelName, choices: [], usage });
      res.end("data: [DONE]\n\n");
      return;
    }
    const out = choices.map((c) => {
      const k = plan.jobs.indexOf(c.job);
      const result = results[k] as JobResult;
      const j = c.index - c.base;
      const text = this.finalText(result, j, c.job, plan.includeStop);
      const finish = result.finish[j] as FinishReason;
      const tokens = result.tokens[j] as number[];
      if (plan.kind === "chat") {
        return {
          index: c.index,
          message: { role: "assistant", content: text },
          finish_reason: finish,
          logprobs: plan.logprobs ? { content: tokens.map((id, t) => this.chatTokenLogprob(plan, id, (result.logprobs[j] as number[])[t] as number, ((result.top[j] as Array<Array<[number, number]>>)[t]) ?? [])) } : null,
        };
      }
      return {
        index: c.index,
        text,
        finish_reason: finish,
        logprobs: plan.logprobs
          ? {
              tokens: tokens.map((id) => this.tokenText(id, plan.tokenIds)),
              token_logprobs: result.logprobs[j],
              top_logprobs: (result.top[j] as Array<Array<[number, number]>>).map((top) => Object.fromEntries(top.map(([id, lp]) => [this.tokenText(id, plan.tokenIds), lp]))),
              text_offset: offsets(tokens.map((id) => this.o.tokenizer.decode([id]))),
            }
          : null,
      };
    });
    sendJson(res, 200, { id: plan.id, object: plan.kind === "chat" ? "chat.completion" : "text_completion", created: plan.created, model: this.o.modelName, choices: out, usage });
  }

  /** The choice's text: all tokens decoded (specials dropped), a matched stop string cut unless asked to keep it. */
  private finalText(result: JobResult, j: number, job: GenerationJob, includeStop: boolean): string {
    const text = this.o.tokenizer.decode(result.tokens[j] as number[]);
    const k = result.stopIndex[j] as number;
    if (k < 0 || includeStop) return text;
    const stop = job.stop[k] as string;
    return text.endsWith(stop) ? text.slice(0, text.length - stop.length) : text;
  }

  private usage(plan: Plan, results: JobResult[]) {
    const prompt = plan.jobs.reduce((s, j) => s + j.prompt.length, 0);
    const completion = results.reduce((s, r) => s + r.tokens.reduce((a, t) => a + t.length, 0), 0);
    return { prompt_tokens: prompt, completion_tokens: completion, total_tokens: prompt + completion };
  }

  private chatTokenLogprob(plan: Plan, id: number, logprob: number, top: Array<[number, number]>) {
    const token = this.tokenText(id, plan.tokenIds);
    return {
      token,
      logprob,
      bytes: [...Buffer.from(token, "utf8")],
      top_logprobs: top.map(([t, lp]) => {
        const s = this.tokenText(t, plan.tokenIds);
        return { token: s, logprob: lp, bytes: [...Buffer.from(s, "utf8")] };
      }),
    };
  }

  private streamLogprobs(plan: Plan, e: TokenEvent): unknown {
    if (plan.kind === "chat") return { content: [this.chatTokenLogprob(plan, e.id, e.logprob, e.top)] };
    return {
      tokens: [this.tokenText(e.id, plan.tokenIds)],
      token_logprobs: [e.logprob],
      top_logprobs: [Object.fromEntries(e.top.map(([id, lp]) => [this.tokenText(id, plan.tokenIds), lp]))],
    };
  }

  private chunk(plan: Plan, index: number, delta: string, finish: FinishReason | null, logprobs: unknown) {
    const choice =
      plan.kind === "chat"
        ? { index, delta: delta === "" && finish !== null ? {} : { role: "assistant", content: delta }, finish_reason: finish, logprobs }
        : { index, text: delta, finish_reason: finish, logprobs };
    return { id: plan.id, object: plan.kind === "chat" ? "chat.completion.chunk" : "text_completion", created: plan.created, model: this.o.modelName, choices: [choice] };
  }

  private sse(res: ServerResponse, obj: unknown): void {
    if (!res.destroyed) res.write(`data: ${JSON.stringify(obj)}\n\n`);
  }

  private fail(res: ServerResponse, err: unknown): void {
    const e = err instanceof ApiError ? err : new ApiError(500, `internal error: ${errorMessage(err)}`, "server_error");
    if (!(err instanceof ApiError)) this.logger.error(`gvm serve: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}`);
    if (res.headersSent) {
      // Mid-stream: report in the stream, then end it.
      if (!res.destroyed) res.end(`data: ${JSON.stringify(e.body())}\n\ndata: [DONE]\n\n`);
      return;
    }
    sendJson(res, e.status, e.body(), e.headers);
  }
}

const ROUTES: Record<string, { method: string; name: "models" | "completions" | "chat" }> = {
  "/v1/models": { method: "GET", name: "models" },
  "/v1/completions": { method: "POST", name: "completions" },
  "/v1/chat/completions": { method: "POST", name: "chat" },
};

function now(): number {
  return Math.floor(Date.now() / 1000);
}

function offsets(pieces: string[]): number[] {
  const out: number[] = [];
  let at = 0;
  for (const p of pieces) {
    out.push(at);
    at += p.length;
  }
  return out;
}

function sendJson(res: ServerResponse, status: number, body: unknown, headers: Readonly<Record<string, string>> = {}): void {
  if (res.destroyed) return;
  const text = JSON.stringify(body);
  res.writeHead(status, { ...headers, "content-type": "application/json", "content-length": Buffer.byteLength(text) });
  res.end(text);
}
