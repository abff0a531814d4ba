/**
 * `gvm serve` sheds load before it parses (issue #14 s3): oversized bodies
 * are refused while they stream in, oversized prompts before the tokenizer
 * sees them, a full queue and too many connections with Retry-After, slow
 * clients after a deadline; a non-loopback host needs an API key or
 * --insecure. Every probe here hangs, stalls or passes silently on a server
 * without these bounds.
 */
import { type ChildProcess, spawn } from "node:child_process";
import { mkdtempSync, rmSync } from "node:fs";
import { connect, type Socket } from "node:net";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { CHAT_FORMATS } from "../src/eval/index.js";
import { loadModelDir, type ModelDir, type Tokenizer } from "../src/model/index.js";
import { DEFAULT_LIMITS, GvmServer, type ServeLimits } from "../src/serve/index.js";
import { ConfigError } from "../src/util/errors.js";
import { gvm } from "./cli-helpers.js";
import { llamaConfig, randomModel, writeHfDir } from "./interop-helpers.js";
import { until } from "./wait.js";

const ROOT = dirname(dirname(fileURLToPath(import.meta.url)));
const tmp = mkdtempSync(join(tmpdir(), "gvm-serve-limits-"));
let modelDir: string;
let bytes: ModelDir;

beforeAll(() => {
  modelDir = join(tmp, "bytes");
  writeHfDir(modelDir, randomModel(llamaConfig({ vocab_size: 259, hidden_size: 32, intermediate_size: 48, max_position_embeddings: 128, bos_token_id: 257, eos_token_id: 258, pad_token_id: 256 }), 4, 0.5), { dtype: "F32", shards: 1, tokenizer: false });
  bytes = loadModelDir(modelDir);
});

afterAll(() => rmSync(tmp, { recursive: true, force: true }));

/** The tokenizer, recording the longest text it was asked to encode. */
function spyTokenizer(t: Tokenizer): { tokenizer: Tokenizer; longest: () => number } {
  let longest = 0;
  const tokenizer = Object.create(t) as Tokenizer;
  tokenizer.encode = (text: string) => {
    longest = Math.max(longest, text.length);
    return t.encode(text);
  };
  return { tokenizer, longest: () => longest };
}

async function withServer<T>(limits: Partial<ServeLimits>, fn: (s: GvmServer, base: string) => Promise<T>, tokenizer: Tokenizer = bytes.tokenizer): Promise<T> {
  const s = new GvmServer({ model: bytes.model, tokenizer, modelName: "tiny", chat: CHAT_FORMATS.plain, limits });
  const { url } = await s.listen(0);
  try {
    return await fn(s, url.replace(/\/v1$/, ""));
  } finally {
    await s.close();
  }
}

/** A raw connection that collects what the server sends. */
function rawConnection(base: string): Promise<{ sock: Socket; received: () => string; closed: Promise<void> }> {
  const u = new URL(base);
  return new Promise((resolve, reject) => {
    let text = "";
    const sock = connect(Number(u.port), u.hostname);
    const closed = new Promise<void>((done) => sock.on("close", () => done()));
    sock.on("data", (d: Buffer) => (text += d.toString("utf8")));
    sock.on("error", () => undefined);
    sock.once("connect", () => resolve({ sock, received: () => text, closed }));
    sock.once("error", reject);
  });
}

const post = (base: string, path: string, body: string) => fetch(`${base}${path}`, { method: "POST", headers: { "content-type": "application/json" }, body });

