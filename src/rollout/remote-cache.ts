/**
 * Responses already received from a sampling server, keyed by what
 * determines them: (prompt, seed, response index j, sampling settings,
 * model). Kept in memory and, when given a path, appended to a JSONL file
 * as each server answer arrives, so a run that fails or is killed resumes
 * without asking the server again for anything it already answered.
 *
 * A torn last line (the process died mid-append) is dropped with a warning;
 * any other unreadable line is an error naming the file and line.
 */
import { appendFileSync, existsSync, mkdirSync, readFileSync } from "node:fs";
import { createHash } from "node:crypto";
import { dirname } from "node:path";
import { atomicWrite } from "../util/atomic.js";
import { parseJsonl } from "../util/jsonl.js";
import { defaultLogger, type Logger } from "../util/log.js";
import { ModelError } from "../model/index.js";
import type { SampledResponse } from "./sampler.js";

export class ResponseCacheError extends ModelError {}

/** What a cached response depends on besides (prompt, seed, j). */
export type CacheSettings = Readonly<Record<string, unknown>>;

export function cacheKey(prompt: string, seed: number, j: number, settings: CacheSettings): string {
  return createHash("sha256").update(JSON.stringify([prompt, seed, j, settings])).digest("hex");
}

function isResponse(v: unknown): v is SampledResponse {
  if (v === null || typeof v !== "object") return false;
  const r = v as Record<string, unknown>;
  return (
    typeof r.text === "string" &&
    Array.isArray(r.tokens) &&
    r.tokens.every((t) => Number.isInteger(t)) &&
    (r.logprobs === null || (Array.isArray(r.logprobs) && r.logprobs.every((x) => typeof x === "number"))) &&
    (r.finish === "stop" || r.finish === "length")
  );
}

export class ResponseCache {
  private readonly entries = new Map<string, SampledResponse>();

  /** path: the JSONL file (created on first write), or null for memory only. */
  constructor(
    readonly path: string | null = null,
    logger: Logger = defaultLogger(),
  ) {
    if (path === null || !existsSync(path)) return;
    const text = readFileSync(path, "utf8");
    const { lines, torn } = parseJsonl(text, path, {
      damaged: (d) => new ResponseCacheError(`${d.message}; expected {"key": ..., "response": ...}`, { cause: d.cause }),
    });
    if (torn) logger.warn(`${path}:${torn.line}: dropping a torn last line (an interrupted write); its responses will be requested again`);
    const kept: string[] = [];
    for (const { line, text: raw, value } of lines) {
      const r = value as { key?: unknown; response?: unknown } | null;
      if (typeof r?.key !== "string" || !isResponse(r.response)) throw new ResponseCacheError(`${path}:${line}: expected {"key": string, "response": {text, tokens, logprobs, finish}}`);
      this.entries.set(r.key, r.response);
      kept.push(raw);
    }
    // Appends must start on a fresh line: rewrite a file whose last line was cut short.
    if (text.length > 0 && !text.endsWith("\n")) atomicWrite(path, kept.map((l) => `${l}\n`).join(""));
  }

  get size(): number {
    return this.entries.size;
  }

  get(key: string): SampledResponse | undefined {
    return this.entries.get(key);
  }

  /** Records responses (one append for the lot, so a batch lands whole or as a torn last line). */
  putAll(items: ReadonlyArray<readonly [string, SampledResponse]>): void {
    if (items.length === 0) return;
    for (const [k, r] of items) this.entries.set(k, r);
    if (this.path === null) return;
    mkdirSync(dirname(this.path), { recursive: true });
    appendFileSync(this.path, items.map(([key, response]) => `${JSON.stringify({ key, response })}\n`).join(""));
  }
}
