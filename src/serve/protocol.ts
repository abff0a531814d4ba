/**
 * The OpenAI request bodies `gvm serve` accepts, validated with messages
 * that name the field, and the OpenAI-style error they turn into.
 *
 * Fields we do not implement are refused when set to anything but their
 * no-op value (penalties, logit_bias, echo, suffix, best_of), rather than
 * silently ignored; unknown fields pass, as vLLM lets them.
 */
import { z } from "zod";
import { describe, GvmError } from "../util/errors.js";

export type ApiErrorType = "invalid_request_error" | "authentication_error" | "not_found_error" | "rate_limit_error" | "server_error";

/** An error answered as {"error": {message, type, param, code}} with an HTTP status. */
export class ApiError extends GvmError {
  constructor(
    readonly status: number,
    message: string,
    readonly type: ApiErrorType = "invalid_request_error",
    readonly param: string | null = null,
    readonly code: string | null = null,
    /** Extra response headers (Retry-After, Connection: close). */
    readonly headers: Readonly<Record<string, string>> = {},
  ) {
    super(message);
  }

  body(): { error: { message: string; type: ApiErrorType; param: string | null; code: string | null } } {
    return { error: { message: this.message, type: this.type, param: this.param, code: this.code } };
  }
}

export interface ServeLimits {
  /** Largest request body in bytes; larger ones get 413 while they stream in. */
  maxBodyBytes: number;
  /** Most characters of prompt text per request (all prompts, or all chat messages), checked before tokenizing. */
  maxPromptChars: number;
  /** Largest n (choices per prompt). */
  maxN: number;
  /** Largest max_tokens. */
  maxTokens: number;
  /** Most prompts in one completions request. */
  maxPrompts: number;
  /** Requests admitted but not yet running (reading their body or waiting for the engine) at most; more get 429. */
  maxQueue: number;
  /** Open connections at most; more get 503 and are closed. */
  maxConnections: number;
  /** Milliseconds a client has to send its whole request; slower ones get 408 and are cut off. */
  requestTimeoutMs: number;
}

export const DEFAULT_LIMITS: Readonly<ServeLimits> = {
  maxBodyBytes: 1 << 20,
  maxPromptChars: 1 << 18,
  maxN: 16,
  maxTokens: 4096,
  maxPrompts: 16,
  maxQueue: 32,
  maxConnections: 256,
  requestTimeoutMs: 30_000,
};

/** What a client sent instead of the expected type, for error messages: `the number 1.5`, `a string ("5")`. */
export function got(value: unknown): string {
  if (value === null) return "null";
  if (value === undefined) return "nothing";
  if (typeof value === "string") return `a string (${describe(value)})`;
  if (typeof value === "number") return `the number ${value}`;
  if (typeof value === "boolean") return `${value}`;
  if (Array.isArray(value)) return value.length === 0 ? "an empty list" : "a list";
  return typeof value === "object" ? "an object" : typeof value;
}

const EXPECTED: Record<string, string> = {
  string: "a string",
  number: "a number",
  int: "an integer",
  boolean: "a boolean (true or false)",
  object: "an object",
  record: "an object",
  array: "a list",
};

/**
 * Messages for issues a schema gives none for: the field, what it must be
 * and what came instead. A wrong type is not reported as missing: a client
 * that sent `"n": "5"` needs to hear that n must be a number.
 */
const fieldMessages: z.core.$ZodErrorMap = (iss) => {
  const field = (iss.path ?? []).join(".") || "the request body";
  if (iss.code === "invalid_type") {
    if (iss.input === undefined) return `${field} is required`;
    return `${field} must be ${EXPECTED[iss.expected] ?? iss.expected}, got ${got(iss.input)}`;
  }
  if (iss.code === "too_small" && iss.origin === "number") return `${field} must be ${iss.inclusive ? ">=" : ">"} ${String(iss.minimum)}`;
  if (iss.code === "too_big" && iss.origin === "number") return `${field} must be ${iss.inclusive ? "<=" : "<"} ${String(iss.maximum)}`;
  return undefined;
};

/** A schema's own type message, followed by what came instead (or `missing` when the field is absent). */
const expecting =
  (message: string, missing?: string) =>
  (iss: { input?: unknown }): string =>
    iss.input === undefined && missing !== undefined ? missing : `${message}, got ${got(iss.input)}`;

const zeroOrAbsent = (field: string) =>
  z
    .number()
    .nullish()
    .refine((v) => v === undefined || v === null || v === 0, `${field} is not supported by gvm serve (only 0)`);