describe("gvm serve sheds load before parsing", () => {
  it("50 concurrent ~1 MB prompts are refused without reaching the tokenizer, and /health keeps answering", async () => {
    const spy = spyTokenizer(bytes.tokenizer);
    await withServer(
      { maxQueue: 8 },
      async (s, base) => {
        const body = JSON.stringify({ model: "tiny", prompt: "x".repeat(1_000_000), max_tokens: 4 });
        expect(Buffer.byteLength(body)).toBeLessThan(DEFAULT_LIMITS.maxBodyBytes);
        let stop = false;
        const health: number[] = [];
        const poll = (async () => {
          while (!stop) {
            const r = await fetch(`${base}/health`);
            await r.json();
            health.push(performance.now());
            await new Promise((r) => setTimeout(r, 10));
          }
        })();
        const results = await Promise.all(
          Array.from({ length: 50 }, () =>
            post(base, "/v1/completions", body).then(async (r) => ({ status: r.status, retry: r.headers.get("retry-after"), json: (await r.json()) as { error: { message: string; code: string | null } } })),
          ),
        );
        const done = performance.now();
        stop = true;
        await poll;
        for (const r of results) {
          expect([400, 429]).toContain(r.status);
          if (r.status === 400) expect(r.json.error.message).toMatch(new RegExp(`the prompt has 1000000 characters; this server takes at most ${DEFAULT_LIMITS.maxPromptChars}`));
          else expect(Number(r.retry)).toBeGreaterThan(0);
        }
        expect(results.filter((r) => r.status === 400).length).toBeGreaterThan(0);
        expect(spy.longest()).toBeLessThanOrEqual(DEFAULT_LIMITS.maxPromptChars);
        // Latency under load is a benchmark's business; this checks that /health
        // was answered while the uploads were still in flight.
        expect(health.filter((t) => t < done).length).toBeGreaterThan(0);
        expect(s.load).toEqual({ connections: expect.any(Number), pending: 0, running: 0 });
        const ok = await post(base, "/v1/completions", JSON.stringify({ model: "tiny", prompt: "1+1=", max_tokens: 2, seed: 0 }));
        expect(ok.status).toBe(200);
      },
      spy.tokenizer,
    );
  });

  it("a chat request over the prompt limit is refused before its template is rendered", async () => {
    await withServer({ maxPromptChars: 100 }, async (_s, base) => {
      const r = await post(base, "/v1/chat/completions", JSON.stringify({ model: "tiny", messages: [{ role: "system", content: "a".repeat(60) }, { role: "user", content: "b".repeat(60) }] }));
      expect(r.status).toBe(400);
      expect(((await r.json()) as { error: { message: string } }).error.message).toMatch(/the messages have 120 characters; this server takes at most 100/);
    });
  });

  it("a full queue answers 429 with Retry-After before reading the body; the waiting requests still complete", async () => {
    await withServer({ maxQueue: 2 }, async (s, base) => {
      const body = JSON.stringify({ model: "tiny", prompt: "12", max_tokens: 3, seed: 1 });
      const held = await Promise.all([rawConnection(base), rawConnection(base)]);
      for (const h of held) h.sock.write(`POST /v1/completions HTTP/1.1\r\nhost: x\r\ncontent-type: application/json\r\ncontent-length: ${body.length}\r\n\r\n${body.slice(0, 5)}`);
      await until(() => s.load.pending === 2, 5000, "two pending requests");
      const r = await post(base, "/v1/completions", JSON.stringify({ model: "tiny", prompt: "y".repeat(500_000) }));
      expect(r.status).toBe(429);
      expect(r.headers.get("retry-after")).toBe("1");
      expect(((await r.json()) as { error: { message: string; type: string } }).error).toMatchObject({ type: "rate_limit_error", message: expect.stringMatching(/2 requests waiting; this server's limit is 2/) });
      for (const h of held) h.sock.write(body.slice(5));
      await Promise.all(held.map((h) => until(() => h.received().includes('"text_completion"'), 5000, "a completion")));
      for (const h of held) expect(h.received()).toMatch(/^HTTP\/1\.1 200/);
      for (const h of held) h.sock.destroy();
    });
  });

  it("a chunked body over the limit gets 413 naming the limit while it is still streaming in", async () => {
    await withServer({ maxBodyBytes: 4096 }, async (_s, base) => {
      const c = await rawConnection(base);
      c.sock.write("POST /v1/completions HTTP/1.1\r\nhost: x\r\ncontent-type: application/json\r\ntransfer-encoding: chunked\r\n\r\n");
      const chunk = `{"model":"tiny","prompt":"${"z".repeat(5000)}`;
      c.sock.write(`${chunk.length.toString(16)}\r\n${chunk}\r\n`);
      // The body never ends: the answer must come anyway.
      await until(() => c.received().includes("}}"), 3000, "the 413 answer");
      expect(c.received()).toMatch(/^HTTP\/1\.1 413/);
      expect(c.received()).toMatch(/"message":"request body exceeds this server's limit of 4096 bytes"/);
      c.sock.destroy();
    });
  });

  it("a declared body of 5 MB over the limit gets 413 without the client seeing a reset", async () => {
    await withServer({ maxBodyBytes: 4096 }, async (_s, base) => {
      const r = await post(base, "/v1/completions", JSON.stringify({ model: "tiny", prompt: "q".repeat(5_000_000) }));
      expect(r.status).toBe(413);
      expect(((await r.json()) as { error: { message: string } }).error.message).toMatch(/exceeds this server's limit of 4096/);
    });
  });

  it("connections beyond the limit get 503 with Retry-After and are closed; the server answers again once one goes", async () => {
    await withServer({ maxConnections: 2 }, async (s, base) => {
      const idle = await Promise.all([rawConnection(base), rawConnection(base)]);
      await until(() => s.load.connections === 2, 5000, "two connections");
      const third = await rawConnection(base);
      await third.closed;
      expect(third.received()).toMatch(/^HTTP\/1\.1 503/);
      expect(third.received()).toMatch(/retry-after: 1/i);
      expect(third.received()).toMatch(/too many connections \(this server's limit is 2\)/);
      idle[0]?.sock.destroy();
      await until(() => s.load.connections < 2, 5000, "a connection to close");
      const r = await fetch(`${base}/health`);
      expect(r.status).toBe(200);
      idle[1]?.sock.destroy();
    });
  });

  it("a client that sends its body too slowly is cut off with 408 and frees its queue slot", async () => {
    await withServer({ requestTimeoutMs: 600 }, async (s, base) => {
      const c = await rawConnection(base);
      c.sock.write("POST /v1/completions HTTP/1.1\r\nhost: x\r\ncontent-type: application/json\r\ncontent-length: 100\r\n\r\n{");
      await until(() => s.load.pending === 1, 5000, "a pending request");
      await c.closed;
      expect(c.received()).toMatch(/^HTTP\/1\.1 408/);
      await until(() => s.load.pending === 0, 2000, "the slot to be freed");
    });
  });
});

describe("gvm serve on a non-loopback address", () => {
  it("the library refuses to listen on 0.0.0.0 without an API key unless insecure", async () => {
    const s = new GvmServer({ model: bytes.model, tokenizer: bytes.tokenizer, modelName: "tiny", chat: null });
    await expect(s.listen(0, "0.0.0.0")).rejects.toThrow(ConfigError);
    await expect(s.listen(0, "0.0.0.0")).rejects.toThrow(/0\.0\.0\.0 is not a loopback address and no API key is set/);
    await s.close();
  });

  it("gvm serve --host 0.0.0.0 without --api-key exits 2 saying why and how", async () => {
    const r = await gvm("serve", "--model", modelDir, "--host", "0.0.0.0", "--port", "0");
    expect(r.code).toBe(2);
    expect(r.err).toMatch(/--host 0\.0\.0\.0 is not a loopback address and no API key is set/);
    expect(r.err).toMatch(/--api-key KEY/);
    expect(r.err).toMatch(/--insecure/);
  });

  it("gvm serve --host 0.0.0.0 --insecure starts with a loud warning", async () => {
    let child: ChildProcess | undefined;
    try {
      const env = { ...process.env };
      delete env.GVM_API_KEY;
      child = spawn(process.execPath, ["--import", "tsx", join(ROOT, "src/cli/bin.ts"), "serve", "--model", modelDir, "--host", "0.0.0.0", "--port", "0", "--insecure"], { cwd: ROOT, env, stdio: ["ignore", "pipe", "pipe"] });
      let err = "";
      child.stderr?.on("data", (d: Buffer) => (err += d.toString("utf8")));
      await until(() => /listening on/.test(err) || child?.exitCode !== null, 60_000, "gvm serve to start");
      expect(err).toMatch(/WARNING: .*without an API key/);
      expect(err).toMatch(/listening on http:\/\/0\.0\.0\.0:\d+\/v1/);
    } finally {
      child?.kill("SIGTERM");
    }
  }, 70_000);
});
