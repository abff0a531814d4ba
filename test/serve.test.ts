/**
 * `gvm serve` through the official `openai` client and raw HTTP: models,
 * completions, chat, streaming, log-probs, the same samples as in-process
 * sampling for the same seed, and OpenAI-style errors for bad requests
 * (the server keeps serving after each).
 */
import { mkdtempSync, rmSync } from "node:fs";
import { request } from "node:http";
import { connect } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import OpenAI from "openai";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { CHAT_FORMATS } from "../src/eval/index.js";
import { loadModelDir, type ModelDir } from "../src/model/index.js";
import { LocalSampler } from "../src/rollout/index.js";
import { GvmServer } from "../src/serve/index.js";
import { llamaConfig, qwen2Config, randomModel, writeHfDir } from "./interop-helpers.js";

const tmp = mkdtempSync(join(tmpdir(), "gvm-serve-"));
let bytes: ModelDir;
let server: GvmServer;
let url: string;
let client: OpenAI;

beforeAll(async () => {
  const dir = join(tmp, "bytes");
  writeHfDir(dir, randomModel(llamaConfig({ vocab_size: 259, hidden_size: 32, intermediate_size: 48, max_position_embeddings: 128, bos_token_id: 257, eos_token_id: 258, pad_token_id: 256 }), 4, 0.5), { dtype: "F32", shards: 1, tokenizer: false });
  bytes = loadModelDir(dir);
  server = new GvmServer({ model: bytes.model, tokenizer: bytes.tokenizer, modelName: "tiny", chat: CHAT_FORMATS.plain, apiKey: "sekret", limits: { maxN: 8, maxTokens: 64, maxBodyBytes: 4096 } });
  ({ url } = await server.listen(0));
  client = new OpenAI({ baseURL: url, apiKey: "sekret", maxRetries: 0 });
});

afterAll(async () => {
  await server.close();
  rmSync(tmp, { recursive: true, force: true });
});

async function raw(path: string, body: string | object, headers: Record<string, string> = { authorization: "Bearer sekret" }, method = "POST"): Promise<{ status: number; json: { error?: { message: string; type: string; param: string | null; code: string | null } } & Record<string, unknown> }> {
  const res = await fetch(`${url.replace(/\/v1$/, "")}${path}`, { method, headers: { "content-type": "application/json", ...headers }, ...(method === "GET" ? {} : { body: typeof body === "string" ? body : JSON.stringify(body) }) });
  return { status: res.status, json: (await res.json()) as never };
}

