/**
 * `gvm serve`: a model directory behind an OpenAI-compatible API, until
 * SIGINT or SIGTERM.
 */
import { basename, resolve } from "node:path";
import { CHAT_FORMAT_NAMES, CHAT_FORMATS, type ChatFormatName } from "../eval/index.js";
import { loadModelDir } from "../model/index.js";
import { type ChatRenderer, DEFAULT_LIMITS, GvmServer, isLoopback, type ServeLimits } from "../serve/index.js";
import { ConfigError } from "../util/errors.js";
import { defaultLogger, Logger } from "../util/log.js";
import { type Command, integerOption, parseOptions, usageError } from "./command.js";

const NAME = "serve";

const OPTIONS = {
  model: { type: "string" },
  host: { type: "string" },
  port: { type: "string" },
  name: { type: "string" },
  "api-key": { type: "string" },
  insecure: { type: "boolean" },
  chat: { type: "string" },
  "max-n": { type: "string" },
  "max-tokens": { type: "string" },
  "max-prompts": { type: "string" },
  "max-body-bytes": { type: "string" },
  "max-queue": { type: "string" },
  "max-prompt-chars": { type: "string" },
  "max-connections": { type: "string" },
  "request-timeout-ms": { type: "string" },
} as const;

const HELP = [
  "Usage: gvm serve --model DIR [options]",
  "",
  "Serves a model directory (Hugging Face layout, or a gvm checkpoint) over an",
  "OpenAI-compatible API: GET /v1/models, POST /v1/completions and",
  "/v1/chat/completions (streaming with \"stream\": true). Sampling uses the",
  "in-process engine; the same seed gives the same tokens as in-process",
  "sampling. Log-probs are those of the sampling distribution.",
  "Extensions: top_k, return_tokens_as_token_ids, include_stop_str_in_output (as in vLLM).",
  "",
  "Options:",
  "  --model DIR            model directory (required)",
  "  --host HOST            address to listen on (default 127.0.0.1; 0.0.0.0 exposes it to the network,",
  "                         which needs --api-key or --insecure)",
  "  --port N               port (default 8000; 0 picks a free one)",
  "  --name NAME            model name clients send (default: the directory name)",
  "  --api-key KEY          require Authorization: Bearer KEY (default: $GVM_API_KEY, else none)",
  "  --insecure             allow a --host beyond loopback without an API key (warns)",
  `  --chat FORMAT          chat format for /v1/chat/completions: auto | model | ${CHAT_FORMAT_NAMES.join(" | ")}`,
  "                         (default auto: the model's own chat template when it has one, else plain)",
  `  --max-n N              most choices per prompt (default ${DEFAULT_LIMITS.maxN})`,
  `  --max-tokens N         largest max_tokens (default ${DEFAULT_LIMITS.maxTokens})`,
  `  --max-prompts N        most prompts per completions request (default ${DEFAULT_LIMITS.maxPrompts})`,
  `  --max-body-bytes N     largest request body (default ${DEFAULT_LIMITS.maxBodyBytes})`,
  `  --max-queue N          requests waiting at most before 429 with Retry-After (default ${DEFAULT_LIMITS.maxQueue})`,
  `  --max-prompt-chars N   most prompt characters per request, checked before tokenizing (default ${DEFAULT_LIMITS.maxPromptChars})`,
  `  --max-connections N    open connections at most; more get 503 (default ${DEFAULT_LIMITS.maxConnections})`,
  `  --request-timeout-ms N time a client has to send its request; slower ones get 408 (default ${DEFAULT_LIMITS.requestTimeoutMs})`,
  "",
  "It prints the base URL to stderr once listening; stop it with Ctrl-C.",
  "",
  "Examples:",
  "  gvm serve --model runs/a/checkpoints/iter-000040",
  "  gvm serve --model ./Qwen2.5-0.5B-Instruct --port 8001 --api-key secret",
  "  curl http://127.0.0.1:8000/v1/completions -H 'content-type: application/json' \\",
  "       -d '{\"model\": \"iter-000040\", \"prompt\": \"1+1=\", \"max_tokens\": 8, \"n\": 4, \"seed\": 0}'",
].join("\n");

