/**
 * A flaky OpenAI-compatible completions server for the reliability suite:
 * it answers /v1/completions from no model at all, and at a set rate fails
 * a call instead, in one of the ways real servers and proxies fail: 500,
 * 429 with Retry-After, silence until the client's timeout, a body cut
 * short (the connection dropped mid-body), a 200 whose body is not the JSON
 * promised (an HTML error page, a cut-off JSON), or a connection reset
 * before any answer.
 *
 * Every answer names what it answers: choice k of a call for (prompt,
 * seed) has the text "<prompt>|<seed>|<k>" and token ids derived from it
 * (as vLLM returns them with return_tokens_as_token_ids), so a client's
 * results can be checked slot by slot: response j of a request must come
 * from the call that covered it (seed chunkSeed(request seed, a), choice
 * j - a), which shows nothing was lost, duplicated or put in the wrong
 * place.
 */
import { createServer, type IncomingMessage, type Server, type ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";
import type { Socket } from "node:net";
import { chunkSeed } from "../../src/rollout/index.js";
import { Rng } from "../../src/util/rng.js";

export const FAULTS = ["500", "429", "timeout", "truncated", "garbage", "reset"] as const;
export type Fault = (typeof FAULTS)[number];

export interface FlakyOptions {
  /** Fraction of calls that fail (default 0.3), the fault drawn uniformly from FAULTS. */
  failRate?: number;
  /** Seed of the fault draws. */
  seed?: number;
  /** Retry-After of a 429, in seconds (default "0.05"; real servers send whole seconds). */
  retryAfter?: string;
  /** Answer latency in milliseconds (default 0). */
  latencyMs?: number;
}

export interface FlakyServer {
  url: string;
  /** Calls received, by outcome ("ok" or the fault). */
  counts: Record<"ok" | Fault, number>;
  /** Choices sent in successful answers. */
  choicesServed: number;
  close(): Promise<void>;
}

/** The text of choice k of a call for (prompt, seed). */
export function choiceText(prompt: string, seed: number, k: number): string {
  return `${prompt}|${seed}|${k}`;
}

/** Token ids of a choice text: its UTF-16 code units (any ids do; the sampler only passes them on). */
export function choiceTokens(text: string): number[] {
  return Array.from(text, (c) => c.charCodeAt(0));
}

/**
 * Checks response j of request (prompt, seed): it must be choice j - a of
 * the call that covered [a, ...), whose seed is chunkSeed(seed, a). Returns
 * what is wrong, or null.
 */
export function checkSlot(prompt: string, seed: number, j: number, r: { text: string; tokens: readonly number[] } | undefined): string | null {
  if (r === undefined) return `response ${j} of ${JSON.stringify(prompt)} is missing`;
  const parts = r.text.split("|");
  const k = Number(parts[parts.length - 1]);
  const callSeed = Number(parts[parts.length - 2]);
  const p = parts.slice(0, -2).join("|");
  if (p !== prompt) return `response ${j} of ${JSON.stringify(prompt)} answers ${JSON.stringify(p)}`;
  if (!Number.isInteger(k) || k < 0 || k > j || chunkSeed(seed, j - k) !== callSeed) return `response ${j} of ${JSON.stringify(prompt)} is ${JSON.stringify(r.text)}, not from the call that covered it`;
  if (r.tokens.join(",") !== choiceTokens(r.text).join(",")) return `response ${j} of ${JSON.stringify(prompt)}: tokens do not match its text`;
  return null;
}

function answer(body: Record<string, unknown>): string {
  const prompt = String(body.prompt);
  const seed = Number(body.seed);
  const n = Number(body.n ?? 1);
  const choices = Array.from({ length: n }, (_, k) => {
    const text = choiceText(prompt, seed, k);
    const ids = choiceTokens(text);
    return { index: k, text, finish_reason: "stop", logprobs: { tokens: ids.map((id) => `token_id:${id}`), token_logprobs: ids.map(() => -0.5) } };
  });
  return JSON.stringify({ id: "cmpl-flaky", object: "text_completion", model: body.model, choices });
}

export async function startFlakyServer(o: FlakyOptions = {}): Promise<FlakyServer> {
  const rate = o.failRate ?? 0.3;
  const rng = new Rng(o.seed ?? 1);
  const sockets = new Set<Socket>();
  const counts = { ok: 0, "500": 0, "429": 0, timeout: 0, truncated: 0, garbage: 0, reset: 0 } as Record<"ok" | Fault, number>;
  const state = { choicesServed: 0 };
  const s: Server = createServer((req: IncomingMessage, res: ServerResponse) => {
    const chunks: Buffer[] = [];
    req.on("data", (c: Buffer) => chunks.push(c));
    req.on("end", () => {
      let body: Record<string, unknown>;
      try {
        body = JSON.parse(Buffer.concat(chunks).toString("utf8")) as Record<string, unknown>;
      } catch {
        res.writeHead(400, { "content-type": "application/json" });
        return void res.end('{"error":{"message":"body is not JSON"}}');
      }
      const fault: Fault | null = rng.float() < rate ? (FAULTS[rng.int(FAULTS.length)] as Fault) : null;
      counts[fault ?? "ok"]++;
      const send = (): void => {
        switch (fault) {
          case null: {
            const text = answer(body);
            state.choicesServed += Number(body.n ?? 1);
            res.writeHead(200, { "content-type": "application/json" });
            return void res.end(text);
          }
          case "500":
            res.writeHead(500, { "content-type": "application/json" });
            return void res.end('{"error":{"message":"CUDA error: an illegal memory access was encountered"}}');
          case "429":
            res.writeHead(429, { "content-type": "application/json", "retry-after": o.retryAfter ?? "0.05" });
            return void res.end('{"error":{"message":"rate limited"}}');
          case "timeout":
            // Never answers; the client's timeout ends it (close() destroys what is left).
            return;
          case "truncated": {
            const text = answer(body);
            res.writeHead(200, { "content-type": "application/json", "content-length": String(Buffer.byteLength(text)) });
            res.write(text.slice(0, Math.floor(text.length / 2)));
            return void res.socket?.destroy();
          }
          case "garbage":
            res.writeHead(200, { "content-type": rng.float() < 0.5 ? "text/html" : "application/json" });
            return void res.end(rng.float() < 0.5 ? "<html><body>502 Bad Gateway</body></html>" : answer(body).slice(0, 40));
          case "reset":
            return void req.socket.destroy();
        }
      };
      if (o.latencyMs) setTimeout(send, o.latencyMs);
      else send();
    });
  });
  s.on("connection", (sock: Socket) => {
    sockets.add(sock);
    sock.on("close", () => sockets.delete(sock));
  });
  await new Promise<void>((resolve) => s.listen(0, "127.0.0.1", resolve));
  return {
    url: `http://127.0.0.1:${(s.address() as AddressInfo).port}/v1`,
    counts,
    get choicesServed() {
      return state.choicesServed;
    },
    close: () =>
      new Promise<void>((resolve) => {
        for (const sock of sockets) sock.destroy();
        s.close(() => resolve());
      }),
  };
}

/** `count` requests of 1 to maxN responses each, with distinct prompts and seeds. */
export function flakyRequests(count: number, maxN = 6): Array<{ prompt: string; n: number; seed: number }> {
  return Array.from({ length: count }, (_, i) => ({ prompt: `problem ${i}: what is ${i} + ${i}?`, n: 1 + ((i * 7) % maxN), seed: 1000 + i }));
}

/** What is wrong with a sampler's results for `requests` (slot by slot), as messages; [] when every response is there, once, in its place. */
export function checkResults(requests: ReadonlyArray<{ prompt: string; n: number; seed: number }>, results: ReadonlyArray<ReadonlyArray<{ text: string; tokens: readonly number[] }>>): string[] {
  const problems: string[] = [];
  if (results.length !== requests.length) problems.push(`${results.length} result rows for ${requests.length} requests`);
  requests.forEach((r, i) => {
    const row = results[i] ?? [];
    if (row.length !== r.n) problems.push(`request ${i}: ${row.length} responses for n = ${r.n}`);
    for (let j = 0; j < r.n; j++) {
      const why = checkSlot(r.prompt, r.seed, j, row[j]);
      if (why !== null) problems.push(why);
    }
    if (new Set(row.map((x) => x.text)).size !== row.length) problems.push(`request ${i}: duplicated responses`);
  });
  return problems;
}