describe("gvm serve with the openai client", () => {
  it("lists the model", async () => {
    const models = await client.models.list();
    expect(models.data.map((m) => m.id)).toEqual(["tiny"]);
  });

  it("completions: n choices, seeded, with log-probs; the same tokens as LocalSampler for the same seed", async () => {
    const prompt = "12+7=";
    const r = await client.completions.create({ model: "tiny", prompt, n: 3, max_tokens: 12, temperature: 1, seed: 42, logprobs: 1, stop: null });
    expect(r.choices).toHaveLength(3);
    expect(r.usage?.prompt_tokens).toBe(1 + prompt.length);
    const local = await new LocalSampler(bytes.model, bytes.tokenizer).sample([{ prompt, n: 3, seed: 42 }], { temperature: 1, topP: 1, topK: 0, maxNewTokens: 12 });
    r.choices.forEach((c, j) => {
      const mine = (local[0] ?? [])[j];
      expect(c.index).toBe(j);
      expect(c.text).toBe(mine?.text);
      expect(c.finish_reason).toBe(mine?.finish);
      expect(c.logprobs?.token_logprobs).toEqual(mine?.logprobs);
    });
    const again = await client.completions.create({ model: "tiny", prompt, n: 3, max_tokens: 12, seed: 42 });
    expect(again.choices.map((c) => c.text)).toEqual(r.choices.map((c) => c.text));
    expect(new Set(r.choices.map((c) => c.text)).size).toBeGreaterThan(1);
  });

  it("streaming gives the same text as the plain answer (completions and chat), stop strings cut", async () => {
    const base = { model: "tiny", n: 2, max_tokens: 24, seed: 7, temperature: 1.2 } as const;
    const plain = await client.completions.create({ ...base, prompt: "Hello", stop: ["a", "e"] });
    const stream = await client.completions.create({ ...base, prompt: "Hello", stop: ["a", "e"], stream: true, stream_options: { include_usage: true } });
    const texts = ["", ""];
    const finish: (string | null)[] = [null, null];
    let usage: number | undefined;
    for await (const chunk of stream) {
      for (const c of chunk.choices) {
        texts[c.index] += c.text;
        if (c.finish_reason) finish[c.index] = c.finish_reason;
      }
      if (chunk.usage) usage = chunk.usage.completion_tokens;
    }
    expect(texts).toEqual(plain.choices.map((c) => c.text));
    expect(finish).toEqual(plain.choices.map((c) => c.finish_reason));
    expect(usage).toBe(plain.usage?.completion_tokens);
    for (const c of plain.choices) if (c.finish_reason === "stop") expect(c.text).not.toMatch(/[ae]$/);

    const messages = [{ role: "system" as const, content: "Be brief." }, { role: "user" as const, content: "2+2?" }];
    const chat = await client.chat.completions.create({ ...base, messages, logprobs: true, top_logprobs: 2 });
    const chatStream = await client.chat.completions.create({ ...base, messages, stream: true });
    const got = ["", ""];
    for await (const chunk of chatStream) for (const c of chunk.choices) got[c.index] += c.delta.content ?? "";
    expect(got).toEqual(chat.choices.map((c) => c.message.content));
    const lp = chat.choices[0]?.logprobs?.content ?? [];
    expect(lp.length).toBeGreaterThan(0);
    for (const t of lp) {
      expect(t.top_logprobs).toHaveLength(2);
      const [first, second] = t.top_logprobs;
      expect(first?.logprob).toBeGreaterThanOrEqual(second?.logprob ?? Infinity);
      expect(t.logprob).toBeLessThanOrEqual((first?.logprob ?? 0) + 1e-12);
    }
  });

  it("returns token ids when asked (vLLM's return_tokens_as_token_ids)", async () => {
    const r = await raw("/v1/completions", { model: "tiny", prompt: "ab", max_tokens: 5, seed: 1, logprobs: 0, return_tokens_as_token_ids: true });
    const choice = (r.json.choices as Array<{ logprobs: { tokens: string[] } }>)[0];
    expect(choice?.logprobs.tokens.every((t) => /^token_id:\d+$/.test(t))).toBe(true);
  });
});