const usage = (message: string): ConfigError => usageError(NAME, message);

export const serveCommand: Command = {
  name: NAME,
  summary: "Serve a model over an OpenAI-compatible API (completions, chat, streaming).",
  help: HELP,
  async run(argv, io) {
    const { values } = parseOptions(NAME, argv, OPTIONS);
    if (values.model === undefined) throw usage("--model DIR is required");
    const int = (flag: keyof typeof OPTIONS, min: number, fallback: number): number => integerOption(NAME, flag, values[flag] as string | undefined, min, fallback);
    const port = int("port", 0, 8000);
    if (port > 65535) throw usage(`--port must be <= 65535, got ${port}`);
    const limits: ServeLimits = {
      maxN: int("max-n", 1, DEFAULT_LIMITS.maxN),
      maxTokens: int("max-tokens", 1, DEFAULT_LIMITS.maxTokens),
      maxPrompts: int("max-prompts", 1, DEFAULT_LIMITS.maxPrompts),
      maxBodyBytes: int("max-body-bytes", 1, DEFAULT_LIMITS.maxBodyBytes),
      maxQueue: int("max-queue", 1, DEFAULT_LIMITS.maxQueue),
      maxPromptChars: int("max-prompt-chars", 1, DEFAULT_LIMITS.maxPromptChars),
      maxConnections: int("max-connections", 1, DEFAULT_LIMITS.maxConnections),
      requestTimeoutMs: int("request-timeout-ms", 1, DEFAULT_LIMITS.requestTimeoutMs),
    };
    const host = values.host ?? "127.0.0.1";
    const apiKey = values["api-key"] ?? process.env.GVM_API_KEY ?? null;
    // Checked before the model loads: a refusal should not cost a minute of loading.
    if (!isLoopback(host) && !apiKey && values.insecure !== true) {
      throw usage(`--host ${host} is not a loopback address and no API key is set, so anyone who can reach it could use the model; add --api-key KEY (or set GVM_API_KEY), or --insecure to serve it open anyway`);
    }
    const chat = values.chat ?? "auto";
    if (chat !== "auto" && chat !== "model" && !(CHAT_FORMAT_NAMES as readonly string[]).includes(chat)) throw usage(`--chat must be auto, model or one of ${CHAT_FORMAT_NAMES.join(", ")}; got '${chat}'`);
    const m = loadModelDir(values.model);
    let renderer: ChatRenderer;
    if (chat === "model" || (chat === "auto" && m.chatTemplate !== null)) {
      if (m.chatTemplate === null) throw usage(`--chat model, but ${values.model} has no chat template`);
      renderer = m.chatTemplate.format;
    } else {
      renderer = CHAT_FORMATS[chat === "auto" ? "plain" : (chat as ChatFormatName)];
    }
    const modelName = values.name ?? basename(resolve(values.model));
    const logger = new Logger({ level: defaultLogger().level, sink: (line) => io.stderr.write(`${line}\n`) });
    const server = new GvmServer({ model: m.model, tokenizer: m.tokenizer, modelName, chat: renderer, apiKey, insecure: values.insecure === true, limits, logger });
    const { url } = await server.listen(port, host);
    io.stderr.write(`gvm serve: ${modelName} (${m.config.modelType}, ${m.kind} tokenizer) listening on ${url}\n`);
    await new Promise<void>((done) => {
      const stop = () => {
        process.off("SIGINT", stop);
        process.off("SIGTERM", stop);
        done();
      };
      process.on("SIGINT", stop);
      process.on("SIGTERM", stop);
    });
    await server.close();
    io.stderr.write("gvm serve: stopped\n");
    return 0;
  },
};