function common(limits: ServeLimits) {
  return {
    model: z.string({ error: expecting("model must be a string", "model is required (a string; see GET /v1/models)") }),
    n: z.number().int().min(1, "n must be >= 1").max(limits.maxN, `n must be <= ${limits.maxN} (this server's limit)`).nullish(),
    temperature: z.number().min(0, "temperature must be >= 0").max(2, "temperature must be <= 2").nullish(),
    top_p: z.number().gt(0, "top_p must be > 0").max(1, "top_p must be <= 1").nullish(),
    top_k: z.number().int().min(-1, "top_k must be >= -1 (-1 or 0: no limit)").nullish(),
    max_tokens: z.number().int().min(1, "max_tokens must be >= 1").max(limits.maxTokens, `max_tokens must be <= ${limits.maxTokens} (this server's limit)`).nullish(),
    stream: z.boolean().nullish(),
    stream_options: z.object({ include_usage: z.boolean().nullish() }).nullish(),
    stop: z
      .union([z.string().min(1, "stop strings must not be empty"), z.array(z.string().min(1, "stop strings must not be empty")).max(16, "at most 16 stop strings")], { error: expecting("stop must be a string or a list of strings") })
      .nullish(),
    seed: z.number().int().nullish(),
    presence_penalty: zeroOrAbsent("presence_penalty"),
    frequency_penalty: zeroOrAbsent("frequency_penalty"),
    logit_bias: z
      .record(z.string(), z.number())
      .nullish()
      .refine((v) => v === undefined || v === null || Object.keys(v).length === 0, "logit_bias is not supported by gvm serve"),
    user: z.string().nullish(),
    return_tokens_as_token_ids: z.boolean().nullish(),
    include_stop_str_in_output: z.boolean().nullish(),
  };
}

export function completionSchema(limits: ServeLimits) {
  return z
    .object({
      ...common(limits),
      prompt: z.union([z.string(), z.array(z.string()).min(1, "prompt list is empty").max(limits.maxPrompts, `at most ${limits.maxPrompts} prompts per request`)], {
        error: expecting("prompt must be a string or a list of strings (token id prompts are not supported)", "prompt is required (a string or a list of strings)"),
      }),
      logprobs: z.number().int().min(0, "logprobs must be >= 0").max(5, "logprobs must be <= 5").nullish(),
      echo: z
        .boolean()
        .nullish()
        .refine((v) => v !== true, "echo is not supported by gvm serve"),
      suffix: z
        .string()
        .nullish()
        .refine((v) => v === undefined || v === null, "suffix is not supported by gvm serve"),
      best_of: z.number().int().nullish(),
    })
    .passthrough();
}

const contentPart = z.object({ type: z.literal("text", { error: expecting("only text content parts are supported") }), text: z.string() });

export function chatSchema(limits: ServeLimits) {
  return z
    .object({
      ...common(limits),
      messages: z
        .array(
          z.object({
            role: z.enum(["system", "developer", "user", "assistant"], { error: expecting("role must be system, developer, user or assistant", "role is required (system, developer, user or assistant)") }),
            content: z.union([z.string(), z.array(contentPart)], { error: expecting("content must be a string or a list of text parts", "content is required (a string or a list of text parts)") }),
          }),
          { error: expecting("messages must be a list of {role, content}", "messages is required (a list of {role, content})") },
        )
        .min(1, "messages must not be empty"),
      max_completion_tokens: z.number().int().min(1, "max_completion_tokens must be >= 1").max(limits.maxTokens, `max_completion_tokens must be <= ${limits.maxTokens}`).nullish(),
      logprobs: z.boolean().nullish(),
      top_logprobs: z.number().int().min(0, "top_logprobs must be >= 0").max(5, "top_logprobs must be <= 5").nullish(),
    })
    .passthrough();
}

export type CompletionRequest = z.output<ReturnType<typeof completionSchema>>;
export type ChatRequest = z.output<ReturnType<typeof chatSchema>>;

/** Validates a body; the first problem becomes a 400 naming the field. */
export function parseRequest<S extends z.ZodType>(schema: S, body: unknown): z.output<S> {
  const r = schema.safeParse(body, { error: fieldMessages });
  if (r.success) return r.data;
  const issue = branchIssue(r.error.issues[0] as z.core.$ZodIssue);
  const param = issue.path.join(".");
  const message = issue.message;
  throw new ApiError(400, param === "" || message.startsWith(param) ? message : `${param}: ${message}`, "invalid_request_error", param || null);
}

/**
 * A union's failure, told by the one branch the value had the right types
 * for ("at most 16 prompts per request", not "prompt must be a string or a
 * list of strings"); the union's own message when no branch, or several, fit.
 */
function branchIssue(issue: z.core.$ZodIssue): z.core.$ZodIssue {
  if (issue.code !== "invalid_union") return issue;
  const typed = issue.errors.filter((branch) => branch.length > 0 && !branch.some((i) => i.code === "invalid_type" || i.code === "invalid_union"));
  const inner = typed.length === 1 ? typed[0]?.[0] : undefined;
  return inner === undefined ? issue : { ...inner, path: [...issue.path, ...inner.path] };
}