describe("gvm serve refuses bad requests with OpenAI-style errors and keeps serving", () => {
  it.each([
    ["no API key", "/v1/completions", { model: "tiny", prompt: "x" }, {}, 401, /invalid or missing API key/],
    ["wrong API key", "/v1/completions", { model: "tiny", prompt: "x" }, { authorization: "Bearer nope" }, 401, /invalid or missing API key/],
    ["not JSON", "/v1/completions", "{oops", undefined, 400, /not valid JSON/],
    ["not an object", "/v1/completions", "[1,2]", undefined, 400, /must be a JSON object/],
    ["missing prompt", "/v1/completions", { model: "tiny" }, undefined, 400, /prompt/],
    ["missing model", "/v1/completions", { prompt: "x" }, undefined, 400, /^model is required \(a string; see GET \/v1\/models\)$/],
    ["model of the wrong type", "/v1/completions", { model: {}, prompt: "x" }, undefined, 400, /^model must be a string, got an object$/],
    ["max_tokens not an integer", "/v1/completions", { model: "tiny", prompt: "x", max_tokens: 1.5 }, undefined, 400, /^max_tokens must be an integer, got the number 1\.5$/],
    ["n as a string", "/v1/completions", { model: "tiny", prompt: "x", n: "5" }, undefined, 400, /^n must be a number, got a string \("5"\)$/],
    ["stream not a boolean", "/v1/completions", { model: "tiny", prompt: "x", stream: 1 }, undefined, 400, /^stream must be a boolean \(true or false\), got the number 1$/],
    ["prompt of numbers", "/v1/completions", { model: "tiny", prompt: 5 }, undefined, 400, /token id prompts are not supported\), got the number 5$/],
    ["message content of the wrong type", "/v1/chat/completions", { model: "tiny", messages: [{ role: "user", content: 3 }] }, undefined, 400, /^messages\.0\.content: content must be a string or a list of text parts, got the number 3$/],
    ["n too large", "/v1/completions", { model: "tiny", prompt: "x", n: 9 }, undefined, 400, /n must be <= 8/],
    ["max_tokens too large", "/v1/completions", { model: "tiny", prompt: "x", max_tokens: 65 }, undefined, 400, /max_tokens must be <= 64/],
    ["context overflow", "/v1/completions", { model: "tiny", prompt: "x".repeat(100), max_tokens: 64 }, undefined, 400, /maximum context length is 128 tokens/],
    ["temperature out of range", "/v1/completions", { model: "tiny", prompt: "x", temperature: -1 }, undefined, 400, /temperature must be >= 0/],
    ["unknown model", "/v1/completions", { model: "gpt-4", prompt: "x" }, undefined, 404, /the model `gpt-4` does not exist/],
    ["token prompts", "/v1/completions", { model: "tiny", prompt: [1, 2, 3] }, undefined, 400, /token id prompts are not supported/],
    ["penalties", "/v1/completions", { model: "tiny", prompt: "x", presence_penalty: 0.5 }, undefined, 400, /presence_penalty is not supported/],
    ["bad chat role", "/v1/chat/completions", { model: "tiny", messages: [{ role: "wizard", content: "x" }] }, undefined, 400, /role must be/],
    ["empty messages", "/v1/chat/completions", { model: "tiny", messages: [] }, undefined, 400, /messages must not be empty/],
    ["body too large", "/v1/completions", { model: "tiny", prompt: "x".repeat(5000) }, undefined, 413, /exceeds this server's limit of 4096/],
    ["unknown route", "/v1/embeddings", { model: "tiny" }, undefined, 404, /no route POST \/v1\/embeddings/],
  ] as const)("%s", async (_name, path, body, headers, status, message) => {
    const r = await raw(path, body, headers);
    expect(r.status).toBe(status);
    expect(r.json.error?.message).toMatch(message);
    expect(typeof r.json.error?.type).toBe("string");
    const ok = await client.completions.create({ model: "tiny", prompt: "1", max_tokens: 2, seed: 0 });
    expect(ok.choices).toHaveLength(1);
  });

  it("the openai client raises typed errors; a broken HTTP request and a dropped stream do not hurt the server", async () => {
    await expect(client.completions.create({ model: "tiny", prompt: "x", n: 100 })).rejects.toMatchObject({ status: 400 });
    await new Promise<void>((resolve) => {
      const u = new URL(url);
      const sock = connect(Number(u.port), u.hostname, () => sock.write("GARBAGE\r\n\r\n"));
      sock.on("data", () => undefined);
      sock.on("close", () => resolve());
      sock.on("error", () => resolve());
    });
    await new Promise<void>((resolve) => {
      const u = new URL(url);
      const req = request({ host: u.hostname, port: u.port, path: "/v1/completions", method: "POST", headers: { "content-type": "application/json", authorization: "Bearer sekret" } }, (res) => {
        res.once("data", () => {
          req.destroy();
          resolve();
        });
      });
      req.end(JSON.stringify({ model: "tiny", prompt: "Hi", max_tokens: 64, stream: true }));
    });
    const ok = await client.completions.create({ model: "tiny", prompt: "1", max_tokens: 2, seed: 0 });
    expect(ok.choices[0]?.text).toBeTypeOf("string");
  });
});

describe("gvm serve on a Hugging Face model with its chat template", () => {
  it("chat completions render through the Qwen template and decode with the Qwen tokenizer", async () => {
    const dir = join(tmp, "qwen");
    writeHfDir(dir, randomModel(qwen2Config({ num_hidden_layers: 1 }), 6), { dtype: "BF16", shards: 1, tokenizer: true });
    const m = loadModelDir(dir);
    const s = new GvmServer({ model: m.model, tokenizer: m.tokenizer, modelName: "qwen-tiny", chat: (m.chatTemplate as NonNullable<ModelDir["chatTemplate"]>).format });
    const { url: u } = await s.listen(0);
    try {
      const c = new OpenAI({ baseURL: u, apiKey: "none", maxRetries: 0 });
      const messages = [{ role: "user" as const, content: "What is 2+3?" }];
      const r = await c.chat.completions.create({ model: "qwen-tiny", messages, max_tokens: 6, seed: 3 });
      const prompt = (m.chatTemplate as NonNullable<ModelDir["chatTemplate"]>).format(messages);
      expect(r.usage?.prompt_tokens).toBe(m.tokenizer.encode(prompt).length);
      const local = await new LocalSampler(m.model, m.tokenizer).sample([{ prompt, n: 1, seed: 3 }], { temperature: 1, topP: 1, topK: 0, maxNewTokens: 6 });
      expect(r.choices[0]?.message.content).toBe(local[0]?.[0]?.text);
    } finally {
      await s.close();
    }
  });
});
