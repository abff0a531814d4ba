/**
 * The remote sampler against real servers: `gvm serve` in-process and as a
 * child process, and a fault-injecting HTTP proxy in front of it (5xx, 429,
 * garbage, silence) to check retries, errors that name the URL, and that a
 * failed run keeps what it received and resumes without asking again.
 */
import { type ChildProcess, spawn } from "node:child_process";
import { appendFileSync, existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { createServer, type IncomingMessage, type Server, type ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { CHAT_FORMATS } from "../src/eval/index.js";
import { loadModelDir, type ModelDir } from "../src/model/index.js";
import { chunkSeed, LocalSampler, RemoteSampler, ResponseCache, type SamplerOptions } from "../src/rollout/index.js";
import { GvmServer } from "../src/serve/index.js";
import { Logger } from "../src/util/log.js";
import { llamaConfig, randomModel, writeHfDir } from "./interop-helpers.js";

const ROOT = join(dirname(fileURLToPath(import.meta.url)), "..");
const tmp = mkdtempSync(join(tmpdir(), "gvm-remote-"));
const modelDir = join(tmp, "bytes");
let m: ModelDir;
let server: GvmServer;
let url: string;
const quiet = new Logger({ level: "silent" });
const OPTS: SamplerOptions = { temperature: 1, topP: 1, topK: 0, maxNewTokens: 10, stop: ["="] };
const REQS = [
  { prompt: "3+4", n: 3, seed: 11 },
  { prompt: "hello", n: 2, seed: 12 },
];

beforeAll(async () => {
  writeHfDir(modelDir, randomModel(llamaConfig({ vocab_size: 259, hidden_size: 32, intermediate_size: 48, max_position_embeddings: 128, bos_token_id: 257, eos_token_id: 258, pad_token_id: 256 }), 8, 0.5), { dtype: "F32", shards: 1, tokenizer: false });
  m = loadModelDir(modelDir);
  server = new GvmServer({ model: m.model, tokenizer: m.tokenizer, modelName: "tiny", chat: CHAT_FORMATS.plain });
  ({ url } = await server.listen(0));
});

afterAll(async () => {
  await server.close();
  rmSync(tmp, { recursive: true, force: true });
});

type Decision = "forward" | { status: number; body: string; headers?: Record<string, string> } | "hang";

/** A real HTTP server in front of gvm serve that answers, fails or stalls per call. */
async function proxy(decide: (body: Record<string, unknown>, call: number) => Decision, rewrite?: (body: Record<string, unknown>) => Record<string, unknown>): Promise<{ url: string; calls: Array<Record<string, unknown>>; close: () => Promise<void> }> {
  const calls: Array<Record<string, unknown>> = [];
  const hanging: ServerResponse[] = [];
  const s: Server = createServer((req: IncomingMessage, res: ServerResponse) => {
    const chunks: Buffer[] = [];
    req.on("data", (c: Buffer) => chunks.push(c));
    req.on("end", async () => {
      const body = JSON.parse(Buffer.concat(chunks).toString("utf8")) as Record<string, unknown>;
      calls.push(body);
      const d = decide(body, calls.length);
      if (d === "hang") return void hanging.push(res);
      if (d !== "forward") {
        res.writeHead(d.status, { "content-type": "application/json", ...d.headers });
        return void res.end(d.body);
      }
      const r = await fetch(`${url}${req.url?.replace(/^\/v1/, "")}`, { method: "POST", headers: { "content-type": "application/json" }, body: JSON.stringify(rewrite ? rewrite(body) : body) });
      res.writeHead(r.status, { "content-type": "application/json" });
      res.end(await r.text());
    });
  });
  await new Promise<void>((resolve) => s.listen(0, "127.0.0.1", resolve));
  return {
    url: `http://127.0.0.1:${(s.address() as AddressInfo).port}/v1`,
    calls,
    close: () =>
      new Promise<void>((resolve) => {
        for (const h of hanging) h.destroy();
        s.closeAllConnections();
        s.close(() => resolve());
      }),
  };
}

function remote(baseUrl: string, extra: Partial<ConstructorParameters<typeof RemoteSampler>[0]> = {}): RemoteSampler {
  return new RemoteSampler({ baseUrl, model: "tiny", tokenizer: m.tokenizer, retryDelayMs: 5, maxRetryDelayMs: 20, logger: quiet, ...extra });
}

describe("RemoteSampler against gvm serve", () => {
  it("gives exactly the in-process samples for the same seeds: text, token ids, log-probs, finish", async () => {
    const local = await new LocalSampler(m.model, m.tokenizer).sample(REQS, OPTS);
    const progress: number[] = [];
    const got = await remote(url).sample(REQS, OPTS, (done) => progress.push(done));
    expect(got).toEqual(local);
    expect(progress[progress.length - 1]).toBe(5);
    expect(remote(url).promptTokens("3+4")).toEqual(new LocalSampler(m.model, m.tokenizer).promptTokens("3+4"));
  });

  it("chat mode sends a user message; promptTokens uses the same chat format the server applies", async () => {
    const r = remote(url, { api: "chat", chatFormat: CHAT_FORMATS.plain });
    const [got] = await r.sample([{ prompt: "2+2", n: 2, seed: 5 }], OPTS);
    const rendered = CHAT_FORMATS.plain([{ role: "user", content: "2+2" }]);
    const [local] = await new LocalSampler(m.model, m.tokenizer).sample([{ prompt: rendered, n: 2, seed: 5 }], OPTS);
    expect(got).toEqual(local);
    expect(r.promptTokens("2+2")).toEqual(new LocalSampler(m.model, m.tokenizer).promptTokens(rendered));
    expect(() => remote(url, { api: "chat" }).promptTokens("x")).toThrow(/chat mode promptTokens needs the chat template/);
    expect(() => new RemoteSampler({ baseUrl: url, model: "tiny" }).promptTokens("x")).toThrow(/promptTokens needs the model's tokenizer/);
  });

  it("splits n over calls of at most maxNPerRequest, with per-chunk seeds, deterministically", async () => {
    const p = await proxy(() => "forward");
    try {
      const a = await remote(p.url, { maxNPerRequest: 2 }).sample([{ prompt: "9*9", n: 5, seed: 3 }], OPTS);
      expect(p.calls.map((c) => [c.n, c.seed])).toEqual([
        [2, 3],
        [2, chunkSeed(3, 2)],
        [1, chunkSeed(3, 4)],
      ]);
      const b = await remote(p.url, { maxNPerRequest: 2 }).sample([{ prompt: "9*9", n: 5, seed: 3 }], OPTS);
      expect(b).toEqual(a);
      const [local] = await new LocalSampler(m.model, m.tokenizer).sample([{ prompt: "9*9", n: 2, seed: 3 }], OPTS);
      expect(a[0]?.slice(0, 2)).toEqual(local);
    } finally {
      await p.close();
    }
  });

  it("a call that keeps failing loses nothing received; the rerun asks only for the missing responses", async () => {
    const cacheFile = join(tmp, "cache-fail.jsonl");
    let failing = true;
    const badSeed = chunkSeed(11, 2);
    const p = await proxy((body) => (failing && body.seed === badSeed ? { status: 500, body: JSON.stringify({ error: { message: "GPU fell over" } }) } : "forward"));
    try {
      const first = remote(p.url, { maxNPerRequest: 2, maxRetries: 1, cache: cacheFile, concurrency: 1 });
      await expect(first.sample(REQS, OPTS)).rejects.toThrow(new RegExp(`${p.url}/completions: HTTP 500: GPU fell over; gave up after 2 attempt\\(s\\)\\n\\(2 of 5 responses received and saved in ${cacheFile.replace(/[.*+?^${}()|[\]\\]/g, "\\$&")}`));
      // One call at a time: the failure stops the run after the first chunk was saved.
      expect(readFileSync(cacheFile, "utf8").trim().split("\n")).toHaveLength(2);
      failing = false;
      const before = p.calls.length;
      const got = await remote(p.url, { maxNPerRequest: 2, cache: cacheFile }).sample(REQS, OPTS);
      expect(p.calls.slice(before).map((c) => [c.prompt, c.n, c.seed])).toEqual([
        ["3+4", 1, badSeed],
        ["hello", 2, 12],
      ]);
      const clean = await remote(url, { maxNPerRequest: 2 }).sample(REQS, OPTS);
      expect(got).toEqual(clean);
    } finally {
      await p.close();
    }
  });

  it("retries 429 and 5xx with backoff (honouring Retry-After) and then succeeds", async () => {
    const p = await proxy((_b, call) => (call === 1 ? { status: 429, body: "{}", headers: { "retry-after": "0.05" } } : call === 2 ? { status: 503, body: "busy" } : "forward"));
    try {
      const got = await remote(p.url).sample([{ prompt: "1", n: 1, seed: 1 }], OPTS);
      expect(got[0]).toHaveLength(1);
      expect(p.calls).toHaveLength(3);
    } finally {
      await p.close();
    }
  });

  it.each([
    ["not JSON", { status: 200, body: "<html>oops</html>" }, /\/v1\/completions: the answer is not JSON \(expected an OpenAI completion object with 2 choice\(s\)\); the server answered: "<html>oops<\/html>"/],
    ["no choices", { status: 200, body: '{"object":"text_completion"}' }, /no "choices" list/],
    ["wrong number of choices", { status: 200, body: '{"choices":[{"index":0,"text":"a","finish_reason":"stop"}]}' }, /1 choice\(s\) for n = 2/],
    ["no text", { status: 200, body: '{"choices":[{"index":0,"finish_reason":"stop"},{"index":1,"text":"b","finish_reason":"stop"}]}' }, /choices\[0\] has no text string/],
    ["a refused request is not retried", { status: 400, body: '{"error":{"message":"bad n"}}' }, /HTTP 400: bad n \(not retried: the request itself was refused\)/],
  ] as const)("garbage from the server is retried, then an error naming the URL and what was expected: %s", async (_name, answer, message) => {
    const p = await proxy(() => answer);
    try {
      await expect(remote(p.url, { maxRetries: 2 }).sample([{ prompt: "1", n: 2, seed: 1 }], OPTS)).rejects.toThrow(message);
      // A refused request (4xx) is asked once; a malformed 200 is a flaky server's, asked again up to maxRetries.
      expect(p.calls).toHaveLength(answer.status === 400 ? 1 : 3);
    } finally {
      await p.close();
    }
  });

  it("times out a silent server and reports a refused connection, after retries", async () => {
    const p = await proxy(() => "hang");
    try {
      await expect(remote(p.url, { timeoutMs: 200, maxRetries: 1 }).sample([{ prompt: "1", n: 1, seed: 1 }], OPTS)).rejects.toThrow(/\/v1\/completions: no answer within 200 ms; gave up after 2 attempt\(s\)/);
      expect(p.calls).toHaveLength(2);
    } finally {
      await p.close();
    }
    await expect(remote(p.url, { maxRetries: 1 }).sample([{ prompt: "1", n: 1, seed: 1 }], OPTS)).rejects.toThrow(/connection failed \(ECONNREFUSED\); gave up after 2 attempt\(s\)/);
  });

  it("without token ids from the server, tokenizes the text (EOS added after a stop), or refuses without a tokenizer", async () => {
    const p = await proxy(
      () => "forward",
      (body) => ({ ...body, return_tokens_as_token_ids: false }),
    );
    try {
      const opts = { ...OPTS, stop: [] };
      const [got] = await remote(p.url).sample([{ prompt: "5-2", n: 3, seed: 2 }], opts);
      for (const r of got ?? []) {
        const ids = m.tokenizer.encode(r.text);
        expect(r.tokens).toEqual(r.finish === "stop" ? [...ids, ...m.tokenizer.eosIds] : ids);
        if (r.logprobs !== null) expect(r.logprobs).toHaveLength(r.tokens.length);
      }
      await expect(new RemoteSampler({ baseUrl: p.url, model: "tiny", logger: quiet }).sample([{ prompt: "1", n: 1, seed: 1 }], opts)).rejects.toThrow(/returned no token ids .* and no tokenizer was given/);
      const [textOnly] = await new RemoteSampler({ baseUrl: p.url, model: "tiny", textOnly: true, logger: quiet }).sample([{ prompt: "5-2", n: 3, seed: 2 }], opts);
      expect(textOnly?.map((r) => r.text)).toEqual(got?.map((r) => r.text));
    } finally {
      await p.close();
    }
  });

  it("the response cache drops a torn last line and rewrites the file; a corrupt middle line is an error naming file:line", () => {
    const file = join(tmp, "cache-torn.jsonl");
    const good = JSON.stringify({ key: "k1", response: { text: "a", tokens: [97], logprobs: null, finish: "stop" } });
    writeFileSync(file, `${good}\n{"key": "k2", "respo`);
    const warnings: string[] = [];
    const cache = new ResponseCache(file, new Logger({ level: "warn", sink: (l) => warnings.push(l) }));
    expect(cache.size).toBe(1);
    expect(warnings.join("\n")).toMatch(/cache-torn\.jsonl:2: dropping a torn last line/);
    expect(readFileSync(file, "utf8")).toBe(`${good}\n`);
    cache.putAll([["k3", { text: "b", tokens: [98], logprobs: [-1], finish: "length" }]]);
    expect(new ResponseCache(file, quiet).size).toBe(2);
    appendFileSync(file, `not json\n${good}\n`);
    expect(() => new ResponseCache(file, quiet)).toThrow(/cache-torn\.jsonl:3: not valid JSON/);
  });
});

describe("gvm serve as a child process", () => {
  let child: ChildProcess | undefined;
  afterAll(() => {
    if (child && child.exitCode === null) child.kill("SIGKILL");
  });

  it("serves over HTTP with an API key until SIGTERM, and the remote sampler matches in-process sampling", async () => {
    child = spawn(process.execPath, ["--import", "tsx", join(ROOT, "src/cli/bin.ts"), "serve", "--model", modelDir, "--port", "0", "--api-key", "k3y", "--name", "tiny"], { cwd: ROOT, stdio: ["ignore", "pipe", "pipe"] });
    let err = "";
    const base = await new Promise<string>((resolve, reject) => {
      child?.stderr?.on("data", (c: Buffer) => {
        err += String(c);
        const hit = /listening on (http:\/\/\S+)/.exec(err);
        if (hit) resolve(hit[1] as string);
      });
      child?.on("exit", (code) => reject(new Error(`gvm serve exited with ${code}: ${err}`)));
    });
    expect(base).toMatch(/^http:\/\/127\.0\.0\.1:\d+\/v1$/);
    const got = await remote(base, { apiKey: "k3y" }).sample(REQS, OPTS);
    expect(got).toEqual(await new LocalSampler(m.model, m.tokenizer).sample(REQS, OPTS));
    await expect(remote(base, { apiKey: "wrong" }).sample(REQS, OPTS)).rejects.toThrow(/HTTP 401: invalid or missing API key/);
    const code = await new Promise<number | null>((resolve) => {
      child?.on("exit", (c) => resolve(c));
      child?.kill("SIGTERM");
    });
    expect(code).toBe(0);
    expect(err).toMatch(/gvm serve: stopped/);
    expect(existsSync(modelDir)).toBe(true);
  });
});
